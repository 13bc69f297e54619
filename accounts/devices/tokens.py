"""The kit's JWTs: an access/refresh pair bound to one device session.

These classes write every token's claims (`claims_for`) and read every token; one backend,
`accounts.devices.signing.get_token_backend()`, signs and verifies them all (keys, `kid`,
algorithms). Issuing builds only the claims dict and signs it: simplejwt's token object
cost more to build than the signature. Lifetimes are read from settings when a token is
issued, not when this module is imported.
"""

import functools
import json
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.functional import cached_property
from rest_framework_simplejwt.exceptions import ExpiredTokenError, TokenError
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.tokens import AccessToken, Token
from rest_framework_simplejwt.utils import aware_utcnow, datetime_to_epoch

from accounts.devices import signing
from accounts.devices.claims import extra_claims
from accounts.devices.ip_binding import CLIENT_IP_CLAIM, client_ip_hash
from accounts.devices.signing import KitTokenBackend, KitTokenBackendMixin, get_token_backend

if TYPE_CHECKING:
    from accounts.models import DeviceSession, User

    # The mixin is only ever mixed into a simplejwt Token: its payload, verify(), ...
    _TokenBase = Token
else:
    _TokenBase = object

SESSION_CLAIM = "sid"
RIGHTS_VERSION_CLAIM = "rv"
# Verified access tokens remembered per process (~12 MB at most; docs/performance.md).
VERIFIED_TOKENS_KEPT = 4096

_T = TypeVar("_T", bound=Token)


class _DeviceSessionTokenMixin(KitTokenBackendMixin, _TokenBase):
    """Signed and verified by the kit's key ring (accounts.devices.signing); requires `sub` and
    a UUID `sid` on the way in: a token without them is invalid."""

    def verify(self) -> None:
        super().verify()
        for claim in ("sub", SESSION_CLAIM):
            if not isinstance(self.payload.get(claim), str):
                raise TokenError(f"Token has no '{claim}' claim")
        try:
            # Parsed once here; every later use of the token reads these.
            self.session_id  # noqa: B018
            self.user_pk  # noqa: B018
        except (ValueError, ValidationError) as exc:
            raise TokenError("Token has a malformed 'sub' or 'sid' claim") from exc

    @cached_property
    def session_id(self) -> uuid.UUID:
        return uuid.UUID(self.payload[SESSION_CLAIM])

    @cached_property
    def user_pk(self) -> Any:
        """`sub` as the user model's primary key value."""
        return get_user_model()._meta.pk.to_python(self.payload["sub"])

    @property
    def jti(self) -> str:
        return self.payload["jti"]


class DeviceAccessToken(_DeviceSessionTokenMixin, AccessToken):
    """Access token: who (sub, username, rights flags, rights version) on which session,
    from which client address (`cip`, see accounts.devices.ip_binding), plus the claims of
    ACCOUNTS["TOKEN_CLAIMS"] (accounts.devices.claims; they cannot replace the kit's own)."""

    @classmethod
    def claims_for(
        cls, session: "DeviceSession", user: "User", *, now: datetime, expires_at: datetime
    ) -> dict[str, Any]:
        """The claims of a new access token (a dict: issuing builds no token object)."""
        claims = dict(extra_claims(user))
        claims.update(
            {
                api_settings.TOKEN_TYPE_CLAIM: cls.token_type,
                "exp": datetime_to_epoch(expires_at),
                "iat": datetime_to_epoch(now),
                api_settings.JTI_CLAIM: new_jti(),
                "sub": str(user.pk),
                SESSION_CLAIM: str(session.pk),
                "username": user.get_username(),
                "is_staff": bool(user.is_staff),
                "is_superuser": bool(user.is_superuser),
                RIGHTS_VERSION_CLAIM: user.rights_version,
                # How the user signed in (RFC 8176), kept by every refresh of the session.
                "amr": list(session.amr),
            }
        )
        ip_hash = client_ip_hash(session.ip_address)
        if ip_hash:
            claims[CLIENT_IP_CLAIM] = ip_hash
        return claims


class DeviceRefreshToken(_DeviceSessionTokenMixin, Token):
    """Refresh token: only `sub`, `sid` and the `jti` the session expects next.

    A plain simplejwt Token, not its RefreshToken: rotation and reuse detection live in the
    device session, so simplejwt's blacklist tables are never consulted."""

    token_type = "refresh"  # noqa: S105 - a claim value, not a secret
    lifetime = api_settings.REFRESH_TOKEN_LIFETIME

    @classmethod
    def claims_for(cls, session: "DeviceSession", *, now: datetime) -> dict[str, Any]:
        """The claims of a new refresh token: `session.refresh_jti` is the one it expects."""
        return {
            api_settings.TOKEN_TYPE_CLAIM: cls.token_type,
            "exp": datetime_to_epoch(session.refresh_expires_at),
            "iat": datetime_to_epoch(now),
            api_settings.JTI_CLAIM: session.refresh_jti,
            "sub": str(session.user_id),
            SESSION_CLAIM: str(session.pk),
        }


