"""Response times and query counts of the busy pages on a realistically large database.

    .venv/bin/python bench/inbox.py [--apps 100000] [--orgs 3000] [--users 10000] [--requests 50]
    .venv/bin/python bench/inbox.py --ten-times   # 1,000,000 applications, 30,000 organizations, 100,000 users
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/test .venv/bin/python bench/inbox.py

SQLite: a temporary database file. PostgreSQL: a `bench_inbox` database created (and dropped at the end
unless --keep) on the server of DATABASE_URL.

Generation (bulk inserts, a few minutes at most): an organization tree of --orgs organizations
(tests.factories.organization_tree_build: a national root, provinces, cities, counties), one division
per organization, --users users with memberships (two per county, six per city, the rest at the
provinces), two years of batches for every province and program, and --apps applications spread over
the counties (and, for the city-level program, the cities) with a mix of statuses. Each application
has the audit events of the path that brought it to its status (create, two attachment uploads, one
event per transition, hash-chained as the services write them), a viewflow process, one finished human
task per stage it left (owned by the member of the stage's pool who acted) and, when it is open, one
open task in its stage's pool: NEW, or ASSIGNED to a pool member for about 10%, with its due date.
Not generated: task-to-task edges, the start/timer/handle tasks, revisions, opinions, attachments'
files; none of the measured pages reads them. The tables are ANALYZEd afterwards, and on PostgreSQL
VACUUMed too (autovacuum would do both).

Measurement: Django's test Client, logged in with force_login, as
  * a city reviewer (the city with the most applications): /workflow/queue/, /workflow/inbox/,
    /workflow/archive/ and /approvals/ (the dashboard), /approvals/reports/;
  * that city's province reviewer: /workflow/queue/ (the largest pools), /approvals/applications/
    and /approvals/reports/.
Each page gets three warm-up requests, then --requests timed ones (p50/p95 of the wall time, nearest
rank; "cpu" is this process's CPU time, which leaves out waiting for the machine and, on PostgreSQL,
the server's work), then one
more under CaptureQueriesContext for the query count. Queries are the statements Django sends, without
transaction control (BEGIN, COMMIT, SAVEPOINT, RELEASE). The slowest queries of each page are listed;
--explain adds their plans; --with-fixes measures every page a second time with the fixes proposed in
the report applied to this run only (apply_proposed_fixes).

The last lines are machine-readable (and generation_s):
  inbox_p95_ms   the worse of the city reviewer's queue and inbox
  list_p95_ms    the province reviewer's application list
  reports_p95_ms the province reviewer's reports page (the larger scope of the two)
  queries_per_page  the most queries of those four pages
  every_page_p95_ms, every_page_queries  the worst p95 and the most queries of every page measured (the
                 goal at --ten-times: at most 100 ms and 10 queries on PostgreSQL)
"""
import argparse
import cProfile
import datetime as dt
import functools
import json
import logging
import math
import os
import pstats
import random
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
from scratch import add_scratch_arguments, scratch_database  # noqa: E402

BENCH_DB = "bench_inbox"
TRANSACTION_CONTROL = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE SAVEPOINT")
CHUNK = 5000


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--apps", type=int, default=100_000, help="applications (default 100,000)")
    parser.add_argument("--orgs", type=int, default=3_000, help="organizations (default 3,000)")
    parser.add_argument("--users", type=int, default=10_000, help="users (default 10,000)")
    parser.add_argument("--requests", type=int, default=50, help="timed requests per page (default 50)")
    parser.add_argument("--ten-times", action="store_true",
                        help="ten times the default data: 1,000,000 applications, 30,000 organizations, 100,000 "
                             "users (overrides --apps, --orgs and --users; PostgreSQL advised, generation takes "
                             "about ten times as long)")
    parser.add_argument("--seed", type=int, default=20260101)
    parser.add_argument("--explain", action="store_true", help="print the plan of each page's slowest query")
    parser.add_argument("--with-fixes", action="store_true",
                        help="measure again with the fixes proposed in the report applied for this run only "
                             "(see apply_proposed_fixes)")
    parser.add_argument("--profile", metavar="PAGE", help="cProfile the timed requests of one page (e.g. list)")
    parser.add_argument("--pages", help="measure only these pages (comma-separated label prefixes, e.g. reports,list)")
    add_scratch_arguments(parser, BENCH_DB, "new indexes")
    args = parser.parse_args()
    if args.ten_times:
        args.apps, args.orgs, args.users = 1_000_000, 30_000, 100_000
    return args


