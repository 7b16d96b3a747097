"""A local certificate authority for the demo and the tests: a self-signed root and one signing
certificate per organization, made with ``cryptography``. Production never uses it: it imports each
organization's PKCS#12 issued by a real CA (printing.signing.signing_key_import_pkcs12)."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

from django.conf import settings

CA_NAME = "科协试点演示 CA（仅供演示，不可信）"
_KEY_BITS = 2048


def _name(common_name: str):
    from cryptography.x509 import Name, NameAttribute
    from cryptography.x509.oid import NameOID

    return Name([NameAttribute(NameOID.COUNTRY_NAME, "CN"), NameAttribute(NameOID.ORGANIZATION_NAME, common_name),
                 NameAttribute(NameOID.COMMON_NAME, common_name)])


def _ca_paths() -> tuple[Path, Path]:
    folder = Path(settings.PRIVATE_STORAGE_ROOT) / "signing"
    return folder / "demo-ca.pem", folder / "demo-ca-key.pem"


def demo_ca():
    """(certificate, private key) of the local CA, made on first use and kept as files beside the issued
    PDFs; its key is encrypted with SIGNING_KEY_PASSPHRASE like every other."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    from .signing import encrypt_private_key, passphrase

    cert_path, key_path = _ca_paths()
    if cert_path.exists() and key_path.exists():
        certificate = x509.load_pem_x509_certificate(cert_path.read_bytes())
        key = serialization.load_pem_private_key(key_path.read_bytes(), passphrase())
        return certificate, key
    key = rsa.generate_private_key(public_exponent=65537, key_size=_KEY_BITS)
    now = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
    name = _name(CA_NAME)
    certificate = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now).not_valid_after(now + dt.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
                                     encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path.parent.mkdir(parents=True, exist_ok=True)
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_text(encrypt_private_key(key))
    key_path.chmod(0o600)
    return certificate, key


def demo_signing_key(organization, *, days: int = 3 * 365, not_before: dt.datetime | None = None, key=None):
    """Issue and store a signing key for ``organization`` under the local CA (an RSA key unless ``key``
    is given); returns the SigningKey."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import rsa

    from .signing import signing_key_store

    ca_cert, ca_key = demo_ca()
    key = key or rsa.generate_private_key(public_exponent=65537, key_size=_KEY_BITS)
    start = not_before or dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
    certificate = (
        x509.CertificateBuilder().subject_name(_name(organization.name)).issuer_name(ca_cert.subject)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(start).not_valid_after(start + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=True, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False, key_cert_sign=False,
                                     crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    return signing_key_store(organization=organization, certificate=certificate, private_key=key, chain=[ca_cert])
