"""Personal data masked by role (security.masking, approvals.access.personal_data_in_full): whoever acts on
an application (its clerks, leaders, reviewers up the chain) sees its phone, e-mail and USCC in full; its
auditors and administrators see them masked, on the detail page, in the 申报书 PDF and in the 推荐汇总表
(PDF and Excel); every export is written to the security log."""
import io
import json

import pytest
from django.test import Client
from openpyxl import load_workbook
from rest_framework.test import APIClient

from approvals import access
from approvals import services as svc
from orgs.access import principal_build
from security import masking
from security.models import Kind, SecurityEvent
from tests.approvals.chain import act, create, to_province_check
from tests.approvals.conftest import world  # noqa: F401  (the `world` fixture)
from tests.printing.helpers import pdf_text

pytestmark = pytest.mark.django_db

PHONE, EMAIL = "0550-1234567", "contact@example.com"


def test_the_masking_function():
    assert masking.mask("13812345678", masking.PHONE) == "138****5678"
    assert masking.mask("0550-1234567", masking.PHONE) == "055*****4567"
    assert masking.mask("contact@example.com", masking.EMAIL) == "c***@example.com"
    assert masking.mask("91341100MA2N000011", masking.USCC) == "91**************11"
    assert masking.mask("340102199001011234", masking.ID_NUMBER) == "3****************4"
    assert masking.mask("", masking.PHONE) == "" and masking.mask(None, masking.USCC) == ""
    assert masking.mask("12", masking.PHONE) == "****"
    fields = [{"name": "phone", "type": "phone"}, {"name": "note", "type": "text"},
              {"name": "people", "type": "list", "item_fields": [{"name": "mobile", "type": "phone"}]}]
    assert masking.mask_form_data(fields, {"phone": "13812345678", "note": "x", "people": [{"mobile": "13900001111"}]}) \
        == {"phone": "138****5678", "note": "x", "people": [{"mobile": "139****1111"}]}


@pytest.fixture
def recommended(world):  # noqa: F811
    application = create(world, "society-service-station")
    return to_province_check(world, application, "langya")


def client_of(world, name):  # noqa: F811
    client = Client(REMOTE_ADDR="203.0.113.30")
    client.force_login(world.user[name], backend="django.contrib.auth.backends.ModelBackend")
    return client


@pytest.mark.parametrize("name, full", [
    ("langya_clerk", True), ("chuzhou_reviewer", True), ("anhui_reviewer", True), ("anhui_leader", True),
    ("anhui_auditor", False), ("anhui_admin", False), ("chuzhou_auditor", False),
])
def test_who_sees_personal_data_in_full(world, recommended, name, full):  # noqa: F811
    assert access.personal_data_in_full(principal_build(user=world.user[name]), recommended) is full
    page = client_of(world, name).get(f"/approvals/applications/{recommended.pk}/").content.decode()
    assert (recommended.uscc in page) is full
    assert (PHONE in page) is full and (EMAIL in page) is full
    if not full:
        assert masking.mask(recommended.uscc, masking.USCC) in page
        assert masking.mask(PHONE, masking.PHONE) in page and masking.mask(EMAIL, masking.EMAIL) in page


def test_the_application_form_pdf_is_masked_for_an_auditor_and_the_download_is_written(world, recommended):  # noqa: F811
    url = f"/print/applications/{recommended.pk}/form.pdf"
    full = pdf_text(client_of(world, "anhui_reviewer").get(url).content)
    masked = pdf_text(client_of(world, "anhui_auditor").get(url).content)
    assert recommended.uscc in full.replace(" ", "") and PHONE in full.replace(" ", "")
    assert recommended.uscc not in masked.replace(" ", "") and PHONE not in masked.replace(" ", "")
    assert masking.mask(PHONE, masking.PHONE) in masked.replace(" ", "")
    events = SecurityEvent.objects.filter(kind=Kind.EXPORT, detail__document="application_form").order_by("seq")
    assert [(e.username, e.detail["masked"], e.client_ip) for e in events] == [
        ("anhui_reviewer", False, "203.0.113.30"), ("anhui_auditor", True, "203.0.113.30")]


def test_the_summary_table_is_masked_for_the_city_auditor_in_excel_and_pdf(world, recommended):  # noqa: F811
    batch, city = recommended.batch_id, recommended.city_id
    for name, full in (("chuzhou_reviewer", True), ("chuzhou_auditor", False)):
        client = client_of(world, name)
        response = client.get(f"/print/batches/{batch}/summary.xlsx?city={city}&purpose=核对")
        assert response.status_code == 200
        sheet = load_workbook(io.BytesIO(response.content)).active
        cells = {str(c.value) for row in sheet.iter_rows() for c in row if c.value is not None}
        assert (recommended.uscc in cells) is full and (PHONE in cells) is full
        assert (masking.mask(PHONE, masking.PHONE) in cells) is not full
        text = pdf_text(client.get(f"/print/batches/{batch}/summary.pdf?city={city}").content).replace(" ", "")
        assert (PHONE in text) is full
    documents = list(SecurityEvent.objects.filter(kind=Kind.EXPORT).order_by("seq")
                     .values_list("username", "detail__document"))
    assert documents == [("chuzhou_reviewer", "summary_xlsx"), ("chuzhou_reviewer", "summary_pdf"),
                         ("chuzhou_auditor", "summary_xlsx"), ("chuzhou_auditor", "summary_pdf")]