# ------------------------------------------------------------------------------ scratch database


def setup_django():
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
    import django

    django.setup()
    from django.conf import settings

    settings.DEBUG = False
    logging.getLogger("axes").setLevel(logging.WARNING)  # force_login goes through axes' login signal
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


# ------------------------------------------------------------------------------------- the data

# Final status of an application -> weight (percent).
STATUS_MIX = {
    "draft": 8, "applicant_signoff": 6, "city_review": 12, "province_check": 8, "expert_review": 6,
    "decision": 4, "public_notice": 3, "approved": 2, "certified": 30, "withdrawn": 5,
    "not_recommended": 6, "rejected": 6, "revoked": 1, "expired": 3,
}
# Action of each transition, by the status left (and the status entered where it differs).
ACTION = {
    "draft": "submit", "applicant_signoff": "sign_off", "city_review": "recommend", "province_check": "accept",
    "expert_review": "score", "decision": "decide", "public_notice": "approve", "approved": "issue_certificate",
}
SPECIAL_ACTION = {"withdrawn": "withdraw", "not_recommended": "decline", "revoked": "revoke", "expired": "expire"}
# The human task node of a stage (approvals.services.STAGE_NODES).
NODE = {
    "draft": "edit", "applicant_signoff": "sign_off", "city_review": "review_in_city",
    "province_check": "check_in_province", "expert_review": "assign_experts", "decision": "decide",
    "public_notice": "publish_notice",
}
CANONICAL = ["draft", "applicant_signoff", "city_review", "province_check", "expert_review", "decision",
             "public_notice"]
TERMINAL = {"withdrawn", "not_recommended", "rejected", "revoked", "expired", "certified"}


def status_path(final, chain, rng):
    """The statuses an application went through to reach `final`, draft first."""
    full = ["draft", *chain]
    if final in CANONICAL and final not in full:  # a stage this program skips: the one after it
        final = next(s for s in CANONICAL[CANONICAL.index(final):] if s in full)
    if final in full:
        return full[: full.index(final) + 1]
    if final == "approved":
        return [*full, "approved"]
    if final == "certified":
        return [*full, "approved", "certified"]
    if final in ("revoked", "expired"):
        return [*full, "approved", "certified", final]
    if final == "withdrawn":
        stops = [s for s in ("draft", "applicant_signoff", "city_review") if s in full]
        return [*full[: full.index(rng.choice(stops)) + 1], "withdrawn"]
    if final == "not_recommended":
        if "city_review" not in full:  # a city-level program has no city review: rejected instead
            return [*full[: full.index("decision") + 1], "rejected"]
        return [*full[: full.index("city_review") + 1], "not_recommended"]
    if final == "rejected":
        return [*full[: full.index("decision") + 1], "rejected"]
    raise ValueError(final)


class Directory:
    """The organization tree and who holds which role where."""

    def __init__(self, orgs):
        from orgs.models import Level

        self.by_id = {o.pk: o for o in orgs}
        self.provinces = [o for o in orgs if o.level == Level.PROVINCE]
        self.cities = [o for o in orgs if o.level == Level.CITY]
        self.counties = [o for o in orgs if o.level == Level.COUNTY]
        self.members = defaultdict(list)  # (org id, role) -> [user id]

    def city_of(self, org):
        ids = org.ancestor_ids
        return ids[2] if len(ids) > 2 else org.pk

    def province_of(self, org):
        return org.ancestor_ids[1]


def reused_database(name):
    """A database of an earlier run (--reuse): a SQLite file, or a database of DATABASE_URL's server."""
    import tempfile
    from urllib.parse import urlsplit, urlunsplit

    url = os.environ.get("DATABASE_URL", "")
    tmp = Path(tempfile.mkdtemp(prefix=f"{BENCH_DB}-"))
    os.environ["APP_VAR_DIR"] = str(tmp / "var")
    os.environ["APP_PRIVATE_STORAGE"] = str(tmp / "private")
    (tmp / "var" / "static").mkdir(parents=True)
    if url.startswith(("postgres://", "postgresql://", "pgsql://")):
        os.environ["DATABASE_URL"] = urlunsplit(urlsplit(url)._replace(path=f"/{name}"))
        description = f"PostgreSQL {urlsplit(url).hostname}/{name} (reused)"
    else:
        if not Path(name).is_file():
            raise SystemExit(f"--reuse {name}: no such SQLite file")
        os.environ["DATABASE_URL"] = f"sqlite:///{Path(name).resolve()}"
        description = f"SQLite {name} (reused)"

    def cleanup(keep):
        from django.db import connections

        connections.close_all()
        print(f"kept {name}")

    return description, cleanup


