"""The simulated users of bench/load.py (locust as a library) and their report. Imported by load.py after the
seed, because locust patches the standard library for gevent on import."""
import hashlib
import hmac
import itertools
import json
import os
import random
import signal
import struct
import subprocess
import time
from collections import Counter, defaultdict, deque
from pathlib import Path
from urllib.parse import urlsplit

import gevent
import gevent.pool
import requests
from gevent.lock import Semaphore
from locust import HttpUser, between, task
from locust.env import Environment
from stdnum.cn import uscc as uscc_validator

ROOT = Path(__file__).resolve().parent.parent
HTTPS = {"X-Forwarded-Proto": "https"}  # as the TLS proxy in front of production sets it
TRANSPORT = 0  # requests' status when no answer came (connection refused, reset, closed)
LOOPBACK = {"127.0.0.1", "localhost", "::1"}


class Recorder:
    """Every request: class, name, start, duration, outcome. Errors are classified after the run against the
    moments processes were killed."""

    def __init__(self):
        self.rows = []  # (kind, name, start, ms, status, error_kind, retry_of_error)
        self.faults = []  # (what, at)
        self.committed = Counter()  # (application id, audit action) -> 2xx answers
        self.stopped = False
        self.first = None
        self.last = None

    def add(self, kind, name, start, ms, status, error, retry):
        self.rows.append((kind, name, start, ms, status, error, retry))
        self.first = start if self.first is None else min(self.first, start)
        self.last = start + ms / 1000 if self.last is None else max(self.last, start + ms / 1000)


class Board:
    """Applications waiting for each role, keyed by (step, organization or expert); one user takes one."""

    def __init__(self):
        self.queues = defaultdict(deque)
        self.notice = deque()  # published: (item, time) until their notice period is moved into the past

    def put(self, step, key, item):
        self.queues[(step, key)].append(item)

    def take(self, step, key):
        queue = self.queues.get((step, key))
        return queue.popleft() if queue else None


class Shared:
    """What every simulated user reads: the seed's state, the board, the recorder, the accounts."""

    def __init__(self, state, args):
        self.state, self.args = state, args
        self.board, self.rec = Board(), Recorder()
        self.rng = random.Random(args.seed)
        self.orgs = state["orgs"]
        self.accounts = defaultdict(list)
        self.locks = defaultdict(Semaphore)  # username -> one login at a time
        self.cookies = {}  # username -> the session cookie of its login
        for account in state["accounts"]:
            self.accounts[account["role"]].append(account)
        self.next_account = {role: itertools.cycle(accounts) for role, accounts in self.accounts.items()}
        self.by_username = {a["username"]: a for a in state["accounts"]}
        self.uscc = itertools.count(1)
        self.created = itertools.count(1)
        self.certificates = list(state["certificates"])
        for step, items in state["staged"].items():
            for item in items:
                self.route(step, item)

    def route(self, step, item):
        key = {"submit": item["county"], "sign_off": item["county"], "recommend": item["city"],
               "accept": item["province"], "assign": item["province"], "decide": item["province"],
               "publish": item["province"], "approve": item["province"]}.get(step)
        if step == "score":
            for expert in item["experts"]:
                self.board.put("score", expert, item)
        else:
            self.board.put(step, key, item)

    def fresh_uscc(self):
        body = f"91341100MA3L{next(self.uscc):05d}"  # a series of its own (the seed uses MA2N)
        return body + uscc_validator.calc_check_digit(body)


SHARED = None  # set by run_load before any user starts


