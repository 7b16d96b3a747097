"""Load test of the production topology: real HTTP from many simulated users, every role, with faults.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/x CELERY_BROKER_URL=redis://127.0.0.1:6379/15 \\
      .venv/bin/python bench/load.py [--users 200] [--duration 120] [--max-requests 100000] [--faults]

1. Single process: bench/transitions.py's measurement (--single-n applications) on the same database
   server, first, so that `single_process_transitions_per_s` comes from the same run and the same machine.
2. Scratch data: the database --db (created, and dropped at the end unless --keep) on the server of
   DATABASE_URL, migrated; the test world of bench/transitions.py (tests.approvals.conftest.World: two
   provinces, their cities and counties) with --accounts extra accounts per organization and role, an
   API token per account, one batch per province of the collaborative-innovation-base program, and
   --staged applications waiting at every stage (made with the services, as the roles would), some
   certified for the public to verify.
3. The topology: scripts/prod_local.sh with --web gunicorn processes and --workers Celery workers and one
   beat, config.settings.production (its own PROD_DIR var/load unless told), Redis from CELERY_BROKER_URL
   (that database is flushed first).
4. Locust, headless, as a library, on loopback only, for --duration seconds or --max-requests requests,
   whichever comes first. Users per role (a county clerk's week is mostly filling in; reviewers read more
   than they act): clerks create drafts, upload the three attachments and submit (and submit again what
   was returned); county leaders sign off; city reviewers recommend (one in ten returned); the province
   reviewer accepts, assigns two experts and publishes the notice; experts score; the province leader
   decides (one in ten rejected) and approves once the notice is over (the bench moves a published
   notice's period into the past, as if its days had passed, every few seconds); the public verifies
   certificates by link and by number and reads the notice page. Around each action a user reads pages as
   in a working week: its dashboard, inbox or pool before picking work, the application's detail page
   before acting, the list now and then, the reports rarely; about three page reads per transition.
   Each application is handed from role to role on a board inside this process, so no two users act on
   the same application at once: every 409 is an error, except a retry's (below).
5. --faults: at 40% of the run one gunicorn web process is SIGKILLed (its master starts another), at 50%
   one Celery worker (its process group); the worker is started again at once. A request that fails at
   the transport level or with a 5xx while a killed process was serving it is "in flight"; the user
   retries it once, and the retry must succeed or answer 409 because the first attempt had committed.
6. Afterwards: the outbox must drain (a killed worker's message comes back after Redis's visibility
   timeout, 180 s), then the invariants: verify_audit, every application's status against its open
   tasks, gap-free certificate numbers, the quotas, nothing pending or failed in the outbox, every
   certificate's PDF stored with its hash, and every transition that answered 2xx present in the audit
   trail (no committed action lost).

The last lines are machine-readable: load_users, load_errors (unexpected ones), load_transitions_per_s,
single_process_transitions_per_s, load_transition_p95_ms, load_page_p95_ms, invariant_violations.
"""
import sys

if __name__ == "__main__" and "--internal" not in sys.argv:
    # The driver runs locust: gevent's patches come before anything imports ssl or sockets.
    from gevent import monkey

    monkey.patch_all()

import argparse  # noqa: E402
import json
import math  # noqa: E402
import os  # noqa: E402
import subprocess  # noqa: E402
import time  # noqa: E402
from collections import defaultdict  # noqa: E402
from pathlib import Path  # noqa: E402
from urllib.parse import urlsplit, urlunsplit  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
BENCH = Path(__file__).resolve().parent
PY = sys.executable
PROGRAM = "collaborative-innovation-base"
QUOTA = 30_000  # per city (a small integer field); the check runs on every recommend, the bench does not exhaust it
# Roles of the simulated users: weight out of 100 (county clerks are most of the users of a real week).
ROLE_MIX = {"clerk": 30, "county_leader": 10, "city_reviewer": 14, "province_reviewer": 10, "expert": 14,
            "province_leader": 7, "public": 15}
