"""The API's token endpoint with the second factor and scopes (docs/security.md, docs/api.md): POST
username, password, `otp` (a TOTP or recovery code: required of whoever must or chose to log in with
one), `scope` ("read" or "write", default "write") and `new_password` (the account's new password: required
when it must be changed first, security.passwords) to receive a token; DELETE with the token revokes it.
A token ends API_TOKEN_MAX_AGE_HOURS after it was issued (security.api_policy)."""
import datetime as dt

import django_filters
from django import forms
from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, mixins, serializers, status, viewsets
from rest_framework.authentication import TokenAuthentication
from rest_framework.authtoken.models import Token
from rest_framework.authtoken.serializers import AuthTokenSerializer
from rest_framework.response import Response

from approvals.api import ERRORS, TOKEN_REFUSALS, ErrorSerializer, LockedOut, TokenObtainView
from approvals.api_resources import BAD_QUERY, NOT_FOUND_PAGE, ReadApiMixin
from orgs.access import may_read_security_log, principal_of

from . import passwords, two_factor
from .models import Kind, SecurityEvent, TokenPolicy, TokenScope
from .selectors import security_events


class TwoFactorRequired(exceptions.ValidationError):
    api_code = "two_factor_required"


class TwoFactorFailed(exceptions.ValidationError):
    api_code = "two_factor_failed"


class PasswordChangeRequired(exceptions.PermissionDenied):
    api_code = "password_change_required"

    def __init__(self, message):
        super().__init__(message)
        self.api_message = message


class TokenRequestSerializer(AuthTokenSerializer):
    otp = serializers.CharField(label=_("动态验证码"), required=False, allow_blank=True, max_length=16,
                                write_only=True)
    scope = serializers.ChoiceField(label=_("范围"), choices=TokenScope.choices, default=TokenScope.WRITE)
    new_password = serializers.CharField(label=_("新密码"), required=False, max_length=128, write_only=True,
                                         trim_whitespace=False, style={"input_type": "password"},
                                         help_text=_("须修改密码的账号（首次登录、管理员重置或密码到期）在此给出新密码"))


def _change_password(user, new_password: str) -> None:
    """The holder's new password, checked by the password policy (400 new_password otherwise)."""
    try:
        validate_password(new_password, user)
    except DjangoValidationError as exc:
        raise exceptions.ValidationError({"new_password": list(exc.messages)}) from exc
    user.set_password(new_password)
    user.save(update_fields=["password"])  # security.signals: history and the log
    passwords.record_change(user)  # the holder's own choice, whoever else the request's session names


def token_expired(token: Token) -> bool:
    return token.created + dt.timedelta(hours=settings.API_TOKEN_MAX_AGE_HOURS) <= timezone.now()


def token_issue(user, scope: str) -> Token:
    """The user's token: the one they have while it is in force and of this scope, else a new one (the
    old one is revoked)."""
    with transaction.atomic():
        token = Token.objects.select_for_update().filter(user=user).first()
        if token is not None:
            current = TokenPolicy.objects.filter(token=token).values_list("scope", flat=True).first()
            if not token_expired(token) and (current or TokenScope.WRITE) == scope:
                return token
            token.delete()
        token = Token.objects.create(user=user)
        TokenPolicy.objects.create(token=token, scope=scope)
    return token


