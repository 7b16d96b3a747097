"""Issuing on approval: the issue effect reserves the number, the render effect renders the PDF, stores it
atomically and records its SHA-256 once; repeated or interrupted runs never make a second certificate, a
gap or a second file."""
import datetime as dt
import hashlib
import os
from unittest import mock

import pytest
from django.utils import timezone

from approvals import services as svc
from approvals.models import Application, AuditEvent, Effect, Status
from printing import services
from printing.models import Certificate, CertificateSequence, CertificateStatus
from printing.qr import qr_png_data_uri
from printing.tasks import issue_certificate_task, render_certificate_task
from tests.approvals.chain import act, create, to_province_check
from workflows.relay import outbox_relay

from .helpers import (
    approve,
    bulk_approved,
    certified_application,
    keep_artifact,
    page_size,
    pdf_text,
    to_public_notice,
)


def stored_files(root):
    folder = root / services.CERTIFICATE_FOLDER
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_approval_issues_renders_and_stores_the_certificate(world, django_capture_on_commit_callbacks,
                                                            private_storage):
    application = certified_application(world, django_capture_on_commit_callbacks)
    assert application.status == Status.CERTIFIED
    certificate = Certificate.objects.get(application=application)
    assert certificate.number == f"皖科协证〔{timezone.localdate().year}〕第0001号"
    path = services.certificate_pdf_path(certificate)
    assert path == private_storage / "certificates" / f"{certificate.token}.pdf"
    pdf = path.read_bytes()
    keep_artifact("certificate.pdf", pdf)
    assert certificate.pdf_sha256 == hashlib.sha256(pdf).hexdigest()
    assert certificate.pdf_size == len(pdf) and certificate.rendered_at is not None
    assert stored_files(private_storage) == [f"{certificate.token}.pdf"]  # no temporary file left
    assert page_size(pdf) == (842, 595)
    text = pdf_text(pdf)
    for expected in (certificate.number, certificate.awardee_name, "学会服务站", "滁州市科学技术协会",
                     "安徽省科学技术协会", f"{certificate.valid_until.year}年{certificate.valid_until.month}月"):
        assert expected in text, expected
    assert "已撤销" not in text


def test_qr_code_points_to_the_absolute_verify_url(world, django_capture_on_commit_callbacks):
    application = certified_application(world, django_capture_on_commit_callbacks)
    certificate = Certificate.objects.get(application=application)
    context = services.certificate_context(certificate)
    assert context["verify_url"] == f"https://kexie.example/verify/{certificate.token}/"
    assert context["qr_data_uri"] == qr_png_data_uri(context["verify_url"])


def test_task_run_twice_leaves_one_certificate_and_one_file(world, django_capture_on_commit_callbacks,
                                                           private_storage):
    application = certified_application(world, django_capture_on_commit_callbacks)
    first = Certificate.objects.get(application=application)
    events = AuditEvent.objects.filter(application=application).count()

    assert issue_certificate_task.delay(application.pk).get() == first.number
    assert issue_certificate_task.apply(args=[application.pk]).get() == first.number

    assert Certificate.objects.filter(application=application).count() == 1
    again = Certificate.objects.get(application=application)
    assert (again.pk, again.seq, again.pdf_sha256, again.rendered_at) == (
        first.pk, first.seq, first.pdf_sha256, first.rendered_at)
    assert CertificateSequence.objects.get().last == 1
    assert stored_files(private_storage) == [f"{first.token}.pdf"]
    assert AuditEvent.objects.filter(application=application).count() == events


def test_rendering_is_deterministic(world, django_capture_on_commit_callbacks):
    """A render repeated after a crash writes the very bytes the first one would have."""
    application = certified_application(world, django_capture_on_commit_callbacks)
    certificate = Certificate.objects.get(application=application)
    assert services.certificate_restore_pdf(certificate_id=certificate.pk) is not None