# Where each role's accounts sit: (organization level, membership role).
ROLE_SEAT = {"clerk": ("county", "clerk"), "county_leader": ("county", "leader"),
             "city_reviewer": ("city", "reviewer"), "province_reviewer": ("province", "reviewer"),
             "expert": ("province", "expert"), "province_leader": ("province", "leader")}
# Statuses and the human task nodes that may be open in them (approvals.stages, workflows.flows).
OPEN_NODES = {
    "draft": {"edit"}, "applicant_signoff": {"sign_off"}, "city_review": {"review_in_city"},
    "province_check": {"check_in_province"}, "expert_review": {"assign_experts", "score"},
    "decision": {"decide"}, "public_notice": {"publish_notice", "uphold_objection"},
}
SINGLE_TASK = {"draft", "applicant_signoff", "city_review", "province_check", "decision", "public_notice"}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=200, help="simulated users (default 200)")
    parser.add_argument("--spawn-rate", type=float, default=20, help="users started per second (default 20)")
    parser.add_argument("--duration", type=float, default=120, help="seconds of load (default 120)")
    parser.add_argument("--max-requests", type=int, default=200_000, help="stop after this many requests")
    parser.add_argument("--think", default="1-4", help="seconds a user waits between two steps, MIN-MAX (default 1-4)")
    parser.add_argument("--faults", action="store_true", help="SIGKILL a web process and a worker mid-run")
    parser.add_argument("--web", type=int, default=4, help="gunicorn web processes (default 4)")
    parser.add_argument("--workers", type=int, default=2, help="Celery workers (default 2)")
    parser.add_argument("--port", type=int, default=8100)
    parser.add_argument("--db", default="bench_load", help="scratch database name (default bench_load)")
    parser.add_argument("--prod-dir", default=str(ROOT / "var" / "load"),
                        help="the topology's pid files, logs, secrets and storage (default var/load)")
    parser.add_argument("--accounts", type=int, default=3, help="accounts per organization and role (default 3)")
    parser.add_argument("--staged", type=int, default=4,
                        help="applications waiting at each stage per county at the start (default 4)")
    parser.add_argument("--single-n", type=int, default=40,
                        help="applications of the single-process measurement (bench/transitions.py --n)")
    parser.add_argument("--skip-single", action="store_true", help="leave out the single-process measurement")
    parser.add_argument("--drain-timeout", type=float, default=None,
                        help="seconds to wait for the outbox to drain (default 60, or 420 with --faults)")
    parser.add_argument("--keep", action="store_true", help="keep the topology running and the database")
    parser.add_argument("--seed", type=int, default=20261202)
    parser.add_argument("--internal", choices=["seed", "check", "outbox"], help=argparse.SUPPRESS)
    parser.add_argument("--state", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    low, _, high = args.think.partition("-")
    try:
        args.think_min, args.think_max = float(low), float(high or low)
    except ValueError:
        parser.error(f"--think: expected MIN-MAX seconds, got {args.think!r}")
    if args.think_min < 0 or args.think_max < args.think_min:
        parser.error(f"--think: expected 0 <= MIN <= MAX, got {args.think!r}")
    if args.users < len(ROLE_MIX):
        parser.error(f"--users: at least {len(ROLE_MIX)} (one per role)")
    if args.duration <= 0 or args.max_requests <= 0:
        parser.error("--duration and --max-requests must be positive")
    if args.drain_timeout is None:
        args.drain_timeout = 420.0 if args.faults else 60.0
    return args


def role_counts(users: int) -> dict:
    """Users per role, at least one each, in the proportions of ROLE_MIX, summing to `users`."""
    total = sum(ROLE_MIX.values())
    counts = {role: max(1, math.floor(users * w / total)) for role, w in ROLE_MIX.items()}
    order = sorted(ROLE_MIX, key=lambda r: -ROLE_MIX[r])
    i = 0
    while sum(counts.values()) < users:
        counts[order[i % len(order)]] += 1
        i += 1
    while sum(counts.values()) > users:
        role = max(counts, key=lambda r: counts[r])
        counts[role] -= 1
    return counts


def nearest_rank(values, q):
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def database_url(base: str, name: str) -> str:
    return urlunsplit(urlsplit(base)._replace(path=f"/{name}"))


# ============================================================================ Django side (subprocesses)


def django_setup():
    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(BENCH))
    import django

    django.setup()


