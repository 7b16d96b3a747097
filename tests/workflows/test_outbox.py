"""The outbox (approvals.outbox), its relay (workflows.relay) and the sweeper (workflows.sweeper): effects
are written in the action's transaction, published after the commit or later by the relay, run once,
retried with backoff, set aside after too many failures; stranded work is put back.

The broker is made unreachable here by making the publish raise kombu's OperationalError, as a refused
connection does; tests/integration/test_outbox_broker.py cuts a real broker."""
import datetime as dt
import logging
from unittest import mock

import pytest
from django.db import transaction
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerDown

from approvals import services as svc
from approvals.models import Application, Effect, Status
from approvals.outbox import (
    MAX_ATTEMPTS,
    SKIPPED,
    backoff_seconds,
    effect_add,
    effect_done_with,
    effect_run,
    effects_add,
    effects_retry,
)
from printing.models import Certificate
from printing.tasks import issue_certificate_task
from tests.approvals.chain import act, create, to_province_check
from tests.printing.helpers import bulk_approved, certified_application, to_public_notice
from workflows.models import EmailOutbox
from workflows.relay import GRACE_SECONDS, REDELIVER_AFTER_SECONDS, effects_due, outbox_relay
from workflows.sweeper import STRANDED_AFTER_SECONDS, stranded_sweep

pytestmark = pytest.mark.django_db

PROGRAM = "society-service-station"


@pytest.fixture(autouse=True)
def _private_storage(settings, tmp_path):
    settings.PRIVATE_STORAGE_ROOT = tmp_path / "private"


def later(seconds: float) -> dt.datetime:
    return timezone.now() + dt.timedelta(seconds=seconds)


# ------------------------------------------------------------------------------------------ writing


def test_an_effect_exists_exactly_when_its_action_commits(world):
    draft = create(world, PROGRAM)
    Effect.objects.all().delete()
    with pytest.raises(RuntimeError), transaction.atomic():
        svc.application_submit(actor=act(world, "langya_clerk"), application_id=draft.pk)
        assert Effect.objects.filter(kind="notify_event").count() == 1
        raise RuntimeError("the action's transaction rolls back")
    assert not Effect.objects.exists()
    svc.application_submit(actor=act(world, "langya_clerk"), application_id=draft.pk)
    seq = Application.objects.get(pk=draft.pk).audit_seq
    assert list(Effect.objects.values_list("kind", "key", "args", "kwargs", "published_at", "done_at")) == [
        ("notify_event", f"{draft.pk}:{seq}", [draft.pk, seq], {}, None, None)]


def test_one_pending_effect_per_kind_and_key(world):
    (application,) = bulk_approved(world, 1)
    effects_add(kind="certificate_issue", items=[(application.pk, [application.pk], {})])
    effects_add(kind="certificate_issue", items=[(application.pk, [application.pk], {"actor_id": 5})])
    assert list(Effect.objects.values_list("kwargs", flat=True)) == [{}]  # the first one is kept
    Effect.objects.update(done_at=timezone.now())
    effect_add(kind="certificate_issue", key=application.pk, args=[application.pk])
    assert Effect.objects.filter(done_at__isnull=True).count() == 1 and Effect.objects.count() == 2
    with pytest.raises(ValueError, match="unknown effect"):
        effect_add(kind="nonsense", key=1)


# ---------------------------------------------------------------------------------------- publishing


def test_kick_after_commit_runs_the_effect_once(world, django_capture_on_commit_callbacks):
    (application,) = bulk_approved(world, 1)
    with django_capture_on_commit_callbacks(execute=True):
        effect_add(kind="certificate_issue", key=application.pk, args=[application.pk])
    effect = Effect.objects.get(kind="certificate_issue")
    certificate = Certificate.objects.get(application=application)
    # The kick marks nothing: `published_at` and `publish_count` are the relay's.
    assert (effect.publish_count, effect.published_at, effect.done_at is not None, effect.note) == (0, None, True, "")
    assert Effect.objects.get(kind="certificate_render").done_at is not None and certificate.pdf_sha256
    # The same message delivered again does nothing: the effect is done.
    assert issue_certificate_task.apply(args=[application.pk], kwargs={"effect_id": effect.pk}).get() is None
    assert Certificate.objects.count() == 1


