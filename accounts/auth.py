"""accounts.auth: one Python API to sign people in and out, over the Django session or JWT.

    user = auth.authenticate(request, username, password)   # or AuthenticationError
    auth.login(request, user)                                # Django session (default)
    device, pair = auth.login(request, user, backend="jwt")  # a device session + tokens
    auth.login(request, user, backend="jwt", response=resp)  # ... set as cookies on resp
    auth.logout(request)                                     # ends what login started
    auth.get_user(request), auth.get_user_id(request)
    await auth.aauthenticate(...), alogin, alogout, aget_user  # for async views

The rules stay where they are: credentials and the lockout in
accounts.devices.sessions.authenticate_credentials, device sessions in accounts.devices.sessions,
browser sessions in django.contrib.auth. The default backend is
ACCOUNTS["DEFAULT_AUTH_BACKEND"] ("session" or "jwt"), read at each call. Errors are the
domain errors of accounts.errors, raised as they are (AuthenticationError and
LockedOutError are their names here). `request` is a Django HttpRequest or DRF's Request
(which hands Django's functions what they read of it).
"""

import uuid
from collections.abc import Sequence
from typing import Any, Final, Literal, NamedTuple, overload

from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib import auth as django_auth
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponseBase
from rest_framework_simplejwt.exceptions import TokenError

from accounts.conf import kit_settings
from accounts.devices import cookies, sessions
from accounts.devices.principal import ClaimsUser, authenticate_access_token, model_user
from accounts.devices.tokens import DeviceAccessToken, TokenPair, decode_access, decode_refresh
from accounts.errors import AccountsError, InvalidCredentials, LockedOut
from accounts.models import DeviceSession, User
from accounts.users.verification import sign_in_verified_check

SESSION: Final = "session"
JWT: Final = "jwt"
BACKENDS = (SESSION, JWT)
# The browser session's key holding how its user signed in (the `amr` of a "session" login).
SESSION_AMR_KEY: Final = "accounts_amr"


# Sign-in refused: unknown user, inactive user, wrong password, or a bad `login()` call.
# One error, one message, so nothing tells which. In a DRF view it renders as 401
# `invalid_credentials` (api/exceptions.py).
AuthenticationError = InvalidCredentials
# Refused by the brute-force lockout before any password check: a subclass of
# AuthenticationError with `retry_after` seconds; 429 `too_many_attempts` with Retry-After
# in a DRF view.
LockedOutError = LockedOut


class DeviceLogin(NamedTuple):
    """What a "jwt" login returns: the new device session and its token pair."""

    device: DeviceSession
    pair: TokenPair


def _backend(backend: str | None) -> str:
    name = backend or kit_settings.DEFAULT_AUTH_BACKEND
    if name not in BACKENDS:
        raise ValueError(
            f"Unknown auth backend {name!r}; supported: {', '.join(map(repr, BACKENDS))}."
        )
    return name


# --- authenticate -----------------------------------------------------------------------


def authenticate(
    request: HttpRequest | None,
    username: str,
    password: str,
    *,
    device_trust_token: str | None = None,
) -> User:
    """The active user these credentials belong to, or AuthenticationError.

    Django's authenticate() with its backends, signals and the lockout (LockedOutError, a
    subclass, once the account or client is locked out), and the failed sign-in audited.
    `device_trust_token` (or the request's `device_trust` cookie), when it is a valid
    trust token of that account, exempts the sign-in from the account lock (never from
    the password; accounts.security.device_trust).
    """
    return sessions.authenticate_credentials(
        request=request,
        username=username,
        password=password,
        device_trust_token=device_trust_token,
    )


# --- login ------------------------------------------------------------------------------


def _resolve_user(user: User | ClaimsUser | None, user_id: object) -> User:
    """The active, saved user of exactly one of `user` / `user_id` (else the one error).

    Duck's faults avoided: a user_id is looked up (no unknown or malformed id is taken on
    trust), bools are refused (True is 1), and an inactive user is refused.
    """
    if (user is None) == (user_id is None):
        raise AuthenticationError("Pass exactly one of user and user_id.")
    if user is not None:
        if getattr(user, "pk", None) is None or not getattr(user, "is_active", False):
            raise AuthenticationError()
        return model_user(user)
    if isinstance(user_id, bool) or not isinstance(user_id, int | str):
        raise AuthenticationError()
    if isinstance(user_id, str) and not user_id.strip():
        raise AuthenticationError()
    model = get_user_model()
    try:
        pk = model._meta.pk.to_python(user_id)
    except ValidationError:
        raise AuthenticationError() from None
    found = model.objects.filter(pk=pk, is_active=True).first()
    if found is None:
        raise AuthenticationError()
    return found