def internal_seed(args):
    """Create the scratch database, migrate, build the world and the staged applications; write the state
    file the driver reads (accounts, tokens, ids)."""
    import datetime as dt

    from scratch import _pg_admin

    url = os.environ["DATABASE_URL"]
    with _pg_admin(database_url(url, "postgres")) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{args.db}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{args.db}"')
    django_setup()
    import random

    from django.core.management import call_command
    from django.utils import timezone
    from django_otp.plugins.otp_totp.models import TOTPDevice, default_key
    from rest_framework.authtoken.models import Token

    from approvals import services as svc
    from approvals.models import Application, Program
    from orgs.models import Level, Membership
    from tests.approvals.chain import fresh_uscc
    from tests.approvals.conftest import World, base_form, minimal_pdf
    from tests.factories import TEST_PASSWORD

    started = time.perf_counter()
    call_command("migrate", verbosity=0, interactive=False)
    rng = random.Random(args.seed)
    world = World()
    program = Program.objects.get(code=PROGRAM)
    User = type(world.user["anhui_clerk"])
    level_of = {Level.PROVINCE: "province", Level.CITY: "city", Level.COUNTY: "county"}
    orgs = {}
    for key, org in world.org.items():
        parent_key = next((k for k, o in world.org.items() if o.pk == org.parent_id), None)
        orgs[key] = {"id": org.pk, "level": level_of[org.level], "division": world.division[key].code,
                     "parent": parent_key}
    for key, info in orgs.items():
        info["city"] = key if info["level"] == "city" else (info["parent"] if info["level"] == "county" else None)
        info["province"] = key if info["level"] == "province" else orgs[info["city"]]["parent"]
    batches = {p: world.batch(PROGRAM, p, quota=QUOTA).pk for p in ("anhui", "sichuan")}

    # Accounts: the world's user of each seat, and --accounts - 1 more (the world's password hash reused).
    password_hash = world.user["anhui_clerk"].password
    accounts = []
    for role, (level, member_role) in ROLE_SEAT.items():
        for key, info in orgs.items():
            if info["level"] != level:
                continue
            names = [f"{key}_{member_role}"] + ([f"{key}_{member_role}2"] if member_role == "expert" else [])
            extra = [f"{key}_{member_role}_x{i}" for i in range(1, args.accounts)]
            new = [User(username=n, first_name=f"{key}{member_role}{n[-2:]}", password=password_hash,
                        is_active=True) for n in extra if not User.objects.filter(username=n).exists()]
            User.objects.bulk_create(new)
            for u in new:
                Membership.objects.create(user=u, organization=world.org[key], role=member_role)
            for name in names + extra:
                user = User.objects.get(username=name)
                # Enrolled in two-factor login (security.two_factor; reviewers and leaders must be): the
                # driver computes the codes from the device's key, as the authenticator app would.
                device = TOTPDevice.objects.create(user=user, name="TOTP", key=default_key(), confirmed=True)
                accounts.append({"username": name, "role": role, "org": key, "user_id": user.pk,
                                 "token": Token.objects.get_or_create(user=user)[0].key, "otp_key": device.key})
    experts = defaultdict(list)
    for a in accounts:
        if a["role"] == "expert":
            experts[orgs[a["org"]]["province"]].append(a)

    def actor(key, role):
        return svc.Actor(user=User.objects.get(username=f"{key}_{role}"), ip="127.0.0.1")

    def advance(step, pk, county, city, province, chosen):
        """The step-th transition of the chain, by the role whose it is."""
        if step == 0:
            svc.application_submit(actor=actor(county, "clerk"), application_id=pk)
        elif step == 1:
            svc.application_sign_off(actor=actor(county, "leader"), application_id=pk, comment="同意上报")
        elif step == 2:
            svc.application_recommend(actor=actor(city, "reviewer"), application_id=pk, comment="同意推荐")
        elif step == 3:
            svc.application_accept(actor=actor(province, "reviewer"), application_id=pk, comment="材料齐全")
        elif step == 4:
            svc.application_assign_experts(actor=actor(province, "reviewer"), application_id=pk,
                                           expert_ids=[e["user_id"] for e in chosen])
        elif step == 5:
            for e in chosen:
                svc.application_score(actor=svc.Actor(user=User.objects.get(pk=e["user_id"]), ip="127.0.0.1"),
                                      application_id=pk, score=rng.randint(70, 95))
        elif step == 6:
            svc.application_decide(actor=actor(province, "leader"), application_id=pk, approve=True, comment="予以认定")
        elif step == 7:
            svc.application_publish_notice(actor=actor(province, "reviewer"), application_id=pk)
            # The notice period as if it were over (bench/transitions.py does the same).
            Application.objects.filter(pk=pk).update(notice_starts_on=over[0], notice_ends_on=over[1])
        elif step == 8:
            svc.application_approve(actor=actor(province, "leader"), application_id=pk)

    over = (timezone.localdate() - dt.timedelta(days=40), timezone.localdate() - dt.timedelta(days=30))
    stages = ["submit", "sign_off", "recommend", "accept", "assign", "score", "decide", "publish", "approve",
              "certified"]
    staged = defaultdict(list)
    certificates = []
    counties = [k for k, info in orgs.items() if info["level"] == "county"]
    form = base_form()
    for county in counties:
        city, province = orgs[county]["city"], orgs[county]["province"]
        for stage_index, stage in enumerate(stages):
            for _ in range(args.staged):
                application = svc.application_create(
                    actor=actor(county, "clerk"), batch=world.batch(PROGRAM, province), applicant=world.org[county],
                    subject_name=f"{world.org[county].name}预置{len(staged[stage])}", uscc=fresh_uscc(),
                    division_code=orgs[county]["division"], form_data=form)
                for kind in program.attachment_kinds:
                    svc.attachment_add(actor=actor(county, "clerk"), application_id=application.pk, kind=kind["code"],
                                       name=f"{kind['label']}.pdf", content=minimal_pdf(kind["code"]))
                pk, chosen = application.pk, rng.sample(experts[province], 2)
                for step in range(stage_index):
                    advance(step, pk, county, city, province, chosen)
                item = {"id": pk, "county": county, "city": city, "province": province,
                        "experts": [e["username"] for e in chosen], "scored": 0}
                if stage == "certified":
                    certificate = svc.application_issue_certificate(actor=svc.SYSTEM_ACTOR, application_id=pk)
                    certificates.append({"token": certificate.token, "number": certificate.number})
                else:
                    staged[stage].append(item)
    state = {
        "password": TEST_PASSWORD, "orgs": orgs, "batches": batches, "accounts": accounts,
        "attachment_kinds": [k["code"] for k in program.attachment_kinds], "form_data": form,
        "staged": staged, "certificates": certificates,
        "applications": Application.objects.count(), "seed_s": round(time.perf_counter() - started, 1),
    }
    Path(args.state).write_text(json.dumps(state, ensure_ascii=False))


