"""Attachment files: type recognised by content (magic bytes), stored outside served media under
generated names."""
import zipfile
from io import BytesIO
from pathlib import Path

from django.conf import settings

# Office Open XML files are ZIP archives; the part inside tells which kind.
_OOXML_PARTS = {
    "word/document.xml": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xl/workbook.xml": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def sniff_content_type(content: bytes) -> str | None:
    """The MIME type of an allowed format recognised from the first bytes, or None."""
    if content.startswith(b"%PDF-"):
        return "application/pdf"
    if content.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if content.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if content.startswith(b"PK\x03\x04"):
        try:
            names = set(zipfile.ZipFile(BytesIO(content)).namelist())
        except zipfile.BadZipFile:
            return None
        for part, mime in _OOXML_PARTS.items():
            if part in names:
                return mime
    return None


def attachment_path(attachment) -> Path:
    root = Path(settings.PRIVATE_STORAGE_ROOT)
    return root / "attachments" / str(attachment.application_id) / attachment.storage_key


def store_file(attachment, content: bytes) -> Path:
    path = attachment_path(attachment)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".part")
    tmp.write_bytes(content)
    tmp.replace(path)
    return path


def read_file(attachment) -> bytes:
    return attachment_path(attachment).read_bytes()
