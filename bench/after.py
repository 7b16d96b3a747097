"""Response times and query counts of the pages after designation (issue 15) on a large database: the
public registry (with its chart per city) and the designations dashboards with an Excel export.

    .venv/bin/python bench/after.py [--designations 100000] [--orgs 3000] [--users 10000] [--requests 30]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/test .venv/bin/python bench/after.py

A scratch database (bench/scratch.py: a temporary SQLite file, or `bench_after` created on the PostgreSQL
server of DATABASE_URL and dropped at the end unless --keep). The organizations, users, programs and
batches are bench/inbox.py's (build_world). Then --designations certified applications spread over the
counties, each with its certificate (gap-free numbers per province, program and year) and its designation
(有效 mostly, some 整改中, 已到期, 已撤销; validity ending over the next three years, so some renewals are due
within 90 days), a reporting window for this year in every province and one annual report per designation
in force (a mix of statuses and grades, some overdue). Bulk inserts; the tables are ANALYZEd.

Measured (bench/inbox.py's measure_page: three warm-ups, --requests timed requests, p50/p95 by nearest rank,
then the query count): /registry/ (anonymous, unfiltered and one province), /designations/dashboard/ for a
province reviewer and a city reviewer, and the province reviewer's renewals.xlsx export. The last lines are
machine-readable: registry_p95_ms, dashboard_p95_ms, queries_per_page (the target: p95 <= 100 ms and
<= 10 queries on PostgreSQL at 100,000 designations).
"""
import argparse
import datetime as dt
import os
import random
import secrets
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from inbox import analyze, build_world, directory_read, measure_page, reused_database, setup_django  # noqa: E402
from scratch import add_scratch_arguments, scratch_database  # noqa: E402

BENCH_DB = "bench_after"
STATUS_MIX = {"valid": 86, "rectifying": 4, "expired": 6, "revoked": 4}
REPORT_MIX = {"draft": 30, "signoff": 10, "city_review": 15, "province_review": 15, "graded": 30}
GRADE_MIX = {"excellent": 15, "good": 40, "pass": 38, "fail": 7}


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--designations", type=int, default=100_000)
    parser.add_argument("--orgs", type=int, default=3_000)
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--seed", type=int, default=20260101)
    add_scratch_arguments(parser, BENCH_DB, "new fields and indexes")
    return parser.parse_args()


def pick(rng, mix):
    return rng.choices(list(mix), weights=list(mix.values()))[0]


def generate(args, rng, directory, programs, batches, log):
    from django.contrib.auth import get_user_model

    from approvals.models import Application
    from designations.models import AnnualReport, Designation, ReportingWindow
    from printing.models import Certificate, CertificateSequence

    today = dt.date.today()
    program = next(p for p in programs if p.applicant_level == "county")
    creator = get_user_model().objects.order_by("pk").first()
    counties = directory.counties
    sequences = {}
    applications, started = [], time.monotonic()
    for i in range(args.designations):
        county = counties[i % len(counties)]
        province_id = directory.province_of(county)
        applications.append(Application(
            program=program, batch=batches[(province_id, program.pk, today.year - 1)], applicant=county,
            applicant_path=county.path, city_id=directory.city_of(county), province_id=province_id,
            subject_name=f"授牌单位{i:06d}学会服务站", uscc=f"91{i:016d}", division_id=directory.division[county.pk],
            status="certified", created_by=creator))
    Application.objects.bulk_create(applications, batch_size=2000)
    for province in directory.provinces:
        sequences[province.pk] = CertificateSequence.objects.create(province=province, program=program,
                                                                    year=today.year - 1)
    certificates, counters = [], {}
    for application in applications:
        counters[application.province_id] = seq = counters.get(application.province_id, 0) + 1
        valid_from = today - dt.timedelta(days=rng.randrange(0, 3 * 365))
        certificates.append(Certificate(
            application=application, issued_for=application, sequence=sequences[application.province_id], seq=seq,
            number=f"B{application.province_id}-{seq:07d}", awardee_name=application.subject_name,
            valid_from=valid_from, valid_until=valid_from + dt.timedelta(days=3 * 365 - 1), issued_on=valid_from,
            token=secrets.token_urlsafe(32)))
    Certificate.objects.bulk_create(certificates, batch_size=2000)
    designations = [Designation(
        application=a, certificate=c, program=program, awardee_name=c.awardee_name, host_name=a.subject_name,
        applicant_id=a.applicant_id, applicant_path=a.applicant_path, city_id=a.city_id, province_id=a.province_id,
        division_id=a.division_id, valid_from=c.valid_from, valid_until=c.valid_until,
        status=pick(rng, STATUS_MIX)) for a, c in zip(applications, certificates, strict=True)]
    Designation.objects.bulk_create(designations, batch_size=2000)
    windows = {p.pk: ReportingWindow.objects.create(province=p, year=today.year, opened_by=creator,
                                                   due_on=today + dt.timedelta(days=rng.choice((-10, 20))))
               for p in directory.provinces}
    reports = []
    for d in designations:
        if d.status not in ("valid", "rectifying"):
            continue
        status = pick(rng, REPORT_MIX)
        reports.append(AnnualReport(designation=d, window=windows[d.province_id], year=today.year, status=status,
                                    grade=pick(rng, GRADE_MIX) if status == "graded" else ""))
    AnnualReport.objects.bulk_create(reports, batch_size=2000)
    analyze()
    log(f"{len(designations)} designations, {len(reports)} reports in {time.monotonic() - started:.0f} s")


