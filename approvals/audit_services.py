"""Writing the nightly signed digest of the audit chains (docs/audit.md): check, then sign what was checked."""
import logging

from django.utils import timezone
from django.utils.translation import gettext as _

from .audit_anchor import Digest, DigestError, DigestRefused, consistent_read, digest_add
from .models import Application
from .selectors import audit_verify

logger = logging.getLogger(__name__)


def audit_digest_write(*, note: str = "", force: bool = False) -> Digest:
    """Check every chain against the latest digest, then sign the heads that were checked (one snapshot) and
    add them as the next digest. Refuses (DigestRefused, nothing written) when the check fails, unless
    `force`, which records the failure and the note in the digest (a restore from backup, a new key)."""
    for _attempt in range(3):
        with consistent_read():
            as_of = timezone.now()
            ok, message = audit_verify(check_age=False)  # an overdue digest must not block the next one
            if not ok and not force:
                raise DigestRefused(message)
            heads = list(Application.objects.order_by("pk").values_list("pk", "audit_seq", "audit_head"))
        try:
            digest = digest_add(heads=heads, as_of=as_of, note=note, verification="" if ok else message)
        except FileExistsError:
            # Another writer took this number: check again against its digest and take the next one.
            logger.warning("audit digest number taken by another process; checking again")
            continue
        if not ok:
            logger.error("audit digest #%s written despite a failed check (%s): %s", digest.number, note, message)
        return digest
    raise DigestError(_("签名摘要连续三次被其他进程抢先写入，本次未写入"))
