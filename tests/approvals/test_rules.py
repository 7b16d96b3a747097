"""The rules that refuse an action with a clear message: the batch window, threshold rules, the ban list,
the subject's identity (USCC, division, applicant level), required attachments and their content, and the
city's quota. Every refused action must leave the database exactly as it was."""
import datetime as dt
import hashlib
import random
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.utils import timezone
from stdnum.cn import uscc as uscc_check
from viewflow.workflow.models import Process, Task

from approvals import errors as E
from approvals import services as svc
from approvals.attachments import attachment_path
from approvals.models import (
    Application,
    ApplicationUserObjectPermission,
    Attachment,
    AuditEvent,
    BannedSubject,
    Batch,
    BatchQuota,
    ExpertAssignment,
    Opinion,
    Revision,
)
from printing.models import Certificate

from .chain import SUBJECTS, act, create, to_decision, to_province_check
from .conftest import USCC, base_form, minimal_docx, minimal_pdf, station_form

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01"


@pytest.fixture(autouse=True)
def _private_storage(settings, tmp_path):
    settings.PRIVATE_STORAGE_ROOT = tmp_path / "private"


def _stored_files() -> list[str]:
    root = Path(django_settings.PRIVATE_STORAGE_ROOT)
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()) if root.exists() else []


def snapshot() -> dict:
    """Everything a refused action could have touched."""
    return {
        "applications": list(Application.objects.order_by("pk").values()),
        "events": AuditEvent.objects.count(),
        "event_rows": list(AuditEvent.objects.order_by("pk").values_list("pk", "hash")),
        "opinions": Opinion.objects.count(),
        "tasks": list(Task.objects.order_by("pk").values_list("pk", "status")),
        "processes": list(Process.objects.order_by("pk").values_list("pk", "status")),
        "revisions": list(Revision.objects.order_by("pk").values_list("pk", "application_id", "number")),
        "attachments": list(Attachment.objects.order_by("pk").values()),
        "assignments": list(ExpertAssignment.objects.order_by("pk").values()),
        "grants": list(ApplicationUserObjectPermission.objects.order_by("pk").values_list("pk", "user_id")),
        "certificates": list(Certificate.objects.order_by("pk").values()),
        "files": _stored_files(),
    }


def refused(error_class, call, **kwargs):
    """Run `call`, expect exactly `error_class`, and check that nothing changed; return the error."""
    before = snapshot()
    with pytest.raises(E.ApprovalError) as exc:
        call(**kwargs)
    assert type(exc.value) is error_class, exc.value
    assert snapshot() == before
    return exc.value


def status(app) -> str:
    return Application.objects.values_list("status", flat=True).get(pk=app.pk)


def submit(world, app, clerk="langya_clerk"):
    return svc.application_submit(actor=act(world, clerk), application_id=app.pk)


# ---------------------------------------------------------------------------------------------- window


@pytest.mark.parametrize("opens_delta, closes_delta", [(-40, -10), (5, 30)])
def test_submit_outside_the_window(world, opens_delta, closes_delta):
    app = create(world, "society-service-station")
    today = timezone.localdate()
    opens, closes = today + dt.timedelta(days=opens_delta), today + dt.timedelta(days=closes_delta)
    Batch.objects.filter(pk=app.batch_id).update(opens_on=opens, closes_on=closes)
    error = refused(E.RuleViolation, submit, world=world, app=app)
    assert error.message == E.MSG_WINDOW_CLOSED % {"opens": opens, "closes": closes}
    assert error.message == f"不在本批次申报时间内（{opens.isoformat()} 至 {closes.isoformat()}）"
    assert error.http_status == 400


def test_submit_on_the_last_day_of_the_window(world):
    app = create(world, "society-service-station")
    today = timezone.localdate()
    Batch.objects.filter(pk=app.batch_id).update(opens_on=today, closes_on=today)
    submit(world, app)
    assert status(app) == "applicant_signoff"


def test_returned_application_may_be_resubmitted_after_the_window(world):
    app = create(world, "society-service-station")
    submit(world, app)
    svc.application_return(actor=act(world, "langya_leader"), application_id=app.pk, comment="请补充材料")
    today = timezone.localdate()
    Batch.objects.filter(pk=app.batch_id).update(opens_on=today - dt.timedelta(days=40),
                                                 closes_on=today - dt.timedelta(days=1))
    submit(world, app)
    assert (status(app), Application.objects.get(pk=app.pk).revision) == ("applicant_signoff", 2)


