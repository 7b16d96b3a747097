"""Verifying the security log's chain (the `verify_security_log` command)."""
from django.utils.translation import gettext as _

from .models import GENESIS, SecurityChainHead, SecurityEvent


def security_verify(anchor: tuple[int, str] | None = None) -> tuple[bool, str]:
    """Walk the chain in order: contiguous sequence numbers from 1, each event linked to the previous one's
    hash and its own hash recomputed, and the head row's length and hash equal to the last event's (a
    removed tail). `anchor` is (seq, hash) from the latest signed digest (write_security_digest): the chain
    must still hold that event with that hash, so a recomputed chain or a rewind is found too. Returns (True, summary) or (False, the first problem)."""
    prev, expected = GENESIS, 1
    for event in SecurityEvent.objects.order_by("seq").iterator(chunk_size=2000):
        if event.seq != expected:
            return False, _("安全日志第 %(n)s 条缺失（下一条为第 %(seq)s 条）") % {"n": expected, "seq": event.seq}
        if event.prev_hash != prev:
            return False, _("安全日志第 %(n)s 条与前一条的链接不符") % {"n": event.seq}
        if event.compute_hash() != event.hash:
            return False, _("安全日志第 %(n)s 条的内容被改动（哈希不符）") % {"n": event.seq}
        prev, expected = event.hash, expected + 1
    count = expected - 1
    if anchor is not None and anchor[0] > 0:
        if count < anchor[0]:
            return False, _("签名摘要记录安全日志到第 %(a)s 条，现只有 %(n)s 条：记录被截断或回退") % {
                "a": anchor[0], "n": count}
        held = SecurityEvent.objects.filter(seq=anchor[0]).values_list("hash", flat=True).first()
        if held != anchor[1]:
            return False, _("安全日志第 %(a)s 条与签名摘要不符：链被改写后重新计算") % {"a": anchor[0]}
    head = SecurityChainHead.objects.filter(pk=1).first()
    head_seq, head_hash = (head.seq, head.head) if head else (0, GENESIS)
    if (head_seq, head_hash) != (count, prev):
        return False, _("安全日志链头记录第 %(head)s 条，实有 %(n)s 条：末尾的记录被删除或链头被改动") % {
            "head": head_seq, "n": count}
    if anchor is not None:
        return True, _("%(n)s 条安全日志，链完整，与签名摘要（第 %(a)s 条）相符") % {"n": count, "a": anchor[0]}
    return True, _("%(n)s 条安全日志，链完整") % {"n": count}
