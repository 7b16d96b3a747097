"""Keeps the current request in a context variable, so that events written from model signals (an admin
editing a membership) are stamped with the acting user and address; and holds a logged-in user who needs
a second factor at the verify (or enrolment) page until they have given it."""
from urllib.parse import quote

from django.contrib import messages
from django.http import JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _

from . import passwords, two_factor
from .services import current_request

# Pages a half-logged-in user may open: the second-factor pages themselves, logging out, the language
# switch, static files and the health check.
_OPEN_PREFIXES = ("/accounts/2fa/", "/accounts/logout/", "/accounts/login/", "/admin/login/", "/admin/logout/",
                  "/i18n/", "/static/", "/healthz", "/jsi18n/")


class SecurityContextMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = current_request.set(request)
        try:
            return self.get_response(request)
        finally:
            current_request.reset(token)


class TwoFactorMiddleware:
    """After django_otp's OTPMiddleware: an authenticated, unverified user who is enrolled (remembered in
    the session from the login) or whose roles require a second factor goes to the verify page, or to
    enrolment when they have no device yet. Under /api/ a session gets 403 two_factor_required (a token is
    only issued with a code, security.api)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated or request.path_info.startswith(_OPEN_PREFIXES):
            return self.get_response(request)
        if user.is_verified():
            return self.get_response(request)
        is_enrolled = request.session.get(two_factor.SESSION_ENROLLED)
        if is_enrolled is None:  # a session from before this rule
            is_enrolled = request.session[two_factor.SESSION_ENROLLED] = two_factor.enrolled(user)
        if not is_enrolled and not two_factor.required(user):
            return self.get_response(request)
        if request.path_info.startswith("/api/"):
            message = _("请先完成双因素认证（动态验证码）")
            return JsonResponse({"code": "two_factor_required", "message": message, "detail": message,
                                 "errors": {}}, status=403, json_dumps_params={"ensure_ascii": False})
        target = reverse("security:2fa-verify" if is_enrolled else "security:2fa-setup")
        return redirect(f"{target}?next={quote(request.get_full_path())}")


class PasswordChangeMiddleware:
    """After TwoFactorMiddleware: a user whose login found that the password must be changed (the session
    holds the reason, security.passwords) is held at the password change page until it is done. Under
    /api/ a session gets 403 password_change_required (a token is only issued after the change, security.api)."""

    _OPEN = (*_OPEN_PREFIXES, "/accounts/password_change/")

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated or request.path_info.startswith(self._OPEN):
            return self.get_response(request)
        reason = request.session.get(passwords.SESSION_CHANGE)
        if not reason:
            return self.get_response(request)
        message = str(passwords.MESSAGES.get(reason, passwords.MESSAGES[passwords.FIRST]))
        if request.path_info.startswith("/api/"):
            return JsonResponse({"code": "password_change_required", "message": message, "detail": message,
                                 "errors": {}}, status=403, json_dumps_params={"ensure_ascii": False})
        messages.warning(request, message)
        return redirect(f"{reverse('password_change')}?next={quote(request.get_full_path())}")