def internal_outbox(args):
    django_setup()
    from approvals.outbox import Effect

    pending = Effect.objects.filter(done_at__isnull=True, failed_at__isnull=True).count()
    failed = Effect.objects.filter(failed_at__isnull=False).count()
    print(json.dumps({"pending": pending, "failed": failed}))


def internal_check(args):
    """The invariants after the run, as {name: [violation, ...]} on stdout (JSON, last line)."""
    import hashlib
    import io
    from contextlib import redirect_stderr, redirect_stdout

    django_setup()
    from django.core.management import call_command
    from django.db.models import Count
    from viewflow.workflow.models import Task
    from viewflow.workflow.status import STATUS

    from approvals.models import RECOMMENDED_STATUSES, Application, AuditEvent, BatchQuota
    from approvals.outbox import Effect
    from printing.models import Certificate, CertificateSequence

    committed = json.loads(Path(args.state).read_text())["committed"]
    violations = defaultdict(list)

    out, err = io.StringIO(), io.StringIO()
    try:
        with redirect_stdout(out), redirect_stderr(err):
            call_command("verify_audit")
        audit_message = out.getvalue().strip()
    except SystemExit as exc:
        audit_message = (err.getvalue() or out.getvalue()).strip()
        if exc.code:
            violations["verify_audit"].append(audit_message)

    open_status = [STATUS.NEW, STATUS.ASSIGNED, STATUS.STARTED]
    open_nodes = defaultdict(list)
    for process_id, flow_task in Task.objects.filter(status__in=open_status, flow_task_type="HUMAN").values_list(
            "process_id", "flow_task"):
        open_nodes[process_id].append(getattr(flow_task, "name", str(flow_task)))
    for pk, status, process_id in Application.objects.values_list("pk", "status", "process_id"):
        nodes = open_nodes.get(process_id, [])
        allowed = OPEN_NODES.get(status, set())
        if not allowed and nodes:
            violations["status_vs_tasks"].append(f"application {pk} is {status} with open tasks {nodes}")
        elif allowed and (not nodes or set(nodes) - allowed or (status in SINGLE_TASK and len(nodes) != 1)):
            violations["status_vs_tasks"].append(f"application {pk} is {status}; open tasks {nodes}")

    for sequence in CertificateSequence.objects.all():
        seqs = sorted(Certificate.objects.filter(sequence=sequence).values_list("seq", flat=True))
        if seqs != list(range(1, len(seqs) + 1)) or sequence.last != len(seqs):
            violations["certificate_numbers"].append(
                f"sequence {sequence.pk}: last={sequence.last}, numbers {seqs[:5]}… ({len(seqs)}) not 1..n")
    for certificate in Certificate.objects.select_related("application"):
        if certificate.application.status != "certified":
            violations["certificates"].append(f"certificate {certificate.number}: application "
                                              f"{certificate.application_id} is {certificate.application.status}")
    missing_pdf = Certificate.objects.filter(pdf_sha256="").count()
    if missing_pdf:
        violations["certificates"].append(f"{missing_pdf} certificate(s) without a stored PDF")
    without = Application.objects.filter(status="certified", certificate__isnull=True).count()
    if without:
        violations["certificates"].append(f"{without} certified application(s) without a certificate")
    unissued = Application.objects.filter(status="approved").count()
    if unissued:
        violations["certificates"].append(f"{unissued} approved application(s) still without a certificate")
    # The stored PDFs against their recorded hashes (a sample of at most 200).
    from printing.services import certificate_pdf_path

    for certificate in Certificate.objects.exclude(pdf_sha256="").order_by("?")[:200]:
        path = certificate_pdf_path(certificate)
        if not path.is_file():
            violations["certificates"].append(f"certificate {certificate.number}: PDF file missing ({path})")
            continue
        if hashlib.sha256(path.read_bytes()).hexdigest() != certificate.pdf_sha256:
            violations["certificates"].append(f"certificate {certificate.number}: stored PDF's hash differs")

    for quota in BatchQuota.objects.all():
        used = Application.objects.filter(batch_id=quota.batch_id, city_id=quota.city_id,
                                          status__in=list(RECOMMENDED_STATUSES)).count()
        if used > quota.quota:
            violations["quotas"].append(f"batch {quota.batch_id} city {quota.city_id}: {used} > {quota.quota}")

    pending = Effect.objects.filter(done_at__isnull=True, failed_at__isnull=True)
    for kind, n in pending.values_list("kind").annotate(n=Count("id")).order_by():
        violations["outbox"].append(f"{n} {kind} effect(s) still pending")
    for effect in Effect.objects.filter(failed_at__isnull=False)[:20]:
        violations["outbox"].append(f"effect {effect.pk} {effect.kind} failed: {effect.note[:200]}")

    seen = defaultdict(int)
    for application_id, action in AuditEvent.objects.values_list("application_id", "action"):
        seen[(application_id, action)] += 1
    lost = [(pk, action, n) for pk, action, n in committed if seen[(pk, action)] < n]
    for pk, action, n in lost[:20]:
        violations["committed_actions"].append(f"application {pk}: {n} × {action} answered 2xx, "
                                               f"{seen[(pk, action)]} in the audit trail")
    if len(lost) > 20:
        violations["committed_actions"].append(f"… and {len(lost) - 20} more")
    summary = {
        "audit": audit_message, "applications": Application.objects.count(),
        "certificates": Certificate.objects.count(), "events": AuditEvent.objects.count(),
        "by_status": dict(Application.objects.values_list("status").annotate(n=Count("id")).order_by()),
        "committed_checked": len(committed),
    }
    print(json.dumps({"violations": violations, "summary": summary}, ensure_ascii=False, default=str))


