"""Two-factor login (docs/security.md): a TOTP device (django-otp) enrolled with a QR code, ten single-use
recovery codes (django-otp's static device), and a reset by an administrator. Who must use it is
orgs.access's answer (two_factor_required); anyone else may enrol, and from then on is asked as well.

Every step writes the security log: enrolment, each verification and failure, a recovery code used, new
recovery codes, a reset."""
import base64

import django_otp
import segno
from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext_lazy as _
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice, default_key
from rest_framework.authtoken.models import Token

from orgs.access import principal_of, two_factor_required

from .models import Kind
from .services import security_record

# The session remembers, from the login on, whether its user has a confirmed TOTP device (one query at
# login, none per request); enrolment and the verify page keep it up to date.
SESSION_ENROLLED = "security_2fa_enrolled"
SESSION_PENDING_KEY = "security_2fa_pending_key"
RECOVERY_CODE_COUNT = 10
TOTP_NAME = "TOTP"
RECOVERY_NAME = "recovery"

MSG_WRONG_CODE = _("验证码不正确或已使用，请重新输入")
MSG_THROTTLED = _("验证码错误次数过多，请稍后再试")
MSG_NOT_ENROLLED = _("该账号尚未启用双因素认证：请先在网页上登录并完成绑定")


def required(user) -> bool:
    """The user's roles demand a second factor (and the deployment has not switched the rule off)."""
    return bool(getattr(settings, "TWO_FACTOR_REQUIRED", True)) and two_factor_required(principal_of(user))


def enrolled(user) -> bool:
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def needs_code(user) -> bool:
    """A login of this user is complete only with a second factor: required by role, or enrolled."""
    return enrolled(user) or required(user)


def _normalise(code: str) -> str:
    return "".join(str(code or "").split()).replace("-", "").lower()


# ------------------------------------------------------------------------------------------ enrolment


def pending_device(request) -> TOTPDevice:
    """The TOTP device being enrolled, not saved: its secret is kept in the session (the same QR code on
    every reload) until a code confirms it (enrol_confirm); nothing is written before."""
    key = request.session.get(SESSION_PENDING_KEY)
    if not key:
        key = request.session[SESSION_PENDING_KEY] = default_key()
    return TOTPDevice(user=request.user, name=TOTP_NAME, key=key, confirmed=False)


def device_secret(device: TOTPDevice) -> str:
    """The secret in base32, in groups of four, for authenticator apps that are typed into."""
    secret = base64.b32encode(device.bin_key).decode("ascii").rstrip("=")
    return " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))


def device_qr_svg(device: TOTPDevice) -> str:
    """The otpauth:// URL as an inline SVG QR code (segno, no network, no image files)."""
    return segno.make(device.config_url, error="m").svg_inline(scale=4, dark="#000", light="#fff")


def enrol_confirm(request, device: TOTPDevice, code: str) -> list[str] | None:
    """Confirm the pending `device` with a code from the app: the device is saved confirmed, this session
    verified with it, and ten recovery codes issued (returned, shown once). None when the code is wrong."""
    user = request.user
    code = _normalise(code)
    check = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    if not (code.isascii() and code.isdigit() and check.verify(int(code), device.tolerance)):
        security_record(Kind.TWO_FACTOR_FAILED, actor=user, request=request, detail={"step": "enrol"})
        return None
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user).delete()
        device.confirmed, device.last_t, device.drift = True, check.t(), check.drift
        device.save()
        security_record(Kind.TWO_FACTOR_ENROLLED, actor=user, request=request, detail={"device": "totp"})
        codes = recovery_codes_issue(user, request=request)
    request.session.pop(SESSION_PENDING_KEY, None)
    django_otp.login(request, device)
    request.session[SESSION_ENROLLED] = True
    return codes


def recovery_codes_issue(user, *, request=None) -> list[str]:
    """New recovery codes: the old ones stop working."""
    with transaction.atomic():
        device, _created = StaticDevice.objects.get_or_create(user=user, name=RECOVERY_NAME,
                                                              defaults={"confirmed": True})
        device.token_set.all().delete()
        codes = [StaticToken.random_token() for _ in range(RECOVERY_CODE_COUNT)]
        StaticToken.objects.bulk_create([StaticToken(device=device, token=c) for c in codes])
        security_record(Kind.RECOVERY_CODES_ISSUED, actor=user, request=request, detail={"count": len(codes)})
    return codes


def recovery_codes_left(user) -> int:
    return StaticToken.objects.filter(device__user=user, device__name=RECOVERY_NAME).count()


# ---------------------------------------------------------------------------------------- verifying


def check_code(user, code: str, *, request=None, step: str = "login") -> tuple[object | None, str]:
    """Check a code from the app or a recovery code against the user's confirmed devices (django-otp's
    throttling applies: after each failure the next attempt waits longer). Returns (device, "") or
    (None, message), and writes the outcome to the security log."""
    code = _normalise(code)
    totp = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    if totp is None:
        return None, str(MSG_NOT_ENROLLED)
    if len(code) != totp.digits or not (code.isascii() and code.isdigit()):  # recovery codes are 8 letters and digits
        device = StaticDevice.objects.filter(user=user, name=RECOVERY_NAME, confirmed=True).first()
        with transaction.atomic():
            ok = device is not None and device.verify_token(code)
        if ok:
            security_record(Kind.RECOVERY_CODE_USED, actor=user, request=request,
                            detail={"step": step, "left": recovery_codes_left(user)})
            return device, ""
    else:
        allowed, _info = totp.verify_is_allowed()
        if not allowed:
            security_record(Kind.TWO_FACTOR_FAILED, actor=user, request=request,
                            detail={"step": step, "throttled": True})
            return None, str(MSG_THROTTLED)
        with transaction.atomic():
            ok = totp.verify_token(code)
        if ok:
            security_record(Kind.TWO_FACTOR_VERIFIED, actor=user, request=request, detail={"step": step})
            return totp, ""
    security_record(Kind.TWO_FACTOR_FAILED, actor=user, request=request, detail={"step": step})
    return None, str(MSG_WRONG_CODE)


def verify_session(request, code: str) -> str:
    """Verify the logged-in user of `request` with a code: "" on success (the session is verified and
    gets a new key), else the message to show."""
    device, message = check_code(request.user, code, request=request)
    if device is None:
        return message
    request.session.cycle_key()
    django_otp.login(request, device)
    request.session[SESSION_ENROLLED] = True
    return ""


def reset(user, *, actor, request=None) -> None:
    """Remove the user's TOTP device and recovery codes and their API token: they enrol again at their next
    login. The caller has asked orgs.access.may_reset_two_factor."""
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user).delete()
        StaticDevice.objects.filter(user=user).delete()
        Token.objects.filter(user=user).delete()
        security_record(Kind.TWO_FACTOR_RESET, actor=actor, request=request, target=user.get_username())
