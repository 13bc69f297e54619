"""The two-step sign-in of an account with a second factor, for apps (tokens in the body)
and browser apps (tokens in cookies).

Step one is the password, checked as for any sign-in (accounts.auth.authenticate: the
lockout first). For an account with a factor, `mfa_sign_in_begin` then opens no session:
it raises MfaRequired with a single-use `mfa_token` (an MfaChallenge of kind SIGN_IN,
ACCOUNTS_MFA_TOKEN_SECONDS) that remembers the first step's device fields, its transport,
its lockout keys (so a trusted device stays trusted) and a fingerprint of the password.

Step two, `mfa_sign_in_finish`, takes the token and a code. A right code opens the device
session only then (the device limit and `revoke_device_id` apply now), with amr
["pwd", "otp", "mfa"]. A wrong code is counted by the lockout (mfa_code_verify) and the
token stays usable until it expires, so a mistyped code can be typed again: the lockout,
not the token, bounds the guesses (ACCOUNTS_LOGIN_FAILURE_LIMIT per lockout window,
whatever number of tokens the password gets). A right code uses the token up, whether the
session then opens or the device limit refuses it.
"""

from collections.abc import Sequence
from typing import Any, Literal

from django.http import HttpRequest, HttpResponseBase
from django.utils.crypto import constant_time_compare

from accounts import auth
from accounts.errors import LockedOut, MfaInvalid, MfaRequired, MfaTokenInvalid
from accounts.mfa.challenges import challenge_issue, challenge_release, challenge_take
from accounts.mfa.factors import mfa_code_verify, mfa_methods
from accounts.models import MfaChallenge, User
from accounts.security.lockout import DEVICE, Attempt, user_attempt
from accounts.users.verification import sign_in_verified_check

# RFC 8176: a password, then a one-time code (TOTP or recovery code): multi-factor.
AMR_PASSWORD_AND_CODE = ("pwd", "otp", "mfa")


def _amr_with_code(first: object) -> tuple[str, ...]:
    """The `amr` after the second step: the first step's (a password, or a provider's
    "fed" for a social sign-in, accounts.social) plus a one-time code, multi-factor."""
    methods = [str(m) for m in first] if isinstance(first, list) and first else ["pwd"]
    return tuple(dict.fromkeys([*methods, "otp", "mfa"]))


# "session": the HTML sign-in (accounts.web), finished by mfa_sign_in_finish_session.
Transport = Literal["token", "cookie", "session"]


def mfa_sign_in_begin(
    *,
    request: HttpRequest,
    user: User,
    transport: Transport,
    device_id: str | None = None,
    device_name: str = "",
    revoke_device_id: object = None,
    device_trust_token: str | None = None,
    amr: Sequence[str] = ("pwd",),
) -> None:
    """After a right password (or a provider's ID token: `amr` says which first step it
    was; the second step adds the code to it): nothing for an account without a second
    factor (the caller signs it in); MfaRequired (`mfa_token`, `methods`) for one with a
    factor, or
    EmailUnverified when its address awaits verification (accounts.users.verification)."""
    methods = mfa_methods(user)
    if not methods:
        return  # the caller's auth.login checks the address
    # No second step for an unverified address: refused now, before any token is issued.
    sign_in_verified_check(user=user, request=request)
    attempt = user_attempt(request, user, device_trust_token)
    data: dict[str, Any] = {
        "transport": transport,
        "device_id": device_id,
        "device_name": device_name,
        "revoke_device_id": str(revoke_device_id) if revoke_device_id else None,
        "lockout": {"account": attempt.account, "keys": [list(key) for key in attempt.keys]},
        "auth_hash": user.get_session_auth_hash(),
        "amr": list(amr),
    }
    token = challenge_issue(kind=MfaChallenge.Kind.SIGN_IN, user=user, data=data)
    raise MfaRequired(mfa_token=token, methods=methods)


def _attempt(user: User, data: dict[str, Any]) -> Attempt:
    """The first step's lockout attempt, as it counted the password."""
    lockout = data["lockout"]
    keys = tuple((str(kind), str(value)) for kind, value in lockout["keys"])
    return Attempt(name=user.get_username(), account=lockout["account"], keys=keys)


def _code_verified(
    *, request: HttpRequest, mfa_token: str, code: str, transport: Transport
) -> tuple[User, dict[str, Any]]:
    """Take the step of `mfa_token` and check `code`: -> (user, the first step's data).
    MfaTokenInvalid, MfaInvalid or LockedOut as mfa_sign_in_finish says."""
    challenge = challenge_take(kind=MfaChallenge.Kind.SIGN_IN, token=mfa_token)
    user, data = challenge.user, challenge.data
    if (
        user is None
        or not user.is_active
        or data.get("transport") != transport
        or not constant_time_compare(data.get("auth_hash", ""), user.get_session_auth_hash())
    ):
        raise MfaTokenInvalid()
    try:
        mfa_code_verify(user=user, code=code, request=request, attempt=_attempt(user, data))
    except (MfaInvalid, LockedOut):
        challenge_release(challenge)  # a mistyped code may be typed again
        raise
    return user, data


def mfa_sign_in_finish(
    *,
    request: HttpRequest,
    mfa_token: str,
    code: str,
    transport: Literal["token", "cookie"],
    response: HttpResponseBase | None = None,
) -> tuple[User, auth.DeviceLogin]:
    """The second step: -> (user, DeviceLogin) with the device session opened now.

    MfaTokenInvalid for a token unknown, expired, used, of the other transport, or whose
    user has since been deactivated or changed password; MfaInvalid (counted by the
    lockout) for a wrong or replayed code; LockedOut while the account is locked;
    DeviceLimitReached from the session's rules. With `response`, the cookie transport.
    """
    user, data = _code_verified(
        request=request, mfa_token=mfa_token, code=code, transport=transport
    )
    login = auth.login(
        request,
        user,
        backend=auth.JWT,
        response=response,
        device_id=data.get("device_id"),
        device_name=data.get("device_name") or "",
        revoke_device_id=data.get("revoke_device_id"),
        amr=_amr_with_code(data.get("amr")),
        # The first step's trust token counted it as a trusted device (a DEVICE key).
        device_trusted=any(kind == DEVICE for kind, _ in _attempt(user, data).keys),
    )
    return user, login


def mfa_sign_in_finish_session(*, request: HttpRequest, mfa_token: str, code: str) -> User:
    """The second step of the HTML sign-in (a step begun with transport "session"): the
    browser's Django session is signed in (amr pwd, otp, mfa), no device session. The
    same refusals as mfa_sign_in_finish."""
    user, data = _code_verified(
        request=request, mfa_token=mfa_token, code=code, transport="session"
    )
    auth.login(request, user, backend=auth.SESSION, amr=_amr_with_code(data.get("amr")))
    return user