# ------------------------------------------------------------------------------------------ thresholds


def _experts(national: int, other: int) -> list[dict]:
    return ([{"name": f"国家级专家{i}", "title": "研究员", "employer": "中国科学院", "level": "national"}
             for i in range(national)]
            + [{"name": f"省级专家{i}", "title": "教授", "employer": "安徽大学", "level": "provincial"}
               for i in range(other)])


def _national(needs=10, national_experts=5, other_experts=0, units=3) -> dict:
    form = station_form(tier="national", needs=needs, units=units)
    form["experts"] = _experts(national_experts, other_experts)
    return form


@pytest.mark.parametrize(
    "form, label, required, actual",
    [
        (station_form(needs=4), "省级学会服务站技术需求数", 5, 4),
        (station_form(experts=4), "省级学会服务站进站专家数", 5, 4),
        (station_form(units=4), "省级学会服务站辐射带动单位数", 5, 4),
        (_national(needs=9), "国家级学会服务站技术需求数", 10, 9),
        # Only national-level experts count for a national station.
        (_national(national_experts=4, other_experts=6), "国家级学会服务站国家级进站专家数", 5, 4),
        (_national(units=2), "国家级学会服务站辐射带动单位数", 3, 2),
        # A provincial station is not held to the national rules, and the other way round.
        (station_form(tier="national", needs=10, experts=5, units=3, expert_level="provincial"),
         "国家级学会服务站国家级进站专家数", 5, 0),
    ],
    ids=["prov-needs", "prov-experts", "prov-units", "nat-needs", "nat-experts", "nat-units", "nat-no-national"],
)
def test_threshold_refuses_with_rule_and_numbers(world, form, label, required, actual):
    app = create(world, "society-service-station", form=form)
    error = refused(E.RuleViolation, submit, world=world, app=app)
    assert error.message == E.MSG_THRESHOLD % {"rule": label, "required": required, "actual": actual}
    assert error.message == f"未达到申报条件“{label}”：要求至少 {required}，实际 {actual}"


def test_threshold_message_literal(world):
    app = create(world, "society-service-station", form=station_form(needs=4))
    error = refused(E.RuleViolation, submit, world=world, app=app)
    assert error.message == "未达到申报条件“省级学会服务站技术需求数”：要求至少 5，实际 4"


@pytest.mark.parametrize(
    "form", [station_form(needs=5, experts=5, units=5), _national(), _national(needs=12, national_experts=5,
                                                                              other_experts=3, units=7)],
    ids=["prov-exact", "nat-exact", "nat-above"],
)
def test_threshold_met_submits(world, form):
    app = create(world, "society-service-station", form=form)
    submit(world, app)
    assert status(app) == "applicant_signoff"


def test_batch_thresholds_replace_the_programs(world):
    batch = world.batch("society-service-station")
    batch.thresholds = [{"code": "needs8", "label": "本批次技术需求数", "field": "technical_needs", "op": "min_count",
                         "value": 8}]
    batch.save()
    app = create(world, "society-service-station", form=station_form(needs=7, experts=1, units=1))
    error = refused(E.RuleViolation, submit, world=world, app=app)
    assert error.message == "未达到申报条件“本批次技术需求数”：要求至少 8，实际 7"
    form = station_form(needs=8, experts=1, units=1)
    svc.application_edit(actor=act(world, "langya_clerk"), application_id=app.pk, form_data=form)
    submit(world, app)
    assert status(app) == "applicant_signoff"


def test_other_program_threshold(world):
    form = base_form()
    form["partners"] = form["partners"][:1]
    app = create(world, "collaborative-innovation-base", form=form)
    error = refused(E.RuleViolation, submit, world=world, app=app)
    assert error.message == "未达到申报条件“合作单位数”：要求至少 2，实际 1"