@dataclass(frozen=True)
class TokenPair:
    access: str
    refresh: str
    access_expires_in: int
    refresh_expires_in: int
    token_type: str = "Bearer"  # noqa: S105 - the scheme name

    def as_dict(self) -> dict[str, Any]:
        return {
            "access": self.access,
            "refresh": self.refresh,
            "token_type": self.token_type,
            "access_expires_in": self.access_expires_in,
            "refresh_expires_in": self.refresh_expires_in,
        }


def new_jti() -> str:
    return uuid.uuid4().hex


def access_lifetime() -> timedelta:
    return timedelta(seconds=settings.JWT_ACCESS_TOKEN_LIFETIME)


def refresh_lifetime() -> timedelta:
    return timedelta(seconds=settings.JWT_REFRESH_TOKEN_LIFETIME)


def _seconds_until(moment: datetime, now: datetime) -> int:
    return max(0, int((moment - now).total_seconds()))


def issue_pair(session: "DeviceSession", user: "User", *, now: datetime | None = None) -> TokenPair:
    """A fresh pair for `session` (whose `refresh_jti` and `refresh_expires_at` are set).

    The access token never outlives the session's refresh token (the absolute cap).
    """
    now = now or timezone.now()
    access_expires_at = min(now + access_lifetime(), session.refresh_expires_at)
    backend = get_token_backend()
    access = DeviceAccessToken.claims_for(session, user, now=now, expires_at=access_expires_at)
    refresh = DeviceRefreshToken.claims_for(session, now=now)
    return TokenPair(
        access=backend.encode(access),
        refresh=backend.encode(refresh),
        access_expires_in=_seconds_until(access_expires_at, now),
        refresh_expires_in=_seconds_until(session.refresh_expires_at, now),
    )


def _decode(token_class: type[_T], raw: object) -> _T:
    """The validated token, or TokenError for anything else (garbage, wrong type, expired)."""
    if not isinstance(raw, str | bytes) or not raw:
        raise TokenError("Token is invalid")
    try:
        # simplejwt's hint says Token; the encoded token is what it takes
        return token_class(raw)  # type: ignore[arg-type]
    except TokenError:
        raise
    except (ValueError, TypeError, KeyError) as exc:
        # Oddly shaped but correctly signed payloads never become a 500.
        raise TokenError("Token is invalid") from exc


_SCALARS = (str, int, float, bool, type(None))


@functools.lru_cache(maxsize=VERIFIED_TOKENS_KEPT)
def _verified_access(
    backend: KitTokenBackend, raw: str | bytes
) -> tuple[DeviceAccessToken, dict[str, Any] | str]:
    """(token, its claims) of a verified access token, kept by the backend (the key set:
    new keys start with nothing remembered) and the token's exact text. The claims are
    kept as a dict when every value is a scalar (a shallow copy is then a whole copy), as
    JSON otherwise (custom claims with lists or objects)."""
    token = _decode(DeviceAccessToken, raw)
    claims = dict(token.payload)
    if not all(isinstance(value, _SCALARS) for value in claims.values()):
        return token, json.dumps(claims)
    return token, claims


def decode_access(raw: object) -> DeviceAccessToken:
    """The verified access token of `raw`, or TokenError.

    Verified once per process: an app sends the same access token for its whole lifetime,
    so the token (signature, claims, type, `sub` and `sid`) is remembered by its exact
    text, and a later request pays a lookup, the expiry check and a copy. Only the expiry
    changes with time: it is checked on every call. Revocation is not a property of the
    token and is checked per request elsewhere (accounts.devices.sessions.check_access).
    """
    if not isinstance(raw, str | bytes) or not raw:
        raise TokenError("Token is invalid")
    token, claims = _verified_access(get_token_backend(), raw)
    if token.payload["exp"] <= time.time() - signing.LEEWAY_SECONDS:
        raise ExpiredTokenError("Token is expired")
    # A copy (keeping the parsed session_id and user_pk), as copy.copy makes it but
    # without its generic protocol, which cost more than the rest of the lookup.
    fresh = object.__new__(type(token))
    fresh.__dict__.update(token.__dict__)
    # Callers may change their copy's claims.
    fresh.payload = dict(claims) if isinstance(claims, dict) else json.loads(claims)
    fresh.current_time = aware_utcnow()
    return fresh


def decode_refresh(raw: object) -> DeviceRefreshToken:
    return _decode(DeviceRefreshToken, raw)


def decode_any(raw: object) -> DeviceAccessToken | DeviceRefreshToken:
    """An access or refresh token, whichever `raw` is (for /auth/token/verify/)."""
    try:
        return decode_access(raw)
    except TokenError:
        return decode_refresh(raw)
