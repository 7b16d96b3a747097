"""The outbox against real brokers, real workers, beat and a web server (each its own process):

* the broker unreachable for 60 s (cut by a proxy in front of the real Redis) while the API approves,
  the notice timers approve and an officer runs a bulk issue: every answer is 2xx or 4xx; once the
  broker is back, every certificate is issued exactly once, numbered without gaps, with a stored PDF
  that matches its SHA-256;
* a worker SIGKILLed in the middle of issuing certificates (inside the issue transaction, inside the
  render, or at a random moment), 20 rounds on RabbitMQ: a new worker issues every certificate exactly
  once, within 5 minutes of the kill;
* expiry through beat: the scheduled task expires a designation past its date, with its notification.

Fixtures (processes, brokers, PostgreSQL) are in conftest.py.
"""
import datetime as dt
import hashlib
import http.cookiejar
import json
import random
import re
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from urllib.parse import urlparse

import pytest
from django.db import transaction
from django.db.models import Count
from django.utils import timezone
from rest_framework.authtoken.models import Token
from stdnum.cn import uscc as uscc_checker

from approvals import services as svc
from approvals.models import Application, AuditEvent, Effect, Status
from approvals.outbox import EFFECTS, effects_add
from printing import services as printing
from printing.models import Certificate, CertificateSequence, CertificateStatus, IssueRun
from tests.approvals.chain import act, create, to_province_check
from tests.approvals.conftest import World
from tests.factories import TEST_PASSWORD
from tests.printing.helpers import bulk_approved, to_public_notice
from workflows.models import Notification

from .conftest import BASE_DIR, REDIS_URL, wait_for
from .faultproxy import FaultProxy

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

PROGRAM = "society-service-station"
OUTAGE_SECONDS = 60
# The relay and the sweeper run every few seconds here instead of 30 and 60, to keep the suite short.
FAST_BEAT = "outbox-relay=3,sweep-stranded=5"


def uscc(n: int) -> str:
    base = f"91341100MA2N{n:05d}"
    return base + uscc_checker.calc_check_digit(base)


def applications_in_notice(world, count: int, start: int) -> list[Application]:
    """`count` applications whose public notice is over (their notice timer is due)."""
    places = [("langya", "chuzhou"), ("nanqiao", "chuzhou"), ("yaohai", "hefei")]
    result = []
    for i in range(count):
        county, city = places[(start + i) % len(places)]
        application = create(world, PROGRAM, county=county, city=city, uscc=uscc(start + i))
        result.append(to_public_notice(world, to_province_check(world, application, county, city=city)))
    return result


def assert_issued_exactly_once(application_ids) -> None:
    certificates = list(Certificate.objects.filter(application_id__in=application_ids))
    assert len(certificates) == len(set(application_ids))
    assert set(Application.objects.filter(pk__in=application_ids).values_list("status", flat=True)) == {
        Status.CERTIFIED}
    events = dict(AuditEvent.objects.filter(application_id__in=application_ids, action="issue_certificate")
                  .values_list("application_id").annotate(n=Count("id")))
    assert events == {pk: 1 for pk in application_ids}
    for certificate in certificates:
        pdf = printing.certificate_pdf_path(certificate).read_bytes()
        assert (certificate.status, hashlib.sha256(pdf).hexdigest(), certificate.pdf_size) == (
            CertificateStatus.VALID, certificate.pdf_sha256, len(pdf))
    for sequence in CertificateSequence.objects.all():  # gap-free in every (province, program, year)
        seqs = sorted(sequence.certificates.values_list("seq", flat=True))
        assert seqs == list(range(1, sequence.last + 1)), (sequence, seqs)


def all_issued(application_ids) -> bool:
    return Certificate.objects.filter(application_id__in=application_ids).exclude(pdf_sha256="").count() == len(
        application_ids)