class TwoFactorTokenView(TokenObtainView):
    serializer_class = TokenRequestSerializer

    def get_authenticators(self):
        # POST carries the credentials in its body; DELETE is authenticated by the token it revokes.
        request = getattr(self, "request", None)  # None while the schema is generated
        return [TokenAuthentication()] if request is not None and request.method == "DELETE" else []

    @extend_schema(summary="以用户名、密码和动态验证码换取 API 令牌",
                   request=TokenRequestSerializer,
                   responses={200: OpenApiResponse(description="{\"token\": \"…\", \"scope\": \"write\", "
                                                               "\"expires\": \"…\"}"),
                              400: ERRORS[400],
                              403: OpenApiResponse(ErrorSerializer, description="须先修改密码"
                                                   "（password_change_required：以 new_password 给出新密码）"),
                              429: OpenApiResponse(ErrorSerializer, description="登录失败次数过多，暂时锁定")},
                   extensions=TOKEN_REFUSALS)
    def post(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        valid = serializer.is_valid()
        if getattr(request, "axes_locked_out", False) or getattr(request._request, "axes_locked_out", False):
            raise LockedOut(wait=int(float(settings.AXES_COOLOFF_TIME) * 3600))
        if not valid:
            raise exceptions.ValidationError(serializer.errors)
        user = serializer.validated_data["user"]
        if two_factor.needs_code(user):
            if not two_factor.enrolled(user):
                raise TwoFactorRequired({"otp": [str(two_factor.MSG_NOT_ENROLLED)]})
            code = serializer.validated_data.get("otp") or ""
            if not code:
                raise TwoFactorRequired({"otp": [str(_("该账号须提供动态验证码（otp）"))]})
            device, message = two_factor.check_code(user, code, request=request._request, step="api_token")
            if device is None:
                raise TwoFactorFailed({"otp": [message]})
        new_password = serializer.validated_data.get("new_password")
        if new_password:
            _change_password(user, new_password)
        elif reason := passwords.change_reason(user):
            raise PasswordChangeRequired(passwords.MESSAGES[reason])
        scope = serializer.validated_data["scope"]
        token = token_issue(user, scope)
        expires = token.created + dt.timedelta(hours=settings.API_TOKEN_MAX_AGE_HOURS)
        return Response({"token": token.key, "scope": scope, "expires": expires.isoformat()})

    @extend_schema(summary="撤销当前使用的 API 令牌", request=None, responses={204: None, 401: OpenApiResponse(ErrorSerializer, description="令牌无效或已过期")})
    def delete(self, request, *args, **kwargs):
        if not isinstance(request.auth, Token):
            raise exceptions.NotAuthenticated()
        request.auth.delete()  # security.signals writes token_revoked
        return Response(status=status.HTTP_204_NO_CONTENT)


# ------------------------------------------------------------------------------------- the security log


class NotAnAuditor(exceptions.PermissionDenied):
    api_code = "security_log_denied"

    def __init__(self):
        self.api_message = _("只有审计员可以查阅安全日志")
        super().__init__(self.api_message)


class _IPFilter(django_filters.CharFilter):
    field_class = forms.GenericIPAddressField


class _RangeForm(forms.Form):
    def clean(self):
        data = super().clean()
        if data.get("since") and data.get("until") and data["since"] > data["until"]:
            raise forms.ValidationError(_("起始日期不能晚于截止日期"))
        return data


class SecurityEventFilter(django_filters.FilterSet):
    """The log page's filters (security.log_views), applied by the same selector (security_events)."""

    since = django_filters.DateFilter(label="起始日期（含，本地日期）", method="_by_selector")
    until = django_filters.DateFilter(label="截止日期（含，本地日期）", method="_by_selector")
    user = django_filters.CharFilter(label="用户名（完全相同）", max_length=150, method="_by_selector")
    kind = django_filters.ChoiceFilter(label="类型", choices=Kind.choices, method="_by_selector")
    ip = _IPFilter(label="来源地址", method="_by_selector",
                   error_messages={"invalid": _("请输入有效的 IPv4 或 IPv6 地址")})
    text = django_filters.CharFilter(label="对象包含", max_length=100, method="_by_selector")

    class Meta:
        model = SecurityEvent
        fields = ["since", "until", "user", "kind", "ip", "text"]
        form = _RangeForm

    def _by_selector(self, queryset, name, value):
        return queryset  # filter_queryset below applies them all at once

    def filter_queryset(self, queryset):
        data = self.form.cleaned_data
        return security_events(principal_of(self.request.user), since=data.get("since"), until=data.get("until"),
                               username=data.get("user") or "", kind=data.get("kind") or "",
                               ip=data.get("ip") or "", text=data.get("text") or "")


class SecurityEventSerializer(serializers.ModelSerializer):
    kind_label = serializers.CharField(source="get_kind_display", help_text="类型的中文名")

    class Meta:
        model = SecurityEvent
        fields = ["seq", "created_at", "kind", "kind_label", "username", "client_ip", "target", "detail", "hash"]
        read_only_fields = fields


class SecurityEventViewSet(ReadApiMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    """The security log, read-only, for the audit administrator of a subtree (orgs.access: the same rule and
    the same filters as the page /security/log/), newest first, 50 a page. Everybody else: 403."""

    serializer_class = SecurityEventSerializer
    filterset_class = SecurityEventFilter
    filter_backends = [django_filters.rest_framework.DjangoFilterBackend]

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        if not may_read_security_log(principal_of(request.user)):
            raise NotAnAuditor

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return SecurityEvent.objects.none()
        return security_events(principal_of(self.request.user))

    @extend_schema(summary="安全日志（审计员，本辖区）", responses={
        200: SecurityEventSerializer(many=True), 400: BAD_QUERY, 403: ERRORS[403], 404: NOT_FOUND_PAGE})
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)