def directory_read():
    """The Directory of a generated database (--reuse)."""
    from orgs.models import Membership, Organization

    orgs = list(Organization.objects.order_by("pk"))
    directory = Directory(orgs)
    directory.division = {o.pk: o.division_id for o in orgs}
    for user_id, org_id, role in Membership.objects.order_by("pk").values_list("user_id", "organization_id", "role"):
        directory.members[(org_id, role)].append(user_id)
    return directory


def build_world(args, rng, log):
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    from approvals.models import Batch, Program
    from orgs.models import Division, Membership
    from tests.factories import organization_tree_build

    fanout = next(f for f in range(2, 100) if 1 + f + f**2 + f**3 >= args.orgs)
    orgs = organization_tree_build(size=args.orgs, fanout=fanout)
    divisions = [Division(code=f"{i:06d}", name=o.name, level=o.level) for i, o in enumerate(orgs, start=1)]
    Division.objects.bulk_create(divisions, batch_size=1000)
    for o, d in zip(orgs, divisions, strict=True):
        o.division_id = d.code
    type(orgs[0]).objects.bulk_update(orgs, ["division"], batch_size=1000)
    directory = Directory(orgs)
    directory.division = {o.pk: d.code for o, d in zip(orgs, divisions, strict=True)}
    log(f"{len(orgs)} organizations (fanout {fanout}): {len(directory.provinces)} provinces, "
        f"{len(directory.cities)} cities, {len(directory.counties)} counties")

    # Users and their roles: two per county, six per city, the rest at the provinces (mostly experts).
    slots = []
    for county in directory.counties:
        slots += [(county.pk, "clerk"), (county.pk, "leader")]
    for city in directory.cities:
        slots += [(city.pk, "reviewer")] * 3 + [(city.pk, "leader"), (city.pk, "clerk"), (city.pk, "admin")]
    head = ["reviewer"] * 5 + ["leader"] * 2 + ["admin", "auditor"]
    rest = max(0, args.users - len(slots) - len(head) * len(directory.provinces))
    for i, province in enumerate(directory.provinces):
        experts = rest // len(directory.provinces) + (i < rest % len(directory.provinces))
        slots += [(province.pk, role) for role in head + ["expert"] * experts]
    User = get_user_model()
    users = [User(username=f"u{i:05d}", first_name=f"用户{i}", password="!bench", is_active=True)
             for i in range(len(slots))]
    User.objects.bulk_create(users, batch_size=2000)
    Membership.objects.bulk_create(
        [Membership(user_id=u.pk, organization_id=org_id, role=role) for u, (org_id, role) in zip(users, slots,
                                                                                                    strict=True)],
        batch_size=2000,
    )
    for u, (org_id, role) in zip(users, slots, strict=True):
        directory.members[(org_id, role)].append(u.pk)
    log(f"{len(users)} users with {len(slots)} memberships")

    call_command("loaddata", "programs", verbosity=0)
    programs = list(Program.objects.order_by("code"))
    year = dt.date.today().year
    batches = {}
    for province in directory.provinces:
        for program in programs:
            for y in (year - 1, year):
                batches[(province.pk, program.pk, y)] = Batch(
                    program=program, province=province, year=y, name=f"{y}年{program.name_zh}（{province.name}）",
                    opens_on=dt.date(y, 3, 1), closes_on=dt.date(y, 5, 31),
                )
    Batch.objects.bulk_create(list(batches.values()))
    log(f"{len(programs)} programs, {len(batches)} batches")
    return directory, programs, batches


class Raw(str):
    """A value already in its database form (e.g. JSON serialized once for many rows)."""


