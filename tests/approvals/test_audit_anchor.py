"""The audit trail anchored outside the database (docs/audit.md): the signed digests, the six rewrites that
the chain alone cannot see (each caught against the latest digest or by the new checks), the digests' own
tampering, the writer, the nightly task and the auditors' download."""
import base64
import datetime as dt
import hashlib
import io
import json
import shutil
import subprocess

import pytest
import time_machine
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import Client
from django.utils import timezone

from approvals import audit_anchor
from approvals import services as svc
from approvals.access import may_download_audit_digests as _may_download
from approvals.audit_anchor import digest_files, digests_check
from approvals.models import Application, AuditEvent
from approvals.selectors import audit_verify
from approvals.tasks import write_audit_digest
from orgs.access import principal_of
from orgs.models import Membership
from tests.factories import UserFactory
from workflows.workdays import CalendarDay, CalendarYear, calendar_changed, is_workday, workdays_between

from .chain import act, create, to_province_check


def may_download_audit_digests(user) -> bool:
    return _may_download(principal_of(user, fresh=True))


@pytest.fixture(autouse=True)
def _private_storage(settings, tmp_path):
    settings.PRIVATE_STORAGE_ROOT = tmp_path / "private"


@pytest.fixture
def two_audited(world):
    first = to_province_check(world, create(world, "society-service-station"), "langya")
    second = to_province_check(world, create(world, "innovation-driven-county", county="nanqiao"), "nanqiao")
    return first, second


def run(command, *args) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command(command, *args, stdout=out, stderr=err)
        code = 0
    except SystemExit as exc:
        code = exc.code
    return code, out.getvalue().strip(), err.getvalue().strip()


def verify() -> tuple[int, str, str]:
    return run("verify_audit")


def digest_now() -> audit_anchor.Digest:
    code, out, err = run("write_audit_digest")
    assert (code, err) == (0, ""), err
    return digests_check()


def at(digest) -> str:
    return timezone.localtime(digest.as_of).strftime("%Y-%m-%d %H:%M")


def passing(digest) -> tuple[int, str, str]:
    return 0, f"{AuditEvent.objects.count()} 条审计记录，全部链完整，与签名摘要 #{digest.number}（{at(digest)}）相符", ""


def chain(app) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(application_id=app.pk).order_by("seq"))


def without_digests(tmp_path) -> tuple[bool, str]:
    """What the chain alone says (no digest to compare with)."""
    return audit_verify(digest_dir=tmp_path / "no-digests")


def delete_event(event) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {AuditEvent._meta.db_table} WHERE id = %s", [event.pk])


def rehash(app, from_seq: int) -> None:
    """What someone with SQL access does after changing an event: recompute every later link and the head."""
    prev = ""
    for event in chain(app):
        if event.seq >= from_seq:
            event.prev_hash = prev
            event.hash = event.compute_hash()
            AuditEvent.objects.filter(pk=event.pk).update(prev_hash=event.prev_hash, hash=event.hash)
        prev = event.hash
    Application.objects.filter(pk=app.pk).update(audit_seq=chain(app)[-1].seq, audit_head=prev)


def forge(app, *, action, to_status, created_at) -> AuditEvent:
    """A perfect forgery appended to the chain: valid hash, stays derived as the services derive them, the
    head and the status moved along."""
    events = chain(app)
    last = events[-1]
    entered = [e.created_at for e in events if e.from_status != e.to_status][-1]
    event = AuditEvent(
        application_id=app.pk, seq=last.seq + 1, actor_id=last.actor_id, organization_id=last.organization_id,
        role="leader", action=action, from_status=last.to_status, to_status=to_status, revision=last.revision,
        comment="伪造", created_at=created_at, client_ip="127.0.0.1", prev_hash=last.hash,
    )
    if event.from_status != event.to_status:
        event.from_entered_at = entered
        event.stay_workdays = max(0, workdays_between(entered, created_at))
    event.hash = event.compute_hash()
    event.save()
    Application.objects.filter(pk=app.pk).update(audit_seq=event.seq, audit_head=event.hash, status=to_status)
    return event


# ------------------------------------------------------------------------------------------ the digest


