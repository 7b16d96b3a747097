"""Retention of the security log (security.tasks.security_log_purge, security.checks): events older than
SECURITY_LOG_RETENTION_DAYS (at least 180) are purged, only when a signed digest already covers them,
after a new digest has signed the new start of the chain; the chain then still verifies, and tampering
after the purge is still found."""
import datetime as dt

import pytest
from django.core.management import call_command
from django.test import override_settings
from django.utils import timezone

from approvals.audit_anchor import digests_check
from security.checks import check_security_log_retention
from security.models import Kind, SecurityChainHead, SecurityEvent, SecurityLogAnchor
from security.services import security_record
from security.tasks import PurgeRefused, purge_security_log, security_log_check, security_log_purge
from tests.factories import UserFactory

from .commands import run

pytestmark = pytest.mark.django_db


def aged(days_by_target: dict) -> dict:
    """Events written now, then dated back (the chain covers created_at, so their hashes are redone in
    order: the chain as it would be had they been written then); the user's creation is the oldest."""
    user = UserFactory(username="mx_retention")
    seqs = {}
    for target in days_by_target:
        seqs[target] = security_record(Kind.EXPORT, actor=user, target=target).seq
    now, oldest = timezone.now(), max(days_by_target.values())
    prev = None
    for event in SecurityEvent.objects.order_by("seq"):  # the user's creation counts as the oldest
        event.created_at = now - dt.timedelta(days=days_by_target.get(event.target, oldest))
        if prev is not None:
            event.prev_hash = prev
        event.hash = event.compute_hash()
        SecurityEvent.objects.filter(pk=event.pk).update(created_at=event.created_at, prev_hash=event.prev_hash,
                                                         hash=event.hash)
        prev = event.hash
    SecurityChainHead.objects.filter(pk=1).update(head=prev)
    assert security_log_check()[0]
    return seqs


def test_old_events_are_purged_and_the_chain_still_verifies(settings, capsys):
    seqs = aged({"old-1": 400, "old-2": 200, "old-3": 181, "new-1": 179, "new-2": 1})
    assert run("write_security_digest") == 0
    assert run("purge_security_log") == 0
    assert "已清除 4 条过期安全日志" in capsys.readouterr().out  # the three and the user's creation
    kept = list(SecurityEvent.objects.order_by("seq").values_list("target", flat=True))
    assert kept[:2] == ["new-1", "new-2"] and "old-1" not in kept and "old-3" not in kept
    purge = SecurityEvent.objects.order_by("-seq").first()
    assert purge.kind == Kind.LOG_PURGED and purge.detail["deleted"] == 4
    assert purge.detail["through_seq"] == seqs["old-3"] and purge.detail["retention_days"] == 180
    anchor = SecurityLogAnchor.objects.get()
    assert anchor.seq == seqs["old-3"]
    # The purge's digest signs the new start (row 1) before anything was deleted.
    latest = digests_check(settings.SECURITY_DIGEST_DIR)
    assert latest.number == 2 and latest.heads[1] == (anchor.seq, anchor.hash)
    assert anchor.digest_number == 2
    ok, message = security_log_check()
    assert ok and "此前的已按保存期限清除" in message, message
    assert run("verify_security_log") == 0
    # The next night's digest carries the start on, and verifies.
    assert run("write_security_digest") == 0
    assert digests_check(settings.SECURITY_DIGEST_DIR).heads[1] == (anchor.seq, anchor.hash)
    assert run("verify_security_log") == 0
    # Nothing more to purge: a second run deletes nothing and writes no digest.
    files = len(list(settings.SECURITY_DIGEST_DIR.iterdir()))
    assert security_log_purge() == (0, anchor.seq)
    assert len(list(settings.SECURITY_DIGEST_DIR.iterdir())) == files