def test_the_kick_sends_what_the_insert_returned_without_a_query(world, django_capture_on_commit_callbacks,
                                                                  django_assert_num_queries):
    applications = bulk_approved(world, 2)
    sent = []
    with mock.patch("printing.tasks.issue_certificate_task.apply_async",
                    side_effect=lambda *a, **kw: sent.append((kw["args"], kw["kwargs"]))):
        with django_capture_on_commit_callbacks() as callbacks:
            with django_assert_num_queries(1):  # INSERT … ON CONFLICT DO NOTHING RETURNING
                effects_add(kind="certificate_issue", items=[(a.pk, [a.pk], {"n": 1}) for a in applications])
            with django_assert_num_queries(1):  # the same keys are pending: nothing written, nothing kicked
                effects_add(kind="certificate_issue", items=[(a.pk, [a.pk], {"n": 2}) for a in applications])
        with django_assert_num_queries(0):
            for callback in callbacks:
                callback()
    ids = dict(Effect.objects.values_list("key", "pk"))
    assert sent == [([a.pk], {"n": 1, "effect_id": ids[str(a.pk)]}) for a in applications]


def test_a_kicked_effect_not_done_after_the_grace_period_is_published_once_more(world):
    """The kick leaves no mark, so an effect still queued behind others after the grace period gets a
    second message from the relay; the first run does the work and the second finds it done."""
    (application,) = bulk_approved(world, 1)
    effect_add(kind="certificate_issue", key=application.pk, args=[application.pk])
    with mock.patch("printing.tasks.issue_certificate_task.apply_async") as publish:
        assert outbox_relay(now=later(GRACE_SECONDS)).published == 1
        assert outbox_relay(now=later(GRACE_SECONDS + 30)).published == 0  # marked now: no third message
    effect = Effect.objects.get(kind="certificate_issue")
    assert (publish.call_count, effect.publish_count) == (1, 1)
    for _delivery in range(2):
        issue_certificate_task.apply(args=[application.pk], kwargs={"effect_id": effect.pk}).get()
    assert Certificate.objects.filter(application=application).count() == 1


def test_broker_down_at_commit_the_action_stands_and_the_relay_delivers(world, django_capture_on_commit_callbacks,
                                                                          caplog):
    application = to_public_notice(world, to_province_check(world, create(world, PROGRAM), "langya"))
    with mock.patch("printing.tasks.issue_certificate_task.apply_async", side_effect=BrokerDown("refused")):
        with caplog.at_level(logging.WARNING, logger="approvals.outbox"):
            with django_capture_on_commit_callbacks(execute=True):
                svc.application_approve(actor=act(world, "anhui_leader"), application_id=application.pk)
    assert Application.objects.get(pk=application.pk).status == Status.APPROVED
    issue = Effect.objects.get(kind="certificate_issue")
    assert f"broker unreachable: 1 effect(s) wait for the relay (first certificate_issue#{issue.pk})" in caplog.text
    assert (issue.published_at, issue.publish_count, Certificate.objects.count()) == (None, 0, 0)
    # Within the grace period the relay leaves it to the kick; after it, the relay publishes it.
    assert issue not in effects_due(now=later(GRACE_SECONDS - 1))
    with django_capture_on_commit_callbacks(execute=True):
        assert outbox_relay(now=later(GRACE_SECONDS)).published >= 1
    assert Application.objects.get(pk=application.pk).status == Status.CERTIFIED
    assert Certificate.objects.get().pdf_sha256 and Effect.objects.get(pk=issue.pk).done_at is not None


def test_the_relay_stops_at_the_first_broker_error_and_unmarks_the_rest(world):
    applications = bulk_approved(world, 3)
    effects_add(kind="certificate_issue", items=[(a.pk, [a.pk], {}) for a in applications])
    calls = []

    def publish(*args, **kwargs):
        calls.append(kwargs["kwargs"]["effect_id"])
        if len(calls) == 2:
            raise BrokerDown("connection lost")

    with mock.patch("printing.tasks.issue_certificate_task.apply_async", side_effect=publish):
        result = outbox_relay(now=later(GRACE_SECONDS))
    assert (result.due, result.published, len(calls)) == (3, 1, 2)
    rows = [(e.publish_count, e.published_at is None) for e in Effect.objects.order_by("pk")]
    assert rows == [(1, False), (0, True), (0, True)]


