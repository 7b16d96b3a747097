"""Production settings have no silent defaults: each required variable missing or malformed stops the import
of config.settings.production (a fresh interpreter each time, as a start would) with a message naming it."""
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

BASE_DIR = Path(__file__).resolve().parent.parent.parent
SHOW = ("import config.settings.production as s; d = s.DATABASES['default']; "
        "print(d['ENGINE'], d['NAME'], s.CELERY_BROKER_URL, s.PUBLIC_BASE_URL, s.AUDIT_SIGNING_KEY_FILE, sep='|')")


def pem(key, password=None) -> bytes:
    encryption = serialization.BestAvailableEncryption(password) if password else serialization.NoEncryption()
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)


@pytest.fixture
def key_file(tmp_path) -> Path:
    path = tmp_path / "audit-signing-key.pem"
    path.write_bytes(pem(Ed25519PrivateKey.generate()))
    return path


@pytest.fixture
def valid(tmp_path, key_file) -> dict:
    return {
        "DJANGO_SECRET_KEY": "production-test-" + "k" * 50, "DJANGO_ALLOWED_HOSTS": "kexie.example.org",
        "DATABASE_URL": "postgres://kexie:secret@db.example:5432/kexie",
        "CELERY_BROKER_URL": "redis://redis.example:6379/0",
        "PUBLIC_BASE_URL": "https://kexie.example.org", "AUDIT_SIGNING_KEY_FILE": str(key_file),
        "APP_VAR_DIR": str(tmp_path / "var"), "SIGNING_KEY_PASSPHRASE": "production-test-passphrase",
    }


def start(variables: dict) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "CELERY_BROKER_URL", "PUBLIC_BASE_URL",
                                                            "AUDIT_SIGNING_KEY_FILE", "SIGNING_KEY_PASSPHRASE",
                                                            "DJANGO_SETTINGS_MODULE"}}
    env.update({k: v for k, v in variables.items() if v is not None})
    return subprocess.run([sys.executable, "-c", SHOW], cwd=BASE_DIR, env=env, capture_output=True, text=True,
                          timeout=60)


def refused(result) -> str:
    """The ImproperlyConfigured message the start died with."""
    assert result.returncode == 1, result.stdout + result.stderr
    last = result.stderr.strip().splitlines()[-1]
    prefix = "django.core.exceptions.ImproperlyConfigured: "
    assert last.startswith(prefix), result.stderr
    return last[len(prefix):]


def test_the_settings_load_with_every_variable_set(valid, key_file):
    result = start(valid)
    assert (result.returncode, result.stdout.strip()) == (0, "|".join([
        "django.db.backends.postgresql", "kexie", "redis://redis.example:6379/0", "https://kexie.example.org",
        str(key_file)]))


def test_an_explicit_sqlite_file_and_rabbitmq_are_accepted(valid, tmp_path, key_file):
    result = start({**valid, "DATABASE_URL": f"sqlite:///{tmp_path}/kexie.sqlite3",
                    "CELERY_BROKER_URL": "amqp://kexie:secret@rabbit.example:5672//",
                    "PUBLIC_BASE_URL": "https://kexie.example.org:8443/pilot"})
    assert (result.returncode, result.stdout.strip()) == (0, "|".join([
        "django.db.backends.sqlite3", f"{tmp_path}/kexie.sqlite3", "amqp://kexie:secret@rabbit.example:5672//",
        "https://kexie.example.org:8443/pilot", str(key_file)]))


@pytest.mark.parametrize("name, example", [
    ("DATABASE_URL", "postgres://user:password@db.example:5432/kexie"),
    ("CELERY_BROKER_URL", "redis://redis.example:6379/0 or amqp://user:password@rabbit.example:5672//"),
    ("PUBLIC_BASE_URL", "https://kexie.example.org"),
    ("AUDIT_SIGNING_KEY_FILE",
     "/etc/kexie/audit-signing-key.pem, made with: openssl genpkey -algorithm ed25519 -out FILE"),
])
@pytest.mark.parametrize("value", [None, "", "  "])
def test_a_missing_variable_stops_the_start_naming_it(valid, name, example, value):
    assert refused(start({**valid, name: value})) == (
        f"Set the {name} environment variable (e.g. {example}); production has no default.")