def through(proxy: FaultProxy, url: str) -> str:
    """`url` with its host and port replaced by the proxy's."""
    parts = urlparse(url)
    netloc = (f"{parts.username}:{parts.password}@" if parts.username else "") + f"127.0.0.1:{proxy.port}"
    return parts._replace(netloc=netloc).geturl()


class Http:
    """A browser or an API client of the web server under test: cookies, CSRF, no redirect following."""

    class _NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    def __init__(self, base: str, token: str | None = None):
        self.base, self.token = base, token
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar), self._NoRedirect)
        self.answers: list[tuple[str, str, int]] = []

    def request(self, method: str, path: str, body=None, *, form=None, headers=None) -> tuple[int, bytes, dict]:
        headers = dict(headers or {})
        data = None
        if body is not None:
            data, headers["Content-Type"] = json.dumps(body).encode(), "application/json"
        elif form is not None:
            data, headers["Content-Type"] = urllib.parse.urlencode(form).encode(), "application/x-www-form-urlencoded"
        if self.token:
            headers["Authorization"] = f"Token {self.token}"
        csrf = next((c.value for c in self.jar if c.name == "csrftoken"), None)
        if csrf and method != "GET":
            headers["X-CSRFToken"], headers["Referer"] = csrf, self.base + "/"
        request = urllib.request.Request(self.base + path, data=data, method=method, headers=headers)
        try:
            with self.opener.open(request, timeout=60) as response:
                status, content, answer_headers = response.status, response.read(), dict(response.headers)
        except urllib.error.HTTPError as error:
            status, content, answer_headers = error.code, error.read(), dict(error.headers)
        self.answers.append((method, path, status))
        return status, content, answer_headers

    def login(self, username: str) -> None:
        _status, page, _h = self.request("GET", "/accounts/login/")
        token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1).decode()
        status, _c, _h = self.request("POST", "/accounts/login/", form={
            "username": username, "password": TEST_PASSWORD, "csrfmiddlewaretoken": token})
        assert status == 302, "login failed"


# ------------------------------------------------------------------------------------- broker outage