@overload
def login(
    request: HttpRequest,
    user: User | ClaimsUser | None = None,
    *,
    user_id: int | str | None = None,
    backend: Literal["jwt"],
    response: HttpResponseBase | None = None,
    device_id: str | None = None,
    device_name: str = "",
    revoke_device_id: str | None = None,
    amr: Sequence[str] = ("pwd",),
    device_trust_token: str | None = None,
    device_trusted: bool = False,
) -> DeviceLogin: ...


@overload
def login(
    request: HttpRequest,
    user: User | ClaimsUser | None = None,
    *,
    user_id: int | str | None = None,
    backend: str | None = None,
    response: HttpResponseBase | None = None,
    device_id: str | None = None,
    device_name: str = "",
    revoke_device_id: str | None = None,
    amr: Sequence[str] = ("pwd",),
    device_trust_token: str | None = None,
    device_trusted: bool = False,
) -> DeviceLogin | None: ...


def login(
    request: HttpRequest,
    user: User | ClaimsUser | None = None,
    *,
    user_id: int | str | None = None,
    backend: str | None = None,
    response: HttpResponseBase | None = None,
    device_id: str | None = None,
    device_name: str = "",
    revoke_device_id: str | None = None,
    amr: Sequence[str] = ("pwd",),
    device_trust_token: str | None = None,
    device_trusted: bool = False,
) -> DeviceLogin | None:
    """Sign in `user` (or the user with `user_id`: exactly one of them).

    "session": Django's login (a new session key, the session auth hash, user_logged_in);
    returns None. "jwt": a device session (accounts.devices.sessions.sign_in: device limit,
    replacement of the same `device_id`); returns DeviceLogin(device, pair). With
    `response=`, the cookie transport: the device id comes from the browser's `device_id`
    cookie (made and set on `response` the first time), and the tokens are set as the
    HttpOnly cookies on `response` instead of being meant for a body. `amr` (RFC 8176)
    says how the user proved who they are ("pwd"; ["pwd", "otp", "mfa"] after a second
    factor): the device session keeps it and its access tokens carry it, or the browser
    session keeps it under SESSION_AMR_KEY ("session"; session_amr reads it).
    `device_trust_token` and `device_trusted` say whether the device was trusted (the
    request's `device_trust` cookie counts too), so that only an untrusted one gets the
    new-device notice (sessions.sign_in; sessions.browser_sign_in_notice for "session",
    whose link ends this browser session).
    EmailUnverified (nothing opened) while the user's address awaits its verification
    and ACCOUNTS_EMAIL_VERIFICATION is "mandatory".
    """
    name = _backend(backend)
    user = _resolve_user(user, user_id)
    # Before any session opens: an unverified address (ACCOUNTS_EMAIL_VERIFICATION
    # "mandatory") is EmailUnverified, and a new link is mailed (accounts.users.verification).
    sign_in_verified_check(user=user, request=request)
    if name == SESSION:
        backend_path = getattr(user, "backend", None) or settings.AUTHENTICATION_BACKENDS[0]
        django_auth.login(request, user, backend=backend_path)
        request.session[SESSION_AMR_KEY] = list(amr)
        sessions.browser_sign_in_notice(
            request=request,
            user=user,
            device_trust_token=device_trust_token,
            device_trusted=device_trusted,
        )
        return None
    if response is not None and device_id is None:
        device_id = cookies.browser_device_id(request)
        if device_id is None:
            device_id = cookies.new_device_id()
            cookies.set_device_cookie(response, device_id)
    device, pair = sessions.sign_in(
        request=request,
        user=user,
        device_id=device_id,
        device_name=device_name,
        revoke_device_id=revoke_device_id,
        amr=amr,
        device_trust_token=device_trust_token,
        device_trusted=device_trusted,
    )
    if response is not None:
        cookies.set_token_cookies(response, pair)
    return DeviceLogin(device, pair)


# --- who is signed in -------------------------------------------------------------------


def session_amr(request: HttpRequest) -> list[str]:
    """How the user of the request's browser session signed in ([] for none recorded)."""
    session = getattr(request, "session", None)
    amr = session.get(SESSION_AMR_KEY) if session is not None else None
    return [str(m) for m in amr] if isinstance(amr, list) else []


