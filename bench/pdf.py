"""Certificate PDF benchmark: WeasyPrint (printing.render) against headless Chromium, then a batch of
certificates issued through two real Celery worker processes.

    .venv/bin/python bench/pdf.py [--count 200] [--chromium-count 50] [--signed-count 100] [--batch 1000]
                                  [--postgres] [--skip-celery] [--probe]

Part 1 renders COUNT certificates warm in this one process with WeasyPrint (varying names, numbers and QR
codes), then prints the same HTML CHROMIUM_COUNT times with Debian's /usr/bin/chromium through
Playwright (skipped, with a line saying so, when that binary is absent; no browser is downloaded).
Goals: WeasyPrint at least 3x Chromium's speed, at most 120 KB per certificate.

Part 2 (the Celery batch) builds a scratch database: SQLite in a temporary folder, or with --postgres a
scratch PostgreSQL database created (and dropped afterwards) on the server of --postgres-url. It creates
BATCH approved applications directly (bench setup only: bulk-created rows in status "approved", without
a viewflow process), starts ``celery -A config worker --concurrency 2`` with a real broker (Redis at
redis://127.0.0.1:6379/14, or $BENCH_REDIS_URL, if it answers, else the embedded filesystem broker in the scratch folder),
writes one ``certificate_issue`` outbox effect per application in one transaction, as the bulk issue
does (published when it commits; the issue task makes the gap-free reservation and writes the render
and notification effects, then carries them out itself after its commit: renders, signs, stores
atomically and records the hash) and times from the first effect
written until every certificate has its pdf_sha256. The clock starts once both pool processes have
reported their warm-up (one throwaway certificate each, printing.tasks), as in a worker that runs for
days; the warm-up's duration is printed apart. It prints the CPU time the worker's processes spent per
certificate, the figure to compare when other work shares the cores (the rate then is not), with the
time the worker's processes waited for a CPU (/proc/<pid>/schedstat) and the ratio of the batch's wall time
to their CPU time. --probe runs the worker as ``celery -A bench.pdf_probe`` and prints, per certificate,
each task's wall, CPU, CPU-wait, blocked and SQL time measured inside the pool processes. Then it reads VmRSS of the worker's child processes from /proc, stops the
worker, and checks the result: numbers 1..BATCH without gap or duplicate, one stored file per certificate
with the recorded SHA-256.

Part 1b renders and signs SIGNED_COUNT certificates in this process (PAdES with the province's key from
the local demo CA, seal picture in the seal area). The Celery batch then signs too: the worker's task
signs with the same key. Goals: signed at most 150 KB each, at least 15 certificates/s on 2 workers.

The last eight lines are machine-readable:
    weasyprint_cert_median_s=<seconds>
    chromium_cert_median_s=<seconds or "skipped">
    cert_pdf_bytes=<median size of the WeasyPrint certificates>
    batch_1000_s=<seconds for the Celery batch, or "skipped">
    worker_rss_mb_after_1000=<largest VmRSS of the worker children after the batch, MB, or "skipped">
    signed_cert_median_s=<seconds to render and sign one certificate>
    signed_cert_pdf_bytes=<median size of a signed certificate>
    signed_batch_per_s=<signed certificates per second through the 2 Celery workers, or "skipped">
"""
from __future__ import annotations

import argparse
import datetime
import hashlib
import os
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
TEMPLATE = "printing/certificate.html"
GOAL_SPEEDUP = 3.0
GOAL_BYTES = 120 * 1024
GOAL_SIGNED_BYTES = 150 * 1024
GOAL_SIGNED_PER_S = 15.0
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")  # a Redis database of its own
WORKER_CONCURRENCY = 2
BATCH_TIMEOUT_S = 3600
# How often the bench looks whether the batch is done (a count of the stored certificates): this process
# shares the two cores with the worker, so it does not poll in a tight loop.
POLL_S = 0.5

CITIES = ["滁州", "合肥", "芜湖", "蚌埠", "淮南", "马鞍山", "淮北", "铜陵", "安庆", "黄山", "阜阳", "宿州", "六安", "亳州", "池州", "宣城"]
TRADES = ["智能装备", "新材料", "精密机械", "汽车零部件", "电子信息", "生物医药", "节能环保", "现代农业"]
SOCIETIES = ["机械工程学会", "电子学会", "化工学会", "农学会", "汽车工程学会", "材料研究学会"]