def test_a_published_effect_not_done_is_published_again_after_the_redelivery_delay(world):
    (application,) = bulk_approved(world, 1)
    effect_add(kind="certificate_issue", key=application.pk, args=[application.pk])
    published = timezone.now()
    Effect.objects.update(published_at=published, publish_count=1)  # handed over, then the message was lost
    assert not effects_due(now=published + dt.timedelta(seconds=REDELIVER_AFTER_SECONDS - 1)).exists()
    assert effects_due(now=published + dt.timedelta(seconds=REDELIVER_AFTER_SECONDS)).count() == 1
    outbox_relay(now=published + dt.timedelta(seconds=REDELIVER_AFTER_SECONDS))
    effect = Effect.objects.get(kind="certificate_issue")
    assert (effect.publish_count, effect.done_at is not None) == (2, True)
    assert Certificate.objects.filter(application=application).count() == 1


# ----------------------------------------------------------------------------------------- consuming


def test_a_failed_run_rolls_back_backs_off_and_is_set_aside_after_max_attempts(world, caplog):
    (application,) = bulk_approved(world, 1)
    effect_add(kind="certificate_issue", key=application.pk, args=[application.pk])
    effect = Effect.objects.get()

    def work():
        Application.objects.filter(pk=application.pk).update(subject_name="写了一半")
        raise OSError("database went away")

    now = timezone.now()
    assert effect_run(effect.pk, work) is None
    effect.refresh_from_db()
    assert Application.objects.get(pk=application.pk).subject_name != "写了一半"  # rolled back
    assert (effect.attempts, effect.note, effect.done_at, effect.failed_at) == (
        1, "OSError('database went away')", None, None)
    assert now + dt.timedelta(seconds=29) < effect.available_at <= timezone.now() + dt.timedelta(seconds=30)
    assert [backoff_seconds(n) for n in (1, 2, 3, 8, 12)] == [30, 60, 120, 3600, 3600]
    Effect.objects.filter(pk=effect.pk).update(attempts=MAX_ATTEMPTS - 1)
    with caplog.at_level(logging.ERROR, logger="approvals.outbox"):
        effect_run(effect.pk, work)
    effect.refresh_from_db()
    assert (effect.attempts, effect.failed_at is not None) == (MAX_ATTEMPTS, True)
    assert "set aside for an administrator" in caplog.text
    assert not effects_due(now=later(10 * 3600)).exists()  # never again by itself
    # An administrator tries it again: published now, done once.
    assert effects_retry(effect_ids=[effect.pk]) == 1
    effect.refresh_from_db()
    assert (effect.attempts, effect.failed_at, effect.note) == (0, None, "")


def test_a_second_delivery_of_a_done_effect_is_skipped(world):
    (application,) = bulk_approved(world, 1)
    effect_add(kind="certificate_issue", key=application.pk, args=[application.pk])
    effect = Effect.objects.get()
    runs = []
    assert effect_run(effect.pk, lambda: runs.append(1) or "first") == "first"
    assert effect_run(effect.pk, lambda: runs.append(2) or "second") is SKIPPED
    assert effect_run(effect.pk, lambda: runs.append(3), atomic=False) is SKIPPED
    assert runs == [1]


def test_work_outside_a_transaction_marks_its_effect_done_in_its_own_commit(world, django_assert_num_queries):
    """effect_done_with(): the work's commit marks the effect done, and effect_run writes nothing after it;
    a work that raises after it rolls the mark back with its own writes, and the failure is recorded."""
    (application,) = bulk_approved(world, 1)
    effect_add(kind="certificate_render", key=application.pk, args=[application.pk])
    effect = Effect.objects.get()

    def work():
        with transaction.atomic():
            Application.objects.filter(pk=application.pk).update(subject_name="改名一次")
            effect_done_with()
        return "stored"

    def failing_work():
        with transaction.atomic():
            Application.objects.filter(pk=application.pk).update(subject_name="改名两次")
            effect_done_with()
            raise RuntimeError("disk full")

    assert effect_run(effect.pk, failing_work, atomic=False) is None
    effect.refresh_from_db()
    application.refresh_from_db()
    assert (effect.done_at, effect.attempts, application.subject_name != "改名两次") == (None, 1, True)
    # The pending check, the work's UPDATE and the mark (plus the savepoint's two statements): no write after.
    with django_assert_num_queries(5):
        assert effect_run(effect.pk, work, atomic=False) == "stored"
    effect.refresh_from_db()
    assert effect.done_at is not None
    assert effect_run(effect.pk, work, atomic=False) is SKIPPED
    effect_done_with()  # no running effect (a direct call): nothing to mark, no query


