"""Notification e-mails through real brokers and real Celery workers (prefork, one process each).

* A worker SIGKILLed in the middle of the send task (its whole process group, as when a machine or a
  container dies): the next worker gets the task again (late ack) and the e-mail is sent exactly once,
  on Redis and on RabbitMQ. Redis hands an unacknowledged task on after the visibility timeout, which
  these tests shorten to a few seconds; RabbitMQ does it as soon as the dead worker's connection closes.
* A worker killed after the mail server took the message but before that was recorded: the task comes
  back and does not send it again (at most once); the sweeper sets the row aside for a person.
* The broker down when the web side commits: the action succeeds, its notify effect waits in the outbox,
  and `manage.py flush_outbox` (the relay, by hand) delivers it once the broker is back.

Fixtures (processes, brokers, PostgreSQL) are in conftest.py.
"""
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.db import transaction

from approvals.models import AuditEvent, Effect
from tests.factories import UserFactory
from workflows.models import EmailOutbox
from workflows.notifications import IN_DOUBT, Message, emails_in_doubt_set_aside, notifications_create

from .conftest import BASE_DIR, DEAD_BROKER_URL, publish, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

REDIS_VISIBILITY_SECONDS = 4
PAUSE_SECONDS = 60  # how long the first worker would pause; it is killed long before


def sent_mails(mail_dir: Path) -> list[str]:
    return sorted(p.read_text("utf-8", errors="replace") for p in mail_dir.glob("*.log"))


def one_email(username: str = "recipient") -> int:
    """A committed notification and its e-mail in the outbox; returns the outbox id."""
    user = UserFactory(username=username)
    with transaction.atomic():
        ids = notifications_create(
            batches=[(get_user_model().objects.filter(pk=user.pk),
                      Message("reminder", "即将到期：测试申报（市级审核推荐）", "请及时办理。", "/x/"))],
            key=f"integration-{username}",
        )
    return ids[0]


def enqueue(broker_url: str, queue: str, outbox_ids: list[int]) -> None:
    publish(broker_url, queue, "workflows.tasks.send_notification_emails", [outbox_ids])


def row(outbox_id: int) -> EmailOutbox:
    return EmailOutbox.objects.get(pk=outbox_id)


# -------------------------------------------------------------------------------------------- tests


def _killed_before_sending_then_sent_once(broker_url, queue, start_worker, mail_dir, *, settle: float,
                                          **worker_env):
    outbox_id = one_email()
    first = start_worker(broker_url, NOTIFY_TEST_DELAY_SECONDS=PAUSE_SECONDS, **worker_env)
    enqueue(broker_url, queue, [outbox_id])
    first.wait_for_log(f"outbox {outbox_id}: NOTIFY_TEST_DELAY_SECONDS, pausing")
    first.kill()
    assert sent_mails(mail_dir) == []
    assert (row(outbox_id).sending_started_at, row(outbox_id).sent_at) == (None, None)

    second = start_worker(broker_url, **worker_env)
    wait_for(lambda: row(outbox_id).sent_at, 60, "the second worker to send the e-mail")
    second.wait_for_log("succeeded")
    time.sleep(settle)  # long enough for a second delivery, if there were one, to show
    mails = sent_mails(mail_dir)
    assert len(mails) == 1
    assert "To: recipient@test.kexie.example" in mails[0]
    assert (row(outbox_id).attempts, second.output().count("succeeded in")) == (1, 1)
    return second


def test_redis_worker_killed_mid_task_then_a_new_worker_sends_exactly_once(redis_broker, queue, start_worker,
                                                                            mail_dir):
    _killed_before_sending_then_sent_once(
        redis_broker, queue, start_worker, mail_dir, settle=REDIS_VISIBILITY_SECONDS + 2,
        CELERY_VISIBILITY_TIMEOUT=REDIS_VISIBILITY_SECONDS)


def test_rabbitmq_worker_killed_mid_task_then_a_new_worker_sends_exactly_once(rabbitmq_broker, queue, start_worker,
                                                                               mail_dir):
    _killed_before_sending_then_sent_once(rabbitmq_broker, queue, start_worker, mail_dir, settle=2)


