"""PAdES signatures with pyHanko: a signed certificate validates (signer, time, trusted chain), the same
file with one byte changed does not; the electronic seal sits in the seal area; keys are stored only
encrypted; letters and notices are signed by their issuer; PKCS#12 import."""
import io
from unittest import mock

import pytest
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext

from printing import documents, services, signing
from printing.models import Certificate, SigningKey

from .helpers import certified_application


@pytest.fixture
def signed(world, signing_keys, django_capture_on_commit_callbacks):
    application = certified_application(world, django_capture_on_commit_callbacks)
    certificate = Certificate.objects.get(application=application)
    return certificate, services.certificate_pdf_path(certificate).read_bytes()


def pyhanko_status(pdf: bytes):
    reader = PdfFileReader(io.BytesIO(pdf), strict=False)
    context = ValidationContext(trust_roots=list(signing.trust_roots()), allow_fetching=False)
    return validate_pdf_signature(reader.embedded_signatures[-1], context)


def test_signed_certificate_is_valid_and_one_changed_byte_makes_it_invalid(signed):
    certificate, pdf = signed
    status = pyhanko_status(pdf)
    assert status.intact and status.valid and status.trusted
    assert status.coverage.name == "ENTIRE_FILE"
    assert status.signing_cert.subject.native["common_name"] == "安徽省科学技术协会"
    assert certificate.signed_by == status.signing_cert.subject.human_friendly
    assert certificate.signed_at is not None and certificate.pdf_size == len(pdf) and len(pdf) <= 150 * 1024

    # One byte of the page content (inside the signed range) changed.
    index = pdf.index(b"stream", len(pdf) // 4) + 40
    tampered = pdf[:index] + bytes([pdf[index] ^ 0x01]) + pdf[index + 1:]
    assert len(tampered) == len(pdf) and tampered != pdf
    status = pyhanko_status(tampered)
    assert not (status.intact and status.valid)
    assert signing.validate_pdf(tampered).state == "invalid"
    assert signing.validate_pdf(pdf).state == "valid"


def test_the_seal_widget_is_the_seal_area(signed):
    _certificate, pdf = signed
    reader = PdfFileReader(io.BytesIO(pdf), strict=False)
    widget = reader.root["/AcroForm"]["/Fields"][0].get_object()
    x0, y0, x1, y1 = (float(v) for v in widget["/Rect"])
    mm = 72 / 25.4
    assert round((x1 - x0) / mm, 1) == 42.0 and round((y1 - y0) / mm, 1) == 42.0
    assert "/AP" in widget  # the electronic seal picture is the widget's appearance


def test_private_keys_are_stored_only_encrypted(signing_keys, settings):
    key = SigningKey.objects.get(pk=signing_keys["anhui"].pk)
    assert key.encrypted_key_pem.startswith("-----BEGIN ENCRYPTED PRIVATE KEY-----")
    assert "BEGIN PRIVATE KEY" not in key.encrypted_key_pem and "BEGIN RSA PRIVATE KEY" not in key.encrypted_key_pem
    from cryptography.hazmat.primitives import serialization

    with pytest.raises(ValueError):
        serialization.load_pem_private_key(key.encrypted_key_pem.encode(), b"wrong passphrase")
    settings.SIGNING_KEY_PASSPHRASE = ""
    with pytest.raises(Exception, match="SIGNING_KEY_PASSPHRASE"):
        signing.passphrase()


def test_without_a_key_the_certificate_is_issued_unsigned(world, django_capture_on_commit_callbacks):
    application = certified_application(world, django_capture_on_commit_callbacks)
    certificate = Certificate.objects.get(application=application)
    pdf = services.certificate_pdf_path(certificate).read_bytes()
    assert signing.validate_pdf(pdf).state == "unsigned"
    assert certificate.signed_by == "" and certificate.signed_at is None


def test_letter_and_notice_are_signed_by_their_issuer(world, signing_keys, django_capture_on_commit_callbacks):
    application = certified_application(world, django_capture_on_commit_callbacks)
    batch = application.batch
    letter = signing.validate_pdf(documents.recommendation_letter_pdf(batch, world.org["chuzhou"]))
    assert letter.state == "valid" and "滁州市科学技术协会" in letter.signer
    notice = signing.validate_pdf(documents.notice_pdf(batch))
    assert notice.state == "valid" and "安徽省科学技术协会" in notice.signer


def test_pkcs12_import(world, private_storage):
    from cryptography.hazmat.primitives.serialization import BestAvailableEncryption, pkcs12

    from printing.demo_ca import demo_ca, demo_signing_key

    demo = demo_signing_key(world.org["hefei"])
    ca_cert, _ca_key = demo_ca()
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    certificate = x509.load_pem_x509_certificate(demo.certificate_pem.encode())
    private = serialization.load_pem_private_key(demo.encrypted_key_pem.encode(), signing.passphrase())
    p12 = pkcs12.serialize_key_and_certificates(b"hefei", private, certificate, [ca_cert],
                                                BestAvailableEncryption(b"p12-password"))
    imported = signing.signing_key_import_pkcs12(organization=world.org["hefei"], data=p12, password=b"p12-password")
    assert imported.active and imported.subject == demo.subject
    assert list(SigningKey.objects.filter(organization=world.org["hefei"], active=True)) == [imported]



def _signed_twice_counting_key_parses(organization):
    """Sign a small document twice; return the second PDF and how often a private key was parsed."""
    from cryptography.hazmat.primitives import serialization

    from printing.render import html_to_pdf

    pdf = html_to_pdf("<p>电子签章测试</p>")
    signing.sign_pdf(pdf, organization=organization, seal=None)
    with mock.patch.object(serialization, "load_der_private_key", wraps=serialization.load_der_private_key) as parse:
        signed = signing.sign_pdf(pdf, organization=organization, seal=None).pdf
    return signed, parse.call_count


def test_the_private_key_is_parsed_once_per_process(world, signing_keys):
    signing._signers.clear()
    pdf, parses = _signed_twice_counting_key_parses(world.org["anhui"])
    assert parses == 0  # SimpleSigner would parse it twice per signature (the dry run and the signature)
    assert signing.validate_pdf(pdf).state == "valid"


def test_an_elliptic_curve_key_signs_too(world, private_storage):
    from cryptography.hazmat.primitives.asymmetric import ec

    from printing.demo_ca import demo_signing_key

    demo_signing_key(world.org["hefei"], key=ec.generate_private_key(ec.SECP256R1()))
    signing._signers.clear()
    pdf, parses = _signed_twice_counting_key_parses(world.org["hefei"])
    assert parses == 0 and signing.validate_pdf(pdf).state == "valid"
    status = pyhanko_status(pdf)
    assert status.intact and status.valid and status.trusted


def test_the_prebuilt_cms_is_byte_for_byte_pyhankos(world, signing_keys):
    """RSA PAdES signatures after the first of a process are assembled from parts encoded once: the same
    bytes as pyHanko's own CMS for the same digest (PKCS#1 v1.5 is deterministic), and the file validates;
    one changed byte still breaks it."""
    import asyncio
    import hashlib

    from pyhanko.sign.signers.pdf_cms import PdfCMSSignedAttributes

    from printing.render import html_to_pdf

    signing._signers.clear()
    organization = world.org["anhui"]
    pdf = html_to_pdf("<p>电子签章测试</p>")
    signing.sign_pdf(pdf, organization=organization, seal=None)  # the first: pyHanko's, and the check
    signer = signing._signer(signing.active_key(organization.pk))
    assert signer._prebuilt_checked == {"sha256": True}
    with mock.patch("pyhanko.sign.signers.pdf_cms.Signer.async_sign") as pyhanko_sign:
        signed = signing.sign_pdf(pdf, organization=organization, seal=None).pdf
    assert pyhanko_sign.call_count == 0  # the prebuilt CMS signed it
    status = pyhanko_status(signed)
    assert status.intact and status.valid and status.trusted and status.coverage.name == "ENTIRE_FILE"
    index = signed.index(b"stream") + 20
    assert signing.validate_pdf(signed[:index] + bytes([signed[index] ^ 0x01]) + signed[index + 1:]).state == "invalid"

    digest = hashlib.sha256(b"any document").digest()
    reference = asyncio.run(signing._kept_key_signer_class().__mro__[1].async_sign(
        signer, digest, "sha256", use_pades=True, signed_attr_settings=PdfCMSSignedAttributes()))
    assert signer._prebuilt_cms(digest, "sha256").dump() == reference.dump()


def test_the_prebuilt_cms_is_given_up_when_it_differs_from_pyhankos(world, signing_keys, caplog):
    from printing.render import html_to_pdf

    signing._signers.clear()
    organization = world.org["anhui"]
    signer = signing._signer(signing.active_key(organization.pk))
    real = signer._prebuilt_cms
    signer._prebuilt_cms = lambda digest, algorithm: real(bytes(32), algorithm)  # a wrong digest
    pdf = html_to_pdf("<p>电子签章测试</p>")
    first = signing.sign_pdf(pdf, organization=organization, seal=None).pdf
    second = signing.sign_pdf(pdf, organization=organization, seal=None).pdf
    assert signer._prebuilt_checked == {"sha256": False} and "differs from pyHanko's" in caplog.text
    assert signing.validate_pdf(first).state == signing.validate_pdf(second).state == "valid"


def test_a_pool_process_warms_up_without_the_database(world, django_assert_num_queries):
    """The warm-up of a worker's pool process renders and signs a throwaway certificate: no query, nothing
    stored; the throwaway signature is intact but by nobody this system trusts."""
    from printing.render import render_template_document

    with django_assert_num_queries(0):
        assert services.certificate_warm_up() > 0
    rendered = render_template_document("printing/certificate.html", {"number": "0", "awardee_name": "预热",
                                                                      "issuing_org": "某省科学技术协会"})
    check = signing.validate_pdf(signing.sign_throwaway(rendered.pdf, rendered.seal_areas[0]).pdf)
    assert check.state == "untrusted" and "warm-up" in check.signer
    assert not Certificate.objects.exists()


def test_the_worker_preloads_the_provinces_keys_before_it_forks(world, signing_keys):
    signing._signers.clear()
    assert signing.signers_preload() == 1
    assert set(signing._signers) == {signing_keys["anhui"].pk}  # the province's; the city's on demand


def test_import_signing_key_command_in_chinese(world, private_storage, tmp_path, monkeypatch):
    """docs/signing.md: `PKCS12_PASSWORD=... manage.py import_signing_key <organization id> key.p12`; an
    unknown organization, a missing file, a file that is no PKCS#12 and a wrong password are each a clear
    Chinese refusal (no traceback), and nothing is imported; the right password imports the key."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.serialization import BestAvailableEncryption, pkcs12
    from django.core.management import CommandError, call_command

    from printing.demo_ca import demo_signing_key

    demo = demo_signing_key(world.org["hefei"])
    certificate = x509.load_pem_x509_certificate(demo.certificate_pem.encode())
    private = serialization.load_pem_private_key(demo.encrypted_key_pem.encode(), signing.passphrase())
    p12 = tmp_path / "key.p12"
    p12.write_bytes(pkcs12.serialize_key_and_certificates(b"hefei", private, certificate, [],
                                                          BestAvailableEncryption(b"p12-password")))
    (tmp_path / "text.p12").write_text("not a key")
    org = world.org["hefei"].pk
    before = SigningKey.objects.count()
    monkeypatch.setenv("PKCS12_PASSWORD", "wrong")
    for args, message in [((str(org + 10_000), str(p12)), f"组织 {org + 10_000} 不存在"),
                          ((str(org), str(tmp_path / "missing.p12")), "无法读取文件"),
                          ((str(org), str(tmp_path / "text.p12")), "不是有效的 PKCS#12 文件"),
                          ((str(org), str(p12)), "密码从环境变量 PKCS12_PASSWORD 读取")]:
        with pytest.raises(CommandError, match=message):
            call_command("import_signing_key", *args)
    assert SigningKey.objects.count() == before
    monkeypatch.setenv("PKCS12_PASSWORD", "p12-password")
    out = io.StringIO()
    call_command("import_signing_key", str(org), str(p12), stdout=out)
    assert out.getvalue().startswith(f"已导入 {demo.subject}，有效期至 ")