def test_worker_killed_before_recording_leaves_nothing_half_done(world, django_capture_on_commit_callbacks,
                                                                 private_storage, monkeypatch):
    """The rename fails (as if the worker died there): no hash recorded, no final file, no temporary file,
    and the render effect waits out its backoff; the relay's next run then finishes the same certificate."""
    application = create(world, "society-service-station")
    application = to_public_notice(world, to_province_check(world, application, "langya"))
    real_replace = os.replace

    def crash(src, dst):
        raise OSError("worker killed")

    monkeypatch.setattr(services.os, "replace", crash)
    with django_capture_on_commit_callbacks(execute=True):
        svc.application_approve(actor=act(world, "anhui_leader"), application_id=application.pk)
    certificate = Certificate.objects.get(application=application)  # the reservation committed
    assert Application.objects.get(pk=application.pk).status == Status.CERTIFIED
    assert certificate.pdf_sha256 == "" and certificate.rendered_at is None
    assert stored_files(private_storage) == []
    render = Effect.objects.get(kind="certificate_render")
    assert (render.key, render.attempts, render.done_at, render.published_at, render.note) == (
        str(certificate.pk), 1, None, None, "OSError('worker killed')")
    assert render.available_at > timezone.now() + dt.timedelta(seconds=25)  # the first backoff: 30 s

    monkeypatch.setattr(services.os, "replace", real_replace)
    with django_capture_on_commit_callbacks(execute=True):
        outbox_relay()
        assert Effect.objects.get(pk=render.pk).done_at is None  # not before its time
        outbox_relay(now=timezone.now() + dt.timedelta(seconds=31))
    certificate.refresh_from_db()
    assert certificate.pdf_sha256 and stored_files(private_storage) == [f"{certificate.token}.pdf"]
    assert Certificate.objects.count() == 1 and certificate.seq == 1
    assert Effect.objects.get(pk=render.pk).done_at is not None


def test_a_file_left_without_a_recorded_hash_is_replaced(world, django_capture_on_commit_callbacks,
                                                        private_storage):
    """Killed after the rename but before the update: the next run overwrites the file and records it."""
    application = certified_application(world, django_capture_on_commit_callbacks)
    certificate = Certificate.objects.get(application=application)
    Certificate.objects.filter(pk=certificate.pk).update(pdf_sha256="", pdf_size=None, rendered_at=None)
    services.certificate_pdf_path(certificate).write_bytes(b"%PDF-1.4 partial")
    render_certificate_task.apply(args=[certificate.pk]).get()
    certificate.refresh_from_db()
    stored = services.certificate_pdf_path(certificate).read_bytes()
    assert hashlib.sha256(stored).hexdigest() == certificate.pdf_sha256


def test_revoked_certificate_is_not_rendered(world, django_capture_on_commit_callbacks, private_storage,
                                             monkeypatch):
    """Revoked before its PDF was made (the render failed until then): the retried task renders nothing."""
    application = create(world, "society-service-station")
    application = to_public_notice(world, to_province_check(world, application, "langya"))
    monkeypatch.setattr(services, "certificate_render_and_store", lambda **kwargs: None)
    approve(world, application, django_capture_on_commit_callbacks)
    monkeypatch.undo()
    svc.application_revoke(actor=act(world, "anhui_leader"), application_id=application.pk, comment="材料造假")
    certificate = Certificate.objects.get(application=application)
    assert certificate.status == CertificateStatus.REVOKED

    assert render_certificate_task.apply(args=[certificate.pk]).get() is None
    certificate.refresh_from_db()
    assert certificate.pdf_sha256 == "" and stored_files(private_storage) == []


def test_revocation_keeps_the_issued_file(world, django_capture_on_commit_callbacks, private_storage):
    application = certified_application(world, django_capture_on_commit_callbacks)
    before = Certificate.objects.get(application=application)
    svc.application_revoke(actor=act(world, "anhui_leader"), application_id=application.pk, comment="材料造假")
    render_certificate_task.apply(args=[before.pk]).get()
    after = Certificate.objects.get(application=application)
    assert after.status == CertificateStatus.REVOKED
    assert after.pdf_sha256 == before.pdf_sha256 and after.rendered_at == before.rendered_at
    assert hashlib.sha256(services.certificate_pdf_path(after).read_bytes()).hexdigest() == before.pdf_sha256


def test_task_for_an_application_that_cannot_be_issued_is_not_retried(world):
    application = create(world, "society-service-station")  # a draft
    assert issue_certificate_task.apply(args=[application.pk]).get() is None
    assert issue_certificate_task.apply(args=[999_999]).get() is None
    assert not Certificate.objects.exists()


