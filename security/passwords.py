"""The password's life (等保 2.0 身份鉴别, docs/security.md): a password that someone other than its holder
set (an administrator making the account or resetting it, the demo seed) must be replaced by the holder
at the next login, and with PASSWORD_MAX_AGE_DAYS set a password older than that must be replaced too.

The login works out the reason once (one query) and keeps it in the session; security.middleware then
holds the user at the password change page without asking the database again. The API's token endpoint
asks the same question and takes the new password in the same request (security.api)."""
import datetime as dt

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework.authtoken.models import Token

from .models import PasswordState

SESSION_CHANGE = "security_password_change"
FIRST, EXPIRED = "first", "expired"

MESSAGES = {
    FIRST: _("首次登录或密码由管理员设置：请先修改密码，再继续使用系统"),
    EXPIRED: _("密码已超过规定的使用期限：请先修改密码，再继续使用系统"),
}


def max_age_days() -> int:
    return int(getattr(settings, "PASSWORD_MAX_AGE_DAYS", 0) or 0)


def change_reason(user) -> str | None:
    """Why `user` must choose a new password before going on (FIRST or EXPIRED), or None."""
    state = PasswordState.objects.filter(user_id=user.pk).values("must_change", "changed_at").first()
    if state and state["must_change"]:
        return FIRST
    days = max_age_days()
    if days > 0:
        changed = (state and state["changed_at"]) or user.date_joined
        if changed is not None and changed + dt.timedelta(days=days) <= timezone.now():
            return EXPIRED
    return None


def require_change(user) -> None:
    """The holder must choose a new password at the next login; the account's API tokens end now (a
    token issued on the old password must not outlive it)."""
    PasswordState.objects.update_or_create(user_id=user.pk, defaults={"must_change": True})
    Token.objects.filter(user_id=user.pk).delete()


def record_change(user) -> None:
    """The holder chose a new password: no change is required until it expires."""
    PasswordState.objects.update_or_create(user_id=user.pk,
                                           defaults={"must_change": False, "changed_at": timezone.now()})
