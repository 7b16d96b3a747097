"""估算: a due date and a 公示 end counted through a provisional day (2027, not loaded in December 2026) are
marked in the API, on the pages and in the printed notice; importing the year's notice recounts both and
drops the mark.

Counts: a 市级审核推荐 limit of 10 working days entered on Monday 2026-12-21 runs 12/22–12/25, 12/28–12/31,
then (1/1 元旦 off by law) 1/4 and 1/5. A 5-day notice from Monday 12/28 runs 12/28–12/31 and 1/4; one
from Friday 12/25 ends on 12/31, inside 2026, and is exact. The 2027 notice below is made up (the real one
is not published yet): it gives 1/1–1/4 off, which moves both ends by a day.
"""
import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from rest_framework.test import APIClient
from viewflow.workflow.models import Task
from viewflow.workflow.status import STATUS

from approvals import services as svc
from approvals.models import Application
from printing.documents import notice_context
from tests.approvals import chain
from tests.approvals.chain import act
from workflows.flows import ApplicationFlow
from workflows.models import TaskDeadline

D = dt.date
STATION = "society-service-station"
MADE_UP_2027 = """国务院办公厅关于2027年部分节假日安排的通知（测试用，虚构）
经国务院批准，现将2027年元旦、春节、清明节、劳动节、端午节、中秋节和国庆节放假调休日期的具体安排通知如下。
一、元旦：1月1日（周五）至4日（周一）放假调休，共4天。
二、春节：2月5日（农历除夕、周五）至11日（周四）放假调休，共7天。2月20日（周六）上班。
三、清明节：4月3日（周六）至5日（周一）放假，共3天。
四、劳动节：5月1日（周六）至5日（周三）放假调休，共5天。4月25日（周日）上班。
五、端午节：6月9日（周三）放假1天。
六、中秋节：9月15日（周三）放假1天。
七、国庆节：10月1日（周五）至7日（周四）放假调休，共7天。9月26日（周日）、10月9日（周六）上班。
"""


def api(world, username):
    client = APIClient()
    client.force_authenticate(world.user[username])
    return client


@pytest.fixture
def in_december(world, clock):
    """One application waiting for the city (due in 2027) and one in a notice that ends in 2027."""
    clock.set(D(2026, 12, 21))
    waiting = chain.create(world, STATION)
    svc.application_submit(actor=act(world, "langya_clerk"), application_id=waiting.pk)
    svc.application_sign_off(actor=act(world, "langya_leader"), application_id=waiting.pk)
    noticed = chain.create(world, STATION, county="nanqiao")
    chain.to_province_check(world, noticed, "nanqiao")
    chain.to_decision(world, noticed)
    svc.application_decide(actor=act(world, "anhui_leader"), application_id=noticed.pk, approve=True, comment="予以认定")
    svc.application_publish_notice(actor=act(world, "anhui_reviewer"), application_id=noticed.pk,
                                   starts_on=D(2026, 12, 28))
    return waiting, Application.objects.get(pk=noticed.pk)


def city_deadline(application) -> TaskDeadline:
    return TaskDeadline.objects.get(application=application, stage="city_review")


def notice_timer(application) -> dt.datetime:
    task = Task.objects.get(process_id=application.process_id, flow_task=ApplicationFlow.wait_notice,
                            status=STATUS.SCHEDULED)
    return task.scheduled


@pytest.mark.django_db
def test_the_notice_end_is_an_estimate_only_past_the_last_loaded_day():
    def ends(start, end):
        return Application(notice_starts_on=start, notice_ends_on=end).notice_ends_on_is_estimate

    assert ends(D(2026, 12, 25), D(2026, 12, 31)) is False
    assert ends(D(2026, 12, 28), D(2027, 1, 4)) is True
    assert ends(D(2027, 1, 1), D(2027, 1, 1)) is True
    assert Application().notice_ends_on_is_estimate is False


@pytest.mark.django_db
def test_estimates_in_the_api(world, in_december):
    waiting, noticed = in_december
    assert (city_deadline(waiting).due_on, city_deadline(waiting).is_estimate) == (D(2027, 1, 5), True)

    body = api(world, "chuzhou_reviewer").get(f"/api/v1/applications/{waiting.pk}/").json()
    assert body["deadlines"] == [
        {"stage": "city_review", "role": "reviewer", "due_on": "2027-01-05", "due_on_is_estimate": True}]
    assert (body["notice_ends_on"], body["notice_ends_on_is_estimate"]) == (None, False)

    body = api(world, "anhui_reviewer").get(f"/api/v1/applications/{noticed.pk}/").json()
    assert (body["notice_starts_on"], body["notice_ends_on"], body["notice_ends_on_is_estimate"]) == (
        "2026-12-28", "2027-01-04", True)


@pytest.mark.django_db
def test_estimates_on_the_pages_and_in_the_printed_notice(world, in_december, client):
    waiting, noticed = in_december
    client.force_login(world.user["chuzhou_reviewer"])
    dashboard = client.get("/approvals/").content.decode()
    assert "<td>2027年1月5日（估算）</td>" in dashboard

    client.force_login(world.user["anhui_reviewer"])
    detail = client.get(reverse("approvals:detail", args=[noticed.pk])).content.decode()
    assert '<span id="notice-ends">2027年1月4日（估算）</span>' in detail

    context = notice_context(noticed.batch)
    assert (context["period_end"], context["period_end_is_estimate"], context["estimated_years"]) == (
        "2027年1月4日", True, "2027")
    page = client.get(reverse("printing:notice", args=[noticed.batch_id])).content.decode()
    assert "公示期：2026年12月28日至2027年1月4日（估算）。" in page
    assert "<td>2027-01-04（估算）</td>" in page
    assert "2027年节假日安排公布后，以国务院办公厅通知为准" in page


@pytest.mark.django_db
def test_importing_the_notice_recounts_due_dates_and_notice_ends(world, in_december, admin_client, client,
                                                                 django_capture_on_commit_callbacks):
    waiting, noticed = in_december
    shanghai = ZoneInfo("Asia/Shanghai")
    assert notice_timer(noticed) == dt.datetime(2027, 1, 5, tzinfo=shanghai)

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post("/admin/workflows/calendaryear/import-notice/",
                                     {"text": MADE_UP_2027, "confirm": "1"})
    assert response.status_code == 302

    assert (city_deadline(waiting).due_on, city_deadline(waiting).is_estimate) == (D(2027, 1, 6), False)
    noticed = Application.objects.get(pk=noticed.pk)
    assert (noticed.notice_ends_on, noticed.notice_ends_on_is_estimate) == (D(2027, 1, 5), False)
    assert notice_timer(noticed) == dt.datetime(2027, 1, 6, tzinfo=shanghai)
    body = api(world, "anhui_reviewer").get(f"/api/v1/applications/{noticed.pk}/").json()
    assert (body["notice_ends_on"], body["notice_ends_on_is_estimate"]) == ("2027-01-05", False)
    client.force_login(world.user["anhui_reviewer"])
    detail = client.get(reverse("approvals:detail", args=[noticed.pk])).content.decode()
    assert '<span id="notice-ends">2027年1月5日</span>' in detail