DB_EXAMPLE = "postgres://user:password@db.example:5432/kexie"
BROKER_EXAMPLE = "redis://redis.example:6379/0 or amqp://user:password@rabbit.example:5672//"
URL_EXAMPLE = "https://kexie.example.org"


@pytest.mark.parametrize("name, value, why, example", [
    ("DATABASE_URL", "mysql://kexie@db.example/kexie", "not a PostgreSQL or SQLite URL", DB_EXAMPLE),
    ("DATABASE_URL", "db.example/kexie", "not a PostgreSQL or SQLite URL", DB_EXAMPLE),
    ("DATABASE_URL", "postgres://kexie@db.example:port/kexie", "Port could not be cast to integer value as 'port'",
     DB_EXAMPLE),
    ("DATABASE_URL", "postgres://kexie@db.example:5432/", "no database name", DB_EXAMPLE),
    ("DATABASE_URL", "sqlite://", "no database name", DB_EXAMPLE),
    ("CELERY_BROKER_URL", "filesystem://",
     "not a Redis or RabbitMQ URL (the embedded broker serves one machine only)", BROKER_EXAMPLE),
    ("CELERY_BROKER_URL", "redis.example:6379",
     "not a Redis or RabbitMQ URL (the embedded broker serves one machine only)", BROKER_EXAMPLE),
    ("CELERY_BROKER_URL", "redis:///0", "no host", BROKER_EXAMPLE),
    ("CELERY_BROKER_URL", "redis://redis.example:six/0", "Port could not be cast to integer value as 'six'",
     BROKER_EXAMPLE),
    ("PUBLIC_BASE_URL", "http://kexie.example.org", "not an https:// address", URL_EXAMPLE),
    ("PUBLIC_BASE_URL", "kexie.example.org", "not an https:// address", URL_EXAMPLE),
    ("PUBLIC_BASE_URL", "https://", "no host", URL_EXAMPLE),
    ("PUBLIC_BASE_URL", "https://127.0.0.1:8000", "a loopback host is unreachable from a scanned certificate",
     URL_EXAMPLE),
    ("PUBLIC_BASE_URL", "https://localhost", "a loopback host is unreachable from a scanned certificate",
     URL_EXAMPLE),
    ("PUBLIC_BASE_URL", "https://[::1]/", "a loopback host is unreachable from a scanned certificate", URL_EXAMPLE),
    ("PUBLIC_BASE_URL", "https://0.0.0.0", "a loopback host is unreachable from a scanned certificate", URL_EXAMPLE),
    ("PUBLIC_BASE_URL", "https://kexie.example.org/?next=1",
     "a query or fragment does not belong in a base address", URL_EXAMPLE),
])
def test_a_malformed_variable_stops_the_start_naming_it(valid, name, value, why, example):
    assert refused(start({**valid, name: value})) == f"{name} is malformed ({why}): {value!r}; expected e.g. {example}."


KEY_EXAMPLE = "/etc/kexie/audit-signing-key.pem, made with: openssl genpkey -algorithm ed25519 -out FILE"


def test_a_missing_key_file_stops_the_start(valid, tmp_path):
    value = str(tmp_path / "nowhere.pem")
    assert refused(start({**valid, "AUDIT_SIGNING_KEY_FILE": value})) == (
        f"AUDIT_SIGNING_KEY_FILE is malformed (No such file or directory): {value!r}; expected e.g. {KEY_EXAMPLE}.")


def test_a_key_file_that_is_not_an_ed25519_private_key_stops_the_start(valid, tmp_path):
    garbage, rsa_key, locked = tmp_path / "garbage.pem", tmp_path / "rsa.pem", tmp_path / "locked.pem"
    garbage.write_text("not a key\n")
    rsa_key.write_bytes(pem(rsa.generate_private_key(public_exponent=65537, key_size=2048)))
    locked.write_bytes(pem(Ed25519PrivateKey.generate(), password=b"secret"))
    for path, why in [(garbage, "not an unencrypted PEM private key"), (rsa_key, "not an Ed25519 key"),
                      (locked, "not an unencrypted PEM private key")]:
        message = refused(start({**valid, "AUDIT_SIGNING_KEY_FILE": str(path)}))
        assert message.startswith(f"AUDIT_SIGNING_KEY_FILE is malformed ({why}"), message
        assert message.endswith(f": {str(path)!r}; expected e.g. {KEY_EXAMPLE}."), message
