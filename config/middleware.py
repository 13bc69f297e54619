"""A lean path for API requests that carry no cookie (docs/performance.md).

Such a request (a mobile app, an SPA with a Bearer token, a service with an API key) has
no browser session, no flash messages and no signed-in Django user to load: Django's
session, authentication and messages middleware would only build empty objects for it.
These subclasses pass it straight through, with an empty session and an anonymous user
in place so code that looks at them still works; DRF then authenticates the request and
sets `request.user` itself.

Anything with a cookie, and every path outside the API, takes the full stack, so CSRF
protection and sessions of cookie-authenticated requests are untouched (the CSRF
middleware itself always runs).
"""

from django.contrib.auth.middleware import AuthenticationMiddleware as _AuthenticationMiddleware
from django.contrib.auth.models import AnonymousUser
from django.contrib.messages.middleware import MessageMiddleware as _MessageMiddleware
from django.contrib.sessions.middleware import SessionMiddleware as _SessionMiddleware

LEAN_PATH_PREFIXES = ("/api/", "/bench/")


def is_lean(request):
    """A cookie-less request to the API."""
    return not request.META.get("HTTP_COOKIE") and request.path_info.startswith(LEAN_PATH_PREFIXES)


class SessionMiddleware(_SessionMiddleware):
    def __call__(self, request):
        if is_lean(request):
            request.session = self.SessionStore()  # empty, never saved: no cookie to set
            return self.get_response(request)
        return super().__call__(request)


class AuthenticationMiddleware(_AuthenticationMiddleware):
    def __call__(self, request):
        if is_lean(request):
            request.user = AnonymousUser()
            return self.get_response(request)
        return super().__call__(request)


class MessageMiddleware(_MessageMiddleware):
    def __call__(self, request):
        if is_lean(request):
            return self.get_response(request)
        return super().__call__(request)
