"""Signed certificates of each program and the signed letter and notice, kept for scripts/render_pictures.sh
(PRINTING_ARTIFACTS_DIR), with layout facts read from the positions in the PDF (pdfplumber): the seal
area is 42 mm, blank (no printed ring, no text but the issuer's name and date it presses on) and on the
same page as the signature; no page holds only a signature."""
import io

import pdfplumber
import pytest

from printing import documents, services
from printing.models import Certificate

from .helpers import SEAL_PT, certified_application, chars_inside, curves_inside, keep_artifact, seal_areas


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
        assert abs(area["width"] - SEAL_PT) <= 1 and abs(area["height"] - SEAL_PT) <= 1, area  # 42 mm ± 1 pt
        assert not curves_inside(page, area)  # no printed ring
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
