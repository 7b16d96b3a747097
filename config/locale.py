"""Chinese first: the pages are in Chinese (LANGUAGE_CODE) unless the user chose another language with the
switcher (set_language keeps the choice in a cookie). A browser's Accept-Language is its installer's
default, not the user's choice, so the web pages do not follow it; API clients do (a script that asks for
English errors sends Accept-Language: en)."""
from django.conf import settings
from django.middleware.locale import LocaleMiddleware
from django.utils import translation

API_PREFIX = "/api/"


def language_for(request) -> str:
    chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
    if chosen:
        try:
            return translation.get_supported_language_variant(chosen)
        except LookupError:
            pass
    if request.path_info.startswith(API_PREFIX):
        return translation.get_language_from_request(request)
    return settings.LANGUAGE_CODE


class ChineseFirstLocaleMiddleware(LocaleMiddleware):
    def process_request(self, request):
        translation.activate(language_for(request))
        request.LANGUAGE_CODE = translation.get_language()
