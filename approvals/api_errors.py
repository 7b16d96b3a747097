"""One error shape for everything under /api/: {"code", "message", "detail", "errors"}.

`code` is stable (clients branch on it), `message` is for people (Chinese, English with Accept-Language: en),
`detail` repeats the message (the key the first API clients read), and `errors` maps a field to its
messages (empty when no field is at fault). The DRF exception handler (approvals.api) answers the errors
raised in a view; this middleware answers what Django decides before or after a view (an unknown URL or a
malformed id, an unexpected exception), so no HTML page is ever served under /api/."""
import logging

from django.conf import settings
from django.core.exceptions import BadRequest, PermissionDenied, RequestDataTooBig, SuspiciousOperation
from django.http import Http404, JsonResponse
from django.utils.translation import gettext_lazy as _

from config.locale import API_PREFIX

from . import errors as E

logger = logging.getLogger(__name__)

MSG_NOT_FOUND = _("所请求的地址不存在")
MSG_METHOD_NOT_ALLOWED = _("该地址不支持此请求方法")
MSG_SERVER_ERROR = _("服务器内部错误，请稍后重试；如果问题持续，请联系管理员")
MSG_BAD_REQUEST = _("请求无法受理")
MSG_FORBIDDEN = _("您没有执行该操作的权限")
MSG_ERROR = _("请求未能完成")
MSG_LOCKED_OUT = _("登录失败次数过多，该账号已暂时锁定，请稍后再试或联系管理员")
MSG_UNVERSIONED = _("所请求的地址不存在：接口地址以 %(prefix)s 开头")

# The version of the API that is served (docs/api.md); a path under /api/ outside it is told where it went.
API_VERSION_PREFIX = f"{API_PREFIX}v1/"

# Django-level answers (no view of the API ran, or it crashed): their stable code and message.
STATUS_ERRORS = {
    400: ("bad_request", MSG_BAD_REQUEST),
    403: ("permission_denied", MSG_FORBIDDEN),
    404: ("not_found", MSG_NOT_FOUND),
    405: ("method_not_allowed", MSG_METHOD_NOT_ALLOWED),
    429: ("locked_out", MSG_LOCKED_OUT),  # django-axes answers a locked-out login itself
    500: ("server_error", MSG_SERVER_ERROR),
}


def error_body(code: str, message, errors: dict | None = None) -> dict:
    message = str(message)
    return {"code": code, "message": message, "detail": message, "errors": errors or {}}


def is_api(request) -> bool:
    return request.path_info.startswith(API_PREFIX)


def status_error(status: int) -> JsonResponse:
    code, message = STATUS_ERRORS.get(status, ("server_error" if status >= 500 else "error",
                                               MSG_SERVER_ERROR if status >= 500 else MSG_ERROR))
    return JsonResponse(error_body(code, message), status=status, json_dumps_params={"ensure_ascii": False})


def too_large_message() -> str:
    limit = max(settings.DATA_UPLOAD_MAX_MEMORY_SIZE // (1024 * 1024), 1)
    return str(E.MSG_REQUEST_TOO_LARGE % {"max": limit})


def too_large() -> JsonResponse:
    return JsonResponse(error_body("too_large", too_large_message()), status=413,
                        json_dumps_params={"ensure_ascii": False})


class ApiErrorMiddleware:
    """Under /api/: an exception no view handled becomes a logged 500 in the error shape, and any error
    answer that is not JSON (Django's 404 for an unknown path or a malformed id, its 405, 500 pages, DEBUG
    pages included) is replaced by the error shape with the same status."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if not is_api(request) or response.status_code < 400:
            return response
        if response.get("Content-Type", "").startswith("application/json"):
            return response
        replaced = status_error(response.status_code)
        if response.status_code == 404 and not request.path_info.startswith(API_VERSION_PREFIX):
            replaced = JsonResponse(error_body("not_found", MSG_UNVERSIONED % {"prefix": API_VERSION_PREFIX}),
                                    status=404, json_dumps_params={"ensure_ascii": False})
        if response.has_header("Allow"):
            replaced["Allow"] = response["Allow"]
        return replaced

    def process_exception(self, request, exception):
        if not is_api(request):
            return None
        if isinstance(exception, RequestDataTooBig):
            return too_large()
        if isinstance(exception, Http404 | PermissionDenied | BadRequest | SuspiciousOperation):
            return None  # Django answers these with their status; __call__ gives the answer its shape
        logger.exception("API %s %s failed", request.method, request.path_info)
        return status_error(500)
