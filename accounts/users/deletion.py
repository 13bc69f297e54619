"""A user deleting their own account: at once deactivated and signed out everywhere; the
personal data erased ACCOUNTS_DELETION_GRACE_DAYS later (`manage.py
erase_deleted_accounts`, also run by `flush_expired_sessions`).

The grace keeps the account restorable by an administrator (set `is_active` and clear
`deletion_requested_at`) until the erasure, which cannot be undone. The erased row stays
as a tombstone (username `deleted:<id>`, no address, names, password, second factors or
device or browser sessions, provider links), so the audit events keep their user link; the
events themselves keep only the username they were written with (their address and user
agent are cleared; failed sign-ins that typed the e-mail address take the username).
"""

from datetime import datetime, timedelta

from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from allauth.socialaccount.models import SocialAccount
from django.contrib.auth.hashers import make_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.apikeys.keys import revoke_api_key
from accounts.conf import kit_settings
from accounts.devices import sessions
from accounts.mfa.factors import mfa_code_check, mfa_enabled
from accounts.models import ApiKey, AuthEvent, BrowserSession, DeviceSession, User
from accounts.security.audit import record_event
from accounts.security.lockout import verify_password
from accounts.users.profiles import forget_profiles

WRONG_PASSWORD = _("Your password was entered incorrectly.")
CODE_REQUIRED = _("Enter a code from your authenticator app or a recovery code.")
# No username a person can choose has a colon (Django's username validator).
TOMBSTONE_PREFIX = "deleted:"


def account_delete(
    *, user: User, password: str, code: str | None, request: HttpRequest | None
) -> None:
    """Delete `user`'s own account after checking their password (and a second-factor
    code when they have one): every device and browser session ends now, the account is
    deactivated (so a sign-in answers as for an unknown name) and erased after the grace.

    ValidationError {field: [...]} on a wrong password or code, nothing changed; both
    checks are behind the lockout, as a password change's old password is (LockedOut).
    """
    if not verify_password(request, user, password):
        raise ValidationError({"password": [WRONG_PASSWORD]})
    if mfa_enabled(user=user):
        if not code:
            raise ValidationError({"code": [CODE_REQUIRED]})
        mfa_code_check(user=user, code=code, request=request)
    with transaction.atomic():
        # First, so the sessions' audit says why (the deactivation's signal finds none left).
        sessions.revoke_all_sessions(
            user,
            reason=DeviceSession.RevokeReason.USER_DELETED,
            actor=user.get_username(),
            request=request,
        )
        user.is_active = False
        user.deletion_requested_at = timezone.now()
        user.save(update_fields=["is_active", "deletion_requested_at"])
        record_event(
            AuthEvent.Kind.ACCOUNT_DELETION_REQUESTED,
            request=request,
            user=user,
            session_id=None if request is None else sessions.current_session_id(request),
        )


def accounts_erase_deleted(*, now: datetime | None = None) -> int:
    """Erase the personal data of every account deleted more than
    ACCOUNTS_DELETION_GRACE_DAYS ago and not erased yet; -> how many were erased."""
    cutoff = (now or timezone.now()) - timedelta(days=kit_settings.DELETION_GRACE_DAYS)
    due = (
        User.objects.filter(deletion_requested_at__lt=cutoff, is_active=False)
        .exclude(username__startswith=TOMBSTONE_PREFIX)
        .values_list("pk", flat=True)
    )
    return sum(account_erase(user_id=user_id) for user_id in list(due))


def account_erase(*, user_id: int) -> bool:
    """Erase one deleted account's personal data (see the module's docstring); False when
    it is no longer due (restored, or already erased, meanwhile)."""
    with transaction.atomic():
        user = (
            User.objects.select_for_update()
            .filter(pk=user_id, is_active=False, deletion_requested_at__isnull=False)
            .exclude(username__startswith=TOMBSTONE_PREFIX)
            .first()
        )
        if user is None:
            return False
        username = user.get_username()
        for api_key in ApiKey.objects.filter(owner=user, revoked_at__isnull=True):
            revoke_api_key(api_key, actor=f"owner erased: {username}")
        ApiKey.objects.filter(owner=user).update(owner=None)
        Authenticator.objects.filter(user=user).delete()
        EmailAddress.objects.filter(user=user).delete()  # its addresses, verified or pending
        SocialAccount.objects.filter(user=user).delete()  # its providers' ids and claims
        DeviceSession.objects.filter(user=user).delete()
        BrowserSession.objects.filter(user=user).delete()
        if user.email:
            # Failed sign-ins that typed the address as the name (no user link) name the
            # person: they become the account's, under its username, as the others are.
            AuthEvent.objects.filter(user=None, username__iexact=user.email).update(
                user=user, username=username
            )
        AuthEvent.objects.filter(user=user).update(ip_address=None, user_agent="")
        # A bulk update: no signal, so no "password changed" event for the tombstone.
        User.objects.filter(pk=user.pk).update(
            username=f"{TOMBSTONE_PREFIX}{user.pk}",
            email="",
            first_name="",
            last_name="",
            password=make_password(None),
        )
        forget_profiles([user.pk])  # a bulk update sends no signal
        record_event(AuthEvent.Kind.ACCOUNT_ERASED, user=user, username=username)
    return True
