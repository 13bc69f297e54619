"""Trusted devices (OWASP's "device cookie"): a proof, signed by the server, that a client
once signed in to an account, so that the account lockout, which anyone who knows a name
can trigger, does not lock the owner out.

A trust token is `django.core.signing.dumps({"u": <user pk>, "d": <random device id>,
"p": <password fingerprint>})` with a salt of its own:
- the signature (HMAC keyed by SECRET_KEY, compared in constant time by `signing.loads`)
  makes it unforgeable; SECRET_KEY_FALLBACKS keep tokens alive through a key rotation;
- the timestamp `dumps` adds is its issue time: it expires ACCOUNTS["SESSION_MAX_AGE"]
  seconds later (the longest a device session lives);
- the fingerprint is an HMAC of the user's password hash (as in Django's password-reset
  tokens), so every token of a user dies when the password is set, by any path. A hash
  upgrade (new hasher parameters) also changes it: those devices are untrusted until
  their next sign-in.
Its holder can read the payload (base64 JSON); nothing in it is secret.

A token never replaces the password. It only changes how a sign-in is counted
(accounts.security.lockout): against the token's own small budget instead of the account lock and
the address throttle.
"""

import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.core import signing
from django.utils.crypto import constant_time_compare, salted_hmac

from accounts.conf import kit_settings

if TYPE_CHECKING:
    from accounts.models import User

SALT = "accounts.device_trust"


def _fingerprint(user: "User") -> str:
    return salted_hmac(f"{SALT}.password", user.password, algorithm="sha256").hexdigest()[:32]


def trust_token_max_age() -> int:
    """Seconds a trust token (and the `device_trust` cookie) lives."""
    return kit_settings.SESSION_MAX_AGE


@dataclass(frozen=True)
class TrustToken:
    """A trust token whose signature and age were checked."""

    user_pk: str
    device: str
    fingerprint: str

    def vouches_for(self, user: "User | None") -> bool:
        """True when this token was issued to `user` and the password has not changed."""
        return (
            user is not None
            and str(user.pk) == self.user_pk
            and constant_time_compare(self.fingerprint, _fingerprint(user))
        )


def trust_token_issue(*, user: "User") -> str:
    """A new trust token for a device that has just signed in to `user`'s account."""
    payload = {"u": str(user.pk), "d": secrets.token_urlsafe(16), "p": _fingerprint(user)}
    return signing.dumps(payload, salt=SALT)


def trust_token_read(*, token: str | None) -> TrustToken | None:
    """The token, when its signature holds and it has not expired; else None."""
    if not token or not isinstance(token, str) or len(token) > 512:
        return None
    try:
        payload = signing.loads(token, salt=SALT, max_age=trust_token_max_age())
    except signing.BadSignature:  # also SignatureExpired
        return None
    if not isinstance(payload, dict):
        return None
    fields = [payload.get(key) for key in ("u", "d", "p")]
    strings = [value for value in fields if isinstance(value, str) and value]
    if len(strings) != len(fields):
        return None
    return TrustToken(*strings)
