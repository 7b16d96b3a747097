"""Notification e-mails through real brokers and real Celery workers (prefork, one process each).

* A worker SIGKILLed in the middle of the send task (its whole process group, as when a machine or a
  container dies): the next worker gets the task again (late ack) and the e-mail is sent exactly once,
  on Redis and on RabbitMQ. Redis hands an unacknowledged task on after the visibility timeout, which
  these tests shorten to a few seconds; RabbitMQ does it as soon as the dead worker's connection closes.
* A worker killed after the mail server took the message but before that was recorded: the task comes
  back and does not send it again (at most once); the outbox flush sets the row aside for a person.
* The broker down when the web side commits: the action succeeds, the e-mail waits in the outbox, and
  `manage.py flush_outbox` delivers it once the broker is back.

The workers share the test database, so PostgreSQL is needed (pytest-django's SQLite test database lives
in memory). Without a reachable broker or PostgreSQL the tests skip, except in CI (CI set), where they fail.
"""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection, transaction

from approvals.models import AuditEvent
from tests.factories import UserFactory
from workflows.models import EmailOutbox, NotificationJob
from workflows.notifications import IN_DOUBT, Message, notifications_create, outbox_flush

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
AMQP_URL = os.environ.get("TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672//")
DEAD_BROKER_URL = "redis://127.0.0.1:6390/15"  # nothing listens there
BASE_DIR = Path(settings.BASE_DIR)
CELERY = Path(sys.executable).with_name("celery")
REDIS_VISIBILITY_SECONDS = 4
PAUSE_SECONDS = 60  # how long the first worker would pause; it is killed long before


def unavailable(reason: str):
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI is set, so this is a failure rather than a skip)")
    pytest.skip(reason)


def broker_reachable(url: str) -> bool:
    from kombu import Connection

    try:
        with Connection(url, connect_timeout=2) as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        return True
    except Exception:
        return False


def wait_for(condition, timeout: float, what: str, interval: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


# ------------------------------------------------------------------------------------------- fixtures


@pytest.fixture
def postgres():
    if connection.vendor != "postgresql":
        unavailable("the workers must share the test database: run with DATABASE_URL=postgres://…")
    db = connection.settings_dict
    auth = quote(db["USER"] or "", safe="") + (f":{quote(db['PASSWORD'], safe='')}" if db["PASSWORD"] else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.fixture
def redis_broker():
    if not broker_reachable(REDIS_URL):
        unavailable(f"Redis is not reachable at {REDIS_URL}")
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    client.flushdb()
    yield REDIS_URL
    client.flushdb()


@pytest.fixture
def rabbitmq_broker():
    if not broker_reachable(AMQP_URL):
        unavailable(f"RabbitMQ is not reachable at {AMQP_URL}")
    purge_amqp_queue()
    yield AMQP_URL
    purge_amqp_queue()


def purge_amqp_queue():
    from kombu import Connection

    with Connection(AMQP_URL) as conn:
        try:
            conn.channel().queue_purge("celery")
        except Exception:  # the queue does not exist yet
            pass


@pytest.fixture
def mail_dir(tmp_path):
    path = tmp_path / "mail"
    path.mkdir()
    return path


def sent_mails(mail_dir: Path) -> list[str]:
    return sorted(p.read_text("utf-8", errors="replace") for p in mail_dir.glob("*.log"))


class Worker:
    def __init__(self, name: str, proc: subprocess.Popen, log: Path):
        self.name, self.proc, self.log = name, proc, log

    def output(self) -> str:
        return self.log.read_text("utf-8", errors="replace") if self.log.exists() else ""

    def wait_for_log(self, text: str, timeout: float = 30) -> None:
        def seen():
            if self.proc.poll() is not None:
                raise AssertionError(f"worker {self.name} exited ({self.proc.returncode}):\n{self.output()[-3000:]}")
            return text in self.output()

        try:
            wait_for(seen, timeout, f"{text!r} in the log of worker {self.name}")
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n--- log ---\n{self.output()[-3000:]}") from None

    def kill(self) -> None:
        """SIGKILL the worker and its pool processes at once (its own process group)."""
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGQUIT)  # cold shutdown: nothing is left to finish
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture
def environment(postgres, mail_dir, tmp_path):
    def build(broker_url: str, **extra) -> dict:
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings.test",
            "DATABASE_URL": postgres,
            "CELERY_BROKER_URL": broker_url,
            "CELERY_TASK_ALWAYS_EAGER": "false",
            "EMAIL_FILE_PATH": str(mail_dir),
            "APP_VAR_DIR": str(tmp_path / "var"),
            "PYTHONUNBUFFERED": "1",
        }
        env.update({key: str(value) for key, value in extra.items()})
        return env

    return build