def test_tampering_after_a_purge_is_still_found(capsys):
    aged({"old-1": 300, "old-2": 250, "new-1": 10, "new-2": 5})
    assert run("write_security_digest") == 0
    assert security_log_purge()[0] == 3
    first = SecurityEvent.objects.order_by("seq").first()
    # An edited event after the start.
    SecurityEvent.objects.filter(pk=first.pk).update(target="edited")
    ok, message = security_log_check()
    assert not ok and f"第 {first.seq} 条的内容被改动" in message
    SecurityEvent.objects.filter(pk=first.pk).update(target=first.target)
    assert security_log_check()[0]
    # The first kept events removed and the start moved after them, as if purged: the signed start says no.
    anchor = SecurityLogAnchor.objects.get()
    SecurityEvent.objects.filter(pk=first.pk).delete()
    SecurityLogAnchor.objects.create(seq=first.seq, hash=first.hash, purged_at=timezone.now(), digest_number=9)
    ok, message = security_log_check()
    assert not ok and "清除未经签名摘要确认" in message, message
    assert run("verify_security_log") == 1
    assert run("write_security_digest") == 1  # nor is it signed now
    # The start's hash changed in the database: the first kept event no longer links to it.
    SecurityLogAnchor.objects.filter(seq=first.seq).delete()
    SecurityLogAnchor.objects.filter(pk=anchor.pk).update(hash="0" * 64)
    ok, message = security_log_check()
    assert not ok and "起点被改动" in message, message


def test_nothing_is_purged_that_no_digest_covers():
    aged({"old-1": 300, "old-2": 300, "old-3": 300})
    assert security_log_purge() == (0, 0)  # no digest at all
    assert SecurityEvent.objects.count() == 4  # the three and the user's creation
    call_command("write_security_digest")
    security_record(Kind.EXPORT, target="after the digest")
    # Events written after the digest are not covered, whatever their age: only the first four go.
    deleted, through = security_log_purge()
    assert deleted == 4 and through == 4
    assert SecurityEvent.objects.filter(seq__lte=4).count() == 0
    assert SecurityEvent.objects.filter(target="after the digest").exists()


def test_the_digest_bounds_the_purge():
    user = UserFactory()
    for n in range(4):
        security_record(Kind.EXPORT, actor=user, target=f"e{n}")
    call_command("write_security_digest")  # covers 1..4
    for n in range(4, 6):
        security_record(Kind.EXPORT, actor=user, target=f"e{n}")
    # Everything is old (a clock a year ahead): only what the digest covers may go.
    deleted, through = security_log_purge(now=timezone.now() + dt.timedelta(days=400))
    assert (deleted, through) == (5, 5)  # the user's creation and e0..e3
    assert sorted(SecurityEvent.objects.filter(kind=Kind.EXPORT).values_list("target", flat=True)) == ["e4", "e5"]
    assert security_log_check()[0]


def test_nothing_newer_than_the_retention_is_removed(settings):
    settings.SECURITY_LOG_RETENTION_DAYS = 365
    aged({"old": 366, "within-1": 364, "within-2": 200, "within-3": 0})
    call_command("write_security_digest")
    assert purge_security_log() == 2  # the user's creation and "old"
    assert set(SecurityEvent.objects.filter(kind=Kind.EXPORT).values_list("target", flat=True)) == {
        "within-1", "within-2", "within-3"}


def test_a_log_that_fails_its_check_is_not_purged():
    aged({"old-1": 300, "old-2": 300, "new": 1})
    call_command("write_security_digest")
    SecurityEvent.objects.filter(target="new").update(target="edited")
    with pytest.raises(PurgeRefused):
        security_log_purge()
    assert purge_security_log() == 0
    assert SecurityEvent.objects.count() == 4 and not SecurityLogAnchor.objects.exists()


@pytest.mark.parametrize("value, errors", [(180, 0), (400, 0), (179, 1), (0, 1), ("180", 1), (None, 1)])
def test_a_retention_below_180_days_is_refused_by_the_system_check(value, errors):
    with override_settings(SECURITY_LOG_RETENTION_DAYS=value):
        found = check_security_log_retention()
    assert len(found) == errors
    if errors:
        assert found[0].id == "security.E001" and "至少保存 180 天" in found[0].msg


def test_the_purge_runs_every_night_after_the_digest(settings):
    from config.settings import base

    assert base.SECURITY_LOG_RETENTION_DAYS == 180
    purge = base.CELERY_BEAT_SCHEDULE["purge-security-log"]
    digest = base.CELERY_BEAT_SCHEDULE["write-security-digest"]
    assert purge["task"] == "security.tasks.purge_security_log"
    assert (purge["schedule"].hour, digest["schedule"].hour) == ({0}, {0})
    assert min(purge["schedule"].minute) > min(digest["schedule"].minute)