# ------------------------------------------------------------------------- part 1: one process


def certificate_context(index: int) -> dict:
    from printing.qr import qr_png_data_uri

    city = CITIES[index % len(CITIES)]
    trade = TRADES[index % len(TRADES)]
    society = SOCIETIES[index % len(SOCIETIES)]
    verify_url = f"https://kexie.example/verify/{index:08x}{(index * 2654435761) % 2**32:08x}"
    return {
        "number": f"皖科协证〔2026〕第{index + 1:04d}号",
        "awardee_name": f"安徽省{society}{city}{trade}有限公司学会服务站",
        "program_name": "安徽省科协学会服务站",
        "recommending_org": f"{city}市科学技术协会",
        "valid_from": datetime.date(2026, 1, 1),
        "valid_until": datetime.date(2028, 12, 31),
        "issuing_org": "安徽省科学技术协会",
        "issue_date": datetime.date(2026, 1, 15) + datetime.timedelta(days=index % 30),
        "verify_url": verify_url,
        "qr_data_uri": qr_png_data_uri(verify_url),
        "status": "valid",
    }


def inline_assets(html: str) -> str:
    """Chromium cannot read asset: URLs; put the same stylesheets inline so it lays out the same HTML."""
    from printing.render import read_asset

    def replace(match: re.Match) -> str:
        return "<style>" + read_asset(match.group(1)).decode() + "</style>"

    return re.sub(r'<link rel="stylesheet" href="asset:([^"]+)">', replace, html)


def bench_weasyprint(count: int) -> tuple[list[float], list[int], float]:
    from printing.render import html_to_pdf, render_html

    start = time.perf_counter()
    html_to_pdf(render_html(TEMPLATE, certificate_context(10_000)))
    cold = time.perf_counter() - start
    for warmup in range(3):
        html_to_pdf(render_html(TEMPLATE, certificate_context(20_000 + warmup)))
    times, sizes = [], []
    for index in range(count):
        context = certificate_context(index)
        start = time.perf_counter()
        pdf = html_to_pdf(render_html(TEMPLATE, context))
        times.append(time.perf_counter() - start)
        sizes.append(len(pdf))
    return times, sizes, cold


def bench_chromium(count: int) -> tuple[list[float], list[int]] | None:
    from printing.render import render_html

    if not Path(CHROMIUM).exists():
        print(f"chromium: skipped ({CHROMIUM} not found)")
        return None
    from playwright.sync_api import sync_playwright

    htmls = [inline_assets(render_html(TEMPLATE, certificate_context(index))) for index in range(count + 3)]
    times, sizes = [], []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page()
            # Nothing leaves the machine: every non-data: request (e.g. the font: URLs) is aborted.
            page.route("**/*", lambda route: route.abort())
            for index, html in enumerate(htmls):
                start = time.perf_counter()
                page.set_content(html, wait_until="load")
                pdf = page.pdf(format="A4", landscape=True, print_background=True, prefer_css_page_size=True)
                elapsed = time.perf_counter() - start
                if index >= 3:  # the first three are warm-up
                    times.append(elapsed)
                    sizes.append(len(pdf))
        finally:
            browser.close()
    return times, sizes


def describe(times: list[float]) -> str:
    ordered = sorted(times)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return f"median {statistics.median(times):.4f} s, p95 {p95:.4f} s, min {ordered[0]:.4f} s, max {ordered[-1]:.4f} s"


# ------------------------------------------------------------------ part 2: the Celery batch


def redis_answers(url: str = REDIS_URL) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=1) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


