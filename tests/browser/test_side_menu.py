"""The side menu is in a keyboard user's reach: from the page's start, Tab reaches every link of the site
menu (the sections) at desktop width, and at phone width after the menu button is pressed."""
import re

import pytest
from playwright.sync_api import expect

from .test_ui_chain import VIEWPORTS, Person

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("width", list(VIEWPORTS))
def test_tab_reaches_every_section_of_the_side_menu(world, live_server, browser, shoot, width):
    problems = []
    person = Person(browser, live_server.url, "anhui_reviewer", shoot, problems, width=width).login()
    page = person.page
    menu_links = page.locator("aside.vf-page__menu nav a[href]")
    hrefs = [h for h in menu_links.evaluate_all("els => els.map(e => e.getAttribute('href'))") if h]
    assert len(hrefs) >= 3, hrefs
    if width == "phone":
        person.keys.press(page.locator("button.vf-page__menu-toggle").first)
    for href in hrefs:
        page.goto(f"{live_server.url}/approvals/")
        link = page.locator(f"aside.vf-page__menu nav a[href='{href}']").first
        if width == "phone":
            person.keys.press(page.locator("button.vf-page__menu-toggle").first)
        person.keys.press(link)
        page.wait_for_load_state("networkidle")
        expect(page).to_have_url(re.compile(re.escape(href.split("?")[0])))
    person.shot("side-menu")
    assert not problems, problems
