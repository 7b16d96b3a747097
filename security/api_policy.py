"""Expiry and scope of the API's tokens, checked before DRF authenticates a request (the API's views keep
DRF's TokenAuthentication): a token past API_TOKEN_MAX_AGE_HOURS is revoked and answered 401
token_expired, a read-only token is refused anything but GET, HEAD and OPTIONS with 403 token_scope
(except revoking itself)."""
import datetime as dt

from django.conf import settings
from django.http import JsonResponse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework.authtoken.models import Token

from approvals.api_errors import error_body, is_api

from .models import Kind, TokenScope
from .services import security_record

MSG_TOKEN_EXPIRED = _("API 令牌已过期，请重新获取")
MSG_TOKEN_SCOPE = _("该 API 令牌为只读，不能执行此操作")
_SAFE = frozenset({"GET", "HEAD", "OPTIONS"})
TOKEN_PATH = "/api/auth/token/"


class ApiTokenPolicyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if not (header[:6].lower() == "token " and is_api(request)):
            return self.get_response(request)
        key = header[6:].strip()
        row = Token.objects.filter(key=key).values_list("created", "user__username", "security_policy__scope").first()
        if row is None:
            return self.get_response(request)  # DRF answers the unknown token
        created, username, scope = row
        if created + dt.timedelta(hours=settings.API_TOKEN_MAX_AGE_HOURS) <= timezone.now():
            security_record(Kind.TOKEN_EXPIRED, username=username, request=request, target=username)
            Token.objects.filter(key=key).delete()
            response = JsonResponse(error_body("token_expired", MSG_TOKEN_EXPIRED), status=401,
                                    json_dumps_params={"ensure_ascii": False})
            response["WWW-Authenticate"] = "Token"
            return response
        if scope == TokenScope.READ and request.method not in _SAFE and request.path_info != TOKEN_PATH:
            return JsonResponse(error_body("token_scope", MSG_TOKEN_SCOPE), status=403,
                                json_dumps_params={"ensure_ascii": False})
        return self.get_response(request)
