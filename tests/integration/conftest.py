"""Shared pieces of the integration tests: real brokers, real Celery workers, beat and a web server, each a
process of its own on the test database (PostgreSQL: pytest-django's SQLite test database lives in
memory). Without a reachable broker or PostgreSQL the tests skip, except in CI (CI set), where they fail.

On the shared RabbitMQ every test uses a queue of its own (CELERY_QUEUE), so that runs of other
worktrees on the same vhost never take its messages."""
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import connection

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
AMQP_URL = os.environ.get("TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672//")
DEAD_BROKER_URL = "redis://127.0.0.1:6390/15"  # nothing listens there
BASE_DIR = Path(settings.BASE_DIR)
CELERY = Path(sys.executable).with_name("celery")


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


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# ------------------------------------------------------------------------------------------- brokers


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
def queue():
    """A queue name of this test's own (the workers and every publish of the test use it)."""
    return f"kexie-test-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def rabbitmq_broker(queue):
    if not broker_reachable(AMQP_URL):
        unavailable(f"RabbitMQ is not reachable at {AMQP_URL}")
    yield AMQP_URL
    from kombu import Connection

    with Connection(AMQP_URL) as conn:
        try:
            conn.channel().queue_delete(queue)
        except Exception:  # never declared
            pass


def publish(broker_url: str, queue: str, task: str, args: list, kwargs: dict | None = None) -> None:
    """Publish a task straight to a broker (this process's own Celery runs tasks eagerly)."""
    import warnings

    from celery.exceptions import AlwaysEagerIgnored

    from config.celery_app import app

    with app.connection_for_write(broker_url) as conn, warnings.catch_warnings():
        warnings.simplefilter("ignore", AlwaysEagerIgnored)
        app.send_task(task, args=args, kwargs=kwargs or {}, connection=conn, queue=queue)


# ----------------------------------------------------------------------------------------- processes


class Process:
    def __init__(self, name: str, proc: subprocess.Popen, log: Path):
        self.name, self.proc, self.log = name, proc, log

    def output(self) -> str:
        return self.log.read_text("utf-8", errors="replace") if self.log.exists() else ""

    def wait_for_log(self, text: str, timeout: float = 30) -> None:
        def seen():
            if self.proc.poll() is not None:
                raise AssertionError(f"{self.name} exited ({self.proc.returncode}):\n{self.output()[-3000:]}")
            return text in self.output()

        try:
            wait_for(seen, timeout, f"{text!r} in the log of {self.name}")
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n--- log ---\n{self.output()[-3000:]}") from None

    def kill(self) -> None:
        """SIGKILL the process and its children at once (its own process group)."""
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGQUIT)  # cold shutdown: nothing is left to finish
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()


Worker = Process


@pytest.fixture
def mail_dir(tmp_path):
    path = tmp_path / "mail"
    path.mkdir()
    return path


@pytest.fixture
def environment(postgres, mail_dir, tmp_path, queue):
    def build(broker_url: str, **extra) -> dict:
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings.test",
            "DATABASE_URL": postgres,
            "CELERY_BROKER_URL": broker_url,
            "CELERY_TASK_ALWAYS_EAGER": "false",
            "CELERY_QUEUE": queue,
            "EMAIL_FILE_PATH": str(mail_dir),
            "APP_VAR_DIR": str(tmp_path / "var"),
            "APP_PRIVATE_STORAGE": str(tmp_path / "private"),
            "PYTHONUNBUFFERED": "1",
        }
        env.update({key: str(value) for key, value in extra.items()})
        return env

    return build


@pytest.fixture
def start_process(environment, tmp_path):
    """Start `argv` (in the project folder, own process group, log to a file); stopped after the test."""
    started: list[Process] = []

    def start(name: str, argv: list[str], broker_url: str, **extra) -> Process:
        log = tmp_path / f"{name}.log"
        with log.open("ab") as out:
            proc = subprocess.Popen(argv, cwd=BASE_DIR, env=environment(broker_url, **extra), stdout=out,
                                    stderr=subprocess.STDOUT, start_new_session=True)
        process = Process(name, proc, log)
        started.append(process)
        return process

    yield start
    for process in started:
        process.stop()


@pytest.fixture
def start_worker(start_process):
    count = [0]

    def start(broker_url: str, *, wait: bool = True, **extra) -> Process:
        count[0] += 1
        name = f"w{count[0]}"
        worker = start_process(
            name, [str(CELERY), "-A", "config", "worker", "-l", "info", "--concurrency", "1", "-P", "prefork",
                   "-n", f"{name}@%h", "--without-gossip", "--without-mingle", "--without-heartbeat"],
            broker_url, **extra)
        if wait:
            worker.wait_for_log("ready.", timeout=90)
        return worker

    return start


@pytest.fixture
def start_beat(start_process, tmp_path):
    def start(broker_url: str, **extra) -> Process:
        return start_process("beat", [str(CELERY), "-A", "config", "beat", "-l", "info",
                                      "-s", str(tmp_path / "celerybeat-schedule")], broker_url, **extra)

    return start


@pytest.fixture
def start_web(start_process):
    def start(broker_url: str, **extra) -> tuple[Process, str]:
        port = free_port()
        web = start_process("web", [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
                            broker_url, **extra)
        web.wait_for_log("Quit the server with", timeout=60)
        return web, f"http://127.0.0.1:{port}"

    return start


@pytest.fixture
def no_kick_here(monkeypatch):
    """This process drives the test and is no worker: its own commits publish nothing (its Celery is
    eager); the relay of the processes under test, or the test itself, publishes what they write."""
    monkeypatch.setattr("approvals.outbox._kick", lambda effects: None)
