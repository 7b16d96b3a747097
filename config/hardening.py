"""What every request and answer of the web pages gets, whatever the view (docs/security.md):

BadInputMiddleware: a NUL character in a query parameter, a form field or a path parameter is refused
with 400 and a message, before any view sees it. No text in this system holds one; PostgreSQL cannot store
or even compare one (a search, a certificate number or a comment with it was a 500 there), and a form's
CharField refuses it already. The API is left to its own checks, which name the parameter in the error
shape (approvals.api: its filters and serializers refuse a NUL). A view exempt from CSRF (the public
verification, which reads its body only after its size check) is checked on its query and path alone.

It also answers an id too large for the database's integer, which SQLite (the embedded default) cannot
bind (OverflowError: a list filter of the admin, ?organization=<25 digits>, or a page of the engine), with
404 and a message: no record has such an id.

PrivateCacheMiddleware: an answer to someone logged in that says nothing about caching is marked
`Cache-Control: private, no-store`: an application's page, an attachment (a licence, an ID card), an
export, any document with personal data stays out of shared caches and off the disk of a shared computer
after the user logged out.
"""
from django.shortcuts import render
from django.utils.cache import patch_cache_control
from django.utils.translation import gettext as _

API_PREFIX = "/api/"
NUL = "\x00"


def _has_nul(query_dict) -> bool:
    return any(NUL in key or any(NUL in value for value in values) for key, values in query_dict.lists())


class BadInputMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        if request.path_info.startswith(API_PREFIX):
            return None
        found = _has_nul(request.GET) or any(NUL in value for value in (*view_args, *view_kwargs.values())
                                               if isinstance(value, str))
        if not found and request.method == "POST" and not getattr(view_func, "csrf_exempt", False):
            # CsrfViewMiddleware (before this one) has read the body already.
            found = _has_nul(request.POST)
        if not found:
            return None
        return render(request, "bad_input.html", {"message": _("请求中含有不允许的字符（NUL 空字符），请删除后重试。")},
                      status=400)

    def process_exception(self, request, exception):
        if not isinstance(exception, OverflowError) or request.path_info.startswith(API_PREFIX):
            return None
        return render(request, "bad_input.html", {"message": _("编号超出范围：没有这条记录。")}, status=404)


class PrivateCacheMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and not response.has_header("Cache-Control"):
            patch_cache_control(response, private=True, no_store=True)
        return response
