"""The errors the rules of `accounts` raise: one small hierarchy, each with its contract code.

The rules know nothing of HTTP. Each transport maps these in one place: the API in
api/exceptions.py (status, `{"code", "detail", ...extras}`, Retry-After), the HTML pages
in accounts/web/ (a form error or a page), the Python API (accounts.auth) raises them
as they are. Field errors are not here: they stay Django's ValidationError, a dict keyed
by the field.
"""

from typing import TYPE_CHECKING, Any, ClassVar

from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise


class AccountsError(Exception):
    """Base of every domain error: a stable `code` (the contract's) and a human `detail`.

    `default_detail` is translated lazily: it becomes text in the language of the request
    that shows it (a page, or the API's JSON), not at import (docs/translations.md)."""

    code: ClassVar[str] = "error"
    default_detail: ClassVar["StrOrPromise"] = _("The request was refused.")

    def __init__(self, detail: "StrOrPromise | None" = None) -> None:
        self.detail = str(detail) if detail is not None else self.default_detail
        super().__init__(self.detail)

    @property
    def extras(self) -> dict[str, Any]:
        """Fields a response carries beside `code` and `detail` (none by default)."""
        return {}


class InvalidCredentials(AccountsError):
    """Unknown user, inactive user or wrong password: one error, so nothing tells which."""

    code = "invalid_credentials"
    default_detail = _("Unable to sign in with these credentials.")


class LockedOut(InvalidCredentials):
    """Refused by the brute-force lockout (accounts.security.lockout) before any password
    check; may be tried again in `retry_after` seconds. A subclass of InvalidCredentials,
    so who catches a refused sign-in catches this too (accounts.auth documents it so)."""

    code = "too_many_attempts"
    default_detail = _("Too many failed sign-in attempts; try again later.")

    def __init__(self, retry_after: int, detail: "StrOrPromise | None" = None) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


class TokenInvalid(AccountsError):
    """A bad signature, a malformed, expired or wrong-type token."""

    code = "token_invalid"
    default_detail = _("The token is invalid, malformed, expired or of the wrong type.")


class SessionRevoked(AccountsError):
    """The token's device session has ended (or its user is gone)."""

    code = "session_revoked"
    default_detail = _("This device session has ended; sign in again.")


class TokenStale(AccountsError):
    """An access token whose rights claims predate a change of the user's rights."""

    code = "token_stale"
    default_detail = _("Your rights changed since this token was issued; refresh it.")


class DeviceLimitReached(AccountsError):
    """The user has the maximum of active device sessions and the policy is `reject`;
    `devices` lists them (`id`, `name`, `last_used_at`) so an app can offer to sign one
    out."""

    code = "device_limit_reached"
    default_detail = _("The device limit is reached: sign out one of your devices first.")

    def __init__(self, devices: list[dict[str, Any]], detail: "StrOrPromise | None" = None) -> None:
        super().__init__(detail)
        self.devices = devices

    @property
    def extras(self) -> dict[str, Any]:
        return {"devices": self.devices}


class RefreshReused(AccountsError):
    """A refresh token that was already exchanged: its device session is now revoked."""

    code = "refresh_reused"
    default_detail = _("This refresh token was already used; the device session is now signed out.")


class DeviceMismatch(AccountsError):
    """A refresh token presented with another device's `device_id`."""

    code = "device_mismatch"
    default_detail = _("This refresh token was issued to another device.")


class Throttled(AccountsError):
    """Over a rate limit (accounts.security.ratelimit); retry in `retry_after` seconds."""

    code = "throttled"
    default_detail = _("Too many requests; try again later.")

    def __init__(self, retry_after: int, detail: "StrOrPromise | None" = None) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


class NotFound(AccountsError):
    """What the rules will not show this caller, e.g. another user's device session: the
    same answer as for one that does not exist."""

    code = "not_found"
    default_detail = _("Not found.")


