"""An administrator's reset of users' second factors: the way back in for a user who lost
every factor and every recovery code. Whoever held the lost factor may be signed in with
it, so the reset also ends every session of the user (apps and browsers)."""

from collections.abc import Sequence

from allauth.mfa.models import Authenticator
from django.db import transaction
from django.http import HttpRequest

from accounts.devices import sessions
from accounts.mfa.notices import mfa_change_records
from accounts.models import AuthEvent, DeviceSession, MfaChallenge, User


def mfa_factors_reset(*, users: Sequence[User], actor: str, request: HttpRequest | None) -> int:
    """Delete every factor of `users` (TOTP, recovery codes, passkeys) and their pending
    multi-factor steps, revoke all their device and browser sessions, audit and e-mail
    each user. One statement per step whatever the number of users (but the e-mails, one
    task each after the commit). Returns how many device sessions were revoked. A browser
    caller in `users` that should stay signed in calls `update_session_auth_hash` after
    (as for revoke_all_sessions_of_users)."""
    ids = [user.pk for user in users]
    with transaction.atomic():
        Authenticator.objects.filter(user_id__in=ids).delete()
        # A sign-in waiting for its second factor, or a TOTP secret waiting for its first
        # code, must not outlive the reset.
        MfaChallenge.objects.filter(user_id__in=ids).delete()
        revoked = sessions.revoke_all_sessions_of_users(
            users, reason=DeviceSession.RevokeReason.MFA_RESET, actor=actor, request=request
        )
        mfa_change_records(users=users, kind=AuthEvent.Kind.MFA_RESET, request=request, actor=actor)
    return revoked
