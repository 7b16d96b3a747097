"""Backup and restore (docs/operations.md): a pg_dump of the database and a copy of the private file storage,
restored into a fresh database, lose nothing: the audit chains verify against the latest signed digest,
the security log's chain verifies against its own latest signed digest, and every attachment's file is
there with its hash."""
import hashlib
import shutil
import subprocess

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection, connections
from django.test import Client

from approvals.attachments import attachment_path
from approvals.audit_anchor import digests_check
from approvals.models import Attachment
from approvals.selectors import audit_verify
from security.selectors import security_verify
from tests.approvals.chain import create, to_province_check
from tests.approvals.conftest import world  # noqa: F401  (the `world` fixture)
from tests.factories import TEST_PASSWORD

pytestmark = pytest.mark.skipif(not settings.DATABASES["default"]["ENGINE"].endswith("postgresql"),
                                reason="pg_dump and pg_restore need PostgreSQL")


def _pg_env(db: dict) -> tuple[list[str], dict]:
    args = ["-h", db.get("HOST") or "127.0.0.1", "-p", str(db.get("PORT") or 5432), "-U", db.get("USER") or "postgres"]
    return args, {"PGPASSWORD": db.get("PASSWORD") or ""}


@pytest.mark.django_db(transaction=True)
def test_a_dump_and_the_files_restored_into_a_fresh_database_verify(world, tmp_path, settings):  # noqa: F811
    application = to_province_check(world, create(world, "society-service-station"), "langya")
    Client(REMOTE_ADDR="203.0.113.40").post("/accounts/login/", {"username": "anhui_reviewer",
                                                                  "password": TEST_PASSWORD})
    call_command("write_audit_digest", verbosity=0)
    call_command("write_security_digest", verbosity=0)
    anchor = digests_check(settings.SECURITY_DIGEST_DIR).heads[0]
    assert anchor[0] > 0 and audit_verify()[0] and security_verify(anchor=anchor)[0]
    files = {a.pk: hashlib.sha256(attachment_path(a).read_bytes()).hexdigest()
             for a in Attachment.objects.filter(application=application)}
    assert files

    db = dict(connection.settings_dict)
    args, env = _pg_env(db)
    env = {**env, "PATH": "/usr/bin:/bin"}
    dump = tmp_path / "kexie.dump"
    subprocess.run(["pg_dump", *args, "-Fc", "-f", str(dump), db["NAME"]], check=True, env=env)
    storage = tmp_path / "private-restored"
    shutil.copytree(settings.PRIVATE_STORAGE_ROOT, storage)

    scratch = f"{db['NAME']}_restore"
    subprocess.run(["psql", *args, "-d", "postgres", "-c", f'DROP DATABASE IF EXISTS "{scratch}"'], check=True,
                   env=env, capture_output=True)
    subprocess.run(["psql", *args, "-d", "postgres", "-c", f'CREATE DATABASE "{scratch}"'], check=True, env=env,
                   capture_output=True)
    try:
        subprocess.run(["pg_restore", *args, "--no-owner", "-d", scratch, str(dump)], check=True, env=env)
        connections["default"].close()
        connection.settings_dict["NAME"] = scratch
        settings.PRIVATE_STORAGE_ROOT = storage
        try:
            assert connection.cursor().connection.info.dbname == scratch
            ok, message = audit_verify()
            assert ok, message
            ok, message = security_verify(anchor=digests_check(settings.SECURITY_DIGEST_DIR).heads[0])
            assert ok and "与签名摘要" in message, message
            restored = {a.pk: hashlib.sha256(attachment_path(a).read_bytes()).hexdigest()
                        for a in Attachment.objects.filter(application_id=application.pk)}
            assert restored == files
            assert str(attachment_path(Attachment.objects.get(pk=min(files)))).startswith(str(storage))
        finally:
            connections["default"].close()
            connection.settings_dict["NAME"] = db["NAME"]
    finally:
        subprocess.run(["psql", *args, "-d", "postgres", "-c", f'DROP DATABASE IF EXISTS "{scratch}"'],
                       check=True, env=env, capture_output=True)
