"""Optimistic concurrency for drafts: a version (ETag) with every edit, a stale save refused with a message
that names who changed what, nothing lost; PATCH merges form data by key."""
import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from approvals import errors as E
from approvals import services as svc
from approvals.models import Application, AuditEvent, Status
from orgs.models import Membership
from orgs.services import member_display_name
from tests.factories import UserFactory

from .chain import act, create
from .conftest import minimal_pdf, station_form

PROGRAM = "society-service-station"


@pytest.fixture
def draft(world):
    return create(world, PROGRAM)


@pytest.fixture
def second_clerk(world):
    user = UserFactory(username="langya_clerk2", first_name=member_display_name(world.org["langya"], "clerk", 2))
    Membership.objects.create(user=user, organization=world.org["langya"], role="clerk")
    world.user["langya_clerk2"] = user
    return user


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def url(application) -> str:
    return f"/api/v1/applications/{application.pk}/"


def state(application) -> tuple:
    application = Application.objects.get(pk=application.pk)
    return (application.subject_name, application.form_data, application.audit_seq, application.audit_head,
            AuditEvent.objects.filter(application=application).count())


# ------------------------------------------------------------------------------------------ service


def test_an_edit_on_the_current_version_saves_and_names_its_fields(world, draft):
    version = Application.objects.get(pk=draft.pk).audit_seq
    svc.application_edit(actor=act(world, "langya_clerk"), application_id=draft.pk, expected_version=version,
                         subject_name="滁州新名有限公司", form_data_patch={"phone": "0550-0000001"})
    application = Application.objects.get(pk=draft.pk)
    assert (application.subject_name, application.form_data["phone"], application.audit_seq) == (
        "滁州新名有限公司", "0550-0000001", version + 1)
    event = AuditEvent.objects.get(application=draft, seq=version + 1)
    assert (event.action, event.comment) == ("edit", "subject_name,form_data.phone")


def test_a_stale_edit_is_refused_and_says_who_changed_what(world, draft, second_clerk):
    version = Application.objects.get(pk=draft.pk).audit_seq
    svc.application_edit(actor=act(world, "langya_clerk2"), application_id=draft.pk, expected_version=version,
                         form_data_patch={"phone": "0550-1111111", "contact_person": "王二"})
    before = state(draft)
    with pytest.raises(E.StaleVersion) as refused:
        svc.application_edit(actor=act(world, "langya_clerk"), application_id=draft.pk, expected_version=version,
                             form_data_patch={"phone": "0550-2222222"})
    assert state(draft) == before  # nothing written
    event = AuditEvent.objects.get(application=draft, seq=version + 1)
    when = timezone.localtime(event.created_at).strftime("%m-%d %H:%M")
    assert refused.value.message == (
        f"保存未成功：您打开这份草稿之后，它已被修改（琅琊区科协经办人2 于 {when} 修改了“联系人”、“联系电话”）。"
        "您这次填写的内容没有保存，也没有丢失，请核对标出的项目后再保存。")
    assert refused.value.errors == {"contact_person": [f"已被 琅琊区科协经办人2 于 {when} 修改"],
                                    "phone": [f"已被 琅琊区科协经办人2 于 {when} 修改"]}
    assert (refused.value.http_status, refused.value.code, refused.value.params["current"]) == (
        409, "stale", version + 1)


def test_attachments_and_a_version_from_the_future_are_named_too(world, draft):
    version = Application.objects.get(pk=draft.pk).audit_seq
    svc.attachment_add(actor=act(world, "langya_clerk"), application_id=draft.pk, kind="application_form",
                       name="申请表.pdf", content=minimal_pdf())
    with pytest.raises(E.StaleVersion) as refused:
        svc.application_edit(actor=act(world, "langya_clerk"), application_id=draft.pk, expected_version=version,
                             subject_name="又一个名字")
    assert "上传了附件“申请表.pdf”" in refused.value.message and refused.value.errors == {}
    with pytest.raises(E.StaleVersion) as refused:
        svc.application_edit(actor=act(world, "langya_clerk"), application_id=draft.pk,
                             expected_version=version + 5, subject_name="又一个名字")
    assert refused.value.message == f"保存未成功：所依据的版本 {version + 5} 不存在（当前为 {version + 1}），请刷新后重试"
    assert Application.objects.get(pk=draft.pk).subject_name == draft.subject_name


