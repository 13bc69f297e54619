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

from django.conf import settings
from django.contrib.auth.middleware import AuthenticationMiddleware as _AuthenticationMiddleware
from django.contrib.auth.models import AnonymousUser
from django.contrib.messages.middleware import MessageMiddleware as _MessageMiddleware
from django.contrib.sessions.middleware import SessionMiddleware as _SessionMiddleware
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils import translation
from django.utils.cache import patch_vary_headers

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


class LocaleMiddleware:
    """Django's LocaleMiddleware for a site without language prefixes in its URLs: the
    language of the language cookie (Django's set_language view) or else the best of
    Accept-Language among LANGUAGES (LANGUAGE_CODE when none fits), activated for the
    request (its pages, the e-mails it queues, the API's `detail` texts); the answer
    carries `Content-Language` and `Vary: Accept-Language`.

    Django's own looks for a language prefix in the path on every request, twice; this
    one does not, and remembers the language of each (cookie, header) pair it has seen,
    so a request costs a dict lookup and the activation: ~5 us instead of ~30 us, on
    every API request too (docs/translations.md).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        language = language_of(request)
        translation.activate(language)
        request.LANGUAGE_CODE = language
        response = self.get_response(request)
        # patch_vary_headers' work (~5 us) only when another Vary is already there.
        if "Vary" in response.headers:
            patch_vary_headers(response, ("Accept-Language",))
        else:
            response.headers["Vary"] = "Accept-Language"
        response.headers.setdefault("Content-Language", language)
        return response


# (language cookie, Accept-Language) -> language; emptied when full (a client may send
# any header) and when a language setting changes (tests).
_LANGUAGE_OF: dict[tuple[str | None, str], str] = {}
_LANGUAGE_OF_MAX = 1024


def language_of(request):
    """The language Django's get_language_from_request picks for `request`, memoised."""
    cookie = (
        request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
        if request.META.get("HTTP_COOKIE")
        else None
    )
    key = (cookie, request.META.get("HTTP_ACCEPT_LANGUAGE", ""))
    language = _LANGUAGE_OF.get(key)
    if language is None:
        language = translation.get_language_from_request(request)
        if len(_LANGUAGE_OF) >= _LANGUAGE_OF_MAX:
            _LANGUAGE_OF.clear()
        _LANGUAGE_OF[key] = language
    return language


@receiver(setting_changed)
def _forget_languages(*, setting, **kwargs):
    if setting.startswith("LANGUAGE"):
        _LANGUAGE_OF.clear()


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
