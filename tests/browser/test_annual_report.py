"""One annual report through the UI, from the county clerk to the province's grade, at a desktop's width
and a phone's (375 px), with screenshots (test-artifacts/browser/NN-<width>-<user>-report-*.png): the clerk
fills and submits the program's form, the county leader signs it off, the city reviewer accepts it, the
province reviewer grades it 良好 with an expert score; the clerk then sees the grade.

The pages are driven by Turbo (viewflow's frame): a link or a form is fetched and the body replaced, with
no page load to wait for, and the address may change before the new body is there. So each step waits
for what the page it leads to shows: the form's fields, or the result message with the report's new
status; never for the network to go quiet or for a time."""

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from designations.models import AnnualReport
from tests.designations.test_reports import STATION_REPORT, designate, open_year

from .test_ui_chain import Person

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def acted(page, status):
    """The action's result page is rendered: its message, and the report at its new status."""
    expect(page.locator(".kx-msg--success")).to_have_text("已办理")
    expect(page.locator("#status")).to_have_attribute("data-status", status)


@pytest.mark.parametrize("width", ["desktop", "phone"])
def test_an_annual_report_from_the_clerk_to_the_grade(world, live_server, browser, shoot, private_storage, width):
    call_command("loaddata", "follow_up", verbosity=0)
    designate(world)
    open_year(world)
    report = AnnualReport.objects.get()
    url = f"{live_server.url}/designations/reports/{report.pk}/"
    problems = []

    def person(username):
        return Person(browser, live_server.url, username, shoot, problems, width).login()

    clerk = person("langya_clerk")
    page = clerk.page
    page.goto(f"{live_server.url}/designations/reports/")
    clerk.shot("report-list")
    # The status comes right after the name; on a phone the rest of the row scrolls inside its card.
    expect(page.locator("#reports tbody tr").first.locator("td").nth(2)).to_have_text("填报中")
    page.locator("#reports .kx-scroll").evaluate("el => { el.scrollLeft = el.scrollWidth; }")
    expect(page.locator("#reports th").last).to_be_in_viewport()
    page.locator(f"a[href='/designations/reports/{report.pk}/']").click()
    expect(page).to_have_url(url)
    expect(page.locator("#report-form")).to_be_visible()
    for name, value in STATION_REPORT.items():
        page.locator(f"#f-{name}").fill(str(value))
    clerk.shot("report-filled")
    page.get_by_role("button", name="提交", exact=True).click()
    acted(page, "signoff")
    clerk.shot("report-submitted")

    leader = person("langya_leader")
    leader.page.goto(url)
    leader.page.get_by_role("button", name="签发年度报告").click()
    acted(leader.page, "city_review")
    leader.shot("report-signed-off")

    city = person("chuzhou_reviewer")
    city.page.goto(url)
    city.page.locator("#review-reason").fill("材料属实，同意上报")
    city.shot("report-city-review")
    city.page.get_by_role("button", name="审核通过年度报告").click()
    acted(city.page, "province_review")

    province = person("anhui_reviewer")
    province.page.goto(url)
    province.page.locator("#review-grade").select_option("good")
    province.page.locator("#review-expert_score").fill("86.5")
    province.page.locator("#review-reason").fill("服务成效较好")
    province.shot("report-grading")
    province.page.get_by_role("button", name="评定年度报告").click()
    acted(province.page, "graded")
    province.shot("report-graded")

    page.goto(url)
    expect(page.locator("#grade")).to_contain_text("良好")
    clerk.shot("report-graded")
    report.refresh_from_db()
    assert (report.status, report.grade, str(report.expert_score)) == ("graded", "good", "86.5")
    assert problems == [], problems