class ApiKeyInvalid(AccountsError):
    """Unknown, revoked, expired, malformed or wrong secret: callers cannot tell which."""

    code = "api_key_invalid"
    default_detail = _("The API key is unknown, revoked or expired.")


class ApiKeyThrottled(Throttled, ApiKeyInvalid):
    """Too many failed keys from this client address. A refusal like any other to a caller
    that catches only ApiKeyInvalid; `throttled` with `retry_after` to one that looks."""

    default_detail = _("Too many failed API keys from this address; try again later.")


class MfaRequired(AccountsError):
    """The password was right and the account has a second factor: no session yet. The
    client finishes the sign-in with `mfa_token` and a code of one of `methods`."""

    code = "mfa_required"
    default_detail = _("A second factor is required to finish signing in.")

    def __init__(
        self, mfa_token: str, methods: list[str], detail: "StrOrPromise | None" = None
    ) -> None:
        super().__init__(detail)
        self.mfa_token = mfa_token
        self.methods = methods

    @property
    def extras(self) -> dict[str, Any]:
        return {"mfa_token": self.mfa_token, "methods": self.methods}


class MfaInvalid(AccountsError):
    """A wrong, replayed or used second-factor code (counted as a failed sign-in)."""

    code = "mfa_invalid"
    default_detail = _("The code is wrong or was already used.")


class MfaTokenInvalid(AccountsError):
    """An `mfa_token` (or another multi-factor step's token) unknown, expired or used."""

    code = "mfa_token_invalid"
    default_detail = _("This sign-in step is unknown, expired or already used; sign in again.")


class MfaStepUpRequired(AccountsError):
    """A caller whose sign-in had no second factor (amr without "mfa") asking for what
    needs one: a route behind RequiresMFA, or a change of the second factors of an
    account that has one (else a password alone, or a session from before the first
    factor, could add or remove factors)."""

    code = "mfa_required_for_route"
    default_detail = _("This needs a sign-in with a second factor: sign in again with one.")


class EmailUnverified(AccountsError):
    """The account's e-mail address is not verified yet and ACCOUNTS_EMAIL_VERIFICATION is
    "mandatory": refused at every sign-in path before any session opens."""

    code = "email_unverified"
    default_detail = _("Verify your e-mail address first: follow the link in the e-mail we sent.")


class SocialTokenInvalid(AccountsError):
    """A provider's ID token refused: signature, issuer, audience, expiry or nonce, or an
    unknown provider: one code for all."""

    code = "social_token_invalid"
    default_detail = _("The sign-in with this provider was refused.")

    def __init__(self, detail: "StrOrPromise | None" = None, *, reason: str = "invalid") -> None:
        super().__init__(detail)
        # Which check failed, for the audit trail only: the client sees one answer.
        self.reason = reason


class SocialProviderUnavailable(AccountsError):
    """The social sign-in's provider cannot be reached (its discovery document, keys or
    token endpoint: down, slow, or answering nonsense): try again shortly."""

    code = "service_unavailable"
    default_detail = _("The sign-in provider cannot be reached; try again shortly.")


class PasskeyInvalid(AccountsError):
    """A passkey ceremony refused: a credential unknown, malformed, not user-verified, from
    another origin or relying party, already registered, of a cloned authenticator (sign
    counter), or a challenge unknown, expired or used: one code for all."""

    code = "passkey_invalid"
    default_detail = _("The passkey was refused.")


__all__ = [
    "AccountsError",
    "ApiKeyInvalid",
    "ApiKeyThrottled",
    "DeviceLimitReached",
    "DeviceMismatch",
    "EmailUnverified",
    "InvalidCredentials",
    "LockedOut",
    "MfaInvalid",
    "MfaRequired",
    "MfaStepUpRequired",
    "MfaTokenInvalid",
    "NotFound",
    "PasskeyInvalid",
    "RefreshReused",
    "SessionRevoked",
    "SocialProviderUnavailable",
    "SocialTokenInvalid",
    "Throttled",
    "TokenInvalid",
    "TokenStale",
]
