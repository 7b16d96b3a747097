"""Every Excel export states its purpose (security.exports, 个人信息保护法): asked without one, the web
answers with a page that asks for it and the API with 400; an empty one is refused with its Chinese
message; the purpose given is written in the export's entry of the security log. Whoever may not have the
file is refused before the purpose is asked."""
import io

import pytest
from django.test import Client
from openpyxl import load_workbook
from rest_framework.test import APIClient

from security.exports import MSG_PURPOSE_REQUIRED, MSG_PURPOSE_TOO_LONG
from security.models import Kind, SecurityEvent
from tests.approvals.chain import create, to_province_check
from tests.approvals.conftest import world  # noqa: F401  (the `world` fixture)

pytestmark = pytest.mark.django_db


@pytest.fixture
def recommended(world):  # noqa: F811
    return to_province_check(world, create(world, "society-service-station"), "langya")


def web(world, name):  # noqa: F811
    client = Client(REMOTE_ADDR="203.0.113.40")
    client.force_login(world.user[name], backend="django.contrib.auth.backends.ModelBackend")
    return client


def exports(recommended):
    """(url without the purpose, what the log entry's detail names)"""
    batch, city = recommended.batch_id, recommended.city_id
    return [
        (f"/print/batches/{batch}/summary.xlsx?city={city}", "summary_xlsx"),
        ("/approvals/reports.xlsx?x=1", "reports_xlsx"),
        ("/designations/dashboard/sites.xlsx?year=2026", "dashboard_xlsx"),
    ]


def test_a_web_export_asks_its_purpose_and_writes_it(world, recommended):  # noqa: F811
    client = web(world, "chuzhou_reviewer")
    for url, document in exports(recommended):
        asked = client.get(url)
        assert asked.status_code == 200 and asked["Content-Type"].startswith("text/html"), url
        page = asked.content.decode()
        assert 'name="purpose"' in page and "导出用途" in page
        for name, value in [pair.split("=") for pair in url.split("?")[1].split("&")]:
            assert f'<input type="hidden" name="{name}" value="{value}">' in page  # the link's parameters kept
        blank = client.get(url + "&purpose=%20%20")
        assert blank.status_code == 400 and str(MSG_PURPOSE_REQUIRED) in blank.content.decode(), url
        long = client.get(url + "&purpose=" + "长" * 201)
        assert long.status_code == 400 and str(MSG_PURPOSE_TOO_LONG) in long.content.decode(), url
        assert not SecurityEvent.objects.filter(kind=Kind.EXPORT).exists(), "nothing exported yet"
        done = client.get(url + "&purpose=核对本市推荐名单")
        assert done.status_code == 200 and done["Content-Type"].startswith("application/vnd.openxml"), url
        load_workbook(io.BytesIO(done.content))
        event = SecurityEvent.objects.get(kind=Kind.EXPORT)
        assert (event.username, event.client_ip, event.detail["document"], event.detail["purpose"]) == (
            "chuzhou_reviewer", "203.0.113.40", document, "核对本市推荐名单"), url
        event_count = SecurityEvent.objects.count()
        SecurityEvent.objects.filter(kind=Kind.EXPORT).update(kind=Kind.ADMIN_EDIT)  # the next export's alone
        assert SecurityEvent.objects.count() == event_count


def test_the_api_export_refuses_a_missing_purpose_in_chinese_and_writes_it(world, recommended):  # noqa: F811
    api = APIClient(REMOTE_ADDR="203.0.113.41")
    api.force_authenticate(world.user["chuzhou_reviewer"])
    url = f"/api/v1/batches/{recommended.batch_id}/summary-xlsx/?city={recommended.city_id}"
    for query in ("", "&purpose=", "&purpose=%20"):
        response = api.get(url + query)
        assert response.status_code == 400, query
        assert (response.json()["detail"], response.json()["errors"]) == (
            str(MSG_PURPOSE_REQUIRED), {"purpose": [str(MSG_PURPOSE_REQUIRED)]})
    assert not SecurityEvent.objects.filter(kind=Kind.EXPORT).exists()
    response = api.get(url + "&purpose=年度核对")
    assert response.status_code == 200
    event = SecurityEvent.objects.get(kind=Kind.EXPORT)
    assert (event.username, event.client_ip, event.detail["purpose"]) == ("chuzhou_reviewer", "203.0.113.41", "年度核对")


def test_who_may_not_have_the_file_is_refused_before_the_purpose_is_asked(world, recommended):  # noqa: F811
    batch, city = recommended.batch_id, recommended.city_id
    assert web(world, "langya_clerk").get(f"/print/batches/{batch}/summary.xlsx?city={city}").status_code == 404
    api = APIClient()
    api.force_authenticate(world.user["langya_clerk"])
    assert api.get(f"/api/v1/batches/{batch}/summary-xlsx/?city={city}").status_code == 404
    api.force_authenticate(world.user["sichuan_reviewer"])
    assert api.get(f"/api/v1/batches/{batch}/summary-xlsx/").status_code == 404
    assert Client().get("/approvals/reports.xlsx").status_code == 302  # to the login page
