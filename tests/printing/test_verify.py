"""Public verification: no login, status from the database on every request (valid, revoked, expired —
also when the validity has run out), the SHA-256 of the issued PDF, and the upload check."""
import datetime as dt
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from approvals import services as svc
from printing import services
from printing.models import Certificate, CertificateStatus
from printing.views import VERIFY_UPLOAD_MAX_BYTES
from tests.approvals.chain import act

from .helpers import certified_application, keep_artifact


@pytest.fixture
def issued(world, django_capture_on_commit_callbacks):
    application = certified_application(world, django_capture_on_commit_callbacks)
    certificate = Certificate.objects.get(application=application)
    return certificate, services.certificate_pdf_path(certificate).read_bytes()


def status_of(response) -> str:
    return re.search(r'data-status="(\w+)"', response.content.decode()).group(1)


def upload(client, url, content, name="certificate.pdf"):
    return client.post(url, {"pdf": SimpleUploadedFile(name, content, content_type="application/pdf")})


def test_verify_page_shows_the_certificate_without_login(client, issued):
    certificate, _pdf = issued
    response = client.get(f"/verify/{certificate.token}/")
    assert response.status_code == 200
    html = response.content.decode()
    keep_artifact("verify_valid.html", response.content)
    assert status_of(response) == "valid" and "有效" in html
    for expected in (certificate.number, certificate.awardee_name, "学会服务站", "安徽省科学技术协会",
                     certificate.pdf_sha256, f"{certificate.valid_until.year}年{certificate.valid_until.month}月"
                     f"{certificate.valid_until.day}日"):
        assert expected in html, expected
    cache_control = response["Cache-Control"]
    assert "no-cache" in cache_control and "no-store" in cache_control and "max-age=0" in cache_control


def test_lookup_by_number(client, issued):
    certificate, _pdf = issued
    response = client.get("/verify/", {"number": certificate.number})
    assert response.status_code == 200 and status_of(response) == "valid"
    assert certificate.token not in response.content.decode()  # the number page does not give out the token
    assert client.get("/verify/", {"number": "皖科协证〔1999〕第9999号"}).status_code == 404
    assert client.get("/verify/no-such-token/").status_code == 404
    empty = client.get("/verify/")
    assert empty.status_code == 200 and "证书编号" in empty.content.decode()


def test_revocation_shows_on_the_next_request(client, world, issued):
    certificate, _pdf = issued
    url = f"/verify/{certificate.token}/"
    assert status_of(client.get(url)) == "valid"
    svc.application_revoke(actor=act(world, "anhui_leader"), application_id=certificate.application_id,
                           comment="材料造假")
    response = client.get(url)
    keep_artifact("verify_revoked.html", response.content)
    assert status_of(response) == "revoked" and "已撤销" in response.content.decode()
    assert status_of(client.get("/verify/", {"number": certificate.number})) == "revoked"


def test_expired_by_date_and_by_status(client, issued):
    certificate, _pdf = issued
    url = f"/verify/{certificate.token}/"
    yesterday = timezone.localdate() - dt.timedelta(days=1)
    Certificate.objects.filter(pk=certificate.pk).update(valid_until=yesterday)  # not yet marked expired
    response = client.get(url)
    assert status_of(response) == "expired" and "已过期" in response.content.decode()
    Certificate.objects.filter(pk=certificate.pk).update(valid_until=yesterday + dt.timedelta(days=400),
                                                         status=CertificateStatus.EXPIRED)
    assert status_of(client.get(url)) == "expired"


def test_upload_of_the_issued_pdf_matches(client, issued):
    certificate, pdf = issued
    response = upload(client, f"/verify/{certificate.token}/", pdf)
    assert response.status_code == 200
    keep_artifact("verify_match.html", response.content)
    html = response.content.decode()
    assert 'data-result="match"' in html and "一致" in html
    # By number too (the form posts back to the same address).
    response = upload(client, f"/verify/?number={certificate.number}", pdf)
    assert 'data-result="match"' in response.content.decode()


def test_upload_of_a_modified_pdf_does_not_match(client, issued):
    certificate, pdf = issued
    modified = bytearray(pdf)
    modified[len(pdf) // 2] ^= 0x01  # one bit changed
    modified = bytes(modified)
    response = upload(client, f"/verify/{certificate.token}/", modified)
    keep_artifact("verify_mismatch.html", response.content)
    html = response.content.decode()
    assert 'data-result="mismatch"' in html and "不一致" in html
    assert certificate.pdf_sha256 in html  # the issued hash is still shown for comparison


def test_upload_needs_csrf(issued):
    certificate, pdf = issued
    client = Client(enforce_csrf_checks=True)
    url = f"/verify/{certificate.token}/"
    assert upload(client, url, pdf).status_code == 403
    page = client.get(url)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode()).group(1)
    response = client.post(url, {"csrfmiddlewaretoken": token,
                                 "pdf": SimpleUploadedFile("c.pdf", pdf, content_type="application/pdf")})
    assert response.status_code == 200 and 'data-result="match"' in response.content.decode()