def test_incomplete_form_is_refused_at_submission(world):
    form = station_form()
    del form["work_plan"]
    form["phone"] = "电话"
    app = create(world, "society-service-station", form=station_form())
    svc.application_edit(actor=act(world, "langya_clerk"), application_id=app.pk, form_data={**form, "phone": ""})
    error = refused(E.InvalidInput, submit, world=world, app=app)
    assert (error.message, error.errors) == (
        str(E.MSG_FORM_INVALID), {"work_plan": "“工作计划与目标”为必填项", "phone": "“联系电话”为必填项"})
    error = refused(E.InvalidInput, svc.application_edit, actor=act(world, "langya_clerk"), application_id=app.pk,
                    form_data=form)
    assert error.errors == {"phone": "联系电话：电话号码格式不正确"}


# -------------------------------------------------------------------------------------------- ban list


@pytest.mark.parametrize("days, barred", [(365, True), (0, True), (-1, False)])
def test_ban_list(world, days, barred):
    until = timezone.localdate() + dt.timedelta(days=days)
    BannedSubject.objects.create(uscc=USCC, name=SUBJECTS["society-service-station"], reason="提供虚假材料",
                                 barred_until=until)
    app = create(world, "society-service-station", uscc=USCC)
    if barred:
        error = refused(E.RuleViolation, submit, world=world, app=app)
        assert error.message == E.MSG_BANNED % {
            "name": SUBJECTS["society-service-station"], "reason": "提供虚假材料", "until": until}
        assert error.message == f"申报主体“滁州某某智能装备有限公司”因“提供虚假材料”在 {until.isoformat()} 前不得申报"
    else:
        submit(world, app)
        assert status(app) == "applicant_signoff"


def test_ban_of_another_subject_does_not_refuse(world):
    other = "91341101MA2N0XKX1"
    other += uscc_check.calc_check_digit(other)
    BannedSubject.objects.create(uscc=other, name="别的公司", reason="提供虚假材料",
                                 barred_until=timezone.localdate() + dt.timedelta(days=365))
    app = create(world, "society-service-station")
    submit(world, app)
    assert status(app) == "applicant_signoff"


# ------------------------------------------------------------------------------- identity of the subject


def _create(world, clerk="langya_clerk", applicant="langya", program="society-service-station", province="anhui",
            **overrides):
    kwargs = {
        "actor": act(world, clerk), "batch": world.batch(program, province), "applicant": world.org[applicant],
        "subject_name": "滁州某某智能装备有限公司", "uscc": USCC, "division_code": world.division[applicant].code,
        "form_data": station_form(),
    }
    kwargs.update(overrides)
    return svc.application_create(**kwargs)


def test_invalid_uscc(world):
    bad = USCC[:-1] + ("A" if USCC[-1] != "A" else "B")
    error = refused(E.InvalidInput, _create, world=world, uscc=bad)
    assert (error.message, error.errors) == (str(E.MSG_FORM_INVALID), {"uscc": E.MSG_USCC_INVALID % {"value": bad}})
    assert error.errors["uscc"] == f"统一社会信用代码“{bad}”无效"
    for wrong in ("9134110", "91341100MA2N0XKX1GX", "I1341100MA2N0XKX1G"):
        error = refused(E.InvalidInput, _create, world=world, uscc=wrong)
        assert list(error.errors) == ["uscc"]
    error = refused(E.InvalidInput, _create, world=world, uscc="")
    assert error.errors == {"uscc": str(E.MSG_USCC_REQUIRED)}
    # Lower case is accepted and stored in canonical form.
    app = _create(world, uscc=USCC.lower())
    assert Application.objects.get(pk=app.pk).uscc == USCC
    # An edit to an invalid code is refused as well.
    error = refused(E.InvalidInput, svc.application_edit, actor=act(world, "langya_clerk"), application_id=app.pk,
                    uscc=bad)
    assert error.errors == {"uscc": E.MSG_USCC_INVALID % {"value": bad}}


def test_division_outside_the_applicant(world):
    error = refused(E.InvalidInput, _create, world=world, division_code="341103")
    assert error.errors == {"division_code": "所在区划 341103 不在申报单位 琅琊区科学技术协会 的辖区内"}
    assert error.errors["division_code"] == E.MSG_DIVISION_OUTSIDE % {"code": "341103", "org": "琅琊区科学技术协会"}
    error = refused(E.InvalidInput, _create, world=world, division_code="510117")
    assert list(error.errors) == ["division_code"]
    error = refused(E.InvalidInput, _create, world=world, division_code="341199")  # no such division
    assert list(error.errors) == ["division_code"]
    # A city applies for any division under it.
    app = _create(world, clerk="chuzhou_clerk", applicant="chuzhou", program="innovation-driven-city", uscc="",
                  division_code="341102", form_data={})
    assert Application.objects.get(pk=app.pk).division_id == "341102"
    error = refused(E.InvalidInput, _create, world=world, clerk="chuzhou_clerk", applicant="chuzhou",
                    program="innovation-driven-city", uscc="", division_code="340102", form_data={})
    assert error.errors == {"division_code": "所在区划 340102 不在申报单位 滁州市科学技术协会 的辖区内"}