class RowWriter:
    """Fast inserts of plain rows (values by attname) into a model's table: COPY on PostgreSQL,
    executemany on SQLite. Values are converted here by field type and defaults filled in once per
    field; the ORM's bulk_create spends most of its time preparing values, too slow for a million rows."""

    def __init__(self, model):
        from django.db import connection, models

        self.model, self.connection = model, connection
        self.postgres = connection.vendor == "postgresql"
        fields = list(model._meta.concrete_fields)
        self.columns = [f.column for f in fields]
        self.slots = {}  # attname -> (index, converter)
        self.defaults = []
        for index, f in enumerate(fields):
            if isinstance(f, models.DateTimeField):
                convert = self._datetime
            elif isinstance(f, models.DateField):
                convert = self._date
            elif isinstance(f, models.JSONField):
                convert = self._json
            else:
                convert = None
            self.slots[f.attname] = (index, convert)
            default = f.get_default() if f.has_default() else None
            self.defaults.append(convert(default) if convert and default is not None else default)
        self.rows = []

    def _datetime(self, value):
        if self.postgres:
            return value
        return str(value.astimezone(dt.UTC).replace(tzinfo=None))  # as Django stores it on SQLite

    @staticmethod
    def _date(value):
        return value.isoformat()

    @staticmethod
    def _json(value):
        return json.dumps(value, ensure_ascii=False)

    def add(self, **values):
        row = list(self.defaults)
        for name, value in values.items():
            index, convert = self.slots[name]
            row[index] = convert(value) if convert and value is not None and type(value) is not Raw else value
        self.rows.append(row)

    def flush(self):
        if not self.rows:
            return 0
        table = self.connection.ops.quote_name(self.model._meta.db_table)
        columns = ", ".join(self.connection.ops.quote_name(c) for c in self.columns)
        with self.connection.cursor() as cursor:
            if self.postgres:
                with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                    for row in self.rows:
                        copy.write_row(row)
            else:
                marks = ", ".join(["%s"] * len(self.columns))
                cursor.executemany(f"INSERT INTO {table} ({columns}) VALUES ({marks})", self.rows)
        count, self.rows = len(self.rows), []
        return count


class EventHash:
    """The attributes AuditEvent.payload reads, so that the model's own compute_hash chains the
    generated rows without a model instance per event."""

    def __init__(self, **values):
        self.__dict__.update(values)