def test_a_digest_signs_every_head_and_links_the_one_before(two_audited):
    first, second = two_audited
    one = digest_now()
    first, second = Application.objects.get(pk=first.pk), Application.objects.get(pk=second.pk)
    data = one.path.read_bytes()
    header, heads, signature, end = data.split(b"\n")
    assert end == b""
    assert json.loads(heads) == [[first.pk, first.audit_seq, first.audit_head],
                                 [second.pk, second.audit_seq, second.audit_head]]
    public = serialization.load_pem_public_key(audit_anchor.public_key_pem())
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    assert json.loads(header) == {
        "format": "kexie-audit-digest/1", "number": 1, "as_of": one.as_of.isoformat(timespec="microseconds"),
        "previous_sha256": "", "key_id": hashlib.sha256(raw).hexdigest(), "applications": 2, "note": "",
        "verification": "",
    }
    assert signature.startswith(b"ed25519 ")
    public.verify(base64.b64decode(signature[8:]), header + b"\n" + heads + b"\n")  # raises when wrong
    assert one.path.name == "digest-000001.txt" and one.path.stat().st_mode & 0o777 == 0o444
    assert verify() == passing(one)

    two = digest_now()
    assert (two.number, two.previous_sha256) == (2, hashlib.sha256(data).hexdigest())
    assert one.path.read_bytes() == data
    assert verify() == passing(two)


