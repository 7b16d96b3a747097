"""Writing the security log: `security_record` appends one event to the chain, under the head row's lock."""
import ipaddress
from contextvars import ContextVar

from django.db import transaction
from django.utils import timezone

from .models import SecurityChainHead, SecurityEvent

# The request being served (security.middleware), for events written from model signals.
current_request: ContextVar = ContextVar("security_current_request", default=None)


def request_ip(request) -> str | None:
    value = request.META.get("REMOTE_ADDR") if request is not None else None
    try:
        return str(ipaddress.ip_address(value)) if value else None
    except ValueError:
        return None


def security_record(kind: str, *, actor=None, username: str = "", request=None, ip: str | None = None,
                    target: str = "", detail: dict | None = None) -> SecurityEvent:
    """Append an event of `kind`. `actor` is the user who acted (None for a failed login), `username` the
    name the event concerns when there is no actor, `request` gives the address when `ip` is not given
    (by default the request being served)."""
    if request is None:
        request = current_request.get()
    if actor is None and request is not None and getattr(request, "user", None) is not None \
            and request.user.is_authenticated:
        actor = request.user
    if actor is not None and not username:
        username = actor.get_username()
    with transaction.atomic():
        SecurityChainHead.objects.get_or_create(pk=1)
        head = SecurityChainHead.objects.select_for_update().get(pk=1)
        event = SecurityEvent(
            seq=head.seq + 1, created_at=timezone.now(), kind=kind, actor=actor, username=username[:150],
            client_ip=str(ipaddress.ip_address(ip)) if ip else request_ip(request), target=str(target)[:255],
            detail=detail or {}, prev_hash=head.head,
        )
        event.hash = event.compute_hash()
        event.save()
        head.seq, head.head = event.seq, event.hash
        head.save(update_fields=["seq", "head"])
    return event