def generate_applications(args, rng, directory, programs, batches, log):
    from django.contrib.contenttypes.models import ContentType
    from django.core.management.color import no_style
    from django.db import connection, transaction
    from django.utils import timezone
    from viewflow.workflow.fields import get_flow_ref, get_task_ref
    from viewflow.workflow.models import Process, Task
    from viewflow.workflow.status import PROCESS, STATUS

    from approvals.models import Application, AuditEvent
    from approvals.stages import STAGES
    from orgs.models import Level, Organization
    from tests.approvals.chain import FORMS
    from workflows.flows import ApplicationFlow
    from workflows.nodes import POOL_PERMISSION
    from workflows.workdays import due_date_info

    try:
        from workflows.models import TaskDeadline
    except ImportError:  # a schema without due dates
        TaskDeadline = None

    EventHash.payload = AuditEvent.payload
    EventHash.compute_hash = AuditEvent.compute_hash
    org_type = ContentType.objects.get_for_model(Organization).pk
    flow_ref = get_flow_ref(ApplicationFlow)
    node_ref = {status: get_task_ref(getattr(ApplicationFlow, node)) for status, node in NODE.items()}
    now = timezone.now()
    # A stay's working days as the services count them; stays share their dates, so remember each pair.
    from workflows.workdays import workdays_between

    count_days = functools.cache(workdays_between)

    def stay_workdays(entered, left):
        return max(0, count_days(timezone.localdate(entered), timezone.localdate(left)))

    county_programs = [p for p in programs if p.applicant_level == Level.COUNTY]
    city_programs = [p for p in programs if p.applicant_level == Level.CITY]
    statuses, weights = zip(*STATUS_MIX.items(), strict=True)
    forms = {p.code: Raw(json.dumps(FORMS[p.code]() if p.code in FORMS else {}, ensure_ascii=False))
             for p in programs}
    due_cache = {}
    totals = defaultdict(int)
    order = [Process, Application, AuditEvent, Task] + ([TaskDeadline] if TaskDeadline else [])
    writers = {model: RowWriter(model) for model in order}
    next_id = {model: (model.objects.order_by("-pk").values_list("pk", flat=True).first() or 0) + 1
               for model in order}

    def new_id(model):
        value = next_id[model]
        next_id[model] += 1
        return value

    def member(role, org_id):
        ids = directory.members.get((org_id, role))
        return rng.choice(ids) if ids else None

    for number in range(args.apps):
        if city_programs and rng.random() < 0.03:
            applicant, program = rng.choice(directory.cities), rng.choice(city_programs)
        else:
            applicant, program = rng.choice(directory.counties), rng.choice(county_programs)
        path = status_path(rng.choices(statuses, weights)[0], list(program.chain), rng)
        current, finished = path[-1], path[-1] in TERMINAL
        # Time spent in each status left, and since entering the current one.
        stays = [dt.timedelta(days=rng.randint(1, 25), hours=rng.randint(0, 8)) for _ in path[:-1]]
        busy = sum(stays, dt.timedelta()) + dt.timedelta(days=rng.randint(0, 20), hours=rng.randint(0, 8))
        created = now - busy - dt.timedelta(days=rng.randint(0, max(1, 700 - busy.days)), minutes=rng.randint(0, 600))
        times = [created]
        for stay in stays:
            times.append(times[-1] + stay)
        province_id, city_id = directory.province_of(applicant), directory.city_of(applicant)
        pools = {"applicant": applicant.pk, Level.CITY: city_id, Level.PROVINCE: province_id}
        app_id, process_id = new_id(Application), new_id(Process)
        clerk = member("clerk", applicant.pk)

        # The audit trail, hash-chained.
        trail = [("create", "", "draft", times[0], clerk, applicant.pk, "clerk", "")]
        for k in (1, 2):
            trail.append(("attachment_add", "draft", "draft", times[0] + dt.timedelta(minutes=5 * k), clerk,
                          applicant.pk, "clerk", f"kind{k}:file{k}.pdf"))
        for i, (left, entered) in enumerate(zip(path, path[1:], strict=False)):
            action = SPECIAL_ACTION.get(entered) or ("decide" if left == "decision" else ACTION[left])
            if action == "withdraw":
                role, org_id = "clerk", applicant.pk
            elif left in STAGES:
                role, level = STAGES[left].role, STAGES[left].level
                org_id = pools[level]
            else:
                role, org_id = "leader", province_id
            actor = None if action == "expire" else member(role, org_id)
            trail.append((action, left, entered, times[i + 1], actor, org_id, role, ""))
            if left in NODE and action != "withdraw":  # the finished task of the stage left
                writers[Task].add(
                    id=new_id(Task), process_id=process_id, flow_task=node_ref[left], flow_task_type="HUMAN",
                    status=STATUS.DONE, created=times[i], assigned=times[i + 1], started=times[i + 1],
                    finished=times[i + 1], owner_id=actor, owner_permission=POOL_PERMISSION.format(role=role),
                    owner_permission_content_type_id=org_type, owner_permission_obj_pk=str(org_id), token="start",
                )
                totals["tasks"] += 1
        head, entered = "", None
        for seq, (action, from_status, to_status, at, actor, org_id, role, comment) in enumerate(trail, start=1):
            values = dict(application_id=app_id, seq=seq, actor_id=actor, on_behalf_of_id=None,
                          organization_id=org_id, role=role, action=action, from_status=from_status,
                          to_status=to_status, revision=1, comment=comment, created_at=at, client_ip="10.0.0.1",
                          prev_hash=head)
            head = EventHash(**values).compute_hash()
            changes = from_status != to_status  # a status-changing event records when its stage was entered
            stay = changes and from_status  # a finished stay in from_status
            writers[AuditEvent].add(id=new_id(AuditEvent), hash=head, from_entered_at=entered if stay else None,
                                    stay_workdays=stay_workdays(entered, at) if stay else None, **values)
            entered = at if changes else entered

        if current in NODE:  # the open task of the current stage, in its pool or assigned
            role, level = STAGES[current].role, STAGES[current].level
            org_id = pools[level]
            task_id, owner, status, assigned = new_id(Task), None, STATUS.NEW, None
            if rng.random() < 0.10 and directory.members.get((org_id, role)):
                owner, status, assigned = member(role, org_id), STATUS.ASSIGNED, times[-1] + dt.timedelta(hours=2)
            writers[Task].add(
                id=task_id, process_id=process_id, flow_task=node_ref[current], flow_task_type="HUMAN",
                status=status, created=times[-1], assigned=assigned, owner_id=owner,
                owner_permission=POOL_PERMISSION.format(role=role), owner_permission_content_type_id=org_type,
                owner_permission_obj_pk=str(org_id), token="start",
            )
            totals["tasks"] += 1
            totals["open tasks"] += 1
            limit = int((program.stage_time_limits or {}).get(current) or 0)
            if TaskDeadline is not None and limit:
                starts_on = timezone.localtime(times[-1]).date()
                if (starts_on, limit) not in due_cache:
                    due_cache[(starts_on, limit)] = due_date_info(starts_on, limit)
                due_on, estimate = due_cache[(starts_on, limit)]
                writers[TaskDeadline].add(
                    id=new_id(TaskDeadline), task_id=task_id, application_id=app_id, stage=current,
                    organization_id=org_id, role=role, starts_on=starts_on, workdays=limit, due_on=due_on,
                    is_estimate=estimate, created_at=times[-1],
                )
                totals["deadlines"] += 1

        writers[Process].add(id=process_id, flow_class=flow_ref, status=PROCESS.DONE if finished else PROCESS.NEW,
                             created=created, finished=times[-1] if finished else None,
                             data={"application": app_id})
        batch = batches[(province_id, program.pk, max(created.year, now.year - 1))]
        # Every row gets a code of its own: "one live application per batch and division" holds only for
        # applications without one, and this generator puts many in a county.
        writers[Application].add(
            id=app_id, program_id=program.pk, batch_id=batch.pk, applicant_id=applicant.pk,
            applicant_path=applicant.path, city_id=city_id, province_id=province_id,
            subject_name=f"{applicant.name}申报{number}", uscc=f"91{app_id:016d}", division_id=directory.division[applicant.pk],
            form_data=forms[program.code], revision=1, status=current, created_by_id=clerk, created_at=created,
            updated_at=times[-1], submitted_at=times[1] if len(times) > 1 else None, stage_entered_at=times[-1],
            decided_at=times[path.index("decision") + 1] if "decision" in path[:-1] else None,
            process_id=process_id, audit_seq=len(trail), audit_head=head,
        )
        totals["applications"] += 1
        totals["events"] += len(trail)
        if (number + 1) % CHUNK == 0 or number + 1 == args.apps:
            with transaction.atomic():
                for model in order:  # parents first
                    writers[model].flush()
            if (number + 1) % (CHUNK * 4) == 0 or number + 1 == args.apps:
                log(f"{totals['applications']:>7} applications, {totals['events']} events, {totals['tasks']} tasks "
                    f"({totals['open tasks']} open), {totals['deadlines']} deadlines")
    # The ids were given here: move the sequences past them (PostgreSQL; SQLite follows by itself).
    with connection.cursor() as cursor:
        for sql in connection.ops.sequence_reset_sql(no_style(), order):
            cursor.execute(sql)
    return totals