@pytest.fixture
def start_worker(environment, tmp_path):
    started: list[Worker] = []

    def start(broker_url: str, **extra) -> Worker:
        name = f"w{len(started) + 1}"
        log = tmp_path / f"{name}.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [str(CELERY), "-A", "config", "worker", "-l", "info", "--concurrency", "1", "-P", "prefork",
                 "-n", f"{name}@%h", "--without-gossip", "--without-mingle", "--without-heartbeat"],
                cwd=BASE_DIR, env=environment(broker_url, **extra), stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        worker = Worker(name, proc, log)
        started.append(worker)
        worker.wait_for_log("ready.", timeout=60)
        return worker

    yield start
    for worker in started:
        worker.stop()


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


def enqueue(broker_url: str, outbox_ids: list[int]) -> None:
    """Publish the send task straight to a broker (this process's own Celery runs tasks eagerly)."""
    import warnings

    from celery.exceptions import AlwaysEagerIgnored

    from config.celery_app import app

    with app.connection_for_write(broker_url) as conn, warnings.catch_warnings():
        warnings.simplefilter("ignore", AlwaysEagerIgnored)
        app.send_task("workflows.tasks.send_notification_emails", args=[outbox_ids], connection=conn)


def row(outbox_id: int) -> EmailOutbox:
    return EmailOutbox.objects.get(pk=outbox_id)


# -------------------------------------------------------------------------------------------- tests


def _killed_before_sending_then_sent_once(broker_url, start_worker, mail_dir, *, settle: float, **worker_env):
    outbox_id = one_email()
    first = start_worker(broker_url, NOTIFY_TEST_DELAY_SECONDS=PAUSE_SECONDS, **worker_env)
    enqueue(broker_url, [outbox_id])
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


def test_redis_worker_killed_mid_task_then_a_new_worker_sends_exactly_once(redis_broker, start_worker, mail_dir):
    _killed_before_sending_then_sent_once(
        redis_broker, start_worker, mail_dir, settle=REDIS_VISIBILITY_SECONDS + 2,
        CELERY_VISIBILITY_TIMEOUT=REDIS_VISIBILITY_SECONDS)


def test_rabbitmq_worker_killed_mid_task_then_a_new_worker_sends_exactly_once(rabbitmq_broker, start_worker,
                                                                               mail_dir):
    _killed_before_sending_then_sent_once(rabbitmq_broker, start_worker, mail_dir, settle=2)


def test_redis_worker_killed_after_the_mail_server_took_it_does_not_send_twice(redis_broker, start_worker,
                                                                                mail_dir):
    outbox_id = one_email()
    env = {"CELERY_VISIBILITY_TIMEOUT": REDIS_VISIBILITY_SECONDS}
    first = start_worker(redis_broker, NOTIFY_TEST_DELAY_AFTER_SEND_SECONDS=PAUSE_SECONDS, **env)
    enqueue(redis_broker, [outbox_id])
    first.wait_for_log(f"outbox {outbox_id}: NOTIFY_TEST_DELAY_AFTER_SEND_SECONDS, pausing")
    first.kill()
    assert len(sent_mails(mail_dir)) == 1
    assert (row(outbox_id).sending_started_at is not None, row(outbox_id).sent_at) == (True, None)

    second = start_worker(redis_broker, **env)
    second.wait_for_log("succeeded in", timeout=60)
    assert f"'{IN_DOUBT}': 1" in second.output()
    assert len(sent_mails(mail_dir)) == 1
    # The flush reports it and sets it aside for an administrator instead of sending it again.
    assert outbox_flush(grace_seconds=0, in_doubt_after_seconds=0) == (0, 1)
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
    # The action committed with its audit event; nothing could be queued, no worker has told it.
    assert f"broker unreachable: the notifications of event {app}#" in web.stderr
    sign_off = AuditEvent.objects.get(application_id=app, action="sign_off")
    assert (NotificationJob.objects.filter(application_id=app, audit_seq=sign_off.seq).count(),
            EmailOutbox.objects.count(), sent_mails(mail_dir)) == (0, 0, [])

    # The broker is back: the flush queues the event; a worker works out the recipients and sends, once.
    start_worker(redis_broker, CELERY_VISIBILITY_TIMEOUT=REDIS_VISIBILITY_SECONDS)
    flush = subprocess.run([sys.executable, "manage.py", "flush_outbox", "--grace", "0"], cwd=BASE_DIR,
                           env=environment(redis_broker), capture_output=True, text=True, timeout=120)
    assert (flush.returncode, flush.stdout.strip()) == (
        0, "已放入队列 1 项（通知任务或邮件），标记待人工处理 0 封。"), flush.stderr
    wait_for(lambda: EmailOutbox.objects.filter(sent_at__isnull=False).first(), 60, "the flushed e-mail to be sent")
    pending = EmailOutbox.objects.get()
    assert (pending.to_email, pending.subject) == (
        "chuzhou_reviewer@test.kexie.example", "【科协试点申报】待办：滁州某某智能装备有限公司（市级审核推荐）")
    time.sleep(2)
    mails = sent_mails(mail_dir)
    assert len(mails) == 1 and "To: chuzhou_reviewer@test.kexie.example" in mails[0]


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
