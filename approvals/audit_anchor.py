"""The audit trail's anchor outside the database: the signing key, the digest files (added to a folder where
no file is ever replaced), reading and checking them, and who may download them. The writer is
approvals.audit_services; the comparison with the chains, selectors.audit_verify. Threat model and file
format: docs/audit.md.

Ed25519 rather than HMAC: the digests are handed to auditors, and with Ed25519 they check them with the
public key alone, which lets nobody sign. With HMAC whoever can check a digest holds the secret that forges one.
"""
from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import os
import re
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import connection, transaction
from django.utils.translation import gettext as _

FORMAT = "kexie-audit-digest/1"
NAME = "digest-{:06d}.txt"
NAME_RE = re.compile(r"digest-(\d{6,})\.txt")
SIGNATURE_PREFIX = b"ed25519 "
HEADER_KEYS = {"format", "number", "as_of", "previous_sha256", "key_id", "applications", "note", "verification"}


class DigestError(Exception):
    """The digests themselves are missing, altered, unreadable or signed by another key (a Chinese message)."""


class DigestRefused(Exception):
    """The chains do not agree with the latest digest: signing them now would anchor the tampering."""


@dataclass(frozen=True)
class Digest:
    number: int
    as_of: dt.datetime
    previous_sha256: str
    key_id: str
    note: str
    verification: str
    applications: int
    path: Path
    sha256: str  # of the whole file: what the next digest links
    size: int
    heads: dict[int, tuple[int, str]] | None = None  # application id -> (seq, head); read for the latest


# ------------------------------------------------------------------------------------------------- key


def signing_key() -> Ed25519PrivateKey:
    """The key from AUDIT_SIGNING_KEY_FILE; the local and test settings make one where it is missing."""
    path = Path(settings.AUDIT_SIGNING_KEY_FILE)
    if settings.AUDIT_SIGNING_KEY_CREATE and not path.exists():
        key = Ed25519PrivateKey.generate()
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
        try:
            _publish(path, pem, mode=0o600)
        except FileExistsError:  # another process made it first: use that one
            pass
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as exc:
        raise ImproperlyConfigured(f"AUDIT_SIGNING_KEY_FILE {path}: {exc}") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise ImproperlyConfigured(f"AUDIT_SIGNING_KEY_FILE {path}: not an Ed25519 key")
    return key


def public_key_pem() -> bytes:
    return signing_key().public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def key_id(key: Ed25519PrivateKey | None = None) -> str:
    """The key's fingerprint: SHA-256 of the raw 32-byte public key, in hex (auditors note it once)."""
    raw = (key or signing_key()).public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()


# ----------------------------------------------------------------------------------------------- files


def _publish(final: Path, data: bytes, *, mode: int) -> None:
    """Create `final` with `data`, or raise FileExistsError. Written to a hidden file first and then linked,
    so that nobody ever sees half a file, and the link fails rather than replace an existing one."""
    final.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=final.parent, prefix=".", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.link(tmp, final)
    finally:
        os.unlink(tmp)
    folder = os.open(final.parent, os.O_RDONLY)
    try:
        os.fsync(folder)  # the new name survives a crash
    finally:
        os.close(folder)


def digest_dir(directory=None) -> Path:
    return Path(directory if directory is not None else settings.AUDIT_DIGEST_DIR)


def digest_files(directory=None) -> list[tuple[int, Path]]:
    """(number, path) of the digest files, by number; other files (and half-written hidden ones) are not."""
    folder = digest_dir(directory)
    if not folder.is_dir():
        return []
    found = []
    for path in folder.iterdir():
        match = NAME_RE.fullmatch(path.name)
        if match and path.name == NAME.format(int(match[1])):
            found.append((int(match[1]), path))
    return sorted(found)


