"""A designation is recorded with its certificate, follows its revocation and expiry, is created for
certificates issued before it existed, and shows on the verification page."""
import datetime as dt
import re

import pytest
from django.core.management import call_command
from django.utils import timezone

from approvals import errors as E
from approvals import services as svc
from approvals.expiry import designations_expire
from approvals.models import AuditEvent, Status
from designations.models import Designation, DesignationStatus
from printing.models import Certificate
from tests.approvals.chain import act
from tests.printing.helpers import certified_application

pytestmark = pytest.mark.django_db
DS = DesignationStatus


@pytest.fixture
def certified(world, django_capture_on_commit_callbacks):
    return certified_application(world, django_capture_on_commit_callbacks)


def test_issuing_the_certificate_records_the_designation(world, certified):
    certificate = Certificate.objects.get(application=certified)
    designation = Designation.objects.get(application=certified)
    assert designation.certificate == certificate
    assert designation.status == DS.VALID
    assert designation.program == certified.program
    assert designation.awardee_name == certificate.awardee_name
    assert designation.host_name == certified.subject_name
    assert designation.sponsor_society == certified.form_data["sponsor_society"] != ""
    assert (designation.applicant, designation.city, designation.province) == (
        world.org["langya"], world.org["chuzhou"], world.org["anhui"])
    assert (designation.valid_from, designation.valid_until) == (certificate.valid_from, certificate.valid_until)
    # Its history is the application's audit chain: the issue is its first event.
    assert AuditEvent.objects.filter(application=certified, action="issue_certificate").count() == 1


def test_status_is_protected(certified):
    designation = Designation.objects.get(application=certified)
    with pytest.raises(AttributeError):
        designation.status = DS.REVOKED


def test_revocation_revokes_the_designation_with_its_reason(client, world, certified):
    svc.application_revoke(actor=act(world, "anhui_leader"), application_id=certified.pk, comment="  材料造假  ")
    designation = Designation.objects.get(application=certified)
    assert designation.status == DS.REVOKED
    assert designation.status_reason == "材料造假"
    assert designation.status_changed_at is not None
    event = AuditEvent.objects.filter(application=certified).order_by("-seq").first()
    assert (event.action, event.to_status, event.comment) == ("revoke", Status.REVOKED, "材料造假")
    html = client.get(f"/verify/{designation.certificate.token}/").content.decode()
    assert 'data-status="revoked"' in html and "已撤销" in html
    assert re.search(r'id="revoked-reason">材料造假<', html)
    assert re.search(r'id="designation-status" data-status="revoked">已撤销', html)
    today = timezone.localdate()
    assert f"{today.year}年{today.month}月{today.day}日" in html


def test_a_refused_revocation_leaves_the_designation_valid(world, certified):
    with pytest.raises(E.NotAllowed):
        svc.application_revoke(actor=act(world, "langya_clerk"), application_id=certified.pk, comment="x")
    assert Designation.objects.get(application=certified).status == DS.VALID


def test_expiry_through_the_nightly_run_expires_the_designation(world, certified):
    yesterday = timezone.localdate() - dt.timedelta(days=1)
    Certificate.objects.filter(application=certified).update(valid_until=yesterday)
    result = designations_expire()
    assert result.expired == 1
    designation = Designation.objects.get(application=certified)
    assert designation.status == DS.EXPIRED and designation.status_changed_at is not None
    # An expired designation can no longer be revoked.
    with pytest.raises(E.WrongState):
        svc.application_revoke(actor=act(world, "anhui_leader"), application_id=certified.pk, comment="迟到的撤销")
    assert Designation.objects.get(application=certified).status == DS.EXPIRED


def test_backfill_creates_missing_designations_with_their_status(world, certified, capsys):
    svc.application_revoke(actor=act(world, "anhui_leader"), application_id=certified.pk, comment="不再符合条件")
    Designation.objects.all().delete()  # as before designations existed
    call_command("designations_backfill")
    assert "1" in capsys.readouterr().out
    designation = Designation.objects.get(application=certified)
    assert designation.status == DS.REVOKED and designation.status_reason == "不再符合条件"
    assert designation.status_changed_at is not None
    call_command("designations_backfill")  # again: nothing more
    assert Designation.objects.count() == 1