class Scratch:
    """A scratch folder (files, broker, worker log) and a scratch database, set up in os.environ before
    Django starts so that this process and the worker it starts use the same ones."""

    def __init__(self, *, postgres_url: str | None):
        self.folder = Path(tempfile.mkdtemp(prefix="bench-pdf-"))
        self.postgres_url = postgres_url
        self.pg_name = None
        if postgres_url:
            self.pg_name = f"bench_pdf_{os.getpid()}"
            self._pg_admin(f'CREATE DATABASE "{self.pg_name}"')
            database_url = postgres_url.rsplit("/", 1)[0] + f"/{self.pg_name}"
        else:
            database_url = f"sqlite:///{self.folder / 'db.sqlite3'}"
        self.broker = REDIS_URL if redis_answers() else "filesystem://"
        os.environ.update({
            "DATABASE_URL": database_url,
            "APP_VAR_DIR": str(self.folder),
            "APP_PRIVATE_STORAGE": str(self.folder / "private"),
            "CELERY_BROKER_URL": self.broker,
            "DJANGO_DEBUG": "0",
            "LOG_LEVEL": "WARNING",
            "PUBLIC_BASE_URL": "https://kexie.example",
        })
        self.database_url = database_url

    def _pg_admin(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(self.postgres_url, autocommit=True) as conn:
            conn.execute(sql)

    def cleanup(self) -> None:
        if self.pg_name:
            from django.db import connections

            connections.close_all()
            self._pg_admin(f'DROP DATABASE IF EXISTS "{self.pg_name}" WITH (FORCE)')
        shutil.rmtree(self.folder, ignore_errors=True)


_world: dict = {}


def create_world() -> dict:
    """Bench setup only: migrate the scratch database, the organizations, and a demo signing key for the
    province (printing.demo_ca), so that the worker signs every certificate as production would."""
    from django.core.management import call_command

    from orgs.models import Division, Level, Organization, OrgKind
    from printing.demo_ca import demo_signing_key

    if _world:
        return _world
    call_command("migrate", verbosity=0, interactive=False)
    call_command("loaddata", "programs", verbosity=0)
    root = Organization.objects.create(name="中国科学技术协会", level=Level.NATIONAL)
    orgs, divisions, parent, parent_div = {}, {}, root, None
    for key, name, code, level in (("province", "安徽省", "340000", Level.PROVINCE),
                                   ("city", "滁州市", "341100", Level.CITY),
                                   ("county", "琅琊区", "341102", Level.COUNTY)):
        divisions[key] = parent_div = Division.objects.create(code=code, name=name, level=level, parent=parent_div)
        orgs[key] = parent = Organization.objects.create(name=f"{name}科学技术协会", kind=OrgKind.KEXIE, level=level,
                                                         division=parent_div, parent=parent)
    demo_signing_key(orgs["province"])
    _world.update(orgs=orgs, divisions=divisions)
    return _world


def bench_signed(count: int) -> tuple[list[float], list[int]]:
    """Render and sign ``count`` certificates in this process with the real path (render with the seal
    area, PAdES signature with the province's key and seal picture)."""
    from printing.render import render_template_document
    from printing.signing import sign_pdf, validate_pdf

    province = create_world()["orgs"]["province"]

    def one(index):
        rendered = render_template_document(TEMPLATE, certificate_context(index))
        return sign_pdf(rendered.pdf, organization=province, seal=rendered.seal_areas[0]).pdf

    for warmup in range(3):
        one(30_000 + warmup)
    times, sizes = [], []
    for index in range(count):
        start = time.perf_counter()
        pdf = one(index)
        times.append(time.perf_counter() - start)
        sizes.append(len(pdf))
    if validate_pdf(pdf).state != "valid":
        raise RuntimeError("the signed certificate does not validate")
    return times, sizes


def create_approved_applications(count: int) -> list[int]:
    """Bench setup only: the program and batch, and ``count`` applications created directly in status
    approved (no viewflow process, no audit history)."""
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from approvals.models import Application, Batch, Program, Status

    world = create_world()
    orgs, divisions = world["orgs"], world["divisions"]
    today = timezone.localdate()
    program = Program.objects.get(code="society-service-station")
    batch = Batch.objects.create(program=program, province=orgs["province"], year=today.year,
                                 name=f"{today.year}年学会服务站（压测）", opens_on=today - datetime.timedelta(days=90),
                                 closes_on=today - datetime.timedelta(days=60))
    clerk = get_user_model().objects.create_user("bench_clerk")
    county = orgs["county"]
    rows = [
        Application(
            program=program, batch=batch, applicant=county, applicant_path=county.path, city=orgs["city"],
            province=orgs["province"],
            subject_name=f"{CITIES[i % len(CITIES)]}{TRADES[i % len(TRADES)]}第{i + 1}有限公司",
            division=divisions["county"], uscc=_uscc(i), form_data={}, status=Status.APPROVED, created_by=clerk,
            notice_starts_on=today - datetime.timedelta(days=20), notice_ends_on=today - datetime.timedelta(days=10),
            decided_at=timezone.now(),
        )
        for i in range(count)
    ]
    Application.objects.bulk_create(rows, batch_size=500)
    return list(Application.objects.filter(batch=batch).order_by("pk").values_list("pk", flat=True))


def _uscc(i: int) -> str:
    """A valid credit code per row: one live application per batch and subject."""
    from stdnum.cn import uscc

    body = f"91341100MA2B{i:05d}"
    return body + uscc.calc_check_digit(body)


def child_pids(pid: int) -> list[int]:
    pids = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            pids += [int(p) for p in (task / "children").read_text().split()]
        except OSError:
            continue
    return pids


def rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process ``pid`` so far (0 if it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_queue_seconds(pid: int) -> float:
    """Time process ``pid`` has waited for a CPU so far (/proc/<pid>/schedstat; 0 if unknown)."""
    try:
        return int(Path(f"/proc/{pid}/schedstat").read_text().split()[1]) / 1e9
    except (OSError, IndexError, ValueError):
        return 0.0


def start_worker(scratch: Scratch, *, probe: bool = False) -> tuple[subprocess.Popen, Path]:
    log = scratch.folder / "worker.log"
    env = os.environ.copy()
    if probe:
        env["PDF_PROBE_DIR"] = str(scratch.folder / "probe")
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH", "")]))
    command = [str(ROOT / ".venv" / "bin" / "celery"), "-A", "bench.pdf_probe" if probe else "config", "worker",
               "--concurrency",
               str(WORKER_CONCURRENCY), "--pool", "prefork", "-l", "info", "-n", f"bench-pdf-{os.getpid()}@%h",
               "--without-gossip", "--without-mingle", "--without-heartbeat"]
    if not Path(command[0]).exists():
        command[0] = shutil.which("celery") or "celery"
    handle = log.open("wb")
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=handle, stderr=subprocess.STDOUT,
                               start_new_session=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the worker exited with {process.returncode}; see {log}")
        if b" ready." in log.read_bytes() and len(child_pids(process.pid)) >= WORKER_CONCURRENCY:
            break
        time.sleep(0.2)
    else:
        raise RuntimeError(f"the worker did not become ready within 120 s; see {log}")
    # Each pool process renders and signs a throwaway certificate as it starts (printing.tasks): the batch
    # is timed on warm processes, as a worker that runs for days has them; the warm-up is reported apart.
    ready = time.monotonic()
    while time.monotonic() < deadline:
        text = log.read_bytes()
        if text.count(b"warmed up in") + text.count(b"warm-up of pool process") >= WORKER_CONCURRENCY:
            break
        time.sleep(0.2)
    else:
        raise RuntimeError(f"the pool processes did not report their warm-up within 120 s; see {log}")
    print(f"celery: worker ready; its {WORKER_CONCURRENCY} pool processes warmed up {time.monotonic() - ready:.1f} s "
          "later (not part of the batch's time)")
    return process, log


def stop_worker(process: subprocess.Popen) -> None:
    """Warm shutdown of the worker this bench started (its own session), then a hard stop if needed."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


def bench_celery(count: int, scratch: Scratch, *, probe: bool = False) -> tuple[float, float, float]:
    """Returns (seconds for the batch, largest child VmRSS in MB, parent VmRSS in MB)."""
    from django.db import transaction
    from django.db.models import Count, Max, Min

    from approvals.outbox import effects_add
    from config.celery_app import app
    from printing.models import Certificate
    from printing.services import certificate_pdf_path

    start = time.perf_counter()
    application_ids = create_approved_applications(count)
    print(f"celery: scratch database {scratch.database_url.split('://')[0]}, {len(application_ids)} approved "
          f"applications created in {time.perf_counter() - start:.1f} s; broker {scratch.broker}")
    try:
        app.control.purge()  # nothing left over from an interrupted run
    except Exception as exc:  # noqa: BLE001 - the filesystem broker may not support it; then it is empty anyway
        print(f"celery: purge skipped ({exc})")

    process, log = start_worker(scratch, probe=probe)
    try:
        pids = [process.pid, *child_pids(process.pid)]
        cpu_before = {pid: cpu_seconds(pid) for pid in pids}
        wait_before = {pid: run_queue_seconds(pid) for pid in pids}
        own_cpu_before = time.process_time()
        start = time.perf_counter()
        # As the bulk issue does: one outbox effect each, published when the transaction commits.
        with transaction.atomic():
            effects_add(kind="certificate_issue", items=[(pk, [pk], {}) for pk in application_ids])
        queued = time.perf_counter() - start
        done, last_report = 0, start
        while done < count:
            if process.poll() is not None:
                raise RuntimeError(f"the worker exited with {process.returncode}; see {log}")
            if time.perf_counter() - start > BATCH_TIMEOUT_S:
                raise RuntimeError(f"only {done}/{count} certificates after {BATCH_TIMEOUT_S} s; see {log}")
            time.sleep(POLL_S)
            done = Certificate.objects.exclude(pdf_sha256="").count()
            if time.perf_counter() - last_report > 15:
                last_report = time.perf_counter()
                print(f"celery: {done}/{count} after {last_report - start:.0f} s")
        elapsed = time.perf_counter() - start
        own_cpu = time.process_time() - own_cpu_before
        cpu_used = {pid: cpu_seconds(pid) - before for pid, before in cpu_before.items()}
        waited = sum(run_queue_seconds(pid) - before for pid, before in wait_before.items())
        children = child_pids(process.pid)
        child_rss = [rss_mb(pid) for pid in children]
        parent_rss = rss_mb(process.pid)
    finally:
        stop_worker(process)

    print(f"celery: {count} certificates in {elapsed:.1f} s ({count / elapsed:.1f}/s, {WORKER_CONCURRENCY} worker "
          f"processes); queuing took {queued:.2f} s")
    # CPU per certificate is what the batch costs whatever else shares the cores (the rate is not).
    print(f"celery: CPU per certificate {1000 * sum(cpu_used.values()) / count:.1f} ms (worker children "
          f"{1000 * sum(v for p, v in cpu_used.items() if p != process.pid) / count:.1f} ms, worker main process "
          f"{1000 * cpu_used[process.pid] / count:.1f} ms)")
    print(f"celery: the worker's processes waited {waited:.1f} s for a CPU (other work on the cores); this "
          f"process used {own_cpu:.2f} s of CPU meanwhile; batch wall time / worker CPU time "
          f"{elapsed / max(sum(cpu_used.values()), 1e-9):.2f} (0.5: both cores busy with the batch)")
    if probe:
        from pdf_probe import summary

        for line in summary(scratch.folder / "probe", count):
            print(line)
    print(f"celery: worker children VmRSS {', '.join(f'{r:.0f}' for r in child_rss)} MB; parent {parent_rss:.0f} MB")
    summary = Certificate.objects.aggregate(n=Count("id"), low=Min("seq"), high=Max("seq"),
                                            distinct=Count("seq", distinct=True))
    files_ok = sum(
        1 for c in Certificate.objects.only("token", "pdf_sha256")
        if hashlib.sha256(certificate_pdf_path(c).read_bytes()).hexdigest() == c.pdf_sha256
    )
    gap_free = summary == {"n": count, "low": 1, "high": count, "distinct": count}
    print(f"celery: numbers {summary['low']}..{summary['high']} for {summary['n']} certificates "
          f"({'gap-free, no duplicate' if gap_free else 'NOT gap-free'}); stored files matching their SHA-256: "
          f"{files_ok}/{count}")
    if not gap_free or files_ok != count:
        raise RuntimeError("the Celery batch produced a wrong result")
    return elapsed, max(child_rss, default=0.0), parent_rss


# ------------------------------------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=200, help="WeasyPrint certificates (default 200)")
    parser.add_argument("--chromium-count", type=int, default=50, help="Chromium certificates (default 50)")
    parser.add_argument("--batch", type=int, default=1000, help="certificates through Celery (default 1000)")
    parser.add_argument("--signed-count", type=int, default=100, help="signed certificates in one process (default 100)")
    parser.add_argument("--postgres", action="store_true", help="scratch PostgreSQL database instead of SQLite")
    parser.add_argument("--postgres-url", default="postgres://postgres@127.0.0.1:5432/postgres",
                        help="server (and maintenance database) where the scratch database is created")
    parser.add_argument("--skip-celery", action="store_true", help="only the single-process comparison")
    parser.add_argument("--probe", action="store_true",
                        help="measure each task inside the pool processes (bench/pdf_probe.py) and print it per certificate")
    args = parser.parse_args()

    # The scratch database holds the signing key even when the Celery part is skipped.
    scratch = Scratch(postgres_url=args.postgres_url if args.postgres else None)
    import django

    django.setup()
    try:
        times, sizes, cold = bench_weasyprint(args.count)
        weasy_median = statistics.median(times)
        size_median = int(statistics.median(sizes))
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"weasyprint: {len(times)} certificates warm, {describe(times)}; first (cold) render {cold:.3f} s")
        print(f"weasyprint: size median {size_median} B, max {max(sizes)} B; process peak RSS {rss:.0f} MB")

        chromium = bench_chromium(args.chromium_count)
        chromium_median = None
        if chromium is not None:
            chromium_times, chromium_sizes = chromium
            chromium_median = statistics.median(chromium_times)
            print(f"chromium: {len(chromium_times)} certificates warm, {describe(chromium_times)}")
            print(f"chromium: size median {int(statistics.median(chromium_sizes))} B")
            speedup = chromium_median / weasy_median
            print(f"goal speed: WeasyPrint {speedup:.1f}x Chromium (goal >= {GOAL_SPEEDUP:.0f}x): "
                  f"{'met' if speedup >= GOAL_SPEEDUP else 'NOT met'}")
        print(f"goal size: {size_median / 1024:.1f} KB per certificate (goal <= {GOAL_BYTES // 1024} KB): "
              f"{'met' if max(sizes) <= GOAL_BYTES else 'NOT met'}")

        signed_times, signed_sizes = bench_signed(args.signed_count)
        signed_median = statistics.median(signed_times)
        signed_size = int(statistics.median(signed_sizes))
        print(f"signed: {len(signed_times)} certificates rendered and signed warm, {describe(signed_times)}")
        print(f"signed: size median {signed_size} B, max {max(signed_sizes)} B "
              f"(goal <= {GOAL_SIGNED_BYTES // 1024} KB: {'met' if max(signed_sizes) <= GOAL_SIGNED_BYTES else 'NOT met'})")

        batch_s = worker_rss = None
        if not args.skip_celery:
            batch_s, worker_rss, _parent = bench_celery(args.batch, scratch, probe=args.probe)
            rate = args.batch / batch_s
            print(f"goal signed batch: {rate:.1f} certificates/s on {WORKER_CONCURRENCY} workers (goal >= "
                  f"{GOAL_SIGNED_PER_S:.0f}/s): {'met' if rate >= GOAL_SIGNED_PER_S else 'NOT met'}")
    finally:
        scratch.cleanup()

    print(f"weasyprint_cert_median_s={weasy_median:.4f}")
    print(f"chromium_cert_median_s={'skipped' if chromium_median is None else f'{chromium_median:.4f}'}")
    print(f"cert_pdf_bytes={size_median}")
    print(f"batch_1000_s={'skipped' if batch_s is None else f'{batch_s:.1f}'}")
    print(f"worker_rss_mb_after_1000={'skipped' if worker_rss is None else f'{worker_rss:.0f}'}")
    print(f"signed_cert_median_s={signed_median:.4f}")
    print(f"signed_cert_pdf_bytes={signed_size}")
    print(f"signed_batch_per_s={'skipped' if batch_s is None else f'{args.batch / batch_s:.1f}'}")


if __name__ == "__main__":
    main()
