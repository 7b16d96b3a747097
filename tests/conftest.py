"""Shared pytest configuration."""
import pytest


@pytest.fixture(scope="session")
def _audit_signing_key(tmp_path_factory):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    path = tmp_path_factory.mktemp("audit-key") / "audit-signing-key.pem"
    path.write_bytes(Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    return path


@pytest.fixture(autouse=True)
def _audit_digests(settings, tmp_path, _audit_signing_key):
    """Each test has its own digest folder: a digest left by another test names applications of a database
    that was rolled back."""
    settings.AUDIT_DIGEST_DIR = tmp_path / "audit-digests"
    settings.SECURITY_DIGEST_DIR = tmp_path / "security-digests"
    settings.AUDIT_SIGNING_KEY_FILE = _audit_signing_key
    settings.AUDIT_SIGNING_KEY_CREATE = False
