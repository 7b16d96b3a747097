"""The side menu is in a keyboard user's reach: from the page's start, Tab reaches every link of the site
menu (the sections) at desktop width, and at phone width after the menu button is pressed. Every page it
leads to has the same menu, and is checked (axe, the width) and photographed."""
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
    sections_js = """() => {
        const groups = document.querySelectorAll("aside.vf-page__menu .vf-page__menu-primary vf-page-menu-navigation");
        return [...groups[groups.length - 1].querySelectorAll("a[href]")].map(a => a.getAttribute("href"));
    }"""
    sections = page.evaluate(sections_js)  # the site's list of sections, the last group of the menu
    assert len(sections) >= 4, sections
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
        if page.locator("aside.vf-page__menu").count():  # a page of the frame (the registry is public)
            assert page.evaluate(sections_js) == sections, href  # the same list of sections
        person.shot("menu-" + href.strip("/").replace("/", "-"))  # axe, the width, a screenshot
    for path in ("/designations/cases/", "/designations/dashboard/", "/notifications/preferences/"):
        page.goto(f"{live_server.url}{path}")  # the sections' other pages: the same menu there too
        assert page.evaluate(sections_js) == sections, path
        person.shot("menu-" + path.strip("/").replace("/", "-"))
    assert not problems, problems
