"""PAdES signatures of issued documents with pyHanko: each organization's key signs its certificates,
letters and notices, and the signature's widget shows the organization's electronic seal exactly in the
document's seal area.

Keys: an organization has at most one active :class:`~printing.models.SigningKey`. Its private key is
stored only as encrypted PKCS#8 (scrypt + AES-256-CBC, ``BestAvailableEncryption``) under the passphrase
in ``settings.SIGNING_KEY_PASSPHRASE``, which production takes from the environment with no default; a
copy of the database alone cannot sign. Production imports the organization's PKCS#12 file
(``manage.py import_signing_key``); the demo makes a local CA (``manage.py make_demo_keys``).

Validation (the verification page and the tests) trusts the certificates of the CAs that issued the
active keys, read from their stored chains; a signature by anything else is reported as untrusted.
"""
from __future__ import annotations

import asyncio
import datetime as dt
import io
import logging
import threading
from dataclasses import dataclass
from functools import lru_cache

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from .models import OrganizationProfile, SigningKey
from .render import SealArea

logger = logging.getLogger(__name__)

FIELD_NAME = "Seal"
_cache_lock = threading.Lock()
_signers: dict[int, object] = {}


class NoSigningKey(LookupError):
    """The organization has no active signing key: its documents are issued unsigned."""


def passphrase() -> bytes:
    value = getattr(settings, "SIGNING_KEY_PASSPHRASE", "")
    if not value:
        raise ImproperlyConfigured("SIGNING_KEY_PASSPHRASE is not set: signing keys cannot be stored or used")
    return value.encode()


# ------------------------------------------------------------------------------------------- keys


def encrypt_private_key(private_key) -> str:
    from cryptography.hazmat.primitives import serialization

    return private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(passphrase()),
    ).decode()


def signing_key_store(*, organization, certificate, private_key, chain=()) -> SigningKey:
    """Store ``certificate`` (a cryptography x509 certificate) and ``private_key`` (encrypted) as the
    organization's active signing key; an earlier active key is deactivated."""
    from cryptography.hazmat.primitives import serialization
    from django.db import transaction

    pem = certificate.public_bytes(serialization.Encoding.PEM).decode()
    chain_pem = "".join(c.public_bytes(serialization.Encoding.PEM).decode() for c in chain)
    with transaction.atomic():
        SigningKey.objects.filter(organization=organization, active=True).update(active=False)
        key = SigningKey.objects.create(
            organization=organization, certificate_pem=pem, chain_pem=chain_pem,
            encrypted_key_pem=encrypt_private_key(private_key), subject=certificate.subject.rfc4514_string(),
            not_before=certificate.not_valid_before_utc, not_after=certificate.not_valid_after_utc,
        )
    with _cache_lock:
        _signers.clear()
    trust_roots.cache_clear()
    return key


def signing_key_import_pkcs12(*, organization, data: bytes, password: bytes | None) -> SigningKey:
    """Import an organization's PKCS#12 file (its key, certificate and CA chain)."""
    from cryptography.hazmat.primitives.serialization import pkcs12

    private_key, certificate, chain = pkcs12.load_key_and_certificates(data, password)
    if private_key is None or certificate is None:
        raise ValueError("the PKCS#12 file holds no private key and certificate")
    return signing_key_store(organization=organization, certificate=certificate, private_key=private_key,
                             chain=chain or ())


def active_key(organization_id: int) -> SigningKey | None:
    return SigningKey.objects.filter(organization_id=organization_id, active=True).first()


def _signer(key: SigningKey):
    """The pyHanko signer of ``key``, decrypted once per process."""
    with _cache_lock:
        signer = _signers.get(key.pk)
        if signer is None:
            from pyhanko.keys import load_certs_from_pemder_data, load_private_key_from_pemder_data
            from pyhanko_certvalidator.registry import SimpleCertificateStore

            certificate = next(iter(load_certs_from_pemder_data(key.certificate_pem.encode())))
            chain = list(load_certs_from_pemder_data(key.chain_pem.encode())) if key.chain_pem else []
            private = load_private_key_from_pemder_data(key.encrypted_key_pem.encode(), passphrase())
            signer = _kept_key_signer_class()(certificate, private, SimpleCertificateStore.from_certs(chain))
            _signers[key.pk] = signer
        return signer