def test_a_patch_keeps_the_keys_it_did_not_send_and_null_removes_one(world, draft):
    full = station_form()
    version = Application.objects.get(pk=draft.pk).audit_seq
    svc.application_edit(actor=act(world, "langya_clerk"), application_id=draft.pk, expected_version=version,
                         form_data_patch={"phone": "0550-9999999", "email": None})
    data = Application.objects.get(pk=draft.pk).form_data
    expected = {key: value for key, value in full.items() if key != "email"} | {"phone": "0550-9999999"}
    assert data == expected and len(data) == len(full) - 1


# -------------------------------------------------------------------------------------------- API


def test_api_detail_carries_the_version_as_etag(world, draft):
    response = api(world.user["langya_clerk"]).get(url(draft))
    assert response["ETag"] == f'"{Application.objects.get(pk=draft.pk).audit_seq}"'


def test_api_patch_merges_form_data_by_key(world, draft):
    client = api(world.user["langya_clerk"])
    etag = client.get(url(draft))["ETag"]
    response = client.patch(url(draft), {"form_data": {"phone": "0550-7777777"}}, format="json", HTTP_IF_MATCH=etag)
    assert response.status_code == 200
    assert response.json()["form_data"] == {**station_form(), "phone": "0550-7777777"}
    assert len(response.json()["form_data"]) == 17
    assert response["ETag"] == f'"{int(etag.strip(chr(34))) + 1}"'


def test_api_patch_without_or_with_a_bad_if_match_is_refused(world, draft):
    client = api(world.user["langya_clerk"])
    before = state(draft)
    response = client.patch(url(draft), {"subject_name": "新名"}, format="json")
    assert (response.status_code, response.json()) == (428, {
        "code": "version_required", "errors": {},
        "message": "修改草稿须说明所依据的版本：请在 If-Match 请求头中填写读取该申报时得到的 ETag",
        "detail": "修改草稿须说明所依据的版本：请在 If-Match 请求头中填写读取该申报时得到的 ETag"})
    for bad in ('W/"3"', "3", '"x"'):
        response = client.patch(url(draft), {"subject_name": "新名"}, format="json", HTTP_IF_MATCH=bad)
        assert (response.status_code, response.json()["code"]) == (400, "invalid"), bad
    assert state(draft) == before


def test_api_stale_patch_is_409_with_the_current_etag_and_nothing_lost(world, draft, second_clerk):
    first, second = api(world.user["langya_clerk"]), api(second_clerk)
    etag = first.get(url(draft))["ETag"]
    assert second.patch(url(draft), {"form_data": {"contact_person": "王二"}}, format="json",
                        HTTP_IF_MATCH=etag).status_code == 200
    response = first.patch(url(draft), {"form_data": {"phone": "0550-3333333"}}, format="json", HTTP_IF_MATCH=etag)
    current = Application.objects.get(pk=draft.pk)
    assert (response.status_code, response.json()["code"], response["ETag"]) == (409, "stale", f'"{current.audit_seq}"')
    assert "琅琊区科协经办人2" in response.json()["detail"] and "修改了“联系人”" in response.json()["detail"]
    assert current.form_data["contact_person"] == "王二" and current.form_data["phone"] == "0550-1234567"
    # The loser starts again from the version it was given: both changes stand.
    response = first.patch(url(draft), {"form_data": {"phone": "0550-3333333"}}, format="json",
                           HTTP_IF_MATCH=response["ETag"])
    assert response.status_code == 200
    assert {key: response.json()["form_data"][key] for key in ("contact_person", "phone")} == {
        "contact_person": "王二", "phone": "0550-3333333"}