def analyze():
    from django.db import connection

    with connection.cursor() as cursor:
        # PostgreSQL: VACUUM too, as autovacuum does after bulk inserts (PostgreSQL 13+), so that the
        # visibility map lets index-only scans skip the table, as they do on a database in service.
        cursor.execute("VACUUM (ANALYZE)" if connection.vendor == "postgresql" else "ANALYZE")


# ------------------------------------------------------------------------------------ measuring


def nearest_rank(values, q):
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def measure_page(user, url, n, *, explain=False, profile=False):
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client()
    if user is not None:  # None: an anonymous visitor (the public pages)
        client.force_login(user)
        verify_second_factor(client, user)
    for _ in range(3):
        response = client.get(url)
        if response.status_code != 200:
            raise SystemExit(f"{url}: HTTP {response.status_code}")
    times, cpu = [], []
    profiler = cProfile.Profile() if profile else None
    for _ in range(n):
        start, start_cpu = time.perf_counter(), time.process_time()
        if profiler:
            profiler.enable()
        client.get(url)
        if profiler:
            profiler.disable()
        times.append((time.perf_counter() - start) * 1000)
        cpu.append((time.process_time() - start_cpu) * 1000)
    if profiler:
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(35)
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    statements = [q for q in captured.captured_queries if not q["sql"].startswith(TRANSACTION_CONTROL)]
    slowest = sorted(statements, key=lambda q: float(q["time"]), reverse=True)[:3]
    result = {
        "p50": nearest_rank(times, 0.50), "p95": nearest_rank(times, 0.95), "queries": len(statements),
        "cpu50": nearest_rank(cpu, 0.50),
        "bytes": len(response.content), "slowest": [(float(q["time"]) * 1000, q["sql"]) for q in slowest],
    }
    if explain and slowest:
        result["plan"] = explain_sql(slowest[0]["sql"])
    return result


def verify_second_factor(client, user):
    """The session as after the login's second step (security.two_factor; reviewers and leaders must give
    one): a confirmed TOTP device, and the session verified with it, as django_otp.login leaves it."""
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.filter(user=user, confirmed=True).first() or TOTPDevice.objects.create(
        user=user, name="TOTP", confirmed=True)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()


