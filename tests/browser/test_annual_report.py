"""One annual report through the UI, from the county clerk to the province's grade, with screenshots
(test-artifacts/browser/NN-desktop-<user>-report-*.png): the clerk fills and submits the program's form,
the county leader signs it off, the city reviewer accepts it, the province reviewer grades it 良好 with an
expert score; the clerk then sees the grade."""
import re

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from designations.models import AnnualReport
from tests.designations.test_reports import STATION_REPORT, designate, open_year

from .test_ui_chain import Person

pytestmark = pytest.mark.django_db(transaction=True)


def test_an_annual_report_from_the_clerk_to_the_grade(world, live_server, browser, shoot, private_storage):
    call_command("loaddata", "follow_up", verbosity=0)
    designate(world)
    open_year(world)
    report = AnnualReport.objects.get()
    url = f"{live_server.url}/designations/reports/{report.pk}/"
    problems = []

    def person(username):
        return Person(browser, live_server.url, username, shoot, problems).login()

    clerk = person("langya_clerk")
    page = clerk.page
    page.goto(f"{live_server.url}/designations/reports/")
    clerk.shot("report-list")
    page.get_by_role("link", name=re.compile("学会服务站")).first.click()
    expect(page).to_have_url(url)
    for name, value in STATION_REPORT.items():
        page.locator(f"#f-{name}").fill(str(value))
    clerk.shot("report-filled")
    page.get_by_role("button", name="提交").click()
    expect(page.locator("#status")).to_have_attribute("data-status", "signoff")
    clerk.shot("report-submitted")

    leader = person("langya_leader")
    leader.page.goto(url)
    leader.page.get_by_role("button", name="签发年度报告").click()
    expect(leader.page.locator("#status")).to_have_attribute("data-status", "city_review")
    leader.shot("report-signed-off")

    city = person("chuzhou_reviewer")
    city.page.goto(url)
    city.page.locator("#reason").fill("材料属实，同意上报")
    city.shot("report-city-review")
    city.page.get_by_role("button", name="审核通过年度报告").click()
    expect(city.page.locator("#status")).to_have_attribute("data-status", "province_review")

    province = person("anhui_reviewer")
    province.page.goto(url)
    province.page.locator("#grade-choice").select_option("good")
    province.page.locator("#expert-score").fill("86.5")
    province.page.locator("#reason").fill("服务成效较好")
    province.shot("report-grading")
    province.page.get_by_role("button", name="评定年度报告").click()
    expect(province.page.locator("#status")).to_have_attribute("data-status", "graded")

    page.goto(url)
    expect(page.locator("#grade")).to_contain_text("良好")
    clerk.shot("report-graded")
    report.refresh_from_db()
    assert (report.status, report.grade, str(report.expert_score)) == ("graded", "good", "86.5")
    assert problems == [], problems
