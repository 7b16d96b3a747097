"""Hostile input cannot read local files, reach the network, follow redirects or embed attachments."""
import http.server
import io
import logging
import socket
import threading
from pathlib import Path

import pytest
from django.utils.safestring import mark_safe
from pypdf import PdfReader

from printing import render
from printing.qr import qr_svg_data_uri
from printing.render import RefusedURL, get_url_fetcher, html_to_pdf, render_pdf

PASSWD_MARKER = b"root:x:0:0"
USER_FIELDS = (
    "number",
    "awardee_name",
    "program_name",
    "recommending_org",
    "valid_from",
    "valid_until",
    "issuing_org",
    "issue_date",
    "verify_url",
    "status",
)


class RedirectToPasswd(http.server.BaseHTTPRequestHandler):
    """Answers every request with a redirect to file:///etc/passwd and counts the requests."""

    hits = 0

    def do_GET(self):  # noqa: N802 - http.server naming
        type(self).hits += 1
        self.send_response(302)
        self.send_header("Location", "file:///etc/passwd")
        self.end_headers()

    def log_message(self, format, *args):
        pass


@pytest.fixture(scope="module")
def redirect_url():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), RedirectToPasswd)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/redirect"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def network_attempts(monkeypatch):
    """Every outgoing connection attempt is recorded and refused."""
    attempts = []

    def refuse_connect(self, address, *args, **kwargs):
        attempts.append(address)
        raise OSError("network access refused in test")

    def refuse_create_connection(address, *args, **kwargs):
        attempts.append(address)
        raise OSError("network access refused in test")

    monkeypatch.setattr(socket.socket, "connect", refuse_connect)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse_connect)
    monkeypatch.setattr(socket, "create_connection", refuse_create_connection)
    return attempts


def hostile_payloads(redirect_url):
    return [
        '<img src="file:///etc/passwd">',
        '<link rel="attachment" href="file:///etc/passwd">',
        "url(http://169.254.169.254/)",
        redirect_url,
    ]


def stream_bytes(pdf: bytes) -> bytes:
    """The PDF's bytes plus every stream decompressed, to search for leaked file content."""
    reader = PdfReader(io.BytesIO(pdf))
    chunks = [pdf]
    for number in range(1, int(reader.trailer["/Size"])):
        obj = reader.get_object(number)
        if hasattr(obj, "get_data"):
            chunks.append(obj.get_data())
    return b"".join(chunks)


def objects_mentioning(pdf: bytes, needle: str) -> list:
    """Every PDF object whose dictionary or stream data contains ``needle``."""
    reader = PdfReader(io.BytesIO(pdf))
    found = []
    for number in range(1, int(reader.trailer["/Size"])):
        obj = reader.get_object(number)
        if obj is None or obj.get("/Type") == "/ObjStm":
            continue
        data = obj.get_data() if hasattr(obj, "get_data") else b""
        if needle in repr(obj) or needle.encode() in data:
            found.append(obj)
    return found


def assert_no_embedded_secret(pdf: bytes):
    """A data: URI may survive as a link target or as title text, never as file content."""
    for obj in objects_mentioning(pdf, "embedded-secret"):
        is_link = obj.get("/Subtype") == "/Link" and obj["/A"]["/S"] == "/URI"
        is_info = set(obj.keys()) <= {"/Producer", "/Title", "/Creator"}
        assert is_link or is_info, obj


def assert_clean_pdf(pdf: bytes):
    assert pdf.startswith(b"%PDF-")
    reader = PdfReader(io.BytesIO(pdf))
    assert reader.attachments == {}
    names = reader.trailer["/Root"].get("/Names")
    assert names is None or "/EmbeddedFiles" not in names.get_object()
    for page in reader.pages:
        for annot in page.get("/Annots") or []:
            assert annot.get_object().get("/Subtype") != "/FileAttachment"
    text = "".join(page.extract_text() for page in reader.pages)
    assert "root:x:0:0" not in text
    assert PASSWD_MARKER not in stream_bytes(pdf)
    for number in range(1, int(reader.trailer["/Size"])):
        obj = reader.get_object(number)
        entries = obj if isinstance(obj, dict) else {}
        assert entries.get("/Type") not in ("/EmbeddedFile", "/Filespec"), obj
        assert entries.get("/Subtype") != "/FileAttachment", obj


def test_passwd_marker_exists_here():
    # Otherwise the "no root:x:0:0 in the PDF" assertions would prove nothing.
    assert PASSWD_MARKER in Path("/etc/passwd").read_bytes()


