"""Certificate PDF benchmark: WeasyPrint (printing.render) against headless Chromium.

    DJANGO_SETTINGS_MODULE=config.settings.local .venv/bin/python bench/pdf.py [--count 200] [--chromium-count 50]

Renders COUNT certificates warm in this one process with WeasyPrint (varying names, numbers and QR
codes), then prints the same HTML CHROMIUM_COUNT times with Debian's /usr/bin/chromium through
Playwright (skipped, with a line saying so, when that binary is absent; no browser is downloaded).
Goals: WeasyPrint at least 3x Chromium's speed, at most 120 KB per certificate.

The last three lines are machine-readable:
    weasyprint_cert_median_s=<seconds>
    chromium_cert_median_s=<seconds or "skipped">
    cert_pdf_bytes=<median size of the WeasyPrint certificates>
(The Celery batch and worker-memory figures, batch_1000_s and worker_rss_mb, are not measured here
yet: they need the worker task.)
"""
from __future__ import annotations

import argparse
import datetime
import os
import re
import resource
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

import django  # noqa: E402

django.setup()

from printing.qr import qr_svg_data_uri  # noqa: E402
from printing.render import html_to_pdf, read_asset, render_html  # noqa: E402

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

CITIES = ["滁州", "合肥", "芜湖", "蚌埠", "淮南", "马鞍山", "淮北", "铜陵", "安庆", "黄山", "阜阳", "宿州", "六安", "亳州", "池州", "宣城"]
TRADES = ["智能装备", "新材料", "精密机械", "汽车零部件", "电子信息", "生物医药", "节能环保", "现代农业"]
SOCIETIES = ["机械工程学会", "电子学会", "化工学会", "农学会", "汽车工程学会", "材料研究学会"]


def certificate_context(index: int) -> dict:
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
        "qr_data_uri": qr_svg_data_uri(verify_url),
        "status": "valid",
    }


def inline_assets(html: str) -> str:
    """Chromium cannot read asset: URLs; put the same stylesheets inline so it lays out the same HTML."""

    def replace(match: re.Match) -> str:
        return "<style>" + read_asset(match.group(1)).decode() + "</style>"

    return re.sub(r'<link rel="stylesheet" href="asset:([^"]+)">', replace, html)


def bench_weasyprint(count: int) -> tuple[list[float], list[int], float]:
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=200, help="WeasyPrint certificates (default 200)")
    parser.add_argument("--chromium-count", type=int, default=50, help="Chromium certificates (default 50)")
    args = parser.parse_args()

    times, sizes, cold = bench_weasyprint(args.count)
    weasy_median = statistics.median(times)
    size_median = int(statistics.median(sizes))
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"weasyprint: {len(times)} certificates warm, {describe(times)}; first (cold) render {cold:.3f} s")
    print(f"weasyprint: size median {size_median} B, max {max(sizes)} B; process peak RSS {rss_mb:.0f} MB")

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

    print(f"weasyprint_cert_median_s={weasy_median:.4f}")
    print(f"chromium_cert_median_s={'skipped' if chromium_median is None else f'{chromium_median:.4f}'}")
    print(f"cert_pdf_bytes={size_median}")


if __name__ == "__main__":
    main()