def test_broker_unreachable_for_60_s_then_every_certificate_once(
        postgres, redis_broker, start_worker, start_beat, start_web, environment, no_kick_here, settings, tmp_path):
    settings.PRIVATE_STORAGE_ROOT = tmp_path / "private"  # where the workers store the PDFs
    proxy = FaultProxy("127.0.0.1", urlparse(REDIS_URL).port or 6379)
    proxy.start()
    broker = through(proxy, REDIS_URL)
    world = World()
    by_leader = applications_in_notice(world, 2, start=1)
    by_timer = applications_in_notice(world, 2, start=11)
    legacy = bulk_approved(world, 3)  # approved before the outbox: only the officer's bulk issue issues them
    waiting = create(world, PROGRAM, county="yaohai", city="hefei", uscc=uscc(21))
    svc.application_submit(actor=act(world, "yaohai_clerk"), application_id=waiting.pk)
    draft = create(world, PROGRAM, uscc=uscc(22))
    tokens = {name: Token.objects.create(user=world.user[name]).key
              for name in ("anhui_leader", "yaohai_leader", "langya_clerk")}
    for app in by_timer:  # their timers fire during the outage: keep the leader from approving them first
        assert Application.objects.get(pk=app.pk).status == Status.PUBLIC_NOTICE

    start_worker(broker)
    start_worker(broker)
    web, base = start_web(broker)

    proxy.cut()
    cut_at = time.monotonic()
    beat = start_beat(broker, BEAT_SECONDS=FAST_BEAT)  # beat too comes up while the broker is away
    leader, clerk, county_leader = (Http(base, tokens[n]) for n in ("anhui_leader", "langya_clerk", "yaohai_leader"))
    for app in by_leader:
        status, body, _h = leader.request("POST", f"/api/applications/{app.pk}/approve/", {"comment": "公示无异议"})
        assert (status, json.loads(body)["status"]) == (200, "approved")
    assert county_leader.request("POST", f"/api/applications/{waiting.pk}/sign-off/", {"comment": "同意"})[0] == 200
    status, _body, headers = clerk.request("GET", f"/api/applications/{draft.pk}/")
    assert clerk.request("PATCH", f"/api/applications/{draft.pk}/", {"form_data": {"phone": "0550-1000000"}},
                         headers={"If-Match": headers["ETag"]})[0] == 200
    assert clerk.request("PATCH", f"/api/applications/{draft.pk}/", {"form_data": {"phone": "0550-2000000"}},
                         headers={"If-Match": headers["ETag"]})[0] == 409
    assert leader.request("POST", f"/api/applications/{by_leader[0].pk}/approve/", {})[0] == 409  # twice
    assert leader.request("GET", "/api/applications/")[0] == 200
    # The notice timers, in a process of their own with the same (unreachable) broker.
    timers = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c",
         "from workflows.timers import notice_timers_fire; print('approved', notice_timers_fire())"],
        cwd=BASE_DIR, env=environment(broker), capture_output=True, text=True, timeout=120)
    assert (timers.returncode, timers.stdout.strip().splitlines()[-1]) == (0, "approved 2"), timers.stderr[-3000:]
    assert "broker unreachable" in timers.stderr
    officer = Http(base)
    officer.login("anhui_reviewer")
    for batch_id in {legacy[0].batch_id, by_leader[0].batch_id}:
        status, _c, headers = officer.request("POST", f"/print/batches/{batch_id}/issue-all")
        assert status == 302 and "/issue-runs/" in headers["Location"]
    answers = leader.answers + clerk.answers + county_leader.answers + officer.answers
    assert all(status < 500 for _m, _p, status in answers), answers
    assert "broker unreachable" in web.output()
    issued = [a.pk for a in by_leader + by_timer + legacy]
    assert set(Application.objects.filter(pk__in=issued).values_list("status", flat=True)) == {Status.APPROVED}
    assert IssueRun.objects.count() == 2

    time.sleep(max(0, OUTAGE_SECONDS - (time.monotonic() - cut_at)))
    assert Certificate.objects.count() == 0  # nothing could reach a worker
    proxy.restore()
    wait_for(lambda: all_issued(issued), 180, "every certificate after the broker came back", interval=1)
    time.sleep(3)  # room for a duplicate, if there were one, to show
    assert_issued_exactly_once(issued)
    assert "Sending due task outbox-relay" in beat.output()
    wait_for(lambda: not Effect.objects.filter(done_at__isnull=True).exists(), 60, "every effect to be done")
    assert not Effect.objects.filter(failed_at__isnull=False).exists()
    proxy.close()


# ------------------------------------------------------------------------------ SIGKILL, 20 rounds


ROUNDS = 20
PER_ROUND = 3
MODES = ("issue", "render", "random")


def publish_effects(broker_url: str, queue: str, effects: list[Effect]) -> None:
    """What the kick does after a commit, done by the test (its own kicks are off): publish, mark nothing."""
    import warnings

    from celery.exceptions import AlwaysEagerIgnored

    from config.celery_app import app

    with app.connection_for_write(broker_url) as conn, warnings.catch_warnings():
        warnings.simplefilter("ignore", AlwaysEagerIgnored)
        for effect in effects:
            app.send_task(EFFECTS[effect.kind].task, args=effect.args,
                          kwargs={**effect.kwargs, "effect_id": effect.pk}, connection=conn, queue=queue)


