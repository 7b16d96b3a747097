"""Certificate rendering: content, page size, one page, file size, fonts, escaping."""
import datetime
import io
import re

import pytest
from pypdf import PdfReader

from printing.qr import PNG_MODULE_PIXELS, qr_png_data_uri, qr_svg_data_uri
from printing.render import render_html, render_pdf

A4_LANDSCAPE_PT = (842, 595)
MAX_CERT_BYTES = 120 * 1024


def certificate_context(**overrides):
    context = {
        "number": "皖科协证〔2026〕第0001号",
        "awardee_name": "安徽省机械工程学会滁州XX有限公司学会服务站",
        "program_name": "安徽省科协学会服务站",
        "recommending_org": "滁州市科学技术协会",
        "valid_from": datetime.date(2026, 1, 1),
        "valid_until": datetime.date(2028, 12, 31),
        "issuing_org": "安徽省科学技术协会",
        "issue_date": datetime.date(2026, 1, 15),
        "verify_url": "https://kexie.example/verify/3f2a9c",
        "status": "valid",
    }
    context.update(overrides)
    context.setdefault("qr_data_uri", qr_svg_data_uri(context["verify_url"]))
    return context


def pdf_text(pdf: bytes) -> str:
    reader = PdfReader(io.BytesIO(pdf))
    return re.sub(r"\s+", "", "".join(page.extract_text() for page in reader.pages))


def font_names(pdf: bytes) -> set[str]:
    reader = PdfReader(io.BytesIO(pdf))
    names = set()
    for page in reader.pages:
        for font in page["/Resources"]["/Font"].values():
            names.add(str(font.get_object()["/BaseFont"]))
    return names


@pytest.fixture(scope="module")
def certificate_pdf():
    return render_pdf("printing/certificate.html", certificate_context())


def test_certificate_is_one_a4_landscape_page(certificate_pdf):
    assert certificate_pdf.startswith(b"%PDF-")
    reader = PdfReader(io.BytesIO(certificate_pdf))
    assert len(reader.pages) == 1
    box = reader.pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == A4_LANDSCAPE_PT


def test_certificate_shows_number_names_and_dates(certificate_pdf):
    text = pdf_text(certificate_pdf)
    for expected in (
        "授牌证书",
        "皖科协证〔2026〕第0001号",
        "安徽省机械工程学会滁州XX有限公司学会服务站",
        "安徽省科协学会服务站",
        "滁州市科学技术协会",
        "安徽省科学技术协会",
        "2026年1月1日至2028年12月31日",
        "2026年1月15日",
    ):
        assert expected in text, expected
    assert "已撤销" not in text and "已过期" not in text


def test_certificate_size_and_fonts(certificate_pdf):
    assert len(certificate_pdf) <= MAX_CERT_BYTES
    # Only the reduced print faces are embedded, never the whole-gid-range installed font.
    names = font_names(certificate_pdf)
    assert names and all("Kexie-Print-Serif" in name for name in names), names


def test_rare_characters_use_the_extension_face_and_stay_small():
    pdf = render_pdf("printing/certificate.html", certificate_context(awardee_name="滁州堃喆燊科技有限公司学会服务站"))
    assert "滁州堃喆燊科技有限公司学会服务站" in pdf_text(pdf)
    assert any("Kexie-Print-Serif-Ext" in name for name in font_names(pdf))
    assert len(pdf) <= MAX_CERT_BYTES


@pytest.mark.parametrize(("status", "mark"), [("revoked", "已撤销"), ("expired", "已过期")])
def test_status_watermark(status, mark):
    pdf = render_pdf("printing/certificate.html", certificate_context(status=status))
    assert mark in pdf_text(pdf)


def test_long_values_still_fit_on_one_page():
    pdf = render_pdf(
        "printing/certificate.html",
        certificate_context(
            awardee_name="安徽省机械工程学会滁州市南谯区某某智能装备制造股份有限公司学会服务站（试点）",
            program_name="安徽省科协协同创新示范基地（高端装备制造方向）",
            recommending_org="中共滁州市委人才工作领导小组办公室、滁州市科学技术协会",
            issuing_org="安徽省科学技术协会办公室（学会服务中心）",
            valid_from="2026-01-01",
            valid_until="2028-12-31",
        ),
    )
    assert len(PdfReader(io.BytesIO(pdf)).pages) == 1
    assert "2026-01-01至2028-12-31" in pdf_text(pdf)


def test_template_is_autoescaped():
    html = render_html("printing/certificate.html", certificate_context(awardee_name="<b>x</b> & \"y\""))
    assert "<b>x</b>" not in html
    assert "&lt;b&gt;x&lt;/b&gt; &amp; &quot;y&quot;" in html


def test_certificate_qr_code_is_a_sharp_png_of_the_modules():
    """The certificate's QR code: a PNG whose squares of PNG_MODULE_PIXELS are segno's modules, with the
    four-module quiet zone, drawn without interpolation (sharp squares at any size)."""
    import base64

    import segno
    from PIL import Image

    url = "https://kexie.example/verify/3f2a9c/"
    uri = qr_png_data_uri(url)
    assert uri.startswith("data:image/png;base64,")
    image = Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1]))).convert("L")
    modules = segno.make(url, error="m", micro=False).matrix
    side = PNG_MODULE_PIXELS
    assert image.size == ((len(modules) + 8) * side, (len(modules) + 8) * side)
    for y, row in enumerate(modules):
        for x, module in enumerate(row):
            square = image.crop(((x + 4) * side, (y + 4) * side, (x + 5) * side, (y + 5) * side))
            assert square.getextrema() == ((0, 0) if module else (255, 255)), (x, y)
    assert image.crop((0, 0, image.width, 4 * side)).getextrema() == (255, 255)  # quiet zone
    pdf = render_pdf("printing/certificate.html", certificate_context(qr_data_uri=uri))
    assert b"/Interpolate false" in pdf
    with pytest.raises(ValueError):
        qr_png_data_uri("")


def test_stylesheets_are_parsed_once_per_process_and_render_the_same(monkeypatch):
    """The parsed <style> and <link> sheets are kept (printing.render._stylesheets): a second render of
    the same document parses nothing, still applies the @page rules (A4 landscape), and draws the same
    bytes as WeasyPrint's own parsing."""
    import weasyprint
    import weasyprint.css

    from printing import render

    html = render_html("printing/certificate.html", certificate_context())
    render.render_document(html)
    kept = dict(render._stylesheets)
    assert {key[0] for key in kept} == {"string", "asset"}  # base.html's <style>, certificate.css
    cached = render.render_document(html)
    assert {key: id(value[0]) for key, value in render._stylesheets.items() if key in kept} == {
        key: id(value[0]) for key, value in kept.items()}
    box = PdfReader(io.BytesIO(cached.pdf)).pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (842, 595)
    monkeypatch.setattr(weasyprint.css, "CSS", weasyprint.CSS)  # WeasyPrint's parsing, every time
    monkeypatch.setattr(render, "_install_stylesheet_cache", lambda: None)
    uncached = render.render_document(html)
    assert uncached.pdf == cached.pdf and uncached.seal_areas == cached.seal_areas


def test_qr_code_is_an_svg_data_uri():
    uri = qr_svg_data_uri("https://kexie.example/verify/3f2a9c")
    assert uri.startswith("data:image/svg+xml")
    assert "viewBox" in uri
    with pytest.raises(ValueError):
        qr_svg_data_uri("")