def test_a_refusal_is_noted_on_the_effect_and_not_retried(world):
    draft = create(world, PROGRAM)
    effect_add(kind="certificate_issue", key=draft.pk, args=[draft.pk])
    effect = Effect.objects.get(kind="certificate_issue")
    assert issue_certificate_task.apply(args=[draft.pk], kwargs={"effect_id": effect.pk}).get() is None
    effect.refresh_from_db()
    assert (effect.done_at is not None, effect.attempts) == (True, 0)
    assert effect.note == "not issued: 申报当前状态为“草稿”，不能执行“颁发证书”，可能已被他人处理，请刷新后重试"


# -------------------------------------------------------------------------------------------- sweeper


def test_sweeper_puts_back_an_approved_application_without_a_certificate_effect(world, caplog):
    applications = bulk_approved(world, 2)  # approved before the outbox existed: no effect
    effect_add(kind="certificate_issue", key=applications[1].pk, args=[applications[1].pk])  # this one has one
    assert stranded_sweep(now=later(STRANDED_AFTER_SECONDS - 5)).issues_put_back == 0  # too young
    with caplog.at_level(logging.WARNING, logger="workflows.sweeper"):
        result = stranded_sweep(now=later(STRANDED_AFTER_SECONDS + 1))
    assert (result.issues_put_back, result.errors) == (1, [])
    assert "1 approved without a certificate effect" in caplog.text
    assert sorted(Effect.objects.filter(kind="certificate_issue").values_list("key", flat=True)) == sorted(
        str(a.pk) for a in applications)
    assert stranded_sweep(now=later(STRANDED_AFTER_SECONDS + 1)).issues_put_back == 0  # pending now


def test_sweeper_puts_back_a_certificate_without_its_pdf(world, django_capture_on_commit_callbacks):
    application = certified_application(world, django_capture_on_commit_callbacks)
    certificate = Certificate.objects.get(application=application)
    Certificate.objects.filter(pk=certificate.pk).update(pdf_sha256="", pdf_size=None, rendered_at=None)
    Effect.objects.all().delete()  # as if its render effect had been lost
    with django_capture_on_commit_callbacks(execute=True):
        result = stranded_sweep(now=later(STRANDED_AFTER_SECONDS + 1))
    assert result.renders_put_back == 1
    certificate.refresh_from_db()
    assert certificate.pdf_sha256 and Effect.objects.get(kind="certificate_render").done_at is not None


def test_sweeper_fires_a_due_notice_timer(world, django_capture_on_commit_callbacks):
    application = to_public_notice(world, to_province_check(world, create(world, PROGRAM), "langya"))
    from workflows.flows import ApplicationFlow

    timer = ApplicationFlow.task_class.objects.get(process_id=application.process_id,
                                                   flow_task=ApplicationFlow.wait_notice)
    assert stranded_sweep(now=timer.scheduled - dt.timedelta(seconds=1)).approved_by_timer == 0
    with django_capture_on_commit_callbacks(execute=True):
        assert stranded_sweep(now=timer.scheduled).approved_by_timer == 1
    assert Application.objects.get(pk=application.pk).status == Status.CERTIFIED


def test_sweeper_sets_aside_a_half_sent_email_and_goes_on_when_a_part_fails(world):
    user = world.user["langya_leader"]
    from workflows.notifications import Message, notifications_create

    (row_id,) = notifications_create(batches=[(type(user).objects.filter(pk=user.pk), Message("task", "t", "b"))],
                                     key="k")
    EmailOutbox.objects.filter(pk=row_id).update(sending_started_at=timezone.now() - dt.timedelta(hours=1))
    with mock.patch("workflows.sweeper.notice_timers_fire", side_effect=RuntimeError("flow broken")):
        result = stranded_sweep()
    assert (result.emails_set_aside, result.errors) == (1, ["notice timers: RuntimeError('flow broken')"])
    assert EmailOutbox.objects.get(pk=row_id).failed_at is not None


def test_sweeper_purges_effects_done_long_ago(world):
    (application,) = bulk_approved(world, 1)
    effect_add(kind="certificate_issue", key=application.pk, args=[application.pk])
    Effect.objects.update(done_at=timezone.now() - dt.timedelta(days=30, seconds=1))
    effect_add(kind="certificate_render", key=99, args=[99])
    Effect.objects.filter(kind="certificate_render").update(done_at=timezone.now() - dt.timedelta(days=29))
    assert stranded_sweep().effects_purged == 1
    assert list(Effect.objects.values_list("kind", flat=True)) == ["certificate_render"]
