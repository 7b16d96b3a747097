"""Every page in the Material frame has the same side menu, whichever app the page belongs to: viewflow's
frame draws it only for routes of the site (config/site.py mounts designations, printing and the
notifications there). The public pages stay in the public frame, without a menu."""
import re

import pytest
from django.test import Client

from tests.approvals.conftest import World
from tests.factories import TEST_PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(db):
    return World()


SECTIONS = ["/approvals/", "/workflow/", "/designations/reports/", "/notifications/"]


def _menu(html: str) -> tuple[list[str], list[str]]:
    """The side menu's links: those of the current section, and those of the site's section list."""
    aside = re.search(r'<aside class="vf-page__menu.*?</aside>', html, re.S)
    assert aside, "no side menu"
    groups = re.findall(r'<vf-page-menu-navigation.*?</vf-page-menu-navigation>', aside.group(0), re.S)
    links = [re.findall(r'href="([^"]+)"', group) for group in groups]
    return links[0], links[1]


@pytest.mark.parametrize("url, section_links", [
    ("/approvals/", ["/approvals/", "/approvals/applications/", "/approvals/reports/"]),
    ("/designations/reports/", ["/designations/reports/", "/designations/cases/", "/designations/dashboard/",
                                "/registry/"]),
    ("/designations/cases/", ["/designations/reports/", "/designations/cases/", "/designations/dashboard/",
                              "/registry/"]),
    ("/designations/dashboard/", ["/designations/reports/", "/designations/cases/", "/designations/dashboard/",
                                  "/registry/"]),
    ("/notifications/", ["/notifications/", "/notifications/preferences/"]),
    ("/notifications/preferences/", ["/notifications/", "/notifications/preferences/"]),
    ("/print/batches/{batch}/issue-all", ["/approvals/", "/approvals/applications/", "/approvals/reports/"]),
])
def test_every_page_of_the_frame_has_the_same_side_menu(world, url, section_links):
    client = Client()
    assert client.login(username=world.user["anhui_reviewer"].username, password=TEST_PASSWORD)
    page = client.get(url.format(batch=world.batch("society-service-station").pk))
    assert page.status_code == 200
    own, sections = _menu(page.content.decode())
    assert own == section_links
    assert sections == SECTIONS
    for section in sections:  # each section's entry leads to a page of the frame
        assert client.get(section, follow=True).status_code == 200


@pytest.mark.parametrize("url", ["/registry/", "/verify/"])
def test_public_pages_stay_without_the_menu(url):
    page = Client().get(url)
    assert page.status_code == 200 and "vf-page__menu" not in page.content.decode()
