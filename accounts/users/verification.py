"""Whether an account's e-mail address is verified: the one place every sign-in path asks,
and the verification itself (sign-up's address, and the new address of an e-mail change).

The store is allauth.account's `EmailAddress`. An account counts as verified unless it has
an `EmailAddress` row for its current address marked unverified: sign-up writes that row
(in every mode: "none" only lets it sign in unverified), so users created by staff,
`createsuperuser` or a data import (no row) count as verified, as the issue asks, with no
back-fill migration. An e-mail change (accounts.users
.email_change) writes an unverified row for the new address beside the account's own
address, which stays the account's until that row is verified.

The key in a verification e-mail is allauth.account's `EmailConfirmationHMAC` key of the
row: `signing.dumps(row id, salt=ACCOUNT_SALT)`, signed with SECRET_KEY, timestamped and
refused after ACCOUNT_EMAIL_CONFIRMATION_EXPIRE_DAYS (allauth's setting, 3 days). It is
made inside the mail task, so the queue stores no key (docs/decisions/0002-account-flows.md
says why allauth's key and store, and not its views). `from_key` only finds an unverified
row: a used key is refused. Two uses at once are decided by one conditional UPDATE
(`verified=False -> True`), so exactly one of them verifies.
"""

import logging

from allauth.account.models import EmailAddress, EmailConfirmationHMAC
from django.contrib.auth.models import AbstractBaseUser
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from accounts.conf import kit_settings
from accounts.errors import EmailUnverified
from accounts.models import AuthEvent, User
from accounts.security.audit import record_event

logger = logging.getLogger(__name__)

MANDATORY = "mandatory"
OPTIONAL = "optional"
NONE = "none"
MODES = (MANDATORY, OPTIONAL, NONE)

# A sign-in refused for an unverified address e-mails a new link, at most once per this
# many seconds per account (and only after the right password: nobody else can trigger it).
RESEND_SECONDS = 600

INVALID_KEY = _("This link is invalid, has expired or was already used.")


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


def sign_in_verified_check(*, user: AbstractBaseUser, request: HttpRequest | None) -> None:
    """email_verified_check for a sign-in whose credentials were just proven: on a refusal,
    also audited, and a new verification e-mail is queued (at most one per RESEND_SECONDS
    per account), so the link can always be had again, and only by who has the password."""
    try:
        email_verified_check(user=user)
    except EmailUnverified:
        record_event(AuthEvent.Kind.LOGIN_EMAIL_UNVERIFIED, request=request, user=user)  # type: ignore[arg-type]
        email_verification_resend(user=user, request=request)
        raise


def email_verification_resend(*, user: AbstractBaseUser, request: HttpRequest | None) -> bool:
    """Queue a new verification e-mail for `user`'s unverified address unless one was
    queued in the last RESEND_SECONDS; -> whether one was queued. Without a request (no
    host to link to) or with the cache down, nothing is sent: never more than the limit."""
    if request is None:
        return False
    try:
        first = cache.add(f"email-verification-resend:{user.pk}", 1, timeout=RESEND_SECONDS)
    except Exception:  # the cache is down: no way to hold the limit
        logger.warning("email verification: cache unreachable, no new link sent")
        return False
    if not first:
        return False
    from accounts.users import tasks

    tasks.send_verification_mail.enqueue(
        user_id=user.pk,
        domain=request.get_host(),
        use_https=request.is_secure(),
        language=translation.get_language() or "",
    )
    return True


def email_address_add(*, user: AbstractBaseUser, email: str, primary: bool) -> EmailAddress:
    """An unverified EmailAddress row of `user` for `email` (the one there is, or a new
    one)."""
    address, _created = EmailAddress.objects.get_or_create(
        user_id=user.pk, email=email, defaults={"primary": primary, "verified": False}
    )
    return address


def email_verification_key(*, address: EmailAddress) -> str:
    """The key of a verification e-mail for this row (allauth.account's HMAC key)."""
    return str(EmailConfirmationHMAC(address).key)


def email_verification_read(*, key: str) -> EmailAddress | None:
    """The unverified row a key names, when its signature and age hold; None otherwise.
    Reads only (the page behind the link shows it before its button verifies)."""
    confirmation = EmailConfirmationHMAC.from_key(key) if isinstance(key, str) else None
    if confirmation is None:
        return None
    address: EmailAddress = confirmation.email_address
    if not address.user.is_active:
        return None
    return address


def email_taken_by_another(*, user: User, email: str) -> bool:
    """Whether another account has `email` as its address or as a verified one."""
    return (
        User.objects.exclude(pk=user.pk).filter(email__iexact=email).exists()
        or EmailAddress.objects.exclude(user_id=user.pk)
        .filter(email__iexact=email, verified=True)
        .exists()
    )


def email_verify(*, key: str, request: HttpRequest | None) -> User:
    """Verify the address a key names; -> its user. For an e-mail change's new address,
    the address becomes the account's (User.email and its EmailAddress rows) in the same
    transaction. ValidationError({"key": [...]}) writing nothing for a bad, forged,
    expired or used key, for an inactive account, and for a new address that another
    account took meanwhile."""
    address = email_verification_read(key=key)
    if address is None:
        raise ValidationError({"key": [INVALID_KEY]})
    try:
        with transaction.atomic():
            user = (
                User.objects.select_for_update().filter(pk=address.user_id, is_active=True).first()
            )
            if user is None:
                raise ValidationError({"key": [INVALID_KEY]})
            changing = address.email.lower() != user.email.lower()
            if changing and email_taken_by_another(user=user, email=address.email):
                raise ValidationError({"key": [INVALID_KEY]})
            # The single use: of two concurrent uses, one updates the row, the other none.
            if not EmailAddress.objects.filter(pk=address.pk, verified=False).update(verified=True):
                raise ValidationError({"key": [INVALID_KEY]})
            if changing:
                EmailAddress.objects.filter(user_id=user.pk).exclude(pk=address.pk).delete()
                EmailAddress.objects.filter(pk=address.pk).update(primary=True)
                user.email = address.email
                user.save(update_fields=["email"])
            record_event(
                AuthEvent.Kind.EMAIL_CHANGED if changing else AuthEvent.Kind.EMAIL_VERIFIED,
                request=request,
                user=user,
            )
    except IntegrityError as exc:
        # The address was taken in between (the unique constraints on User.email and on
        # verified EmailAddress rows): the whole transaction is gone, nothing half-written.
        raise ValidationError({"key": [INVALID_KEY]}) from exc
    return user


def signup_email_address_add(*, user: AbstractBaseUser, email: str) -> None:
    """At sign-up, whatever the mode: the new account's address, unverified. With "none"
    too: the mode decides whether an unverified address may sign in, not whether it is
    proven, and social sign-in links only to a proven one (accounts.social.linking):
    without the row, whoever signed up first with someone's address would be handed that
    person's provider sign-ins."""
    email_address_add(user=user, email=email, primary=True)


def mask_email(email: str) -> str:
    """`a***@example.com`: enough for its owner to recognise, not the address in full."""
    local, _at, domain = email.rpartition("@")
    if not local:
        return "***"
    return f"{local[0]}***@{domain}"