def test_auditors_can_check_a_digest_with_openssl_alone(two_audited, tmp_path):
    """The check docs/audit.md gives auditors, with nothing of this system but the public key."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    one = digest_now()
    (tmp_path / "audit-public-key.pem").write_bytes(audit_anchor.public_key_pem())
    shutil.copy(one.path, tmp_path)
    split = "head -n 2 digest-000001.txt > body && tail -n 1 digest-000001.txt | cut -d' ' -f2 | base64 -d > sig"
    check = ["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", "audit-public-key.pem", "-rawin", "-in", "body",
             "-sigfile", "sig"]
    subprocess.run(["bash", "-c", split], cwd=tmp_path, check=True)
    result = subprocess.run(check, cwd=tmp_path, capture_output=True, text=True)
    assert (result.returncode, result.stdout.strip()) == (0, "Signature Verified Successfully")
    (tmp_path / "body").write_bytes((tmp_path / "body").read_bytes().replace(b'"number":1', b'"number":7'))
    result = subprocess.run(check, cwd=tmp_path, capture_output=True, text=True)
    assert (result.returncode, result.stdout.strip()) == (1, "Signature Verification Failure")


def test_an_existing_digest_file_is_never_replaced(two_audited):
    one = digest_now()
    before = one.path.read_bytes()
    with pytest.raises(FileExistsError):
        audit_anchor._publish(one.path, b"forged\n", mode=0o444)
    assert one.path.read_bytes() == before
    assert [p.name for p in one.path.parent.iterdir()] == ["digest-000001.txt"]  # no temporary file left


def test_the_development_key_is_made_once_and_kept(settings, tmp_path):
    settings.AUDIT_SIGNING_KEY_FILE = tmp_path / "var" / "audit-signing-key.pem"
    settings.AUDIT_SIGNING_KEY_CREATE = True
    first = audit_anchor.key_id()
    assert settings.AUDIT_SIGNING_KEY_FILE.stat().st_mode & 0o777 == 0o600
    assert audit_anchor.key_id() == first


# -------------------------------------------------------------------- the six rewrites of the issue


def test_cutting_off_the_last_event_and_rewinding_the_head_is_detected(two_audited, tmp_path):
    _first, second = two_audited
    digest_now()
    *kept, last = chain(second)
    delete_event(last)
    Application.objects.filter(pk=second.pk).update(audit_seq=kept[-1].seq, audit_head=kept[-1].hash,
                                                    status=kept[-1].to_status)
    assert without_digests(tmp_path)[0] is True
    n = last.seq
    assert verify() == (1, "", f"申报 {second.pk}：签名摘要 #1 记录到第 {n} 条，现只到第 {n - 1} 条：记录被截断或回退")


def test_appending_a_forged_event_and_moving_the_head_is_detected(two_audited, tmp_path):
    first, _second = two_audited
    digest = digest_now()
    forged = forge(first, action="accept", to_status="expert_review", created_at=digest.as_of - dt.timedelta(hours=1))
    assert without_digests(tmp_path)[0] is True
    assert verify() == (1, "", f"申报 {first.pk}：第 {forged.seq} 条审计记录（id={forged.pk}）注明的时间早于签名摘要 #1，"
                               "却不在摘要中：事后补写")


def test_a_forgery_dated_within_the_margin_before_the_digest_passes_and_one_microsecond_earlier_does_not(
        two_audited, settings):
    """An action stamps its event before it commits, so a real event stamped shortly before a digest may be
    missing from it: AUDIT_DIGEST_MARGIN_SECONDS, the last tolerated moment, and the one before."""
    first, _second = two_audited
    digest = digest_now()
    margin = dt.timedelta(seconds=settings.AUDIT_DIGEST_MARGIN_SECONDS)
    assert margin == dt.timedelta(minutes=10)
    forge(first, action="comment", to_status="province_check", created_at=digest.as_of - margin)
    assert verify() == passing(digest)
    forged = forge(first, action="comment", to_status="province_check",
                   created_at=digest.as_of - margin - dt.timedelta(microseconds=1))
    assert verify() == (1, "", f"申报 {first.pk}：第 {forged.seq} 条审计记录（id={forged.pk}）注明的时间早于签名摘要 #1，"
                               "却不在摘要中：事后补写")


def test_altering_an_event_and_recomputing_every_later_hash_and_the_head_is_detected(world, two_audited, tmp_path):
    first, _second = two_audited
    anchored_seq = Application.objects.get(pk=first.pk).audit_seq
    digest_now()
    # A real action after the digest: the chain goes on past the anchored head.
    svc.application_accept(actor=act(world, "anhui_reviewer"), application_id=first.pk, comment="材料齐全")
    victim = AuditEvent.objects.get(application=first, action="submit")
    AuditEvent.objects.filter(pk=victim.pk).update(comment="事后改动")
    rehash(first, victim.seq)
    assert without_digests(tmp_path)[0] is True
    anchored = AuditEvent.objects.get(application=first, seq=anchored_seq)
    assert verify() == (1, "", f"申报 {first.pk}：第 {anchored_seq} 条审计记录（id={anchored.pk}）与签名摘要 #1 不符："
                               "此前的记录被改写")


def test_deleting_all_events_of_an_application_and_resetting_its_counters_is_detected(two_audited, tmp_path):
    first, _second = two_audited
    n = Application.objects.get(pk=first.pk).audit_seq
    digest_now()
    for event in chain(first):
        delete_event(event)
    Application.objects.filter(pk=first.pk).update(audit_seq=0, audit_head="")
    # Without a digest the empty chain is still noticed: every application has its creation event.
    assert without_digests(tmp_path) == (False, f"申报 {first.pk} 没有任何审计记录（申报创建时即写第一条）")
    assert verify() == (1, "", f"申报 {first.pk}：签名摘要 #1 记录有 {n} 条审计记录，现在一条也没有：记录被删除、计数被清零")


def test_changing_the_status_alone_is_detected(two_audited):
    first, _second = two_audited
    digest_now()
    Application.objects.filter(pk=first.pk).update(status="approved")
    n = Application.objects.get(pk=first.pk).audit_seq
    assert verify() == (1, "", f"申报 {first.pk}：状态“已认定”与最后一条审计记录（第 {n} 条）的“省级形式审查中”不符")


def test_changing_the_status_alone_is_detected_without_a_digest(two_audited):
    _first, second = two_audited
    Application.objects.filter(pk=second.pk).update(status="draft")
    n = Application.objects.get(pk=second.pk).audit_seq
    assert verify() == (1, "", f"申报 {second.pk}：状态“草稿”与最后一条审计记录（第 {n} 条）的“省级形式审查中”不符")


@pytest.fixture
def with_stays(world):
    """An application whose stages lasted days: submitted today, signed off ten days later."""
    app = create(world, "society-service-station")
    svc.application_submit(actor=act(world, "langya_clerk"), application_id=app.pk)
    with time_machine.travel(timezone.now() + dt.timedelta(days=10)):
        svc.application_sign_off(actor=act(world, "langya_leader"), application_id=app.pk, comment="同意上报")
    sign_off = AuditEvent.objects.get(application=app, action="sign_off")
    assert sign_off.stay_workdays >= 6
    return app, sign_off


def test_editing_the_stay_workdays_is_detected(with_stays):
    app, sign_off = with_stays
    digest_now()
    AuditEvent.objects.filter(pk=sign_off.pk).update(stay_workdays=sign_off.stay_workdays + 3)
    assert verify() == (1, "", f"申报 {app.pk}：第 {sign_off.seq} 条审计记录（id={sign_off.pk}）的停留工作日数与记录链和工作日历不符"
                               "（若刚改过工作日历，请运行 manage.py recount_stays 年份）")


def test_editing_when_a_stage_was_entered_is_detected(with_stays):
    app, sign_off = with_stays
    digest_now()
    AuditEvent.objects.filter(pk=sign_off.pk).update(from_entered_at=sign_off.from_entered_at + dt.timedelta(days=3))
    assert verify() == (1, "", f"申报 {app.pk}：第 {sign_off.seq} 条审计记录（id={sign_off.pk}）的进入环节时间与记录链不符")


def test_stamping_a_stay_on_an_event_that_changed_no_status_is_detected(with_stays):
    app, _sign_off = with_stays
    create_event = chain(app)[0]
    AuditEvent.objects.filter(pk=create_event.pk).update(from_entered_at=create_event.created_at)
    assert verify() == (1, "", f"申报 {app.pk}：第 1 条审计记录（id={create_event.pk}）的进入环节时间与记录链不符")


def test_a_calendar_edit_flags_the_stays_until_they_are_recounted(with_stays):
    app, sign_off = with_stays
    entered = timezone.localdate(sign_off.from_entered_at)
    day = next(entered + dt.timedelta(days=i) for i in range(1, 10) if is_workday(entered + dt.timedelta(days=i)))
    year, _ = CalendarYear.objects.get_or_create(year=day.year)
    CalendarDay.objects.create(year=year, date=day, is_workday=False, name="临时放假")
    calendar_changed([day.year])
    assert verify() == (1, "", f"申报 {app.pk}：第 {sign_off.seq} 条审计记录（id={sign_off.pk}）的停留工作日数与记录链和工作日历不符"
                               "（若刚改过工作日历，请运行 manage.py recount_stays 年份）")
    call_command("recount_stays", str(day.year), stdout=io.StringIO())
    assert AuditEvent.objects.get(pk=sign_off.pk).stay_workdays == sign_off.stay_workdays - 1
    assert verify()[0] == 0


# ------------------------------------------------------------------------- what the digest cannot see


def test_a_rewrite_of_events_younger_than_the_latest_digest_is_not_anchored(world, two_audited):
    """The boundary docs/audit.md states: what happened after the latest digest rests on the chain alone."""
    first, _second = two_audited
    digest = digest_now()
    svc.application_accept(actor=act(world, "anhui_reviewer"), application_id=first.pk, comment="材料齐全")
    young = chain(first)[-1]
    AuditEvent.objects.filter(pk=young.pk).update(comment="事后改动")
    rehash(first, young.seq)
    assert verify() == passing(digest)


# -------------------------------------------------------------------------- the digests' own tampering


def test_a_deleted_digest_is_detected(two_audited):
    for _ in range(3):
        digest_now()
    (settings.AUDIT_DIGEST_DIR / "digest-000002.txt").unlink()
    assert verify() == (1, "", "签名摘要 #2 缺失（其后有 #3）：摘要被删除")


def test_an_altered_earlier_digest_is_detected(two_audited):
    for _ in range(3):
        digest_now()
    path = settings.AUDIT_DIGEST_DIR / "digest-000002.txt"
    data = path.read_bytes()
    path.chmod(0o644)
    path.write_bytes(data.replace(b'"applications":2', b'"applications":3'))
    assert verify() == (1, "", "签名摘要 #3 记录的前一份摘要哈希不符：#2 被改动或替换")


def test_an_altered_latest_digest_fails_its_signature(two_audited):
    first, _second = two_audited
    digest = digest_now()
    head = Application.objects.get(pk=first.pk).audit_head
    digest.path.chmod(0o644)
    digest.path.write_bytes(digest.path.read_bytes().replace(head.encode(), b"0" * 64))
    assert verify() == (1, "", "最新签名摘要 #1 的签名无效：内容被改动或伪造")


def test_a_digest_signed_with_another_key_is_refused(two_audited, settings, tmp_path):
    digest_now()
    other = tmp_path / "other.pem"
    other.write_bytes(Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    theirs = digests_check().key_id
    settings.AUDIT_SIGNING_KEY_FILE = other
    ours = audit_anchor.key_id()
    assert verify() == (1, "", f"最新签名摘要 #1 不是用本系统的密钥签名的（密钥指纹 {theirs[:16]}，本系统 {ours[:16]}）")


def test_a_truncated_or_renamed_digest_is_detected(two_audited):
    digest_now()
    two = digest_now()
    data = two.path.read_bytes()
    two.path.chmod(0o644)
    two.path.write_bytes(data[:-30])
    assert verify() == (1, "", "签名摘要 digest-000002.txt 格式不符，无法读取（文件被截断或改动）")
    two.path.write_bytes(data)
    one = settings.AUDIT_DIGEST_DIR / "digest-000001.txt"
    one.rename(settings.AUDIT_DIGEST_DIR / "digest-000003.txt")
    two.path.rename(settings.AUDIT_DIGEST_DIR / "digest-000001.txt")
    one.parent.joinpath("digest-000003.txt").rename(settings.AUDIT_DIGEST_DIR / "digest-000002.txt")
    assert verify() == (1, "", "签名摘要 digest-000001.txt 的内容是第 2 份：文件被改名")


def test_an_overdue_digest_fails_verification_on_the_day_after(two_audited, settings):
    digest = digest_now()
    assert settings.AUDIT_DIGEST_MAX_AGE_HOURS == 26
    with time_machine.travel(digest.as_of + dt.timedelta(hours=26), tick=False):
        assert verify() == passing(digest)
    with time_machine.travel(digest.as_of + dt.timedelta(hours=26, microseconds=1), tick=False):
        assert verify() == (1, "", f"最新签名摘要 #1 写于 {at(digest)}，已超过 26 小时：每日摘要任务停止了，或其后的摘要被删除")


def test_an_auditors_own_copy_catches_what_the_servers_folder_no_longer_shows(two_audited, tmp_path):
    _first, second = two_audited
    digest_now()
    copy = tmp_path / "auditor"
    shutil.copytree(settings.AUDIT_DIGEST_DIR, copy)
    for path in settings.AUDIT_DIGEST_DIR.iterdir():
        path.unlink()
    *kept, last = chain(second)
    delete_event(last)
    Application.objects.filter(pk=second.pk).update(audit_seq=kept[-1].seq, audit_head=kept[-1].hash,
                                                    status=kept[-1].to_status)
    assert verify()[0] == 0
    n = last.seq
    assert run("verify_audit", "--digests", str(copy)) == (
        1, "", f"申报 {second.pk}：签名摘要 #1 记录到第 {n} 条，现只到第 {n - 1} 条：记录被截断或回退")


# ------------------------------------------------------------------------------------------ the writer


def test_the_writer_refuses_to_sign_a_tampered_trail(two_audited):
    first, _second = two_audited
    digest_now()
    Application.objects.filter(pk=first.pk).update(status="approved")
    n = Application.objects.get(pk=first.pk).audit_seq
    assert run("write_audit_digest") == (
        1, "", f"未写入签名摘要：申报 {first.pk}：状态“已认定”与最后一条审计记录（第 {n} 条）的“省级形式审查中”不符")
    assert [number for number, _path in digest_files()] == [1]


def test_forcing_a_digest_needs_a_reason_and_records_the_failed_check(two_audited):
    _first, second = two_audited
    digest_now()
    *kept, last = chain(second)
    delete_event(last)
    Application.objects.filter(pk=second.pk).update(audit_seq=kept[-1].seq, audit_head=kept[-1].hash,
                                                    status=kept[-1].to_status)
    problem = verify()[2]
    with pytest.raises(CommandError, match="--force 须同时用 --note 说明原因"):
        call_command("write_audit_digest", "--force")
    assert [number for number, _path in digest_files()] == [1]
    code, out, err = run("write_audit_digest", "--force", "--note", "从 12 月 1 日的备份恢复")
    two = digests_check()
    assert (code, err, two.number, two.note, two.verification) == (0, "", 2, "从 12 月 1 日的备份恢复", problem)
    assert out == f"已写入签名摘要 #2（2 个申报）：{two.path}"
    assert verify() == passing(two)


def test_the_nightly_task_writes_once_and_a_redelivery_adds_nothing(two_audited):
    entry = settings.CELERY_BEAT_SCHEDULE["write-audit-digest"]
    assert entry["task"] == "approvals.tasks.write_audit_digest" == write_audit_digest.name
    assert (entry["schedule"].hour, entry["schedule"].minute) == ({0}, {40})
    assert write_audit_digest.delay().get() == 1
    assert write_audit_digest.delay().get() is None
    assert [number for number, _path in digest_files()] == [1]
    with time_machine.travel(timezone.now() + dt.timedelta(hours=1, seconds=1)):
        assert write_audit_digest.delay().get() == 2


def test_the_nightly_task_logs_and_writes_nothing_when_the_trail_was_tampered(two_audited, caplog):
    first, _second = two_audited
    Application.objects.filter(pk=first.pk).update(status="approved")
    assert write_audit_digest.delay().get() is None
    assert digest_files() == []
    assert "audit digest not written" in caplog.text


# ------------------------------------------------------------------------------- auditors' download


@pytest.mark.parametrize("username, allowed", [
    ("anhui_auditor", True), ("anhui_admin", False), ("sichuan_auditor", True),
    ("chuzhou_auditor", False), ("langya_admin", False), ("anhui_reviewer", False), ("anhui_leader", False),
])
def test_who_may_download_the_digests(world, username, allowed):
    assert may_download_audit_digests(world.user[username]) is allowed


def test_an_expired_or_future_auditor_membership_does_not_count(world):
    today = timezone.localdate()
    former = UserFactory(username="former_auditor")
    Membership.objects.create(user=former, organization=world.org["anhui"], role="auditor",
                              valid_until=today - dt.timedelta(days=1))
    future = UserFactory(username="future_auditor")
    Membership.objects.create(user=future, organization=world.org["anhui"], role="auditor",
                              valid_from=today + dt.timedelta(days=1))
    last_day = UserFactory(username="last_day_auditor")
    Membership.objects.create(user=last_day, organization=world.org["anhui"], role="auditor", valid_until=today)
    assert [may_download_audit_digests(u) for u in (former, future, last_day)] == [False, False, True]
    assert may_download_audit_digests(UserFactory(username="root", is_superuser=True)) is True


def test_an_auditor_downloads_the_digests_and_the_public_key(world, two_audited):
    one = digest_now()
    client = Client()
    client.force_login(world.user["anhui_auditor"])
    page = client.get("/approvals/audit-digests/")
    assert page.status_code == 200
    assert "#1" in page.content.decode() and audit_anchor.key_id() in page.content.decode()
    download = client.get("/approvals/audit-digests/1/")
    assert download.status_code == 200
    assert download["Content-Disposition"] == 'attachment; filename="digest-000001.txt"'
    assert b"".join(download.streaming_content) == one.path.read_bytes()
    key = client.get("/approvals/audit-digests/public-key.pem")
    assert (key.status_code, key.content) == (200, audit_anchor.public_key_pem())
    assert client.get("/approvals/audit-digests/2/").status_code == 404


@pytest.mark.parametrize("path", ["/approvals/audit-digests/", "/approvals/audit-digests/1/",
                                  "/approvals/audit-digests/public-key.pem"])
def test_others_may_not_download_the_digests(world, two_audited, path):
    digest_now()
    client = Client()
    client.force_login(world.user["chuzhou_auditor"])
    assert client.get(path).status_code == 403
    anonymous = Client().get(path)
    assert anonymous.status_code == 302 and anonymous["Location"].startswith(settings.LOGIN_URL)


@pytest.mark.django_db(transaction=True)
def test_writing_and_verifying_outside_a_transaction_take_one_snapshot(two_audited):
    """Outside any transaction (as the command and the task run): PostgreSQL reads in one REPEATABLE READ,
    read-only transaction; SQLite in one transaction holding the write lock."""
    assert not connection.in_atomic_block
    digest = digest_now()
    assert digest.applications == 2
    assert verify() == passing(digest)
    assert not connection.in_atomic_block