def explain_sql(sql):
    """The plan of a logged query (its parameters are already interpolated in the log)."""
    from django.db import connection

    prefix = "EXPLAIN (ANALYZE, BUFFERS) " if connection.vendor == "postgresql" else "EXPLAIN QUERY PLAN "
    with connection.cursor() as cursor:
        cursor.execute(prefix + sql)
        return "\n".join("      " + " | ".join(str(c) for c in row) for row in cursor.fetchall())


def pick_users(directory):
    from django.contrib.auth import get_user_model
    from django.db.models import Count

    from approvals.models import Application

    city_id = (Application.objects.order_by().values("city_id").annotate(n=Count("id"))
               .order_by("-n").values_list("city_id", flat=True)[0])
    province_id = directory.province_of(directory.by_id[city_id])
    User = get_user_model()
    city_reviewer = User.objects.get(pk=directory.members[(city_id, "reviewer")][0])
    province_reviewer = User.objects.get(pk=directory.members[(province_id, "reviewer")][0])
    return city_id, province_id, city_reviewer, province_reviewer


def apply_proposed_fixes():
    """The changes the report proposes, applied in this process and scratch database only, to measure
    what they would give. None of them is in the project's code."""
    from django.db import connection
    from django.db.models import Q, QuerySet
    from viewflow.workflow.flow import WorkflowAppViewset

    from approvals import selectors
    from config.site import TasksApp
    from workflows.selectors import task_inbox, task_queue

    applied = []

    # 1. approvals.selectors._scope_q: the guardian grants as a list of ids instead of a subquery in an OR
    #    (PostgreSQL then combines the grants and the path prefix index in a BitmapOr and estimates the
    #    rows right), and on SQLite the path prefixes as ranges, which its LIKE can never use an index for.
    #    The selector's own condition is rewritten, whatever else it contains.
    original = selectors._scope_q
    sqlite = connection.vendor == "sqlite"

    def rewrite(q):
        out = Q()
        out.connector, out.negated = q.connector, q.negated
        for child in q.children:
            if isinstance(child, Q):
                child = rewrite(child)
            elif child[0] == "pk__in" and isinstance(child[1], QuerySet):
                child = ("pk__in", list(child[1]))
            elif child[0] == "applicant_path__startswith" and sqlite:  # binary collation: a prefix is a range
                prefix = child[1]
                child = Q(applicant_path__gte=prefix, applicant_path__lt=prefix[:-1] + chr(ord(prefix[-1]) + 1))
            out.children.append(child)
        return out

    selectors._scope_q = lambda user: rewrite(original(user))
    applied.append("scope: grants as a list" + (", path prefixes as ranges" if sqlite else ""))

    # 2. config.site.TasksApp: the menu badges from the pool selectors instead of viewflow's guardian
    #    queue (four permission queries, a join to every process, and a queue count of 0 for pools).
    if TasksApp.get_context_data is WorkflowAppViewset.get_context_data:
        def get_context_data(self, request):
            return {"user_inbox": task_inbox(user=request.user), "user_queue": task_queue(user=request.user)}

        TasksApp.get_context_data = get_context_data
        applied.append("task badges from workflows.selectors")

    # 3. An index for the pool condition of the queue (viewflow's Task has none on these columns).
    with connection.cursor() as cursor:
        cursor.execute("CREATE INDEX IF NOT EXISTS bench_task_pool_idx ON viewflow_task "
                       "(owner_permission_obj_pk, owner_permission, status)")
        cursor.execute("ANALYZE viewflow_task")
    applied.append("index viewflow_task (owner_permission_obj_pk, owner_permission, status)")
    return applied


