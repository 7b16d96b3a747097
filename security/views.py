"""The second-factor pages (security.two_factor): enrolment with a QR code, the verify step after the
password, and new recovery codes."""
from django import forms
from django.contrib.auth.mixins import LoginRequiredMixin
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import gettext_lazy as _
from django.views import View

from . import two_factor


class CodeForm(forms.Form):
    code = forms.CharField(label=_("动态验证码或恢复码"), max_length=16, strip=True,
                           error_messages={"required": _("请输入验证码")})


def _to(name: str, request) -> str:
    return f"{reverse(name)}?{urlencode({'next': _next(request)})}"


def _next(request) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                       require_https=request.is_secure()):
        return target
    return "/"


class VerifyView(LoginRequiredMixin, View):
    """The second step of the login: a code from the authenticator app, or a recovery code."""

    template_name = "security/two_factor_verify.html"

    def get(self, request):
        if request.user.is_verified():
            return redirect(_next(request))
        if not two_factor.enrolled(request.user):
            return redirect(_to("security:2fa-setup", request))
        return render(request, self.template_name, {"form": CodeForm(), "next": _next(request)})

    def post(self, request):
        form = CodeForm(request.POST)
        if form.is_valid():
            message = two_factor.verify_session(request, form.cleaned_data["code"])
            if not message:
                return redirect(_next(request))
            form.add_error("code", message)
        return render(request, self.template_name, {"form": form, "next": _next(request)}, status=400)


class SetupView(LoginRequiredMixin, View):
    """Enrolment: the QR code and the secret of a new TOTP device, confirmed by a first code; then the
    recovery codes, shown once. A user who is enrolled already is verified first (to replace the device,
    an administrator resets it)."""

    template_name = "security/two_factor_setup.html"

    def _context(self, request, form):
        device = two_factor.pending_device(request)
        return {"form": form, "next": _next(request), "qr_svg": two_factor.device_qr_svg(device),
                "secret": two_factor.device_secret(device), "device": device, "required": two_factor.required(request.user)}

    def get(self, request):
        if two_factor.enrolled(request.user):
            if request.user.is_verified():
                return redirect("security:2fa-recovery")
            return redirect(_to("security:2fa-verify", request))
        return render(request, self.template_name, self._context(request, CodeForm()))

    def post(self, request):
        if two_factor.enrolled(request.user):
            return redirect(_to("security:2fa-verify", request))
        form = CodeForm(request.POST)
        if form.is_valid():
            codes = two_factor.enrol_confirm(request, two_factor.pending_device(request),
                                             form.cleaned_data["code"])
            if codes is not None:
                return render(request, "security/two_factor_codes.html",
                              {"codes": codes, "next": _next(request), "enrolled_now": True})
            form.add_error("code", two_factor.MSG_WRONG_CODE)
        return render(request, self.template_name, self._context(request, form), status=400)


class RecoveryCodesView(LoginRequiredMixin, View):
    """How many recovery codes are left, and a new set (the old ones stop working)."""

    template_name = "security/two_factor_codes.html"

    def get(self, request):
        if not request.user.is_verified():
            return redirect(f"{reverse('security:2fa-setup')}?{urlencode({'next': request.path})}")
        return render(request, self.template_name,
                      {"left": two_factor.recovery_codes_left(request.user), "next": _next(request)})

    def post(self, request):
        if not request.user.is_verified():
            return redirect(f"{reverse('security:2fa-setup')}?{urlencode({'next': request.path})}")
        codes = two_factor.recovery_codes_issue(request.user, request=request)
        return render(request, self.template_name, {"codes": codes, "next": _next(request)})