# ==================================================================================== the driver


def run(cmd, env, *, timeout=None, check=True):
    result = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    if check and result.returncode != 0:
        raise SystemExit(f"{' '.join(map(str, cmd))} failed ({result.returncode}):\n{result.stdout[-3000:]}\n"
                         f"{result.stderr[-3000:]}")
    return result


def single_process_figure(args, base_url, log):
    """bench/transitions.py's measurement on the same server, in a database of this run's name."""
    if args.skip_single:
        return None
    code = ("import sys; sys.path.insert(0, 'bench'); import transitions; "
            f"transitions.BENCH_DB = {args.db!r}; sys.argv = ['transitions.py', '--n', '{args.single_n}']; "
            "transitions.main()")
    # Its scratch helper connects to the database DATABASE_URL names to drop --db: the maintenance one.
    env = {**os.environ, "DATABASE_URL": database_url(base_url, "postgres"),
           "DJANGO_SETTINGS_MODULE": "config.settings.local"}
    log(f"single process: bench/transitions.py --n {args.single_n} …")
    result = run([PY, "-c", code], env, timeout=1800)
    figures = dict(line.split("=", 1) for line in result.stdout.splitlines() if "=" in line and " " not in line)
    log(f"single process: transitions_per_s={figures.get('transitions_per_s')} "
        f"(viewflow bare task {figures.get('viewflow_bare_task_per_s')}/s)")
    return float(figures["transitions_per_s"])