def test_every_download_is_written(world, recommended):  # noqa: F811
    client = client_of(world, "chuzhou_reviewer")
    attachment = recommended.attachments.first()
    assert client.get(f"/approvals/attachments/{attachment.pk}/").status_code == 200
    assert client.get(f"/print/batches/{recommended.batch_id}/recommendation.pdf?city={recommended.city_id}"
                      ).status_code == 200
    assert client.get("/approvals/reports.xlsx?purpose=年度统计").status_code == 200
    written = set(SecurityEvent.objects.filter(kind=Kind.EXPORT).values_list("detail__document", flat=True))
    assert {"attachment", "recommendation_letter", "reports_xlsx"} <= written


# Who acts on the world's application (its county's clerk, the city's and the province's reviewers and the
# province's leader) and who only sees it (auditors and the system administrator of 三员分立).
ROLES = [("langya_clerk", True), ("chuzhou_reviewer", True), ("anhui_reviewer", True), ("anhui_leader", True),
         ("anhui_auditor", False), ("anhui_admin", False), ("chuzhou_auditor", False)]


def api_of(world, name):  # noqa: F811
    api = APIClient(REMOTE_ADDR="203.0.113.31")
    api.force_authenticate(world.user[name])
    return api


def shown(value, kind, full):
    return value if full else masking.mask(value, kind)


@pytest.mark.parametrize("name, full", ROLES)
def test_the_api_masks_lists_details_and_revisions_by_the_rule_of_the_pages(world, recommended, name, full):  # noqa: F811
    api, pk, uscc = api_of(world, name), recommended.pk, recommended.uscc
    listed = api.get("/api/v1/applications/").json()["results"]
    row = next(r for r in listed if r["id"] == pk)
    assert row["uscc"] == shown(uscc, masking.USCC, full)
    detail = api.get(f"/api/v1/applications/{pk}/").json()
    assert detail["uscc"] == shown(uscc, masking.USCC, full)
    assert detail["form_data"]["phone"] == shown(PHONE, masking.PHONE, full)
    assert detail["form_data"]["email"] == shown(EMAIL, masking.EMAIL, full)
    assert detail["form_data"]["address"] == recommended.form_data["address"]  # not personal data
    revisions = api.get(f"/api/v1/applications/{pk}/revisions/").json()
    assert [(r["uscc"], r["form_data"]["phone"]) for r in revisions] == [
        (shown(uscc, masking.USCC, full), shown(PHONE, masking.PHONE, full))]
    everything = json.dumps([listed, detail, revisions], ensure_ascii=False)
    assert (uscc in everything) is full and (PHONE in everything) is full and (EMAIL in everything) is full


@pytest.mark.parametrize("name, full", ROLES)
def test_a_changed_phone_is_masked_in_the_difference_between_revisions(world, recommended, name, full):  # noqa: F811
    new_phone = "13812345678"
    svc.application_return(actor=act(world, "anhui_reviewer"), application_id=recommended.pk, comment="请核对电话")
    svc.application_edit(actor=act(world, "langya_clerk"), application_id=recommended.pk,
                         form_data_patch={"phone": new_phone})
    to_province_check(world, recommended, "langya")
    diff = api_of(world, name).get(f"/api/v1/applications/{recommended.pk}/revisions/diff/?old=1&new=2").json()
    assert [(d["field"], d["old"], d["new"]) for d in diff] == [
        ("phone", shown(PHONE, masking.PHONE, full), shown(new_phone, masking.PHONE, full))]
    page = client_of(world, name).get(f"/approvals/applications/{recommended.pk}/").content.decode()
    assert (new_phone in page) is full and (PHONE in page) is full
    assert (masking.mask(new_phone, masking.PHONE) in page) is not full


@pytest.mark.parametrize("name, full", [("chuzhou_reviewer", True), ("anhui_reviewer", True),
                                        ("chuzhou_auditor", False)])
def test_the_api_export_of_the_summary_table_is_masked_by_role(world, recommended, name, full):  # noqa: F811
    response = api_of(world, name).get(
        f"/api/v1/batches/{recommended.batch_id}/summary-xlsx/?city={recommended.city_id}&purpose=核对")
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content) if response.streaming
                                     else response.content)).active
    cells = {str(c.value) for row in sheet.iter_rows() for c in row if c.value is not None}
    assert (recommended.uscc in cells) is full and (PHONE in cells) is full
    assert (masking.mask(PHONE, masking.PHONE) in cells) is not full
    assert (masking.mask(recommended.uscc, masking.USCC) in cells) is not full
    event = SecurityEvent.objects.get(kind=Kind.EXPORT)
    assert (event.username, event.detail["document"], event.client_ip) == (name, "summary_xlsx", "203.0.113.31")


@pytest.mark.parametrize("name, full", ROLES)
def test_the_search_finds_by_uscc_only_whoever_sees_it_in_full(world, recommended, name, full):  # noqa: F811
    """The web list's ?q= and the API's ?search= (access.application_search_q): a role that sees the USCC
    masked cannot find the application by typing it, whole or in part (the search would confirm it); the
    subject's name finds it for everyone who sees it."""
    uscc, pk = recommended.uscc, recommended.pk
    api, web = api_of(world, name), client_of(world, name)
    for text in (uscc, uscc[3:12], uscc.lower()):
        found = [r["id"] for r in api.get("/api/v1/applications/", {"search": text}).json()["results"]]
        assert (pk in found) is full, text
        page = web.get("/approvals/applications/", {"q": text}).content.decode()
        assert (f"/approvals/applications/{pk}/" in page) is full, text
    found = [r["id"] for r in api.get("/api/v1/applications/", {"search": recommended.subject_name}).json()["results"]]
    assert pk in found
    page = web.get("/approvals/applications/", {"q": recommended.subject_name}).content.decode()
    assert f"/approvals/applications/{pk}/" in page
