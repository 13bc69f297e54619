"""Whether an account's e-mail address is verified: the one place every sign-in path asks.

The store is allauth.account's `EmailAddress`. An account counts as verified unless it has
an `EmailAddress` row for its current address marked unverified: sign-up writes that row,
so users created by staff, `createsuperuser` or a data import (no row) count as verified,
as the issue asks, with no back-fill migration.
"""

from allauth.account.models import EmailAddress
from django.contrib.auth.models import AbstractBaseUser

from accounts.conf import kit_settings
from accounts.errors import EmailUnverified

MANDATORY = "mandatory"
OPTIONAL = "optional"
NONE = "none"
MODES = (MANDATORY, OPTIONAL, NONE)


def email_verification_mode() -> str:
    """ACCOUNTS_EMAIL_VERIFICATION, or its default: mandatory when sign-up is on."""
    mode = kit_settings.EMAIL_VERIFICATION
    if mode:
        return mode
    return MANDATORY if kit_settings.ALLOW_SIGNUP else OPTIONAL


def email_verified(*, user: AbstractBaseUser) -> bool:
    """False only when the user's current address has an unverified EmailAddress row."""
    email = getattr(user, "email", "")
    if not email:
        return True
    return not EmailAddress.objects.filter(
        user_id=user.pk, email__iexact=email, verified=False
    ).exists()


def email_verified_check(*, user: AbstractBaseUser) -> None:
    """Raise EmailUnverified when the mode is mandatory and the address is unverified.
    Called by every sign-in path after the credentials are proven and before any session
    (device or browser) opens, so the answer tells nothing to someone without them."""
    if email_verification_mode() == MANDATORY and not email_verified(user=user):
        raise EmailUnverified()