@lru_cache(maxsize=1)
def _kept_key_signer_class():
    """pyHanko's SimpleSigner with the private key parsed once.

    SimpleSigner parses and checks the key's DER for every signature; for an RSA key the checks take about
    36 ms, and a PDF is signed twice (a dry run sizes the signature's placeholder first). Here the key is
    loaded once per signer, and the dry run returns zero bytes of the signature's exact length instead of
    signing (what pyHanko's ``dry_run`` flag is for). Mechanisms other than RSA PKCS#1 v1.5, ECDSA and
    Ed25519 go to SimpleSigner unchanged.

    The CMS of an RSA signer's PAdES signature (no timestamp, no extra attributes) differs from one
    document to the next only in the document's digest and the signature value: see
    :meth:`KeptKeySigner.async_sign`, which builds it from parts encoded once (about 2 ms instead of
    pyHanko's 20 ms of asn1crypto work) and checks once per process that it equals pyHanko's own."""
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
    from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
    from pyhanko.sign import signers
    from pyhanko.sign.signers.pdf_cms import PdfCMSSignedAttributes
    from pyhanko_certvalidator.util import get_pyca_cryptography_hash

    class KeptKeySigner(signers.SimpleSigner):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self._private_key = serialization.load_der_private_key(self.signing_key.dump(), password=None)
            self._bytes_reserved = None
            self._cms_parts = None
            self._prebuilt_checked: dict[str, bool] = {}  # digest algorithm → the prebuilt CMS is pyHanko's

        def _prebuilt_applies(self, digest_algorithm, *, dry_run, use_pades, timestamper, signed_attr_settings,
                              is_pdf_sig, encap_content_info) -> bool:
            """The one case the prebuilt CMS covers: a PAdES signature by an RSA key (PKCS#1 v1.5 is
            deterministic, so the check against pyHanko can compare bytes) without a timestamp, revocation
            or CAdES attributes, attribute certificates or extra unsigned attributes."""
            settings = signed_attr_settings
            return (not dry_run and use_pades and timestamper is None and is_pdf_sig and encap_content_info is None
                    and isinstance(self._private_key, rsa.RSAPrivateKey) and not self.attribute_certs
                    and self.unsigned_attr_prov_spec is None and self.signed_attr_prov_spec is None
                    and self.embed_roots and digest_algorithm == "sha256"
                    and (settings is None or (settings.cades_signed_attrs is None
                                              and getattr(settings, "adobe_revinfo_attr", None) is None))
                    and self.get_signature_mechanism_for_digest(digest_algorithm).signature_algo
                    == "rsassa_pkcs1v15")

        def _prebuilt_cms(self, data_digest: bytes, digest_algorithm: str):
            """The CMS pyHanko would make (RFC 5652 SignedData: content-type, message-digest and
            signing-certificate-v2 signed attributes, the signer's certificate and its chain), assembled
            from parts encoded once per signer: only the message digest and the signature are new."""
            from asn1crypto import algos, cms
            from pyhanko.sign.general import as_signing_certificate_v2, simple_cms_attribute

            if self._cms_parts is None:
                cert = self.signing_cert
                self._cms_parts = {
                    "content_type": simple_cms_attribute("content_type", "data").dump(),
                    "signing_certificate": simple_cms_attribute(
                        "signing_certificate_v2", as_signing_certificate_v2(cert)).dump(),
                    "sid": cms.SignerIdentifier({"issuer_and_serial_number": cms.IssuerAndSerialNumber(
                        {"issuer": cert.issuer, "serial_number": cert.serial_number})}).dump(),
                    "mechanism": self.get_signature_mechanism_for_digest(digest_algorithm).dump(),
                    "certificates": [c.dump() for c in [cert, *(self.cert_registry or ())]],
                }
            parts = self._cms_parts
            signed_attrs = cms.CMSAttributes([
                cms.CMSAttribute.load(parts["content_type"]),
                simple_cms_attribute("message_digest", data_digest),
                cms.CMSAttribute.load(parts["signing_certificate"]),
            ])
            signer_info = cms.SignerInfo({
                "version": "v1", "sid": cms.SignerIdentifier.load(parts["sid"]),
                "digest_algorithm": algos.DigestAlgorithm({"algorithm": digest_algorithm}),
                "signature_algorithm": algos.SignedDigestAlgorithm.load(parts["mechanism"]),
                "signed_attrs": signed_attrs, "signature": self.sign_raw(signed_attrs.dump(), digest_algorithm),
            })
            # A SET OF in DER is sorted by encoding: the order given here does not change the bytes.
            certificates = {der: cms.CertificateChoices({"certificate": cms.Certificate.load(der)})
                            for der in parts["certificates"]}
            return cms.ContentInfo({"content_type": "signed_data", "content": cms.SignedData({
                "version": "v1", "digest_algorithms": [algos.DigestAlgorithm({"algorithm": digest_algorithm})],
                "encap_content_info": {"content_type": "data"}, "certificates": list(certificates.values()),
                "signer_infos": [signer_info],
            })})

        async def async_sign(self, data_digest: bytes, digest_algorithm: str, dry_run=False, use_pades=False,
                             timestamper=None, signed_attr_settings=None, is_pdf_sig=True,
                             encap_content_info=None):
            """pyHanko's CMS, or in the case of :meth:`_prebuilt_applies` the same bytes from
            :meth:`_prebuilt_cms`. The first such signature of each process is made both ways and compared
            byte for byte; should they ever differ (another pyHanko version, say), pyHanko's is used from
            then on and a warning logged."""
            arguments = dict(dry_run=dry_run, use_pades=use_pades, timestamper=timestamper,
                             signed_attr_settings=signed_attr_settings, is_pdf_sig=is_pdf_sig,
                             encap_content_info=encap_content_info)
            if not self._prebuilt_applies(digest_algorithm, **arguments):
                return await super().async_sign(data_digest, digest_algorithm, **arguments)
            checked = self._prebuilt_checked.get(digest_algorithm)
            if checked is None:
                reference = await super().async_sign(data_digest, digest_algorithm, **arguments)
                checked = self._prebuilt_cms(data_digest, digest_algorithm).dump() == reference.dump()
                self._prebuilt_checked[digest_algorithm] = checked
                if not checked:
                    logger.warning("The prebuilt CMS differs from pyHanko's: signing through pyHanko only")
                return reference
            if checked:
                return self._prebuilt_cms(data_digest, digest_algorithm)
            return await super().async_sign(data_digest, digest_algorithm, **arguments)

        async def async_sign_raw(self, data: bytes, digest_algorithm: str, dry_run=False) -> bytes:
            key = self._private_key
            if dry_run and isinstance(key, rsa.RSAPrivateKey):
                return bytes((key.key_size + 7) // 8)
            return self.sign_raw(data, digest_algorithm)

        def bytes_reserved(self) -> int:
            """The room pyHanko would reserve for this signer's CMS (its dry run's length as hex, plus its
            50 % margin), worked out once: without a timestamp server the CMS of one signer has the same
            length every time, so the dry run need not be repeated for every document."""
            if self._bytes_reserved is None:
                cms = asyncio.run(self.async_sign(
                    hashes.Hash(hashes.SHA256()).finalize(), "sha256", use_pades=True, dry_run=True,
                    signed_attr_settings=PdfCMSSignedAttributes(signing_time=dt.datetime.now(dt.UTC)),
                ))
                hex_length = len(cms.dump()) * 2
                self._bytes_reserved = hex_length + 2 * (hex_length // 4)
            return self._bytes_reserved

        def sign_raw(self, data: bytes, digest_algorithm: str) -> bytes:
            mechanism = self.get_signature_mechanism_for_digest(digest_algorithm).signature_algo
            key = self._private_key
            if mechanism == "rsassa_pkcs1v15" and isinstance(key, rsa.RSAPrivateKey):
                return key.sign(data, PKCS1v15(), get_pyca_cryptography_hash(digest_algorithm))
            if mechanism == "ecdsa" and isinstance(key, ec.EllipticCurvePrivateKey):
                return key.sign(data, ec.ECDSA(get_pyca_cryptography_hash(digest_algorithm)))
            if mechanism == "ed25519" and isinstance(key, ed25519.Ed25519PrivateKey):
                return key.sign(data)
            return super().sign_raw(data, digest_algorithm)

    return KeptKeySigner


# ------------------------------------------------------------------------------------ seal picture


@lru_cache(maxsize=64)
def _seal_png(organization_id: int, profile_png: bytes, name: str) -> bytes:
    return profile_png or default_seal_png(name)


def default_seal_png(name: str, *, size: int = 496) -> bytes:
    """A red round electronic seal with ``name`` along the top and a star in the middle, on a transparent
    background (the picture used where an organization has not uploaded its own)."""
    import math

    from PIL import Image, ImageDraw, ImageFont

    from .checks import CJK_FONT_FAMILY, find_font_faces

    red = (208, 18, 27, 235)
    image = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    ring = size * 0.035
    draw.ellipse((ring / 2, ring / 2, size - ring / 2, size - ring / 2), outline=red, width=round(ring))
    centre, radius = size / 2, size * 0.19
    points = []
    for i in range(10):
        r = radius if i % 2 == 0 else radius * 0.382
        angle = -math.pi / 2 + i * math.pi / 5
        points.append((centre + r * math.cos(angle), centre + r * math.sin(angle)))
    draw.polygon(points, fill=red)
    faces = [f for f in (find_font_faces(CJK_FONT_FAMILY) or []) if f.weight >= 200] or find_font_faces(CJK_FONT_FAMILY)
    font = ImageFont.truetype(faces[0].path, round(size * 0.105), index=faces[0].index) if faces else None
    text = name[:16]
    span = min(250.0, 20.0 * len(text))  # degrees of arc the name takes, centred at the top
    for i, char in enumerate(text):
        angle = math.radians(-90 - span / 2 + span * (i + 0.5) / len(text))
        glyph = Image.new("RGBA", (round(size * 0.14), round(size * 0.14)), (0, 0, 0, 0))
        ImageDraw.Draw(glyph).text((glyph.width / 2, glyph.height / 2), char, font=font, fill=red, anchor="mm")
        glyph = glyph.rotate(-math.degrees(angle) - 90, resample=Image.BICUBIC, expand=True)
        r = size / 2 - size * 0.13
        x, y = centre + r * math.cos(angle), centre + r * math.sin(angle)
        image.alpha_composite(glyph, (round(x - glyph.width / 2), round(y - glyph.height / 2)))
    buffer = io.BytesIO()
    image.save(buffer, "PNG", optimize=True)
    return buffer.getvalue()


@dataclass(frozen=True)
class _EncodedPicture:
    """A seal picture as the PDF image XObject draws it: its colour samples (RGB) and its alpha channel
    (the soft mask), each already Flate-compressed."""

    width: int
    height: int
    color: bytes
    alpha: bytes | None


@lru_cache(maxsize=16)
def _encoded_picture(png: bytes) -> _EncodedPicture:
    """Decoded and compressed once per process and picture (about 12 ms of CPU that every signature
    otherwise spent on the same PNG); keyed by the PNG's bytes, so a new upload is a new entry."""
    import zlib

    from PIL import Image

    image = Image.open(io.BytesIO(png))
    has_alpha = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
    image = image.convert("RGBA" if has_alpha else "RGB")
    alpha = zlib.compress(image.getchannel("A").tobytes()) if has_alpha else None
    color = zlib.compress(image.convert("RGB").tobytes())
    return _EncodedPicture(image.width, image.height, color, alpha)


def _seal_content(picture: _EncodedPicture):
    """The seal picture as pyHanko content for the signature's appearance (what pyHanko's PdfImage draws,
    from the compressed samples above instead of compressing them again for every document)."""
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.content import PdfContent, ResourceType
    from pyhanko.pdf_utils.generic import pdf_name
    from pyhanko.pdf_utils.layout import BoxConstraints

    def image_stream(samples: bytes, colour_space: str, mask=None):
        entries = {
            pdf_name("/Type"): pdf_name("/XObject"), pdf_name("/Subtype"): pdf_name("/Image"),
            pdf_name("/Width"): generic.NumberObject(picture.width),
            pdf_name("/Height"): generic.NumberObject(picture.height),
            pdf_name("/ColorSpace"): pdf_name(colour_space),
            pdf_name("/BitsPerComponent"): generic.NumberObject(8),
            pdf_name("/Filter"): pdf_name("/FlateDecode"),
        }
        if mask is not None:
            entries[pdf_name("/SMask")] = mask
        return generic.StreamObject(entries, encoded_data=samples)

    class SealPicture(PdfContent):
        _written = None  # (writer, reference): the image is added to each writer once

        def render(self) -> bytes:
            writer = self._ensure_writer
            if self._written is None or self._written[0] is not writer:
                mask = writer.add_object(image_stream(picture.alpha, "/DeviceGray")) if picture.alpha else None
                self._written = (writer, writer.add_object(image_stream(picture.color, "/DeviceRGB", mask)))
            self.set_resource(category=ResourceType.XOBJECT, name=pdf_name("/ImgSeal"), value=self._written[1])
            return b"q %g 0 0 %g 0 0 cm /ImgSeal Do Q" % (self.box.width, self.box.height)

    return SealPicture(box=BoxConstraints(picture.width, picture.height))


def seal_png(organization) -> bytes:
    profile = OrganizationProfile.objects.filter(organization=organization).only("seal_image").first()
    return _seal_png(organization.pk, bytes(profile.seal_image) if profile and profile.seal_image else b"",
                     organization.name)


# ------------------------------------------------------------------------------------------ signing


@dataclass(frozen=True)
class SignedPdf:
    pdf: bytes
    signer: str
    signed_at: dt.datetime


def sign_pdf(pdf: bytes, *, organization, seal: SealArea | None, reason: str = "") -> SignedPdf:
    """Sign ``pdf`` with ``organization``'s active key (PAdES B-B, SHA-256), the seal picture drawn in
    ``seal`` (no visible widget without one). Raises :class:`NoSigningKey` without an active key."""
    key = active_key(organization.pk)
    if key is None:
        raise NoSigningKey(organization.pk)
    return _sign(pdf, _signer(key), name=organization.name, seal=seal,
                 picture_png=seal_png(organization) if seal is not None else b"", reason=reason)


def _sign(pdf: bytes, signer, *, name: str, seal: SealArea | None, picture_png: bytes, reason: str) -> SignedPdf:
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers
    from pyhanko.stamp import StaticStampStyle

    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    if seal is not None:
        field_spec = fields.SigFieldSpec(FIELD_NAME, on_page=seal.page, box=(seal.x0, seal.y0, seal.x1, seal.y1))
        picture = _seal_content(_encoded_picture(picture_png))
        style = StaticStampStyle(background=picture, border_width=0, background_opacity=1.0)
    else:
        field_spec, style = fields.SigFieldSpec(FIELD_NAME), None
    signed_at = dt.datetime.now(dt.UTC).replace(microsecond=0)
    meta = signers.PdfSignatureMetadata(
        field_name=FIELD_NAME, subfilter=fields.SigSeedSubFilter.PADES, md_algorithm="sha256",
        reason=reason or None, name=name, location=None,
    )
    out = signers.PdfSigner(meta, signer=signer, stamp_style=style, new_field_spec=field_spec).sign_pdf(
        writer, bytes_reserved=signer.bytes_reserved())
    return SignedPdf(out.getvalue(), signer.signing_cert.subject.human_friendly, signed_at)


def signers_preload(*, level: str = "province") -> int:
    """Decrypt the active keys of the organizations of ``level`` (those that sign certificates) into this
    process's signer cache; returns how many. The worker's main process does it before the pool forks, so
    that no pool process spends the key's scrypt (about 0.5 s of CPU each) on its first certificate."""
    keys = list(SigningKey.objects.filter(active=True, organization__level=level))
    for key in keys:
        _signer(key)
    return len(keys)


def sign_throwaway(pdf: bytes, seal: SealArea | None) -> SignedPdf:
    """Sign ``pdf`` with a key made for the purpose and forgotten (a pool process's warm-up: pyHanko's
    modules and the PDF writer are loaded before the first real certificate). Touches no database."""
    from asn1crypto import keys as asn1_keys
    from asn1crypto import x509 as asn1_x509
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID
    from pyhanko_certvalidator.registry import SimpleCertificateStore

    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "warm-up")])
    now = dt.datetime.now(dt.UTC)
    certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(private.public_key())
                   .serial_number(x509.random_serial_number()).not_valid_before(now)
                   .not_valid_after(now + dt.timedelta(hours=1)).sign(private, hashes.SHA256()))
    der = serialization.Encoding.DER
    signer = _kept_key_signer_class()(
        asn1_x509.Certificate.load(certificate.public_bytes(der)),
        asn1_keys.PrivateKeyInfo.load(private.private_bytes(der, serialization.PrivateFormat.PKCS8,
                                                            serialization.NoEncryption())),
        SimpleCertificateStore(),
    )
    return _sign(pdf, signer, name="warm-up", seal=seal, picture_png=default_seal_png("warm-up", size=64) if seal
                 else b"", reason="")


