"""Expiry of designations: the daily beat task calls the expire service; on the day after the last valid day
the designation is 已到期 with its audit event and notification, and the list, the detail page, the API
and the public verification page all say so. On the last valid day nothing changes."""
import datetime as dt
import re

import pytest
from celery.schedules import crontab
from django.conf import settings
from django.utils import timezone
from rest_framework.test import APIClient

from approvals import services as svc
from approvals.expiry import designations_due_to_expire, designations_expire
from approvals.models import Application, AuditEvent, Effect, Status
from printing.models import Certificate, CertificateStatus
from tests.approvals.chain import act
from tests.printing.helpers import certified_application
from workflows.models import Notification
from workflows.tasks import expire_designations


@pytest.fixture(autouse=True)
def _private_storage(settings, tmp_path):
    settings.PRIVATE_STORAGE_ROOT = tmp_path / "private"


@pytest.fixture
def certified(world, django_capture_on_commit_callbacks):
    application = certified_application(world, django_capture_on_commit_callbacks)
    return application, Certificate.objects.get(application=application)


def last_valid_day(certificate, day) -> None:
    Certificate.objects.filter(pk=certificate.pk).update(valid_until=day)


def shown(world, client, application, certificate) -> dict:
    """What each place shows of the designation."""
    client.force_login(world.user["langya_clerk"])
    listing = client.get("/approvals/applications/").content.decode()
    detail = client.get(f"/approvals/applications/{application.pk}/").content.decode()
    api = APIClient()
    api.force_authenticate(world.user["langya_clerk"])
    body = api.get(f"/api/v1/applications/{application.pk}/").json()
    api_list = api.get("/api/v1/applications/").json()["results"][0]
    verify = client.get(f"/verify/{certificate.token}/").content.decode()
    return {
        "list": re.findall(r'<span class="kx-status">([^<]+)</span>', listing),
        "detail": re.search(r'<span class="kx-status" id="status">([^<]+)</span>', detail).group(1),
        "api": (body["status"], body["certificate"]["status"], api_list["status"]),
        "verify": re.search(r'data-status="(\w+)"', verify).group(1),
    }


def test_on_the_last_valid_day_nothing_expires(world, certified, client):
    application, certificate = certified
    last_valid_day(certificate, timezone.localdate())
    assert designations_due_to_expire() == []
    assert expire_designations.apply().get() == {"expired": 0, "refused": 0, "more": False}
    assert Application.objects.get(pk=application.pk).status == Status.CERTIFIED
    assert shown(world, client, application, certificate) == {
        "list": ["已授牌"], "detail": "已授牌", "api": ("certified", "valid", "certified"), "verify": "valid"}


def test_the_day_after_it_expires_everywhere_with_its_event_and_notification(
        world, certified, client, django_capture_on_commit_callbacks):
    application, certificate = certified
    last_valid_day(certificate, timezone.localdate() - dt.timedelta(days=1))
    Notification.objects.all().delete()
    seq = Application.objects.get(pk=application.pk).audit_seq
    assert designations_due_to_expire() == [application.pk]
    with django_capture_on_commit_callbacks(execute=True):
        assert expire_designations.apply().get() == {"expired": 1, "refused": 0, "more": False}
    current = Application.objects.get(pk=application.pk)
    certificate.refresh_from_db()
    assert (current.status, certificate.status, current.audit_seq) == (Status.EXPIRED, CertificateStatus.EXPIRED,
                                                                      seq + 1)
    event = AuditEvent.objects.get(application=application, seq=seq + 1)
    assert (event.action, event.from_status, event.to_status, event.actor_id, event.role, event.organization_id) == (
        "expire", "certified", "expired", None, "system", None)
    assert Effect.objects.get(kind="notify_event", key=f"{application.pk}:{seq + 1}").done_at is not None
    assert sorted(Notification.objects.values_list("user__username", "kind", "title")) == [
        ("langya_clerk", "expired", "认定已到期：滁州某某智能装备有限公司")]
    assert shown(world, client, application, certificate) == {
        "list": ["已到期"], "detail": "已到期", "api": ("expired", "expired", "expired"), "verify": "expired"}
    # Run again (a second beat run, a redelivered task): nothing more.
    assert designations_expire().expired == 0
    assert AuditEvent.objects.filter(application=application).count() == seq + 1


def test_a_revoked_designation_is_left_alone(world, certified):
    application, certificate = certified
    svc.application_revoke(actor=act(world, "anhui_leader"), application_id=application.pk, comment="材料造假")
    last_valid_day(certificate, timezone.localdate() - dt.timedelta(days=1))
    assert designations_expire().expired == 0
    assert Certificate.objects.get(pk=certificate.pk).status == CertificateStatus.REVOKED


def test_a_run_out_of_time_goes_on_in_a_fresh_task(world, certified):
    application, certificate = certified
    last_valid_day(certificate, timezone.localdate() - dt.timedelta(days=1))
    result = designations_expire(budget_seconds=-1)
    assert (result.expired, result.more) == (0, True)
    assert Application.objects.get(pk=application.pk).status == Status.CERTIFIED


def test_beat_runs_expiry_daily_just_after_midnight():
    entry = settings.CELERY_BEAT_SCHEDULE["expire-designations"]
    assert entry["task"] == "workflows.tasks.expire_designations" == expire_designations.name
    assert entry["schedule"] == crontab(minute=0, hour=0)
    assert settings.CELERY_TIMEZONE == "Asia/Shanghai"
