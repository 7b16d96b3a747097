"""Keeps the current request in a context variable, so that events written from model signals (an admin
editing a membership) are stamped with the acting user and address."""
from .services import current_request


class SecurityContextMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = current_request.set(request)
        try:
            return self.get_response(request)
        finally:
            current_request.reset(token)