@pytest.mark.parametrize("payload_index", range(4))
def test_hostile_text_in_every_user_field(payload_index, redirect_url, network_attempts, caplog):
    payload = hostile_payloads(redirect_url)[payload_index]
    RedirectToPasswd.hits = 0
    context = {field: payload for field in USER_FIELDS}
    context["qr_data_uri"] = qr_svg_data_uri(payload)
    with caplog.at_level(logging.WARNING, logger="printing.render"):
        pdf = render_pdf("printing/certificate.html", context)
    assert_clean_pdf(pdf)
    assert network_attempts == []
    assert RedirectToPasswd.hits == 0
    # Escaped, the payload is only text: the fetcher was never even asked for it.
    assert not [record for record in caplog.records if "refused" in record.getMessage()]
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    assert payload.split("//")[-1][:10] in text.replace("\n", "")


def test_hostile_markup_that_bypasses_escaping_is_still_contained(redirect_url, network_attempts):
    """A template bug (|safe, mark_safe) must not turn into file reads, requests or attachments."""
    RedirectToPasswd.hits = 0
    markup = mark_safe(
        '<img src="file:///etc/passwd">'
        '<img src="../../../../../../etc/passwd">'
        '<img src="asset:../../../../../../etc/passwd">'
        f'<img src="{redirect_url}">'
        '<link rel="attachment" href="file:///etc/passwd">'
        '<link rel="attachment" href="data:text/plain,embedded-secret">'
        '<a rel="attachment" href="file:///etc/passwd">a</a>'
        '<a rel="nofollow attachment" href="data:text/plain,embedded-secret">b</a>'
        '<link rel="stylesheet" href="file:///etc/passwd">'
        '<div style="background: url(http://169.254.169.254/latest/meta-data/)">c</div>'
        f'<div style="background-image: url({redirect_url})">d</div>'
        "<style>@import url(https://169.254.169.254/x.css);"
        "@font-face { font-family: x; src: url(file:///etc/passwd); }</style>"
        '<object data="file:///etc/passwd"></object><embed src="ftp://127.0.0.1/x">'
        '<svg><image href="file:///etc/passwd" width="10" height="10"/></svg>'
    )
    pdf = render_pdf("printing/certificate.html", {field: markup for field in USER_FIELDS} | {"qr_data_uri": ""})
    assert_clean_pdf(pdf)
    assert_no_embedded_secret(pdf)
    assert network_attempts == []
    assert RedirectToPasswd.hits == 0


def test_raw_html_with_attachments_is_refused_or_clean(network_attempts):
    pdf = html_to_pdf(
        '<html><head><link rel="attachment" href="data:text/plain,embedded-secret"></head>'
        '<body><a rel="attachment" href="data:text/plain,embedded-secret">x</a>'
        '<img src="http://169.254.169.254/"></body></html>'
    )
    assert_clean_pdf(pdf)
    assert_no_embedded_secret(pdf)
    assert network_attempts == []


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "FILE:///etc/passwd",
        "http://169.254.169.254/",
        "https://example.com/x.css",
        "ftp://127.0.0.1/x",
        "gopher://127.0.0.1/",
        "asset:../render.py",
        "asset:../../../../../../etc/passwd",
        "asset:%2e%2e/render.py",
        "asset:/etc/passwd",
        "asset://etc/passwd",
        "asset:",
        "asset:does-not-exist.css",
        "font:../../etc/passwd",
        "font:nope",
        "/etc/passwd",
        "etc/passwd",
    ],
)
def test_fetcher_refuses(url, network_attempts):
    with pytest.raises((RefusedURL, ValueError)):
        get_url_fetcher()(url)
    assert network_attempts == []


def test_fetcher_serves_assets_data_and_fonts(network_attempts):
    fetcher = get_url_fetcher()
    css = fetcher("asset:certificate.css")
    assert css.content_type == "text/css"
    assert b".sheet" in css.read()
    data = fetcher("data:text/plain;base64,aGVsbG8=")
    assert data.read() == b"hello"
    font = fetcher("font:serif-regular")
    assert font.read(4) == b"OTTO"
    assert network_attempts == []


def test_fetcher_refuses_redirects_and_never_opens_http(redirect_url, network_attempts):
    RedirectToPasswd.hits = 0
    with pytest.raises(RefusedURL):
        get_url_fetcher()(redirect_url)
    assert network_attempts == []
    assert RedirectToPasswd.hits == 0


def test_image_cache_keeps_no_data_uris_and_is_bounded():
    cache = render.get_image_cache()
    before = len(cache)
    for index in range(3):
        render.html_to_pdf(f'<img src="{qr_svg_data_uri(f"https://kexie.example/verify/{index}")}">')
    assert len(cache) == before
    bounded = render._BoundedCache(3)
    for index in range(5):
        bounded[f"asset:{index}.png"] = index
    assert list(bounded) == ["asset:2.png", "asset:3.png", "asset:4.png"]
    assert bounded["asset:2.png"] == 2 and list(bounded)[-1] == "asset:2.png"
