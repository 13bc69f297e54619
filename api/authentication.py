"""How API requests authenticate: a Bearer access token, or the Django session (+ CSRF).

`BearerAuthentication` checks the token (accounts.devices.principal: signature, type,
address, then its device session through `accounts.devices.sessions.check_access`, one
cache get with a shared cache). It sets `request.user` to a `ClaimsUser` built from the
claims, without a query, and `request.auth` to the validated token (so views know the
`sid`). The rules' domain errors become DRF's exceptions here (api.exceptions), so DRF
answers a refused credential as it does any other (401 with WWW-Authenticate).
"""

from typing import Any

from django.http import HttpRequest, QueryDict
from rest_framework import HTTP_HEADER_ENCODING, exceptions
from rest_framework import authentication as drf_authentication
from rest_framework.request import Request

from accounts.devices.cookies import ACCESS_COOKIE
from accounts.devices.principal import ClaimsUser, authenticate_access_token, model_user
from accounts.devices.tokens import DeviceAccessToken
from accounts.errors import TokenInvalid
from api.exceptions import as_api_exceptions

__all__ = [
    "BearerAuthentication",
    "ClaimsUser",
    "CookieAuthentication",
    "SessionAuthentication",
    "enforce_csrf",
    "model_user",
]


class BearerAuthentication(drf_authentication.BaseAuthentication):
    """`Authorization: Bearer <access>`: 401 `token_invalid` for a bad, expired or
    wrong-type token, 401 `session_revoked` when its device session has ended."""

    keyword = "Bearer"

    def authenticate(self, request: Request) -> tuple[ClaimsUser, DeviceAccessToken] | None:
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if isinstance(header, bytes):
            header = header.decode(HTTP_HEADER_ENCODING, errors="replace")
        parts = header.split()
        if not parts or parts[0].lower() != self.keyword.lower():
            return None
        with as_api_exceptions():
            if len(parts) != 2:
                raise TokenInvalid()
            return authenticate_access_token(request, parts[1])

    def authenticate_header(self, request: Request) -> str:
        return f'{self.keyword} realm="api"'


class SessionAuthentication(drf_authentication.SessionAuthentication):
    """DRF's session authentication; a CSRF failure is 403 `csrf_failed`."""

    def enforce_csrf(self, request: Any) -> None:
        try:
            super().enforce_csrf(request)
        except exceptions.PermissionDenied as exc:
            raise exceptions.PermissionDenied(
                "CSRF check failed: send the X-CSRFToken header with the csrftoken cookie.",
                code="csrf_failed",
            ) from exc


class _HeaderTokenOnly:
    """What Django's CSRF check reads of a request, without its body: every attribute of
    `request` but `POST`, which is empty. DRF's `Request.POST` would parse the body with
    the API's parsers first, so a bad body would answer 400 or 415 instead of 403; the
    API's bodies are JSON, which carries no form token anyway: the token is the
    X-CSRFToken header, as the contract names it."""

    POST = QueryDict()

    def __init__(self, request: HttpRequest) -> None:
        self.request = request

    def __getattr__(self, name: str) -> Any:
        return getattr(self.request, name)


def enforce_csrf(request: HttpRequest) -> None:
    """403 `csrf_failed` unless a safe method or `X-CSRFToken` matches the csrftoken
    cookie (Django's own check, as for the session), the body never parsed first."""
    SessionAuthentication().enforce_csrf(_HeaderTokenOnly(request))


class CookieAuthentication(drf_authentication.BaseAuthentication):
    """The `access_token` cookie of the cookie transport (browser apps).

    After BearerAuthentication in DEFAULT_AUTHENTICATION_CLASSES: a request with a Bearer
    header is authenticated by it alone. Only the access cookie is read, never the refresh
    cookie (no silent refresh: a refresh token is not an access token). Unsafe methods
    need the CSRF header, checked before the token.
    """

    def authenticate(self, request: Request) -> tuple[ClaimsUser, DeviceAccessToken] | None:
        raw = request.COOKIES.get(ACCESS_COOKIE)
        if not raw:
            return None
        enforce_csrf(request)
        with as_api_exceptions():
            return authenticate_access_token(request, raw)