def test_numbers_follow_the_sequence_without_gaps(world, django_capture_on_commit_callbacks):
    first = certified_application(world, django_capture_on_commit_callbacks)
    second = certified_application(world, django_capture_on_commit_callbacks, county="yaohai", city="hefei")
    numbers = [Certificate.objects.get(application=a).seq for a in (first, second)]
    assert numbers == [1, 2]


def test_officer_who_may_not_issue_or_no_longer_exists_is_refused_without_retry(world):
    from .helpers import bulk_approved

    (application,) = bulk_approved(world, 1)
    assert issue_certificate_task.apply(args=[application.pk], kwargs={"actor_id": 999_999}).get() is None
    clerk = world.user["langya_clerk"]
    assert issue_certificate_task.apply(args=[application.pk], kwargs={"actor_id": clerk.pk}).get() is None
    assert not Certificate.objects.exists()
    officer = world.user["anhui_reviewer"]
    number = issue_certificate_task.apply(args=[application.pk], kwargs={"actor_id": officer.pk}).get()
    assert number == Certificate.objects.get(application=application).number


def test_the_render_effect_takes_nine_queries_and_holds_no_transaction_while_rendering(
        world, signing_keys, private_storage, django_assert_num_queries):
    """The signed certificate's render effect: is it still pending (1), the certificate with what its page
    prints (1), the issuer's signing key and seal picture (2), then the short store under the row lock
    (savepoint, lock, conditional update, release: 4) and the effect marked done (1). The render and the
    signature run before that transaction opens (on SQLite it would be the one writer's lock)."""
    from django.db import connection

    from printing import render

    from .helpers import bulk_approved

    (application,) = bulk_approved(world, 1)
    officer = svc.Actor(user=world.user["anhui_reviewer"])
    certificate = svc.application_issue_certificate(actor=officer, application_id=application.pk)
    effect = Effect.objects.get(kind="certificate_render", key=str(certificate.pk))
    depth = {}
    real_render = render.render_document

    def watched(html):
        depth["atomic"] = connection.in_atomic_block, len(connection.savepoint_ids)
        return real_render(html)

    outer = connection.in_atomic_block, len(connection.savepoint_ids)  # the test's own transaction
    with mock.patch.object(render, "render_document", watched), django_assert_num_queries(9):
        digest = render_certificate_task.apply(args=effect.args, kwargs={"effect_id": effect.pk}).get()
    assert depth["atomic"] == outer
    certificate.refresh_from_db()
    assert digest == certificate.pdf_sha256 and certificate.signed_at is not None
    assert Effect.objects.get(pk=effect.pk).done_at is not None


@pytest.mark.django_db(transaction=True)
def test_the_issue_task_renders_and_notifies_itself_after_its_commit(world, private_storage, monkeypatch):
    """Outside any transaction (as in a worker), the issue task carries out the render and notification
    effects that its issue wrote (outbox.effects_run_here): both done when it returns, neither handed to
    the broker; only what the notification writes (its e-mails) is."""
    from approvals import outbox

    (application,) = bulk_approved(world, 1)
    effect = Effect.objects.create(kind="certificate_issue", key=str(application.pk), args=[application.pk])
    kicked = []
    real_kick = outbox._kick
    monkeypatch.setattr(outbox, "_kick", lambda effects: (kicked.extend(e.kind for e in effects), real_kick(effects)))

    outcome = issue_certificate_task.apply(args=[application.pk], kwargs={"effect_id": effect.pk})
    assert outcome.successful(), outcome.result
    number = outcome.result  # (.get() is refused where another eager task ran in this thread)

    certificate = Certificate.objects.get(application=application)
    assert number == certificate.number and certificate.pdf_sha256
    assert hashlib.sha256(services.certificate_pdf_path(certificate).read_bytes()).hexdigest() == certificate.pdf_sha256
    done = dict(Effect.objects.filter(kind__in=["certificate_issue", "certificate_render", "notify_event"])
                .values_list("kind", "done_at"))
    assert set(done) == {"certificate_issue", "certificate_render", "notify_event"} and all(done.values())
    assert set(kicked) <= {"email_send"}