def test_upload_over_10_mb_is_refused(client, issued):
    certificate, _pdf = issued
    big = b"%PDF-1.4\n" + b"0" * (VERIFY_UPLOAD_MAX_BYTES + 1)
    response = upload(client, f"/verify/{certificate.token}/", big)
    assert response.status_code == 413
    assert 'data-result="error"' in response.content.decode()
    # Just under the limit is read and compared.
    small = b"%PDF-1.4\n" + b"0" * (VERIFY_UPLOAD_MAX_BYTES - 100)
    assert 'data-result="mismatch"' in upload(client, f"/verify/{certificate.token}/", small).content.decode()


def test_upload_without_a_file(client, issued):
    certificate, _pdf = issued
    response = client.post(f"/verify/{certificate.token}/", {})
    assert response.status_code == 400 and 'data-result="error"' in response.content.decode()


def test_certificate_not_yet_rendered_says_so(client, issued):
    certificate, _pdf = issued
    Certificate.objects.filter(pk=certificate.pk).update(pdf_sha256="", pdf_size=None, rendered_at=None)
    html = client.get(f"/verify/{certificate.token}/").content.decode()
    assert "证书文件尚在生成中" in html and 'type="file"' not in html


@pytest.fixture
def signed_issued(world, signing_keys, django_capture_on_commit_callbacks):
    application = certified_application(world, django_capture_on_commit_callbacks)
    certificate = Certificate.objects.get(application=application)
    return certificate, services.certificate_pdf_path(certificate).read_bytes()


def test_signed_certificate_page_shows_signer_time_and_a_valid_check(client, signed_issued):
    certificate, pdf = signed_issued
    url = f"/verify/{certificate.token}/"
    html = client.get(url).content.decode()
    assert 'class="banner banner-valid"' in html and "有效证书" in html
    assert "安徽省科学技术协会" in html.split('id="signed"')[1][:400]
    assert f"{timezone.localtime(certificate.signed_at):%H:%M:%S}" in html
    response = upload(client, url, pdf)
    keep_artifact("verify_signed_valid.html", response.content)
    html = response.content.decode()
    assert 'data-result="match"' in html and 'data-signature="valid"' in html
    assert "有效，由" in html and "签名后文件未被改动" in html


def test_a_revoked_certificate_is_never_green_even_for_its_own_file(client, world, signed_issued):
    certificate, pdf = signed_issued
    svc.application_revoke(actor=act(world, "anhui_leader"), application_id=certificate.application_id,
                           comment="材料造假")
    url = f"/verify/{certificate.token}/"
    response = upload(client, url, pdf)
    keep_artifact("verify_signed_revoked.html", response.content)
    html = response.content.decode()
    assert 'data-result="revoked"' in html and "该证书已被撤销，不再有效" in html
    assert 'class="result result-match"' not in html
    assert 'class="banner banner-revoked"' in html and 'class="banner banner-valid"' not in html
    assert 'class="card card-revoked"' in html


def test_an_expired_certificate_looks_different_from_both(client, signed_issued):
    certificate, pdf = signed_issued
    Certificate.objects.filter(pk=certificate.pk).update(status=CertificateStatus.EXPIRED)
    html = upload(client, f"/verify/{certificate.token}/", pdf).content.decode()
    assert 'data-result="expired"' in html and "该证书已过期" in html
    assert 'class="banner banner-expired"' in html and 'class="banner banner-valid"' not in html


def test_a_changed_byte_in_a_signed_file_is_reported(client, signed_issued):
    certificate, pdf = signed_issued
    index = pdf.index(b"stream", len(pdf) // 4) + 40
    tampered = pdf[:index] + bytes([pdf[index] ^ 0x01]) + pdf[index + 1:]
    html = upload(client, f"/verify/{certificate.token}/", tampered).content.decode()
    assert 'data-result="mismatch"' in html and 'data-signature="invalid"' in html


def test_verify_result_table():
    from printing.views import verify_result

    assert verify_result("valid", same=True, signature="valid")[0] == "match"
    assert verify_result("valid", same=True, signature="unsigned")[0] == "match"
    assert verify_result("valid", same=False, signature="valid")[0] == "mismatch"
    assert verify_result("valid", same=True, signature="invalid")[0] == "mismatch"
    assert verify_result("revoked", same=True, signature="valid")[0] == "revoked"
    assert verify_result("expired", same=True, signature="valid")[0] == "expired"
    assert verify_result("revoked", same=False, signature="valid")[0] == "mismatch"