def request_amr(request: HttpRequest | None) -> list[str]:
    """How the caller of `request` signed in: its access token's `amr` on a request a
    device session authenticates (the API's Bearer or cookie), else its browser session's
    (session_amr); [] for none (an API key, no request)."""
    token = getattr(request, "auth", None)
    if isinstance(token, DeviceAccessToken):
        amr = token.get("amr", [])
        return [str(m) for m in amr] if isinstance(amr, list) else []
    return session_amr(request) if request is not None else []


def _bearer_token(request: HttpRequest) -> str | None:
    header = request.META.get("HTTP_AUTHORIZATION", "")
    parts = header.split() if isinstance(header, str) else []
    return parts[1] if len(parts) == 2 and parts[0].lower() == "bearer" else None


def _verified_access_token(request: HttpRequest) -> DeviceAccessToken | None:
    """The request's access token, fully checked (as the API checks it), or None.

    A DRF request already authenticated by a token is not checked twice; otherwise the
    Bearer header wins over the access cookie, as in the API.
    """
    auth = getattr(request, "auth", None)
    if isinstance(auth, DeviceAccessToken):
        return auth
    raw = _bearer_token(request) or request.COOKIES.get(cookies.ACCESS_COOKIE)
    if not raw:
        return None
    try:
        return authenticate_access_token(request, raw)[1]
    except AccountsError:
        return None


def get_user_id(request: HttpRequest, backend: str | None = None) -> Any:
    """The signed-in user's id, or None. "session": the Django session's (after Django's
    checks: session auth hash, active user); "jwt": the `sub` of a valid access token
    whose device session is live."""
    if _backend(backend) == SESSION:
        user = django_auth.get_user(request)
        return user.pk if user.is_authenticated else None
    token = _verified_access_token(request)
    return None if token is None else get_user_model()._meta.pk.to_python(token["sub"])


def get_user(request: HttpRequest, backend: str | None = None) -> User | ClaimsUser | AnonymousUser:
    """The signed-in user, or AnonymousUser. With "jwt" a ClaimsUser: id, username and
    the rights flags from the claims without a query, the rest loaded on first use."""
    if _backend(backend) == SESSION:
        return django_auth.get_user(request)
    token = _verified_access_token(request)
    return AnonymousUser() if token is None else ClaimsUser(token)


# --- logout -----------------------------------------------------------------------------


def _session_id_to_end(request: HttpRequest) -> uuid.UUID | None:
    """The device session of the caller: its checked access token, else its refresh
    cookie, else its access cookie (signed, though possibly expired or revoked)."""
    token = _verified_access_token(request)
    if token is not None:
        return token.session_id
    for decode, raw in (
        (decode_refresh, request.COOKIES.get(cookies.REFRESH_COOKIE)),
        (decode_access, request.COOKIES.get(cookies.ACCESS_COOKIE)),
    ):
        if raw:
            try:
                return decode(raw).session_id
            except TokenError:
                continue
    return None


def logout(
    request: HttpRequest, backend: str | None = None, *, response: HttpResponseBase | None = None
) -> None:
    """End what login started. "session": Django's logout (the session is flushed, its
    key gone). "jwt": the caller's device session is revoked (nothing to do when it has
    already ended); with `response=`, both token cookies are deleted on it."""
    if _backend(backend) == SESSION:
        django_auth.logout(request)
        return
    session_id = _session_id_to_end(request)
    if session_id is not None:
        sessions.logout(request=request, session_id=session_id)
    if response is not None:
        cookies.delete_token_cookies(response)


# --- async twins: the same functions in a worker thread, never on the event loop --------
# thread_sensitive=True: every ORM call of a request runs in the one thread Django keeps
# for sync code, as its database connections require.

aauthenticate = sync_to_async(authenticate, thread_sensitive=True)
alogin = sync_to_async(login, thread_sensitive=True)
alogout = sync_to_async(logout, thread_sensitive=True)
aget_user = sync_to_async(get_user, thread_sensitive=True)
aget_user_id = sync_to_async(get_user_id, thread_sensitive=True)

__all__ = [
    "BACKENDS",
    "AuthenticationError",
    "DeviceLogin",
    "LockedOutError",
    "aauthenticate",
    "aget_user",
    "aget_user_id",
    "alogin",
    "alogout",
    "authenticate",
    "get_user",
    "get_user_id",
    "login",
    "logout",
    "session_amr",
]