def totp(key: bytes, *, step=30, digits=6) -> str:
    """The current TOTP code (RFC 6238, HMAC-SHA1), as django_otp's TOTPDevice with its defaults checks it
    (not imported here: django_otp reads Django's settings, and this process has none)."""
    counter = struct.pack(">Q", int(time.time()) // step)
    mac = hmac.new(key, counter, hashlib.sha1).digest()
    offset = mac[-1] & 0x0F
    value = struct.unpack(">I", mac[offset:offset + 4])[0] & 0x7FFFFFFF
    return f"{value % 10 ** digits:0{digits}d}"


def login(host, username):
    """The login form, as a browser sends it (the CSRF cookie and token, the Origin of an HTTPS page), then
    the second factor: a code from the account's TOTP device, as the authenticator app computes it.
    Production's cookies are Secure and this client is on plain HTTP behind no proxy, so it keeps the
    cookies itself. Returns the Cookie header for the pages, or "" when the login failed."""
    start = time.time()
    session, cookies = requests.Session(), {}
    origin = f"https://{urlsplit(host).netloc}"
    status = TRANSPORT

    def send(method, path, **kwargs):
        headers = {**HTTPS, "Origin": origin, "Referer": origin + path,
                   "Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items())}
        response = session.request(method, host + path, headers=headers, allow_redirects=False, timeout=60,
                                   **kwargs)
        cookies.update({c.name: c.value for c in response.cookies})
        return response

    try:
        send("GET", "/accounts/login/")
        response = send("POST", "/accounts/login/?next=/approvals/", data={
            "username": username, "password": SHARED.state["password"],
            "csrfmiddlewaretoken": cookies.get("csrftoken", "")})
        status = response.status_code
        location = response.headers.get("Location", "")
        if status == 302 and not location.startswith("/accounts/"):
            # The page after the login; a user who needs a second factor is sent on to the verify page.
            response = send("GET", location)
            status, location = response.status_code, response.headers.get("Location", "")
            if status == 200:
                status, location = 302, "/approvals/"
        if status == 302 and location.startswith("/accounts/2fa/verify/"):
            send("GET", location)
            code = totp(bytes.fromhex(SHARED.by_username[username]["otp_key"]))
            response = send("POST", location, data={"code": code,
                                                    "csrfmiddlewaretoken": cookies.get("csrftoken", "")})
            status = response.status_code
            location = response.headers.get("Location", "")
        ok = status == 302 and "/accounts/" not in location and "sessionid" in cookies
    except requests.RequestException:
        ok = False
    ms = (time.time() - start) * 1000
    SHARED.rec.add("login", "login", start, ms, status, None if ok else f"login {status}", False)
    return "; ".join(f"{k}={v}" for k, v in cookies.items()) if ok else ""


def prelogin(host, log):
    """Every account logs in once before the timed window (a password check is the costliest request of
    all, about a day's first request for each person), four at a time."""
    pool = gevent.pool.Pool(4)
    started = time.time()
    for account in SHARED.state["accounts"]:
        username = account["username"]
        pool.spawn(lambda u=username: SHARED.cookies.__setitem__(u, login(host, u)))
    pool.join()
    for username in [u for u, c in SHARED.cookies.items() if not c]:  # once more, one at a time
        SHARED.cookies[username] = login(host, username)
    failed = [u for u, c in SHARED.cookies.items() if not c]
    log(f"{len(SHARED.cookies)} accounts logged in in {time.time() - started:.1f} s"
        + (f"; FAILED: {failed[:5]}" if failed else ""))


class Account(HttpUser):
    """One person at a desk: logs in once (session for the pages, token for the API), then works."""

    abstract = True
    role = None
    wait_time = between(1, 4)

    def on_start(self):
        self.client.headers.update(HTTPS)
        if self.role == "public":
            self.account = None
            return
        self.account = next(SHARED.next_account[self.role])
        self.org = self.account["org"]
        self.province = SHARED.orgs[self.org]["province"]
        username = self.account["username"]
        with SHARED.locks[username]:
            if username not in SHARED.cookies:
                SHARED.cookies[username] = self.login()
        self.pages = {"Cookie": SHARED.cookies[username], **HTTPS}
        self.api = {"Authorization": f"Token {self.account['token']}", **HTTPS}

    # --------------------------------------------------------------------------------- requests

    def call(self, kind, name, method, url, *, headers, retry=False, **kwargs):
        """One request, recorded; returns (status, body as JSON or None). A transport error or a 5xx is
        retried once (the retry is recorded as such)."""
        start = time.time()
        with self.client.request(method, url, name=name, headers=headers, catch_response=True,
                                 allow_redirects=False, **kwargs) as response:
            ms = (time.time() - start) * 1000
            status = response.status_code or TRANSPORT
            error = None
            if status == TRANSPORT:
                error = f"transport {type(response.error).__name__}"
            elif status >= 400:
                code = ""
                if response.headers.get("Content-Type", "").startswith("application/json"):
                    try:
                        code = response.json().get("code", "")
                    except ValueError:
                        code = "unreadable"
                error = f"{status} {code}".strip()
            elif status >= 300 and method == "GET" and kind == "page":
                error = f"{status} redirect to {response.headers.get('Location', '')[:60]}"
            if error:
                response.failure(error)
            else:
                response.success()
            SHARED.rec.add(kind, name, start, ms, status, error, retry)
            body = None
            if status and response.headers.get("Content-Type", "").startswith("application/json"):
                try:
                    body = response.json()
                except ValueError:
                    body = None
        if not retry and (status == TRANSPORT or status >= 500):
            gevent.sleep(1.0)
            return self.call(kind, name, method, url, headers=headers, retry=True, **kwargs)
        return status, body

    def page(self, name, url):
        return self.call("page", f"page {name}", "GET", url, headers=self.pages)[0]

    def transition(self, item, action, audit_action=None, **body):
        status, _ = self.call("transition", f"POST {action}", "POST",
                              f"/api/v1/applications/{item['id']}/{action.replace('_', '-')}/",
                              headers={**self.api, "Content-Type": "application/json"},
                              data=json.dumps(body, ensure_ascii=False).encode())
        if 200 <= status < 300:
            SHARED.rec.committed[(item["id"], audit_action or action)] += 1
            return True
        return False

    def login(self):
        return login(self.host, self.account["username"])

    def look_around(self):
        """What a user reads before picking work: the dashboard now and then, the inbox or the pool."""
        r = random.random()
        if r < 0.3:
            self.page("dashboard", "/approvals/")
        elif r < 0.65:
            self.page("inbox", "/workflow/inbox/")
        else:
            self.page("queue", "/workflow/queue/")
        if random.random() < 0.12:
            self.page("list", "/approvals/applications/")
        if random.random() < 0.03:
            self.page("reports", "/approvals/reports/")

    def detail(self, item):
        self.page("detail", f"/approvals/applications/{item['id']}/")


class Clerk(Account):
    role = "clerk"

    @task
    def work(self):
        self.look_around()
        item = SHARED.board.take("submit", self.org)
        if item is None:
            item = self.create()
            if item is None:
                return
        else:
            self.detail(item)
        if self.transition(item, "submit"):
            SHARED.route("sign_off", item)

    def create(self):
        info = SHARED.orgs[self.org]
        n = next(SHARED.created)
        status, body = self.call("create", "POST create", "POST", "/api/v1/applications/",
                                 headers={**self.api, "Content-Type": "application/json"},
                                 data=json.dumps({
                                     "batch": SHARED.state["batches"][info["province"]], "applicant": info["id"],
                                     "subject_name": f"{self.org}负载测试{n}", "uscc": SHARED.fresh_uscc(),
                                     "division_code": info["division"], "form_data": SHARED.state["form_data"],
                                 }, ensure_ascii=False).encode())
        if status != 201 or not body:
            return None
        item = {"id": body["id"], "county": self.org, "city": info["city"], "province": info["province"],
                "experts": [], "scored": 0}
        SHARED.rec.committed[(item["id"], "create")] += 1
        for kind in SHARED.state["attachment_kinds"]:
            pdf = b"%PDF-1.4\n% " + f"{kind} {n}".encode() + b"\n" + os.urandom(2048).hex().encode() + b"\n%%EOF\n"
            status, _ = self.call("create", "POST attachment", "POST", f"/api/v1/applications/{item['id']}/attachments/",
                                  headers=self.api, data={"kind": kind},
                                  files={"file": (f"{kind}.pdf", pdf, "application/pdf")})
            if status != 201:
                return None
        self.detail(item)
        return item


class CountyLeader(Account):
    role = "county_leader"

    @task
    def work(self):
        self.look_around()
        item = SHARED.board.take("sign_off", self.org)
        if item:
            self.detail(item)
            if self.transition(item, "sign_off", comment="同意上报"):
                SHARED.route("recommend", item)


class CityReviewer(Account):
    role = "city_reviewer"

    @task
    def work(self):
        self.look_around()
        item = SHARED.board.take("recommend", self.org)
        if item:
            self.detail(item)
            if random.random() < 0.1:
                if self.transition(item, "return", comment="请补充合作协议的盖章页"):
                    SHARED.route("submit", item)
            elif self.transition(item, "recommend", comment="同意推荐"):
                SHARED.route("accept", item)


class ProvinceReviewer(Account):
    role = "province_reviewer"

    @task
    def work(self):
        self.look_around()
        for step in ("accept", "assign", "publish"):
            item = SHARED.board.take(step, self.org)
            if item:
                break
        else:
            return
        self.detail(item)
        if step == "accept":
            if self.transition(item, "accept", comment="材料齐全"):
                SHARED.route("assign", item)
        elif step == "assign":
            experts = random.sample([a for a in SHARED.accounts["expert"] if a["org"] == self.org], 2)
            if self.transition(item, "assign_experts", expert_ids=[e["user_id"] for e in experts]):
                item["experts"] = [e["username"] for e in experts]
                SHARED.route("score", item)
        elif self.transition(item, "publish_notice"):
            SHARED.board.notice.append((item, time.monotonic()))


class Expert(Account):
    role = "expert"

    @task
    def work(self):
        self.look_around()
        item = SHARED.board.take("score", self.account["username"])
        if item:
            self.detail(item)
            if self.transition(item, "score", score=random.randint(60, 98), comment="方案可行"):
                item["scored"] += 1
                if item["scored"] == len(item["experts"]):
                    SHARED.route("decide", item)


class ProvinceLeader(Account):
    role = "province_leader"

    @task
    def work(self):
        self.look_around()
        item = SHARED.board.take("decide", self.org)
        if item:
            self.detail(item)
            approve = random.random() >= 0.1
            if self.transition(item, "decide", approve=approve, comment="予以认定" if approve else "不予认定"):
                if approve:
                    SHARED.route("publish", item)
            return
        item = SHARED.board.take("approve", self.org)
        if item:
            self.detail(item)
            self.transition(item, "approve")


class Public(Account):
    """Someone holding a certificate (its QR code) or a number, and readers of the notice page."""

    role = "public"

    def call_public(self, name, url):
        return self.call("page", f"page {name}", "GET", url, headers=HTTPS)

    @task
    def work(self):
        r = random.random()
        certificate = random.choice(SHARED.certificates) if SHARED.certificates else None
        if certificate and r < 0.6:
            self.call_public("verify", f"/verify/{certificate['token']}/")
        elif certificate and r < 0.8:
            self.call_public("verify by number", f"/verify/?number={certificate['number']}")
        elif r < 0.9:
            self.call_public("notice", f"/notice/{random.choice(list(SHARED.state['batches'].values()))}/")
        else:
            self.call_public("registry", "/registry/")
        if random.random() < 0.1:  # a first visit: the stylesheet (whitenoise, compressed)
            self.call("static", "static app.css", "GET", "/static/approvals/app.css", headers=HTTPS)


CLASSES = {"clerk": Clerk, "county_leader": CountyLeader, "city_reviewer": CityReviewer,
           "province_reviewer": ProvinceReviewer, "expert": Expert, "province_leader": ProvinceLeader,
           "public": Public}


# ------------------------------------------------------------------------------------ the run


def age_notices(db_url, log):
    """Every few seconds: the notice periods of what was published are moved into the past, as if their
    days had passed (bench/transitions.py does the same), and the province leader may approve them."""
    while not SHARED.rec.stopped:
        gevent.sleep(3)
        due = []
        while SHARED.board.notice and time.monotonic() - SHARED.board.notice[0][1] > 2:
            due.append(SHARED.board.notice.popleft()[0])
        if not due:
            continue
        ids = ",".join(str(item["id"]) for item in due)
        sql = ("UPDATE approvals_application SET notice_starts_on = CURRENT_DATE - 40, "
               f"notice_ends_on = CURRENT_DATE - 30 WHERE status = 'public_notice' AND id IN ({ids})")
        result = subprocess.run(["psql", db_url, "-qAtc", sql], capture_output=True, text=True)
        if result.returncode:
            log(f"aging notices failed: {result.stderr.strip()}")
            continue
        for item in due:
            SHARED.route("approve", item)


def inject_faults(args, env, log):
    run_dir = Path(env["PROD_DIR"]) / "run"
    gevent.sleep(args.duration * 0.4)
    if SHARED.rec.stopped:
        return
    master = int((run_dir / "web.pid").read_text())
    children = [int(p) for p in subprocess.run(["pgrep", "-P", str(master)], capture_output=True,
                                               text=True).stdout.split()]
    victim = random.choice(children)
    os.kill(victim, signal.SIGKILL)
    SHARED.rec.faults.append(("web", time.time()))
    log(f"fault: SIGKILL web process {victim} (gunicorn master {master} starts another)")
    gevent.sleep(args.duration * 0.1)
    if SHARED.rec.stopped:
        return
    worker = int((run_dir / "worker1.pid").read_text())
    os.killpg(worker, signal.SIGKILL)
    SHARED.rec.faults.append(("worker", time.time()))
    for _ in range(100):  # gone (or a zombie: SIGKILLed, its parent not reaping yet)
        stat = Path(f"/proc/{worker}/stat")
        if not stat.exists() or stat.read_text().split(") ", 1)[-1].startswith("Z"):
            break
        gevent.sleep(0.1)
    log(f"fault: SIGKILL Celery worker1 (process group {worker}); starting it again")
    subprocess.run(["scripts/prod_local.sh", "start-worker", "1"], cwd=ROOT, env=env, capture_output=True)
    after = [int(p) for p in subprocess.run(["pgrep", "-P", str(master)], capture_output=True,
                                            text=True).stdout.split()]
    log(f"fault: worker1 running again (pid {(run_dir / 'worker1.pid').read_text().strip()}); "
        f"web processes now {len(after)}")


def classify(rec, faults):
    """Each failed request: in flight at a kill (its answer never came, or a 5xx, while it spanned the kill
    of a web process), a retry's conflict (the first attempt had committed), or unexpected."""
    web_kills = [at for what, at in faults if what == "web"]
    kinds, in_flight, unexpected = Counter(), 0, 0
    retry_outcomes = Counter()
    for _kind, name, start, ms, status, error, retry in rec.rows:
        end = start + ms / 1000
        if retry:
            outcome = "ok" if not error else ("409 (first attempt committed)" if status == 409 else error)
            retry_outcomes[outcome] += 1
            if not error or status == 409:
                continue
        if not error:
            continue
        spans_kill = any(start - 0.05 <= at <= end + 0.05 for at in web_kills)
        if spans_kill and (status == TRANSPORT or status >= 500) and not retry:
            kinds[f"in flight at the kill: {error} ({name})"] += 1
            in_flight += 1
        else:
            kinds[f"{error} ({name})"] += 1
            unexpected += 1
    return kinds, in_flight, unexpected, retry_outcomes


def run_load(args, state, env, log):
    global SHARED
    host = f"http://127.0.0.1:{args.port}"
    if urlsplit(host).hostname not in LOOPBACK:
        raise SystemExit("loopback only")
    SHARED = Shared(state, args)
    counts = {}
    from load import role_counts  # noqa: PLC0415 (load.py is the script that imports this module)

    counts = role_counts(args.users)
    classes = []
    for role, n in counts.items():
        cls = CLASSES[role]
        cls.host, cls.fixed_count, cls.wait_time = host, n, between(args.think_min, args.think_max)
        classes.append(cls)
    environment = Environment(user_classes=classes, host=host)
    runner = environment.create_local_runner()
    log(f"locust: {args.users} users ({', '.join(f'{r} {n}' for r, n in counts.items())}), spawn rate "
        f"{args.spawn_rate}/s, think {args.think_min:g}-{args.think_max:g} s, at most {args.duration:g} s or "
        f"{args.max_requests} requests, {host}")
    prelogin(host, log)
    greenlets = [gevent.spawn(age_notices, env["DATABASE_URL"], log)]
    if args.faults:
        greenlets.append(gevent.spawn(inject_faults, args, env, log))
    logins = len(SHARED.rec.rows)
    t0 = time.time()
    runner.start(args.users, spawn_rate=args.spawn_rate)
    next_log = t0 + 15
    while time.time() - t0 < args.duration and len(SHARED.rec.rows) - logins < args.max_requests:
        gevent.sleep(0.5)
        if time.time() >= next_log:
            next_log += 15
            done = sum(1 for r in SHARED.rec.rows if r[0] == "transition" and not r[5])
            log(f"  {time.time() - t0:5.0f} s: {len(SHARED.rec.rows)} requests, {done} transitions, "
                f"{runner.user_count} users, load average {os.getloadavg()[0]:.2f}")
    SHARED.rec.stopped = True
    elapsed = time.time() - t0
    runner.quit()
    gevent.joinall(greenlets, timeout=120)
    rec = SHARED.rec
    return report(rec, elapsed, t0, log)


def report(rec, elapsed, t0, log):
    kinds, in_flight, unexpected, retry_outcomes = classify(rec, rec.faults)
    by_name, by_kind = defaultdict(list), defaultdict(list)
    errors_by_name = Counter()
    timed = 0
    for kind, name, _start, ms, _status, error, _retry in rec.rows:
        by_name[(kind, name)].append(ms)
        timed += kind != "login"
        if not error:
            by_kind[kind].append(ms)
        else:
            errors_by_name[(kind, name)] += 1
    transitions_ok = len(by_kind["transition"])
    print(f"\n{timed} requests in {elapsed:.1f} s = {timed / elapsed:.1f} requests/s (logins before, not counted); "
          f"{transitions_ok} transitions answered 2xx = {transitions_ok / elapsed:.1f}/s; "
          f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"\n  {'class':<11}{'request':<26}{'count':>7}{'errors':>7}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}")
    from load import nearest_rank  # noqa: PLC0415

    for (kind, name), values in sorted(by_name.items()):
        print(f"  {kind:<11}{name:<26}{len(values):>7}{errors_by_name[(kind, name)]:>7}"
              f"{nearest_rank(values, .5):>9.0f}{nearest_rank(values, .95):>9.0f}{nearest_rank(values, .99):>9.0f}")
    for kind in ("transition", "create", "page", "static", "login"):
        values = by_kind[kind]
        if values:
            print(f"  {kind:<11}{'(all that succeeded)':<26}{len(values):>7}{'':>7}{nearest_rank(values, .5):>9.0f}"
                  f"{nearest_rank(values, .95):>9.0f}{nearest_rank(values, .99):>9.0f}")
    print("\nfaults: " + (", ".join(f"{what} killed at +{at - rec.first:.1f} s" for what, at in rec.faults)
                          if rec.faults else "none"))
    print(f"errors: {sum(kinds.values())} ({in_flight} in flight at a kill, {unexpected} unexpected)")
    for kind, n in kinds.most_common(30):
        print(f"  {n:>5}  {kind}")
    if retry_outcomes:
        print("retries: " + ", ".join(f"{outcome} {n}" for outcome, n in retry_outcomes.most_common()))
    return {
        "committed": [[pk, action, n] for (pk, action), n in rec.committed.items()],
        "unexpected_errors": unexpected,
        "transitions_per_s": transitions_ok / elapsed,
        "transition_p95_ms": nearest_rank(by_kind["transition"], .95) if by_kind["transition"] else float("nan"),
        "page_p95_ms": nearest_rank(by_kind["page"], .95) if by_kind["page"] else float("nan"),
    }
