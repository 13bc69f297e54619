"""Who a JWT request is: the access token checked like every JWT request, and the user
it describes (`ClaimsUser`, no query). The API's authentication classes and the Python
API (accounts.auth) both use these."""

from typing import TYPE_CHECKING, Any, cast

from django.contrib.auth import get_user_model
from django.utils.functional import cached_property
from rest_framework_simplejwt.exceptions import TokenError

from accounts.devices import sessions
from accounts.devices.ip_binding import address_matches
from accounts.devices.tokens import DeviceAccessToken, decode_access
from accounts.errors import SessionRevoked, TokenInvalid

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser
    from django.http import HttpRequest

    from accounts.models import User


class ClaimsUser:
    """The signed-in user as the access token describes it.

    `id`, `pk`, `username`, `is_staff`, `is_superuser`, `is_active` and
    `is_authenticated` come from the claims (no query: tokens are only issued to active
    users, and deactivation ends their sessions). Any other attribute loads the user row
    once, lazily (SessionRevoked when it is gone or inactive).
    """

    is_active = True
    is_authenticated = True
    is_anonymous = False

    def __init__(self, token: DeviceAccessToken) -> None:
        self.token = token
        self.pk = self.id = token.user_pk
        self.username = token.get("username", "")
        self.is_staff = bool(token.get("is_staff", False))
        self.is_superuser = bool(token.get("is_superuser", False))

    @cached_property
    def db_user(self) -> "User":
        user = get_user_model().objects.filter(pk=self.pk, is_active=True).first()
        if user is None:
            raise SessionRevoked()
        return user

    def __getattr__(self, name: str) -> Any:
        # Only called for attributes not set above: email, has_perm, groups, ...
        if name.startswith("__") or name in ("token", "db_user"):
            raise AttributeError(name)
        return getattr(self.db_user, name)

    def get_username(self) -> str:
        return self.username

    def __eq__(self, other: object) -> bool:
        other_pk = getattr(other, "pk", None)
        return other_pk is not None and other_pk == self.pk and hasattr(other, "is_authenticated")

    def __hash__(self) -> int:
        return hash(self.pk)

    def __str__(self) -> str:
        return self.username


def model_user(user: "User | ClaimsUser | AnonymousUser") -> "User":
    """The user row behind an authenticated request's `request.user` (loads it for a
    ClaimsUser)."""
    return user.db_user if isinstance(user, ClaimsUser) else cast("User", user)


def authenticate_access_token(
    request: "HttpRequest", raw: str
) -> tuple[ClaimsUser, DeviceAccessToken]:
    """(ClaimsUser, token) for a raw access token, checked like every JWT request:
    signature, expiry, type, the client address (JWT_BIND_IP) and the device session.
    Raises TokenInvalid, SessionRevoked or TokenStale."""
    try:
        token = decode_access(raw)
    except TokenError as exc:
        raise TokenInvalid() from exc
    if not address_matches(token, request):
        raise TokenInvalid()
    sessions.check_access(token)
    return ClaimsUser(token), token