def test_worker_killed_mid_issue_20_rounds_a_new_worker_issues_each_once(
        postgres, rabbitmq_broker, queue, start_worker, start_beat, no_kick_here, settings, tmp_path):
    settings.PRIVATE_STORAGE_ROOT = tmp_path / "private"
    world = World()
    pause = tmp_path / "pause"
    env = {"OUTBOX_TEST_PAUSE_FILE": str(pause)}
    start_beat(rabbitmq_broker, BEAT_SECONDS="outbox-relay=2", **env)  # the relay catches what a kill left unsent
    worker = start_worker(rabbitmq_broker, **env)
    chance = random.Random(20261201)
    issued, recoveries = [], []
    for round_ in range(ROUNDS):
        mode = MODES[round_ % len(MODES)]
        count = PER_ROUND if mode != "random" else PER_ROUND * 2
        apps = bulk_approved(world, count, name=f"第{round_:02d}轮单位")[-count:]
        ids = [a.pk for a in apps]
        if mode != "random":
            pause.write_text(f"{mode}=300")
        seen = worker.output().count("outbox test pause")
        received = worker.output().count("issue_certificate_task[")
        with transaction.atomic():
            effects_add(kind="certificate_issue", items=[(pk, [pk], {}) for pk in ids])
        publish_effects(rabbitmq_broker, queue, list(Effect.objects.filter(kind="certificate_issue", key__in=ids)))
        if mode == "random":
            wait_for(lambda r=received, w=worker: w.output().count("issue_certificate_task[") > r, 60,
                     "the worker to start issuing")
            time.sleep(chance.uniform(0.05, 0.6))
        else:
            wait_for(lambda s=seen, w=worker: w.output().count("outbox test pause") > s, 60,
                     f"the worker to pause inside {mode}")
            pause.unlink()
        worker.kill()
        killed_at = time.monotonic()
        worker = start_worker(rabbitmq_broker, **env)
        wait_for(lambda ids=ids: all_issued(ids), 300, f"round {round_} ({mode}) to be issued", interval=0.3)
        recoveries.append(time.monotonic() - killed_at)
        issued += ids
        assert_issued_exactly_once(issued)
    assert max(recoveries) < 300, recoveries
    assert Certificate.objects.count() == ROUNDS * PER_ROUND + (ROUNDS // 3) * PER_ROUND
    assert CertificateSequence.objects.get().last == len(issued)


# ------------------------------------------------------------------------------------- expiry by beat


def test_expiry_runs_through_beat(postgres, redis_broker, start_worker, start_beat, no_kick_here, settings,
                                  tmp_path):
    settings.PRIVATE_STORAGE_ROOT = tmp_path / "private"
    world = World()
    expiring, valid = bulk_approved(world, 2)
    for app in (expiring, valid):
        svc.application_issue_certificate(actor=svc.SYSTEM_ACTOR, application_id=app.pk)
    yesterday = timezone.localdate() - dt.timedelta(days=1)
    Certificate.objects.filter(application=expiring).update(valid_until=yesterday)
    Certificate.objects.filter(application=valid).update(valid_until=timezone.localdate())  # its last day
    Notification.objects.all().delete()

    start_worker(redis_broker)
    beat = start_beat(redis_broker, BEAT_SECONDS="expire-designations=3,outbox-relay=3,sweep-stranded=600")
    wait_for(lambda: Application.objects.get(pk=expiring.pk).status == Status.EXPIRED, 90,
             "beat's expiry to expire the designation", interval=0.5)
    assert "Sending due task expire-designations (workflows.tasks.expire_designations)" in beat.output()
    wait_for(lambda: Notification.objects.filter(kind="expired").exists(), 60, "the expiry notification")
    assert sorted(Notification.objects.filter(kind="expired").values_list("user__username", "application_id")) == [
        ("langya_clerk", expiring.pk)]
    assert Certificate.objects.get(application=expiring).status == CertificateStatus.EXPIRED
    event = AuditEvent.objects.get(application=expiring, action="expire")
    assert (event.from_status, event.to_status, event.actor_id) == ("certified", "expired", None)
    assert Application.objects.get(pk=valid.pk).status == Status.CERTIFIED
    assert Certificate.objects.get(application=valid).status == CertificateStatus.VALID