def test_a_functional_area_is_not_a_subject_division_but_its_kexie_applies_for_its_citys_counties(world):
    from orgs.models import Division, DivisionKind, Membership, Organization, OrgKind

    zone = Division.objects.create(code="341171", name="中新苏滁高新技术产业开发区", level="county",
                                   kind=DivisionKind.FUNCTIONAL, parent=world.division["chuzhou"])
    park = Organization.objects.create(name="中新苏滁高新技术产业开发区科学技术协会", kind=OrgKind.KEXIE, level="county",
                                       division=zone, parent=world.org["chuzhou"])
    # The city's own division list no longer offers the zone; a county of the city is still fine.
    error = refused(E.InvalidInput, _create, world=world, clerk="chuzhou_clerk", applicant="chuzhou",
                    program="innovation-driven-city", uscc="", division_code="341171", form_data={})
    assert error.errors == {"division_code": "所在区划 341171 不在申报单位 滁州市科学技术协会 的辖区内"}
    world.org["park"], world.division["park"] = park, zone
    Membership.objects.create(user=world.user["langya_clerk"], organization=park, role="clerk")
    error = refused(E.InvalidInput, _create, world=world, applicant="park", division_code="341171")
    assert error.errors == {"division_code": "所在区划 341171 不在申报单位 中新苏滁高新技术产业开发区科学技术协会 的辖区内"}
    app = _create(world, applicant="park", division_code="341103")
    assert (Application.objects.get(pk=app.pk).applicant_id, Application.objects.get(pk=app.pk).division_id) == (
        park.pk, "341103")


def test_wrong_applicant_level(world):
    error = refused(E.InvalidInput, _create, world=world, program="innovation-driven-city", uscc="", form_data={})
    assert error.message == E.MSG_PROGRAM_LEVEL % {"program": "创新驱动示范市", "level": "市级"}
    assert error.message == "“创新驱动示范市”须由市级科协申报"
    error = refused(E.InvalidInput, _create, world=world, clerk="chuzhou_clerk", applicant="chuzhou")
    assert error.message == "“学会服务站”须由县级科协申报"


def test_batch_of_another_province(world):
    error = refused(E.InvalidInput, _create, world=world, province="sichuan")
    assert error.message == E.MSG_BATCH_PROVINCE % {"batch": world.batch("society-service-station", "sichuan").name}


@pytest.mark.parametrize("clerk", ["langya_leader", "nanqiao_clerk", "chuzhou_clerk", "anhui_admin"])
def test_only_the_applicants_clerk_creates(world, clerk):
    error = refused(E.NotAllowed, _create, world=world, clerk=clerk)
    assert error.message == E.MSG_NOT_ALLOWED % {"action": "创建申报"}


# ----------------------------------------------------------------------------------------- attachments


def test_missing_attachments(world):
    app = _create(world)
    clerk = act(world, "langya_clerk")
    svc.attachment_add(actor=clerk, application_id=app.pk, kind="application_form", name="申请表.pdf",
                       content=minimal_pdf("a"))
    agreement = svc.attachment_add(actor=clerk, application_id=app.pk, kind="agreement", name="建站协议.pdf",
                                   content=minimal_pdf("b"))
    error = refused(E.RuleViolation, submit, world=world, app=app)
    assert error.message == E.MSG_ATTACHMENTS_MISSING % {"kinds": "技术需求表、进站专家信息表、工作制度"}
    assert error.message == "缺少必备附件：技术需求表、进站专家信息表、工作制度"
    for kind in ("technical_needs", "expert_info", "rules"):
        svc.attachment_add(actor=clerk, application_id=app.pk, kind=kind, name=f"{kind}.pdf", content=minimal_pdf(kind))
    # A removed attachment no longer counts.
    svc.attachment_remove(actor=clerk, attachment_id=agreement.pk)
    error = refused(E.RuleViolation, submit, world=world, app=app)
    assert error.message == "缺少必备附件：建站协议"
    svc.attachment_add(actor=clerk, application_id=app.pk, kind="agreement", name="建站协议.docx",
                       content=minimal_docx())
    submit(world, app)
    assert status(app) == "applicant_signoff"
    assert Revision.objects.get(application=app, number=1).attachments["agreement"] == [
        {"name": "建站协议.docx", "sha256": hashlib.sha256(minimal_docx()).hexdigest(), "size": len(minimal_docx())}]