# -------------------------------------------------------------------------------------------- web


def _post_data(application, **changes) -> dict:
    """What the edit page posts for `application` as loaded, with `changes` typed in."""
    from approvals.forms import ApplicationForm

    initial = ApplicationForm.initial_from(application)
    data = {key: ("" if value is None else value) for key, value in initial.items()}
    data.update(changes)
    return data


def test_web_form_carries_the_version_and_a_stale_save_keeps_both_changes(world, draft, second_clerk, client):
    loaded = Application.objects.get(pk=draft.pk)
    client.force_login(world.user["langya_clerk"])
    page = client.get(f"/approvals/applications/{draft.pk}/edit/").content.decode()
    assert f'name="version" value="{loaded.audit_seq}"' in page
    # The second clerk saves first (the contact person); the first then saves the page opened before.
    svc.application_edit(actor=act(world, "langya_clerk2"), application_id=draft.pk,
                         expected_version=loaded.audit_seq, form_data_patch={"contact_person": "王二"})
    response = client.post(f"/approvals/applications/{draft.pk}/edit/", _post_data(loaded, f_phone="0550-4444444"))
    assert response.status_code == 409
    page = response.content.decode()
    assert "保存未成功：您打开这份草稿之后，它已被修改（琅琊区科协经办人2 于" in page
    current = Application.objects.get(pk=draft.pk)
    assert current.form_data["phone"] == "0550-1234567"  # nothing saved
    form = response.context["form"]
    # The page now shows the saved contact person, keeps the phone typed, and carries the current version.
    assert (form.data["f_contact_person"], form.data["f_phone"], form.data["version"]) == (
        "王二", "0550-4444444", current.audit_seq)
    assert "此处已换成保存的内容；您填写的是：李四" in page
    response = client.post(f"/approvals/applications/{draft.pk}/edit/", dict(form.data.items()))
    assert response.status_code == 302
    saved = Application.objects.get(pk=draft.pk).form_data
    assert (saved["contact_person"], saved["phone"]) == ("王二", "0550-4444444")


def test_web_form_without_its_version_is_not_saved(world, draft, client):
    client.force_login(world.user["langya_clerk"])
    data = _post_data(Application.objects.get(pk=draft.pk), subject_name="无版本")
    del data["version"]
    response = client.post(f"/approvals/applications/{draft.pk}/edit/", data)
    assert response.status_code == 422 and "页面缺少版本信息，请刷新后重新填写" in response.content.decode()
    assert Application.objects.get(pk=draft.pk).subject_name == draft.subject_name


def test_sequential_stale_saves_on_sqlite_or_postgres_one_saves_one_409(world, draft, second_clerk):
    """Two saves from one version, one after the other: the first saves, the second is 409, 20 times."""
    clients = [api(world.user["langya_clerk"]), api(second_clerk)]
    for round_ in range(20):
        etag = clients[0].get(url(draft))["ETag"]
        first = clients[round_ % 2].patch(url(draft), {"form_data": {"phone": f"0550-{round_:07d}"}},
                                          format="json", HTTP_IF_MATCH=etag)
        second = clients[(round_ + 1) % 2].patch(url(draft), {"form_data": {"contact_person": f"人{round_}"}},
                                                 format="json", HTTP_IF_MATCH=etag)
        assert (first.status_code, second.status_code) == (200, 409)
        data = Application.objects.get(pk=draft.pk).form_data
        assert (data["phone"], data["contact_person"]) == (f"0550-{round_:07d}", "李四" if round_ == 0 else f"人{round_ - 1}")
        # Nothing lost: the loser saves on the version it was given.
        assert clients[(round_ + 1) % 2].patch(url(draft), {"form_data": {"contact_person": f"人{round_}"}},
                                               format="json", HTTP_IF_MATCH=second["ETag"]).status_code == 200
    assert Application.objects.get(pk=draft.pk).status == Status.DRAFT