def test_redis_worker_killed_after_the_mail_server_took_it_does_not_send_twice(redis_broker, queue, start_worker,
                                                                                mail_dir):
    outbox_id = one_email()
    env = {"CELERY_VISIBILITY_TIMEOUT": REDIS_VISIBILITY_SECONDS}
    first = start_worker(redis_broker, NOTIFY_TEST_DELAY_AFTER_SEND_SECONDS=PAUSE_SECONDS, **env)
    enqueue(redis_broker, queue, [outbox_id])
    first.wait_for_log(f"outbox {outbox_id}: NOTIFY_TEST_DELAY_AFTER_SEND_SECONDS, pausing")
    first.kill()
    assert len(sent_mails(mail_dir)) == 1
    assert (row(outbox_id).sending_started_at is not None, row(outbox_id).sent_at) == (True, None)

    second = start_worker(redis_broker, **env)
    second.wait_for_log("succeeded in", timeout=60)
    assert f"'{IN_DOUBT}': 1" in second.output()
    assert len(sent_mails(mail_dir)) == 1
    # The sweeper reports it and sets it aside for an administrator instead of sending it again.
    assert emails_in_doubt_set_aside(in_doubt_after_seconds=0) == 1
    assert row(outbox_id).failed_at is not None and len(sent_mails(mail_dir)) == 1


def test_broker_down_at_commit_then_flush_delivers(waiting_for_signoff, redis_broker, start_worker, environment,
                                                   mail_dir):
    app, leader = waiting_for_signoff
    # The web side commits an action while its broker is unreachable.
    web = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c",
         "from django.contrib.auth import get_user_model; from approvals import services as svc; "
         f"user = get_user_model().objects.get(pk={leader}); "
         f"svc.application_sign_off(actor=svc.Actor(user=user), application_id={app}, comment='同意')"],
        cwd=BASE_DIR, env=environment(DEAD_BROKER_URL), capture_output=True, text=True, timeout=120,
    )
    assert web.returncode == 0, web.stderr[-3000:]
    # The action committed with its audit event and its outbox effect; nothing could be published.
    sign_off = AuditEvent.objects.get(application_id=app, action="sign_off")
    effect = Effect.objects.get(kind="notify_event", key=f"{app}:{sign_off.seq}")
    assert f"broker unreachable: 1 effect(s) wait for the relay (first notify_event#{effect.pk})" in web.stderr
    assert (effect.published_at, effect.done_at, EmailOutbox.objects.count(), sent_mails(mail_dir)) == (
        None, None, 0, [])

    # The broker is back: the relay (here by hand) publishes the effect; a worker works out the recipients
    # and writes the e-mail's effect, which it publishes itself; the e-mail is sent, once.
    start_worker(redis_broker, CELERY_VISIBILITY_TIMEOUT=REDIS_VISIBILITY_SECONDS)
    flush = subprocess.run([sys.executable, "manage.py", "flush_outbox", "--grace", "0"], cwd=BASE_DIR,
                           env=environment(redis_broker), capture_output=True, text=True, timeout=120)
    assert (flush.returncode, flush.stdout.strip()) == (
        0, "已放入队列 1 项（共 1 项待办），标记待人工处理 0 封邮件。"), flush.stderr
    wait_for(lambda: EmailOutbox.objects.filter(sent_at__isnull=False).first(), 60, "the e-mail to be sent")
    pending = EmailOutbox.objects.get()
    assert (pending.to_email, pending.subject) == (
        "chuzhou_reviewer@test.kexie.example", "【科协试点申报】待办：滁州某某智能装备有限公司（市级审核推荐）")
    time.sleep(2)
    mails = sent_mails(mail_dir)
    assert len(mails) == 1 and "To: chuzhou_reviewer@test.kexie.example" in mails[0]
    assert all(e.done_at for e in Effect.objects.filter(kind__in=["notify_event", "email_send"],
                                                         created_at__gte=effect.created_at))


@pytest.fixture
def waiting_for_signoff(postgres, settings, tmp_path):
    """The approvals world with one application waiting for the county leader's sign-off (ids only)."""
    from approvals import services as svc
    from tests.approvals.chain import act, create
    from tests.approvals.conftest import World

    settings.PRIVATE_STORAGE_ROOT = tmp_path / "private"
    world = World()
    app = create(world, "society-service-station")
    svc.application_submit(actor=act(world, "langya_clerk"), application_id=app.pk)
    EmailOutbox.objects.all().delete()
    return app.pk, world.user["langya_leader"].pk