@pytest.mark.parametrize(
    "name, content, content_type",
    [
        ("营业执照.pdf", PNG, "image/png"),
        ("申请表.pdf", minimal_pdf("real"), "application/pdf"),
        ("照片.png", JPEG, "image/jpeg"),
        ("申请表.pdf", minimal_docx(), "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    ],
)
def test_attachment_type_by_content(world, name, content, content_type):
    app = _create(world)
    attachment = svc.attachment_add(actor=act(world, "langya_clerk"), application_id=app.pk, kind="application_form",
                                    name=name, content=content)
    stored = Attachment.objects.get(pk=attachment.pk)
    assert (stored.original_name, stored.content_type, stored.size, stored.sha256, stored.revision,
            stored.uploaded_by_id, stored.removed_in) == (
        name, content_type, len(content), hashlib.sha256(content).hexdigest(), 1, world.user["langya_clerk"].pk, None)
    path = attachment_path(stored)
    assert path.read_bytes() == content
    # Stored under a generated name, outside the served media.
    assert path.name == stored.storage_key and name not in str(path)
    assert path.is_relative_to(Path(django_settings.PRIVATE_STORAGE_ROOT))
    assert len(stored.storage_key) == 32
    event = AuditEvent.objects.filter(application=app).order_by("-seq").first()
    assert (event.action, event.comment) == ("attach", f"application_form:{name}:{stored.sha256}")


@pytest.mark.parametrize(
    "name, content",
    [
        ("申请表.pdf", random.Random(2026).randbytes(4096)),
        ("申请表.pdf", b""),
        ("申请表.docx", b"PK\x03\x04" + b"not really a zip"),
        ("申请表.exe", b"MZ\x90\x00" + b"\x00" * 64),
        ("申请表.html", b"<html><script>alert(1)</script></html>"),
    ],
    ids=["random", "empty", "broken-zip", "exe", "html"],
)
def test_attachment_refused_by_content(world, name, content):
    app = _create(world)
    error = refused(E.InvalidInput, svc.attachment_add, actor=act(world, "langya_clerk"), application_id=app.pk,
                    kind="application_form", name=name, content=content)
    assert error.message == E.MSG_ATTACHMENT_TYPE % {"name": name}


def test_attachment_zip_that_is_not_office(world):
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("payload.txt", "x")
    app = _create(world)
    error = refused(E.InvalidInput, svc.attachment_add, actor=act(world, "langya_clerk"), application_id=app.pk,
                    kind="application_form", name="a.docx", content=buffer.getvalue())
    assert error.message == "附件“a.docx”的内容不是允许的格式（PDF、JPEG、PNG、DOCX、XLSX）"


def test_attachment_size_limit(world):
    app = _create(world)
    limit = svc.ATTACHMENT_MAX_BYTES
    assert limit == 20 * 1024 * 1024
    too_big = minimal_pdf() + b"0" * (limit + 1 - len(minimal_pdf()))
    error = refused(E.InvalidInput, svc.attachment_add, actor=act(world, "langya_clerk"), application_id=app.pk,
                    kind="application_form", name="大文件.pdf", content=too_big)
    assert error.message == "附件“大文件.pdf”超过大小上限 20 MB"
    exactly = too_big[:limit]
    attachment = svc.attachment_add(actor=act(world, "langya_clerk"), application_id=app.pk, kind="application_form",
                                    name="刚好.pdf", content=exactly)
    assert (attachment.size, attachment.sha256) == (limit, hashlib.sha256(exactly).hexdigest())


def test_attachment_kind_and_state(world):
    app = _create(world)
    error = refused(E.InvalidInput, svc.attachment_add, actor=act(world, "langya_clerk"), application_id=app.pk,
                    kind="photo", name="a.pdf", content=minimal_pdf())
    assert (error.message, error.errors) == ("未知的附件类型“photo”", {"kind": "未知的附件类型“photo”"})
    submitted = create(world, "society-service-station", county="nanqiao")
    submit(world, submitted, clerk="nanqiao_clerk")
    error = refused(E.WrongState, svc.attachment_add, actor=act(world, "nanqiao_clerk"), application_id=submitted.pk,
                    kind="agreement", name="a.pdf", content=minimal_pdf())
    assert error.message == E.MSG_WRONG_STATE % {"status": "本级审核中", "action": "修改"}
    attachment = Attachment.objects.filter(application=submitted).first()
    refused(E.WrongState, svc.attachment_remove, actor=act(world, "nanqiao_clerk"), attachment_id=attachment.pk)
    refused(E.NotFound, svc.attachment_remove, actor=act(world, "nanqiao_clerk"), attachment_id=attachment.pk + 10_000)


# ------------------------------------------------------------------------------------------------ quota


def _in_city_review(world, county):
    app = create(world, "society-service-station", county=county)
    submit(world, app, clerk=f"{county}_clerk")
    svc.application_sign_off(actor=act(world, f"{county}_leader"), application_id=app.pk)
    assert status(app) == "city_review"
    return app


def _recommend(world, app, reviewer="chuzhou_reviewer"):
    return svc.application_recommend(actor=act(world, reviewer), application_id=app.pk, comment="推荐")


def test_quota(world):
    world.batch("society-service-station", quota=3)
    apps = [_in_city_review(world, county) for county in ("langya", "nanqiao", "langya", "nanqiao", "langya")]
    for app in apps[:3]:
        _recommend(world, app)
    assert [status(a) for a in apps[:3]] == ["province_check"] * 3
    error = refused(E.QuotaExceeded, _recommend, world=world, app=apps[3])
    assert error.message == E.MSG_QUOTA_EXCEEDED % {"used": 3, "quota": 3}
    assert error.message == "本批次推荐名额已用完（3/3）"
    assert (error.http_status, isinstance(error, E.RuleViolation)) == (409, True)
    # Another city's quota is its own.
    yaohai = _in_city_review(world, "yaohai")
    _recommend(world, yaohai, reviewer="hefei_reviewer")
    assert status(yaohai) == "province_check"
    # Declining does not use the quota, and it stays full.
    svc.application_decline(actor=act(world, "chuzhou_reviewer"), application_id=apps[4].pk, comment="不符合条件")
    refused(E.QuotaExceeded, _recommend, world=world, app=apps[3])
    # A province return frees the slot.
    svc.application_return(actor=act(world, "anhui_reviewer"), application_id=apps[0].pk, comment="请补充材料")
    assert status(apps[0]) == "draft"
    _recommend(world, apps[3])
    assert status(apps[3]) == "province_check"
    # The returned one, resubmitted, finds the quota full again.
    submit(world, apps[0])
    svc.application_sign_off(actor=act(world, "langya_leader"), application_id=apps[0].pk)
    error = refused(E.QuotaExceeded, _recommend, world=world, app=apps[0])
    assert error.message == "本批次推荐名额已用完（3/3）"


def test_quota_counts_rejected_recommendations(world):
    world.batch("innovation-driven-county", quota=1)
    first = create(world, "innovation-driven-county")
    first = to_decision(world, to_province_check(world, first, "langya"))
    svc.application_decide(actor=act(world, "anhui_leader"), application_id=first.pk, approve=False, comment="不予认定")
    assert status(first) == "rejected"
    second = create(world, "innovation-driven-county", county="nanqiao")
    submit(world, second, clerk="nanqiao_clerk")
    svc.application_sign_off(actor=act(world, "nanqiao_leader"), application_id=second.pk)
    error = refused(E.QuotaExceeded, _recommend, world=world, app=second)
    assert error.message == "本批次推荐名额已用完（1/1）"


def test_no_quota_for_the_city(world):
    app = _in_city_review(world, "langya")
    BatchQuota.objects.filter(batch_id=app.batch_id, city=world.org["chuzhou"]).delete()
    error = refused(E.RuleViolation, _recommend, world=world, app=app)
    assert error.message == E.MSG_NO_QUOTA % {"city": "滁州市科学技术协会"}
