"""The cookies of the cookie transport (browser apps): names, paths, flags, in one place.

- `access_token`: Path=/ so the API and the product's own pages (accounts.auth with the
  "jwt" backend) see it. Max-Age is the refresh token's remaining life, not the access
  token's: an expired access token is still sent, the API answers 401 `token_invalid`,
  and the app knows to refresh (instead of a bare `not_authenticated`).
- `refresh_token` and `device_id`: Path=/api/v1/auth/cookie/, sent only to the cookie
  routes. `device_id` lives long (400 days, browsers' cap) and is set once, so one
  browser is one device session: signing in again replaces it.
- `device_trust`: Path=/, the device's trust token (accounts.security.device_trust), set by every
  browser sign-in (HTML page and cookie route) and sent back by the next one, so the
  account lockout does not lock this browser's owner out. It lives as long as the token.
All HttpOnly (JavaScript never reads a token), SameSite=Lax, Secure unless DEBUG, with an
explicit Max-Age (never browser-session cookies of unknown life).
"""

import uuid
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.http import HttpRequest, HttpResponseBase

from accounts.security.device_trust import trust_token_max_age

if TYPE_CHECKING:
    from accounts.devices.tokens import TokenPair

ACCESS_COOKIE = "access_token"
REFRESH_COOKIE = "refresh_token"
DEVICE_COOKIE = "device_id"
TRUST_COOKIE = "device_trust"
COOKIE_ROUTES_PATH = "/api/v1/auth/cookie/"
DEVICE_COOKIE_MAX_AGE = 400 * 24 * 3600


def _flags() -> dict[str, Any]:
    return {"httponly": True, "samesite": "Lax", "secure": not settings.DEBUG}


def browser_device_id(request: HttpRequest) -> str | None:
    """The browser's device id from its cookie, or None when absent or malformed."""
    from accounts.devices.sessions import DEVICE_ID_PATTERN  # sessions -> lockout -> api -> here

    value = request.COOKIES.get(DEVICE_COOKIE, "")
    return value if DEVICE_ID_PATTERN.match(value) else None


def new_device_id() -> str:
    return uuid.uuid4().hex


def set_device_cookie(response: HttpResponseBase, device_id: str) -> None:
    response.set_cookie(
        DEVICE_COOKIE, device_id, max_age=DEVICE_COOKIE_MAX_AGE, path=COOKIE_ROUTES_PATH, **_flags()
    )


def set_trust_cookie(response: HttpResponseBase, token: str) -> None:
    """The `device_trust` cookie: the trust token of a sign-in that has just succeeded."""
    response.set_cookie(TRUST_COOKIE, token, max_age=trust_token_max_age(), path="/", **_flags())


def set_token_cookies(response: HttpResponseBase, pair: "TokenPair") -> None:
    """Both token cookies of a TokenPair; both expire with the refresh token."""
    max_age = pair.refresh_expires_in
    response.set_cookie(ACCESS_COOKIE, pair.access, max_age=max_age, path="/", **_flags())
    response.set_cookie(
        REFRESH_COOKIE, pair.refresh, max_age=max_age, path=COOKIE_ROUTES_PATH, **_flags()
    )


def delete_token_cookies(response: HttpResponseBase) -> None:
    """Expire both token cookies (same path and flags, or the browser keeps them)."""
    flags = _flags()
    response.delete_cookie(ACCESS_COOKIE, path="/", samesite=flags["samesite"])
    response.delete_cookie(REFRESH_COOKIE, path=COOKIE_ROUTES_PATH, samesite=flags["samesite"])
