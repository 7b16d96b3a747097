"""Reading the security log: verifying its chain (the `verify_security_log` command, the log page) and the
audit administrator's search (the log page, its export and the API)."""
import datetime as dt

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from orgs.access import Principal, security_log_scope_q

from .models import GENESIS, SecurityChainHead, SecurityEvent, SecurityLogAnchor


def security_start() -> tuple[int, str]:
    """(seq, hash) the chain starts after: the last purged event's (security.tasks), or (0, GENESIS)."""
    row = SecurityLogAnchor.objects.order_by("-seq").values_list("seq", "hash").first()
    return row or (0, GENESIS)


def security_verify(anchor: tuple[int, str] | None = None,
                    signed_start: tuple[int, str] | None = None) -> tuple[bool, str]:
    """Walk the chain in order: contiguous sequence numbers from the start (1, or the one after the last
    purged event), each event linked to the previous one's hash (the first to the start's hash) and its own
    hash recomputed, and the head row's length and hash equal to the last event's (a removed tail).
    `anchor` is (seq, hash) from the latest signed digest (write_security_digest): the chain must still
    hold that event with that hash, so a recomputed chain or a rewind is found too. `signed_start` is the
    start that digest signed (its row 1; none: the chain starts at 1): the chain may not start later (events
    purged without a signed digest, or a start moved), and when it starts earlier (a purge whose deletion
    did not happen) the signed start's event must hold its hash. Returns (True, summary) or (False, the
    first problem)."""
    start_seq, start_hash = security_start()
    if anchor is not None:
        signed_seq, signed_hash = signed_start or (0, GENESIS)
        if start_seq > signed_seq:
            return False, _("安全日志已清除至第 %(s)s 条，但签名摘要确认的起点是第 %(d)s 条之后："
                            "清除未经签名摘要确认，或起点被改动") % {"s": start_seq, "d": signed_seq}
        if start_seq == signed_seq and start_hash != signed_hash:
            return False, _("安全日志的起点（第 %(s)s 条）与签名摘要不符：起点被改动") % {"s": start_seq}
    prev, expected = start_hash, start_seq + 1
    for event in SecurityEvent.objects.order_by("seq").iterator(chunk_size=2000):
        if event.seq != expected:
            return False, _("安全日志第 %(n)s 条缺失（下一条为第 %(seq)s 条）") % {"n": expected, "seq": event.seq}
        if event.prev_hash != prev:
            return False, _("安全日志第 %(n)s 条与前一条的链接不符") % {"n": event.seq}
        if event.compute_hash() != event.hash:
            return False, _("安全日志第 %(n)s 条的内容被改动（哈希不符）") % {"n": event.seq}
        prev, expected = event.hash, expected + 1
    last = expected - 1
    if anchor is not None:
        signed_seq, signed_hash = signed_start or (0, GENESIS)
        if start_seq < signed_seq:
            held = SecurityEvent.objects.filter(seq=signed_seq).values_list("hash", flat=True).first()
            if held != signed_hash:
                return False, _("安全日志第 %(a)s 条与签名摘要记录的起点不符") % {"a": signed_seq}
    if anchor is not None and anchor[0] > 0:
        if last < anchor[0]:
            return False, _("签名摘要记录安全日志到第 %(a)s 条，现只有 %(n)s 条：记录被截断或回退") % {
                "a": anchor[0], "n": last}
        held = SecurityEvent.objects.filter(seq=anchor[0]).values_list("hash", flat=True).first()
        if held != anchor[1]:
            return False, _("安全日志第 %(a)s 条与签名摘要不符：链被改写后重新计算") % {"a": anchor[0]}
    head = SecurityChainHead.objects.filter(pk=1).first()
    head_seq, head_hash = (head.seq, head.head) if head else (0, GENESIS)
    if (head_seq, head_hash) != (last, prev):
        return False, _("安全日志链头记录第 %(head)s 条，实有 %(n)s 条：末尾的记录被删除或链头被改动") % {
            "head": head_seq, "n": last}
    count = last - start_seq
    if start_seq:
        summary = _("%(n)s 条安全日志（第 %(first)s 至 %(last)s 条，此前的已按保存期限清除），链完整") % {
            "n": count, "first": start_seq + 1, "last": last}
    else:
        summary = _("%(n)s 条安全日志，链完整") % {"n": count}
    if anchor is not None:
        return True, _("%(summary)s，与签名摘要（第 %(a)s 条）相符") % {"summary": summary, "a": anchor[0]}
    return True, summary


def security_events(principal: Principal, *, since: dt.date | None = None, until: dt.date | None = None,
                    username: str = "", kind: str = "", ip: str = "", text: str = "") -> QuerySet:
    """The events the principal may read (orgs.access.security_log_scope_q), newest first, filtered: from
    the start of `since` to the end of `until` (local dates), of one user name, of one kind, from one
    address, whose target holds `text`."""
    events = SecurityEvent.objects.filter(security_log_scope_q(principal))
    zone = timezone.get_current_timezone()
    if since is not None:
        events = events.filter(created_at__gte=dt.datetime.combine(since, dt.time.min, tzinfo=zone))
    if until is not None:
        events = events.filter(created_at__lt=dt.datetime.combine(until + dt.timedelta(days=1), dt.time.min,
                                                                   tzinfo=zone))
    if username:
        events = events.filter(username=username)
    if kind:
        events = events.filter(kind=kind)
    if ip:
        events = events.filter(client_ip=ip)
    if text:
        events = events.filter(target__icontains=text)
    return events.order_by("-created_at", "-seq")