def main():
    args = parse_args()
    rng = random.Random(args.seed)
    if args.reuse:
        description, cleanup = reused_database(args.reuse)
    else:
        description, cleanup = scratch_database(args.db)
    started = time.monotonic()

    def log(text):
        print(f"[{time.monotonic() - started:6.1f} s] {text}", flush=True)

    log(description)
    try:
        setup_django()
        from django.conf import settings

        settings.TWO_FACTOR_REQUIRED = False  # force_login has no second factor; the pages are measured, not logins
        if args.reuse:
            directory = directory_read()
            analyze()
            log(f"reused: {len(directory.by_id)} organizations (ANALYZEd again)")
        else:
            directory, programs, batches = build_world(args, rng, log)
            generate(args, rng, directory, programs, batches, log)
        from django.contrib.auth import get_user_model
        from django.db.models import Count

        from designations.models import Designation

        User = get_user_model()
        busiest = Designation.objects.values("city_id").order_by().annotate(n=Count("pk")).order_by("-n").first()
        city_id = busiest["city_id"]
        province_id = directory.province_of(directory.by_id[city_id])
        province_reviewer = User.objects.get(pk=directory.members[(province_id, "reviewer")][0])
        city_reviewer = User.objects.get(pk=directory.members[(city_id, "reviewer")][0])
        pages = [
            ("registry", None, "/registry/"),
            ("registry province", None, f"/registry/?province={province_id}"),
            ("dashboard province", province_reviewer, "/designations/dashboard/"),
            ("dashboard city", city_reviewer, "/designations/dashboard/"),
            ("renewals.xlsx", province_reviewer, "/designations/dashboard/renewals.xlsx?purpose=测量"),
        ]
        print(f"load average {' '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs")
        results = {label: measure_page(user, url, args.requests) for label, user, url in pages}
        print(f"\n{'page':<20} {'p50 ms':>8} {'p95 ms':>8} {'cpu p50':>8} {'queries':>8}   slowest queries (ms)")
        for label, r in results.items():
            slow = ", ".join(f"{ms:.1f}" for ms, _sql in r["slowest"])
            print(f"{label:<20} {r['p50']:8.1f} {r['p95']:8.1f} {r['cpu50']:8.1f} {r['queries']:8d}   {slow}")
        print(f"load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
        print(f"registry_p95_ms {max(results[k]['p95'] for k in ('registry', 'registry province')):.1f}")
        print(f"dashboard_p95_ms {max(results[k]['p95'] for k in ('dashboard province', 'dashboard city')):.1f}")
        print(f"queries_per_page {max(r['queries'] for r in results.values())}")
    finally:
        cleanup(args.keep or bool(args.reuse))


if __name__ == "__main__":
    main()
