"""Single-use, short-lived steps of the multi-factor flows (MfaChallenge rows): the
`mfa_token` between a password and its second factor, a WebAuthn challenge, a TOTP secret
waiting for its first code.

The client holds a random token; the database holds only its SHA-256, so a read of the
table gives nobody a step to finish. A step is taken once: a conditional UPDATE sets
`used_at` only on a row still unused and unexpired, so of two concurrent takes (two
workers, two instances) exactly one wins.
"""

import hashlib
import secrets
from datetime import timedelta
from typing import Any

from django.utils import timezone

from accounts.conf import kit_settings
from accounts.errors import MfaTokenInvalid
from accounts.models import MfaChallenge, User


def token_hash(token: str) -> str:
    """The SHA-256 (hex) under which a step's token is stored."""
    return hashlib.sha256(token.encode()).hexdigest()


def challenge_issue(
    *,
    kind: MfaChallenge.Kind,
    user: User | None,
    data: dict[str, Any],
    seconds: int | None = None,
) -> str:
    """Open a step of `kind` for `user` (None before anyone is known, e.g. a passkey
    sign-in) holding `data`; -> the token to hand out. It lives `seconds`
    (default ACCOUNTS_MFA_TOKEN_SECONDS). `data` is stored as is: never a plaintext secret."""
    token = secrets.token_urlsafe(32)
    now = timezone.now()
    MfaChallenge.objects.create(
        kind=kind,
        user=user,
        token_hash=token_hash(token),
        data=data,
        created_at=now,
        expires_at=now + timedelta(seconds=seconds or kit_settings.MFA_TOKEN_SECONDS),
    )
    return token


def challenge_take(*, kind: MfaChallenge.Kind, token: str) -> MfaChallenge:
    """Use up the step of `kind` named by `token` and return it; MfaTokenInvalid when it
    is unknown, of another kind, expired or already used (one answer for all four)."""
    if not isinstance(token, str) or not token:
        raise MfaTokenInvalid()
    digest = token_hash(token)
    now = timezone.now()
    taken = MfaChallenge.objects.filter(
        kind=kind, token_hash=digest, used_at__isnull=True, expires_at__gt=now
    ).update(used_at=now)
    if taken != 1:
        raise MfaTokenInvalid()
    return MfaChallenge.objects.select_related("user").get(token_hash=digest)


def challenge_release(challenge: MfaChallenge) -> None:
    """Make a step taken by challenge_take usable again until it expires, for a step whose
    input was refused but may be retried (a mistyped code). Only the take that used it
    releases it (its own `used_at`)."""
    MfaChallenge.objects.filter(pk=challenge.pk, used_at=challenge.used_at).update(used_at=None)