def main():
    args = parse_args()
    rng = random.Random(args.seed)
    if args.reuse:
        description, cleanup = reused_database(args.reuse)
    else:
        description, cleanup = scratch_database(args.db)
    started = time.perf_counter()

    def log(message):
        print(f"[{time.perf_counter() - started:6.1f}s] {message}", flush=True)

    keep = args.keep
    try:
        setup_django()

        log(f"{description}: migrated")
        if args.reuse:
            directory = directory_read()
            analyze()
            generated = float("nan")
            log(f"reused: {len(directory.by_id)} organizations (ANALYZEd again)")
        else:
            directory, programs, batches = build_world(args, rng, log)
            generate_applications(args, rng, directory, programs, batches, log)
            analyze()
            generated = time.perf_counter() - started
            log(f"data generated in {generated:.0f} s (ANALYZE included)")

        from viewflow.workflow.models import Task
        from viewflow.workflow.status import STATUS

        from approvals.models import Application
        from workflows.selectors import task_archive, task_inbox, task_queue

        city_id, province_id, city_user, province_user = pick_users(directory)
        print(f"\ncity {directory.by_id[city_id].name} (id {city_id}): "
              f"{Application.objects.filter(city_id=city_id).count()} applications; reviewer {city_user.username}: "
              f"queue {task_queue(user=city_user).count()}, inbox {task_inbox(user=city_user).count()}, "
              f"archive {task_archive(user=city_user).count()} tasks")
        print(f"province {directory.by_id[province_id].name} (id {province_id}): "
              f"{Application.objects.filter(province_id=province_id).count()} applications; "
              f"reviewer {province_user.username}: queue {task_queue(user=province_user).count()} tasks")
        print(f"tasks in the database: {Task.objects.count()}, open NEW {Task.objects.filter(status=STATUS.NEW).count()}")

        pages = [
            ("queue", city_user, "/workflow/queue/"),
            ("inbox", city_user, "/workflow/inbox/"),
            ("archive", city_user, "/workflow/archive/"),
            ("dashboard", city_user, "/approvals/"),
            ("reports (city)", city_user, "/approvals/reports/"),
            ("queue (province)", province_user, "/workflow/queue/"),
            ("list (province)", province_user, "/approvals/applications/"),
            ("reports (province)", province_user, "/approvals/reports/"),
            # Pages of later issues: the public registry and the annual reports of designations.
            ("registry (public)", None, "/registry/"),
            ("designation reports", province_user, "/designations/reports/"),
        ]
        if args.pages:
            wanted = [w.strip() for w in args.pages.split(",") if w.strip()]
            pages = [p for p in pages if any(p[0].startswith(w) for w in wanted)]
        results = {}
        print(f"\nload average {' '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs")
        print(f"\n{'page':<20} {'p50 ms':>8} {'p95 ms':>8} {'cpu p50':>8} {'queries':>8} {'KiB':>6}   "
              "slowest queries (ms)")
        for label, user, url in pages:
            r = measure_page(user, url, args.requests, explain=args.explain,
                             profile=bool(args.profile) and label.startswith(args.profile))
            results[label] = r
            slow = ", ".join(f"{ms:.1f}" for ms, _sql in r["slowest"])
            print(f"{label:<20} {r['p50']:8.1f} {r['p95']:8.1f} {r['cpu50']:8.1f} {r['queries']:8d} "
                  f"{r['bytes'] / 1024:6.0f}   {slow}")
        print("\nslowest query of each page:")
        for label, r in results.items():
            ms, sql = r["slowest"][0]
            print(f"  {label}: {ms:.1f} ms  {sql[:400]}{'…' if len(sql) > 400 else ''}")
            if "plan" in r:
                print(r["plan"])

        if args.with_fixes:
            applied = apply_proposed_fixes()
            print("\nwith the proposed fixes (this run only): " + "; ".join(applied))
            print(f"load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
            fixed = {}
            for label, user, url in pages:
                r = fixed[label] = measure_page(user, url, args.requests)
                slow = ", ".join(f"{ms:.1f}" for ms, _sql in r["slowest"])
                print(f"{label:<20} {r['p50']:8.1f} {r['p95']:8.1f} {r['cpu50']:8.1f} {r['queries']:8d} "
                      f"{r['bytes'] / 1024:6.0f}   {slow}")

        def p95(*labels):
            values = [results[k]["p95"] for k in labels if k in results]
            return f"{max(values):.1f}" if values else "n/a"

        measured = [k for k in ("queue", "inbox", "list (province)", "reports (province)") if k in results]
        print()
        print(f"generation_s={generated:.0f}" if generated == generated else "generation_s=n/a (reused)")
        print(f"inbox_p95_ms={p95('queue', 'inbox')}")
        print(f"list_p95_ms={p95('list (province)')}")
        print(f"reports_p95_ms={p95('reports (province)')}")
        print(f"queries_per_page={max((results[k]['queries'] for k in measured), default='n/a')}")
        print(f"every_page_p95_ms={max((r['p95'] for r in results.values()), default=float('nan')):.1f}")
        print(f"every_page_queries={max((r['queries'] for r in results.values()), default='n/a')}")
    finally:
        cleanup(keep)


if __name__ == "__main__":
    main()