def digest_read(path: Path, *, heads: bool = False) -> tuple[Digest, bytes, bytes]:
    """One digest file: (the digest, the signed bytes, the signature). Raises DigestError."""
    data = path.read_bytes()
    lines = data.split(b"\n")
    broken = DigestError(_("签名摘要 %(name)s 格式不符，无法读取（文件被截断或改动）") % {"name": path.name})
    if len(lines) != 4 or lines[3] != b"" or not lines[2].startswith(SIGNATURE_PREFIX):
        raise broken
    try:
        header = json.loads(lines[0])
        signature = base64.b64decode(lines[2][len(SIGNATURE_PREFIX):], validate=True)
        as_of = dt.datetime.fromisoformat(header["as_of"])
        table = None
        if heads:
            table = {int(app): (int(seq), str(head)) for app, seq, head in json.loads(lines[1])}
        if set(header) != HEADER_KEYS or header["format"] != FORMAT or as_of.tzinfo is None:
            raise ValueError(header)
        digest = Digest(
            number=int(header["number"]), as_of=as_of, previous_sha256=str(header["previous_sha256"]),
            key_id=str(header["key_id"]), note=str(header["note"]), verification=str(header["verification"]),
            applications=int(header["applications"]), path=path, sha256=hashlib.sha256(data).hexdigest(),
            size=len(data), heads=table,
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise broken from exc
    return digest, lines[0] + b"\n" + lines[1] + b"\n", signature


def digests_check(directory=None) -> Digest | None:
    """Check the folder: digests numbered 1..n without a gap, each linking the SHA-256 of the one before, in
    time order, the latest signed by this system's key (which vouches for all before it through the links).
    Return the latest with its heads, or None when none was written yet. Raises DigestError."""
    entries = digest_files(directory)
    previous = None
    for expected, (number, path) in enumerate(entries, start=1):
        if number != expected:
            raise DigestError(_("签名摘要 #%(n)s 缺失（其后有 #%(next)s）：摘要被删除") % {"n": expected, "next": number})
        latest = expected == len(entries)
        digest, signed, signature = digest_read(path, heads=latest)
        if digest.number != number:
            raise DigestError(_("签名摘要 %(name)s 的内容是第 %(n)s 份：文件被改名") % {
                "name": path.name, "n": digest.number})
        if digest.previous_sha256 != (previous.sha256 if previous else ""):
            raise DigestError(_("签名摘要 #%(n)s 记录的前一份摘要哈希不符：#%(prev)s 被改动或替换") % {
                "n": number, "prev": number - 1})
        if previous and digest.as_of < previous.as_of:
            raise DigestError(_("签名摘要 #%(n)s 的时间早于 #%(prev)s") % {"n": number, "prev": number - 1})
        previous = digest
    if previous is None:
        return None
    key = signing_key()
    if digest.key_id != key_id(key):
        raise DigestError(_("最新签名摘要 #%(n)s 不是用本系统的密钥签名的（密钥指纹 %(theirs)s，本系统 %(ours)s）") % {
            "n": digest.number, "theirs": digest.key_id[:16], "ours": key_id(key)[:16]})
    try:
        key.public_key().verify(signature, signed)
    except InvalidSignature:
        raise DigestError(_("最新签名摘要 #%(n)s 的签名无效：内容被改动或伪造") % {"n": digest.number}) from None
    return digest


@contextmanager
def consistent_read():
    """Every read inside sees one state of the database. Otherwise an action committed between reading the
    heads and walking the events looks like a broken chain, and a digest could sign heads it never checked.
    PostgreSQL: one REPEATABLE READ snapshot (when not already inside a transaction, where the isolation can
    no longer be set). SQLite (embedded default): the transaction holds the write lock while it reads."""
    outermost = not connection.in_atomic_block
    with transaction.atomic():
        if outermost and connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        yield


# ------------------------------------------------------------------------------------- adding, listing


def digest_add(*, heads: list[tuple[int, int, str]], as_of: dt.datetime, note: str = "",
               verification: str = "", directory=None) -> Digest:
    """Sign (application id, seq, head) rows as the next digest, linking the newest file, and add it.
    `directory`: another folder of digests (the security log's: one row, id 0, for its single chain).
    Raises FileExistsError when another writer took the number meanwhile (the caller checks again)."""
    key = signing_key()
    entries = digest_files(directory)
    number = entries[-1][0] + 1 if entries else 1
    header = {
        "format": FORMAT, "number": number, "as_of": as_of.astimezone(dt.UTC).isoformat(timespec="microseconds"),
        "previous_sha256": hashlib.sha256(entries[-1][1].read_bytes()).hexdigest() if entries else "",
        "key_id": key_id(key), "applications": len(heads), "note": note, "verification": verification,
    }
    body = (json.dumps(header, ensure_ascii=False, sort_keys=True, separators=(",", ":")) + "\n"
            + json.dumps([list(h) for h in heads], separators=(",", ":")) + "\n").encode("utf-8")
    path = digest_dir(directory) / NAME.format(number)
    _publish(path, body + SIGNATURE_PREFIX + base64.b64encode(key.sign(body)) + b"\n", mode=0o444)
    return digest_read(path)[0]


def digest_latest_written() -> Digest | None:
    """The newest digest file's header, unchecked (for the nightly task's "already done" test)."""
    entries = digest_files()
    if not entries:
        return None
    try:
        return digest_read(entries[-1][1])[0]
    except DigestError:
        return None


def digests_listed(directory=None) -> list[Digest]:
    """Every digest file, newest first, as far as it can be read (the download page)."""
    listed = []
    for _number, path in reversed(digest_files(directory)):
        try:
            listed.append(digest_read(path)[0])
        except DigestError:
            continue
    return listed

