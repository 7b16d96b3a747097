"""Signed certificates of each program and the signed letter and notice, kept for scripts/render_pictures.sh
(PRINTING_ARTIFACTS_DIR), with layout facts read from the positions in the PDF (pdfplumber): the seal
area is 42 mm, blank (no printed ring, no text but the issuer's name and date it presses on) and on the
same page as the signature; no page holds only a signature."""
import io

import pdfplumber
import pytest

from printing import documents, services
from printing.models import Certificate

from .helpers import certified_application, keep_artifact

MM = 72 / 25.4


def seal_areas(page):
    """White 42 mm boxes (the seal areas are drawn white under the text)."""
    return [r for r in page.rects if abs(r["width"] - 42 * MM) < 0.5 and abs(r["height"] - 42 * MM) < 0.5
            and r.get("non_stroking_color") in ((1, 1, 1), (1.0, 1.0, 1.0), [1, 1, 1], (1,), [1])]


def chars_inside(page, box):
    return "".join(c["text"] for c in page.chars if box["x0"] <= (c["x0"] + c["x1"]) / 2 <= box["x1"]
                   and box["top"] <= (c["top"] + c["bottom"]) / 2 <= box["bottom"]).strip()


def check_signature_layout(pdf: bytes, issuer: str):
    with pdfplumber.open(io.BytesIO(pdf)) as document:
        pages = [(page, seal_areas(page)) for page in document.pages]
        with_seal = [(page, areas) for page, areas in pages if areas]
        assert len(with_seal) == 1, "one seal area"
        page, (area,) = with_seal[0]
        text = page.extract_text() or ""
        assert issuer in text  # the signature is on the seal's page
        inside = chars_inside(page, area)
        assert set(inside) <= set(issuer + "0123456789年月日"), inside  # only the name and date it presses
        assert not [c for c in page.curves if c["x0"] >= area["x0"] - 1 and c["x1"] <= area["x1"] + 1
                    and c["top"] >= area["top"] - 1 and c["bottom"] <= area["bottom"] + 1]  # no ring
        body = text.replace(issuer, "")
        assert len(body.replace(" ", "").replace("\n", "")) > 40, "the signature does not stand alone"


@pytest.mark.parametrize("program", ["society-service-station", "collaborative-innovation-base",
                                     "innovation-driven-county", "innovation-driven-city"])
def test_signed_certificate_of_each_program(world, signing_keys, django_capture_on_commit_callbacks, program):
    application = certified_application(world, django_capture_on_commit_callbacks, program=program)
    pdf = services.certificate_pdf_path(Certificate.objects.get(application=application)).read_bytes()
    keep_artifact(f"certificate_{program}.pdf", pdf)
    check_signature_layout(pdf, "安徽省科学技术协会")


def test_letter_and_notice_signature_layout(world, signing_keys, django_capture_on_commit_callbacks):
    application = certified_application(world, django_capture_on_commit_callbacks)
    letter = documents.recommendation_letter_pdf(application.batch, world.org["chuzhou"])
    keep_artifact("recommendation_letter_signed.pdf", letter)
    check_signature_layout(letter, "滁州市科学技术协会")
    notice = documents.notice_pdf(application.batch)
    keep_artifact("notice_signed.pdf", notice)
    check_signature_layout(notice, "安徽省科学技术协会")
