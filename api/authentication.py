"""How API requests authenticate: a Bearer access token, or the Django session (+ CSRF).

`BearerAuthentication` checks the token's signature and type, then its device session
through `accounts.devices.sessions.check_access` (one cache get with a shared cache). It sets
`request.user` to a `ClaimsUser` built from the claims, without a query, and
`request.auth` to the validated token (so views know the `sid`).
"""

from django.contrib.auth import get_user_model
from django.utils.functional import cached_property
from rest_framework import HTTP_HEADER_ENCODING, exceptions
from rest_framework import authentication as drf_authentication
from rest_framework_simplejwt.exceptions import TokenError

from accounts.devices import sessions
from accounts.devices.cookies import ACCESS_COOKIE
from accounts.devices.ip_binding import address_matches
from accounts.devices.tokens import decode_access


class ClaimsUser:
    """The signed-in user as the access token describes it.

    `id`, `pk`, `username`, `is_staff`, `is_superuser`, `is_active` and
    `is_authenticated` come from the claims (no query: tokens are only issued to active
    users, and deactivation ends their sessions). Any other attribute loads the user row
    once, lazily.
    """

    is_active = True
    is_authenticated = True
    is_anonymous = False

    def __init__(self, token):
        self.token = token
        self.pk = self.id = token.user_pk
        self.username = token.get("username", "")
        self.is_staff = bool(token.get("is_staff", False))
        self.is_superuser = bool(token.get("is_superuser", False))

    @cached_property
    def db_user(self):
        user = get_user_model().objects.filter(pk=self.pk, is_active=True).first()
        if user is None:
            raise exceptions.AuthenticationFailed(
                "This device session has ended; sign in again.", code="session_revoked"
            )
        return user

    def __getattr__(self, name):
        # Only called for attributes not set above: email, has_perm, groups, ...
        if name.startswith("__") or name in ("token", "db_user"):
            raise AttributeError(name)
        return getattr(self.db_user, name)

    def get_username(self):
        return self.username

    def __eq__(self, other):
        other_pk = getattr(other, "pk", None)
        return other_pk is not None and other_pk == self.pk and hasattr(other, "is_authenticated")

    def __hash__(self):
        return hash(self.pk)

    def __str__(self):
        return self.username


def model_user(user):
    """The user row behind `request.user` (loads it for a ClaimsUser)."""
    return user.db_user if isinstance(user, ClaimsUser) else user


class BearerAuthentication(drf_authentication.BaseAuthentication):
    """`Authorization: Bearer <access>`: 401 `token_invalid` for a bad, expired or
    wrong-type token, 401 `session_revoked` when its device session has ended."""

    keyword = "Bearer"

    def authenticate(self, request):
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if isinstance(header, bytes):
            header = header.decode(HTTP_HEADER_ENCODING, errors="replace")
        parts = header.split()
        if not parts or parts[0].lower() != self.keyword.lower():
            return None
        if len(parts) != 2:
            raise sessions.token_invalid()
        return authenticate_access_token(request, parts[1])

    def authenticate_header(self, request):
        return f'{self.keyword} realm="api"'


class SessionAuthentication(drf_authentication.SessionAuthentication):
    """DRF's session authentication; a CSRF failure is 403 `csrf_failed`."""

    def enforce_csrf(self, request):
        try:
            super().enforce_csrf(request)
        except exceptions.PermissionDenied as exc:
            raise exceptions.PermissionDenied(
                "CSRF check failed: send the X-CSRFToken header with the csrftoken cookie.",
                code="csrf_failed",
            ) from exc


def authenticate_access_token(request, raw):
    """(ClaimsUser, token) for a raw access token, checked like every JWT request:
    signature, expiry, type, the client address (JWT_BIND_IP) and the device session."""
    try:
        token = decode_access(raw)
    except TokenError as exc:
        raise sessions.token_invalid() from exc
    if not address_matches(token, request):
        raise sessions.token_invalid()
    sessions.check_access(token)
    return ClaimsUser(token), token


def enforce_csrf(request):
    """403 `csrf_failed` unless a safe method or `X-CSRFToken` matches the csrftoken
    cookie (Django's own check, as for the session). Checked on the HttpRequest, so the
    body is never parsed first (a bad body cannot turn a CSRF failure into a 415)."""
    SessionAuthentication().enforce_csrf(getattr(request, "_request", request))


class CookieAuthentication(drf_authentication.BaseAuthentication):
    """The `access_token` cookie of the cookie transport (browser apps).

    After BearerAuthentication in DEFAULT_AUTHENTICATION_CLASSES: a request with a Bearer
    header is authenticated by it alone. Only the access cookie is read, never the refresh
    cookie (no silent refresh: a refresh token is not an access token). Unsafe methods
    need the CSRF header, checked before the token.
    """

    def authenticate(self, request):
        raw = request.COOKIES.get(ACCESS_COOKIE)
        if not raw:
            return None
        enforce_csrf(request)
        return authenticate_access_token(request, raw)
