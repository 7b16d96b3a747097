"""Production's required environment variables, read and checked: a missing or malformed one stops the
start with ImproperlyConfigured naming it, instead of the embedded defaults that base.py falls back to.

The messages are for whoever deploys, printed before Django (and its translations) is set up, so they are
in English like django-environ's own ("Set the DJANGO_SECRET_KEY environment variable").
"""
import ipaddress
import os
from pathlib import Path
from urllib.parse import urlsplit

import environ
from django.core.exceptions import ImproperlyConfigured

# The engines the suite runs on; PostgreSQL is the one for several machines (README).
DATABASE_ENGINES = {"django.db.backends.postgresql", "django.db.backends.sqlite3"}
# Brokers that several machines can share; filesystem:// and memory:// are the embedded, one-machine kinds.
BROKER_SCHEMES = {"redis", "rediss", "amqp", "amqps", "pyamqp", "sentinel"}


def _value(name: str, example: str) -> str:
    value = os.environ.get(name, "").strip()
    if not value:
        raise ImproperlyConfigured(f"Set the {name} environment variable (e.g. {example}); production has no default.")
    return value


def _malformed(name: str, value: str, why: str, example: str) -> ImproperlyConfigured:
    return ImproperlyConfigured(f"{name} is malformed ({why}): {value!r}; expected e.g. {example}.")


def database_url(name: str = "DATABASE_URL") -> str:
    example = "postgres://user:password@db.example:5432/kexie"
    value = _value(name, example)
    try:
        config = environ.Env.db_url_config(value)
    except (ValueError, KeyError) as exc:
        raise _malformed(name, value, str(exc) or "unreadable", example) from None
    if config.get("ENGINE") not in DATABASE_ENGINES:
        raise _malformed(name, value, "not a PostgreSQL or SQLite URL", example)
    if not config.get("NAME") or config["NAME"] == ":memory:":
        raise _malformed(name, value, "no database name", example)
    return value


def broker_url(name: str = "CELERY_BROKER_URL") -> str:
    example = "redis://redis.example:6379/0 or amqp://user:password@rabbit.example:5672//"
    value = _value(name, example)
    try:
        parts = urlsplit(value)
        _ = parts.port  # raises ValueError on a port that is not a number
    except ValueError as exc:
        raise _malformed(name, value, str(exc), example) from None
    if parts.scheme not in BROKER_SCHEMES:
        raise _malformed(name, value, "not a Redis or RabbitMQ URL (the embedded broker serves one machine only)",
                         example)
    if not parts.hostname:
        raise _malformed(name, value, "no host", example)
    return value


def public_base_url(name: str = "PUBLIC_BASE_URL") -> str:
    """The address printed into certificates' QR codes, which last for years: HTTPS (production assumes it)
    and a host that others can reach."""
    example = "https://kexie.example.org"
    value = _value(name, example)
    try:
        parts = urlsplit(value)
        _ = parts.port
    except ValueError as exc:
        raise _malformed(name, value, str(exc), example) from None
    if parts.scheme != "https":
        raise _malformed(name, value, "not an https:// address", example)
    host = parts.hostname or ""
    if not host:
        raise _malformed(name, value, "no host", example)
    if parts.query or parts.fragment:
        raise _malformed(name, value, "a query or fragment does not belong in a base address", example)
    try:
        loopback = ipaddress.ip_address(host).is_loopback or ipaddress.ip_address(host).is_unspecified
    except ValueError:
        loopback = host == "localhost" or host.endswith(".localhost")
    if loopback:
        raise _malformed(name, value, "a loopback host is unreachable from a scanned certificate", example)
    return value


def audit_signing_key_file(name: str = "AUDIT_SIGNING_KEY_FILE") -> Path:
    """The Ed25519 private key that signs the audit digests (docs/audit.md), loaded once here so that a wrong
    file stops the start rather than the first nightly digest."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    example = "/etc/kexie/audit-signing-key.pem, made with: openssl genpkey -algorithm ed25519 -out FILE"
    value = _value(name, example)
    path = Path(value)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise _malformed(name, value, exc.strerror or str(exc), example) from None
    try:
        key = load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise _malformed(name, value, f"not an unencrypted PEM private key: {exc}", example) from None
    if not isinstance(key, Ed25519PrivateKey):
        raise _malformed(name, value, "not an Ed25519 key", example)
    return path