def sign_rendered(rendered, *, organization, reason: str = "") -> bytes:
    """The signed PDF of a render if ``organization`` has a key, else the render's PDF unchanged."""
    try:
        return sign_pdf(rendered.pdf, organization=organization,
                        seal=rendered.seal_areas[-1] if rendered.seal_areas else None, reason=reason).pdf
    except NoSigningKey:
        return rendered.pdf


# --------------------------------------------------------------------------------------- validation


@lru_cache(maxsize=1)
def trust_roots() -> tuple:
    """The CA certificates of every stored key's chain (the self-signed ones): what validation trusts."""
    from pyhanko.keys import load_certs_from_pemder_data

    roots = {}
    for chain_pem in SigningKey.objects.exclude(chain_pem="").values_list("chain_pem", flat=True).distinct():
        for cert in load_certs_from_pemder_data(chain_pem.encode()):
            if cert.self_signed:
                roots[cert.sha256] = cert
    return tuple(roots.values())


@dataclass(frozen=True)
class SignatureCheck:
    """What a signature check found: ``state`` is "valid", "untrusted" (intact, unknown signer),
    "invalid" (broken or altered after signing) or "unsigned"."""

    state: str
    signer: str = ""
    signed_at: dt.datetime | None = None
    detail: str = ""


def validate_pdf(data: bytes) -> SignatureCheck:
    """Validate the last signature of ``data`` against :func:`trust_roots`; never raises on bad input."""
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext

    try:
        reader = PdfFileReader(io.BytesIO(data), strict=False)
        signatures = reader.embedded_signatures
    except Exception as exc:  # noqa: BLE001 - any unreadable upload is "not a signed PDF"
        return SignatureCheck("invalid", detail=f"unreadable PDF: {exc.__class__.__name__}")
    if not signatures:
        return SignatureCheck("unsigned")
    signature = signatures[-1]
    try:
        status = validate_pdf_signature(signature, ValidationContext(trust_roots=list(trust_roots()),
                                                                     allow_fetching=False))
    except Exception as exc:  # noqa: BLE001 - a malformed signature is an invalid one
        return SignatureCheck("invalid", detail=f"{exc.__class__.__name__}: {exc}"[:200])
    signer = status.signing_cert.subject.human_friendly if status.signing_cert else ""
    signed_at = status.signer_reported_dt
    covers_all = status.coverage is not None and status.coverage.name == "ENTIRE_FILE"
    if not (status.intact and status.valid) or not covers_all:
        return SignatureCheck("invalid", signer, signed_at, status.summary())
    if not status.trusted:
        return SignatureCheck("untrusted", signer, signed_at, status.summary())
    return SignatureCheck("valid", signer, signed_at, status.summary())
