"""Helpers of the printing tests: drive applications to certified through the real services, create many
approved applications quickly (concurrency tests only), read PDFs as text, and find seal areas and the
characters in a box from the positions pdfplumber reads."""
import datetime as dt
import io
import os
import re
import subprocess
import tempfile
from pathlib import Path

from django.utils import timezone
from pypdf import PdfReader
from stdnum.cn import uscc as uscc_checker

from approvals import services as svc
from approvals.models import Application, Status
from tests.approvals.chain import act, create, publish_and_wait, to_decision, to_province_check


def pdf_text(pdf: bytes) -> str:
    """The text of a PDF as pdftotext reads it, whitespace removed (CJK text has no word spaces)."""
    with tempfile.NamedTemporaryFile(suffix=".pdf") as handle:
        handle.write(pdf)
        handle.flush()
        out = subprocess.run(["pdftotext", "-enc", "UTF-8", handle.name, "-"], check=True,
                             capture_output=True).stdout.decode()
    return re.sub(r"\s+", "", out)


def pdf_pages(pdf: bytes) -> int:
    return len(PdfReader(io.BytesIO(pdf)).pages)


def page_size(pdf: bytes, index: int = 0) -> tuple[int, int]:
    box = PdfReader(io.BytesIO(pdf)).pages[index].mediabox
    return round(float(box.width)), round(float(box.height))


def keep_artifact(name: str, content: bytes) -> None:
    """Write a rendered document to $PRINTING_ARTIFACTS_DIR (if set) so it can be looked at."""
    folder = os.environ.get("PRINTING_ARTIFACTS_DIR")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        (Path(folder) / name).write_bytes(content)


def to_public_notice(world, application, province="anhui", days_ago=30):
    application = to_decision(world, application, province=province)
    svc.application_decide(actor=act(world, f"{province}_leader"), application_id=application.pk, approve=True,
                           comment="经专家评审，予以认定")
    return publish_and_wait(world, application, province=province, days_ago=days_ago)


def approve(world, application, capture, province="anhui"):
    """Approve after the notice; with ``capture`` (django_capture_on_commit_callbacks) the queued issue
    task runs (eagerly) on commit."""
    with capture(execute=True):
        svc.application_approve(actor=act(world, f"{province}_leader"), application_id=application.pk)
    return Application.objects.get(pk=application.pk)


def certified_application(world, capture, program="society-service-station", county="langya", city="chuzhou",
                          province="anhui"):
    application = create(world, program, county=county, city=city, province=province)
    applicant = city if application.program.applicant_level == "city" else county
    application = to_province_check(world, application, applicant, city=city)
    application = to_public_notice(world, application, province=province)
    return approve(world, application, capture, province=province)


def _uscc(n: int) -> str:
    base = f"91341100MA{n:07d}"
    return base + uscc_checker.calc_check_digit(base)


def bulk_approved(world, count, *, program="collaborative-innovation-base", province="anhui", city="chuzhou",
                  county="langya", batch=None, name="并发测试单位"):
    """``count`` applications created directly in status approved, without a viewflow process (the issue
    step then has no flow task to complete). For concurrency tests and benchmarks only: the lifecycle
    itself is tested through the services elsewhere."""
    batch = batch or world.batch(program, province)
    today = timezone.localdate()
    applicant = world.org[county]
    # Each its own subject (one live application per batch and subject): a valid USCC per row.
    start = Application.objects.filter(batch=batch).count()
    rows = [
        Application(
            program=batch.program, batch=batch, applicant=applicant, applicant_path=applicant.path,
            city=world.org[city], province=world.org[province], subject_name=f"{name}{index:03d}",
            uscc=_uscc(start + index),
            division=world.division[county], form_data={}, status=Status.APPROVED,
            created_by=world.user[f"{county}_clerk"], notice_starts_on=today - dt.timedelta(days=20),
            notice_ends_on=today - dt.timedelta(days=10), decided_at=timezone.now(),
        )
        for index in range(count)
    ]
    Application.objects.bulk_create(rows)
    return list(Application.objects.filter(batch=batch, status=Status.APPROVED).order_by("pk"))


MM = 72 / 25.4
SEAL_PT = 42 * MM  # a 42 mm 公章: 119.06 pt
_WHITE = ((1, 1, 1), (1.0, 1.0, 1.0), [1, 1, 1], (1,), [1], (1.0,), [1.0])


def seal_areas(page, tolerance: float = 12.0):
    """White squares of about 42 mm (the seal areas are drawn white under the text), within ``tolerance``
    points of 42 mm, so that a test can measure the size it finds."""
    return [r for r in page.rects if abs(r["width"] - SEAL_PT) < tolerance and abs(r["height"] - SEAL_PT) < tolerance
            and r.get("non_stroking_color") in _WHITE]


def chars_inside(page, box) -> str:
    """The characters whose centre is inside ``box`` (pdfplumber coordinates, top from the page's top)."""
    return "".join(c["text"] for c in page.chars if box["x0"] <= (c["x0"] + c["x1"]) / 2 <= box["x1"]
                   and box["top"] <= (c["top"] + c["bottom"]) / 2 <= box["bottom"]).strip()


def curves_inside(page, box, slack: float = 1.0) -> list:
    """Curves (a printed ring) drawn within ``box``."""
    return [c for c in page.curves if c["x0"] >= box["x0"] - slack and c["x1"] <= box["x1"] + slack
            and c["top"] >= box["top"] - slack and c["bottom"] <= box["bottom"] + slack]
