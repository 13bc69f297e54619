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


def api_not_found_in_debug(get_response):
    """DEBUG only (config/settings.py): a URL no route matches gets Django's technical HTML
    404 page, handler404 is not called; an app under /api/ gets the JSON 404 instead."""
    from api.views.errors import page_not_found

    def middleware(request):
        response = get_response(request)
        if (
            response.status_code == 404
            and request.path_info.startswith("/api/")
            and response.get("Content-Type", "").startswith("text/html")
        ):
            return page_not_found(request, None)
        return response

    return middleware