def main():
    args = parse_args()
    if args.internal:
        {"seed": internal_seed, "check": internal_check, "outbox": internal_outbox}[args.internal](args)
        return
    base_url = os.environ.get("DATABASE_URL", "")
    if not base_url.startswith(("postgres://", "postgresql://")):
        raise SystemExit("bench/load.py needs DATABASE_URL pointing at a PostgreSQL server (the production topology)")
    broker = os.environ.get("CELERY_BROKER_URL", "redis://127.0.0.1:6379/15")
    if not broker.startswith("redis://"):
        raise SystemExit("bench/load.py needs CELERY_BROKER_URL=redis://… (its database is flushed)")
    started = time.perf_counter()

    def log(message):
        print(f"[{time.perf_counter() - started:6.1f}s] {message}", flush=True)

    log(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs")
    single = single_process_figure(args, base_url, log)

    prod_dir = Path(args.prod_dir).resolve()
    topo_env = {**os.environ, "DATABASE_URL": database_url(base_url, args.db), "CELERY_BROKER_URL": broker,
                "PROD_DIR": str(prod_dir), "WEB": str(args.web), "WORKERS": str(args.workers),
                "PORT": str(args.port), "HOST": "127.0.0.1"}
    env_lines = run(["scripts/prod_local.sh", "env"], topo_env).stdout
    prod_env = dict(topo_env)
    for line in env_lines.splitlines():
        key, _, value = line.removeprefix("export ").partition("=")
        prod_env[key] = value
    state_path = prod_dir / "load-state.json"
    import redis

    redis.Redis.from_url(broker).flushdb()  # before the seed: its effects are published as they commit
    log(f"seeding {args.db}: world, {args.accounts} accounts per seat, {args.staged} applications per stage "
        "and county …")
    run([PY, __file__, "--internal", "seed", "--state", str(state_path), "--db", args.db,
         "--accounts", str(args.accounts), "--staged", str(args.staged), "--seed", str(args.seed)], prod_env)
    state = json.loads(state_path.read_text())
    log(f"seeded in {state['seed_s']} s: {state['applications']} applications, {len(state['accounts'])} accounts, "
        f"{len(state['certificates'])} certificates")
    log(f"starting the topology: {args.web} web processes, {args.workers} workers, 1 beat …")
    run(["scripts/prod_local.sh", "start"], topo_env, timeout=900)
    log("topology ready")
    try:
        # Imported only now: locust patches the standard library for gevent.
        sys.path.insert(0, str(BENCH))
        import load_users

        report = load_users.run_load(args, state, topo_env, log)
        state["committed"] = report["committed"]
        state_path.write_text(json.dumps(state, ensure_ascii=False))
        log(f"load over; waiting for the outbox to drain (at most {args.drain_timeout:.0f} s) …")
        deadline, outbox = time.monotonic() + args.drain_timeout, None
        while True:
            outbox = json.loads(run([PY, __file__, "--internal", "outbox"], prod_env).stdout.strip().splitlines()[-1])
            if outbox["pending"] == 0 or time.monotonic() > deadline:
                break
            time.sleep(5)
        log(f"outbox: {outbox['pending']} pending, {outbox['failed']} failed")
        checked = json.loads(run([PY, __file__, "--internal", "check", "--state", str(state_path)],
                                 prod_env).stdout.strip().splitlines()[-1])
    finally:
        if not args.keep:
            run(["scripts/prod_local.sh", "stop"], topo_env, check=False)
    violations = checked["violations"]
    summary = checked["summary"]
    print(f"\naudit: {summary['audit']}")
    print(f"applications {summary['applications']} ({', '.join(f'{k} {v}' for k, v in sorted(summary['by_status'].items()))}); "
          f"certificates {summary['certificates']}; audit events {summary['events']}; "
          f"{summary['committed_checked']} committed (application, action) pairs checked")
    names = ["verify_audit", "status_vs_tasks", "certificate_numbers", "certificates", "quotas", "outbox",
             "committed_actions"]
    print("invariants:")
    for name in names:
        found = violations.get(name, [])
        print(f"  {name:<20} {'ok' if not found else f'{len(found)} violation(s)'}")
        for line in found[:10]:
            print(f"      {line}")
    total_violations = sum(len(v) for v in violations.values())
    if not args.keep:
        from scratch import _pg_admin

        with _pg_admin(database_url(base_url, "postgres")) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{args.db}" WITH (FORCE)')
    else:
        print(f"kept the topology ({prod_dir}) and the database {args.db}")
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print()
    print(f"load_users={args.users}")
    print(f"load_errors={report['unexpected_errors']}")
    print(f"load_transitions_per_s={report['transitions_per_s']:.1f}")
    print(f"single_process_transitions_per_s={'skipped' if single is None else f'{single:.1f}'}")
    print(f"load_transition_p95_ms={report['transition_p95_ms']:.0f}")
    print(f"load_page_p95_ms={report['page_p95_ms']:.0f}")
    print(f"invariant_violations={total_violations}")


if __name__ == "__main__":
    main()
