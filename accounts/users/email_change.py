"""A signed-in user changing their e-mail address: the new address is verified before it
replaces the old one, and the old one is told.

`email_change_request` checks the password (behind the lockout, as deleting the account
does), writes an unverified EmailAddress row for the new address (allauth.account's
store) and queues one task. The task e-mails the new address a verification link (made
when it runs: accounts.users.verification) and tells the current address that a change
was asked for, naming the new one only masked (`a***@example.com`). The account keeps its
address until the link is followed (accounts.users.verification.email_verify swaps them
in one transaction). A newer request replaces a pending one: its link stops working.

An address another account uses gets the same answer (202) and the same task, so neither
tells whether the address is registered: no row is written, the account and the other
one are left as they are, the current address gets its notice, and the other address gets
nothing (a notice would let any signed-in user mail any registered address at will; its
owner has nothing to do about it). The change is for the address, whatever the mode of
ACCOUNTS_EMAIL_VERIFICATION: even with "none" an address is proven before it becomes the
one password resets go to.
"""

from allauth.account.models import EmailAddress
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.http import HttpRequest
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from accounts.errors import Throttled
from accounts.models import AuthEvent, User
from accounts.security.audit import record_event
from accounts.security.lockout import verify_password
from accounts.security.ratelimit import rate_limit_hit
from accounts.users import tasks
from accounts.users.verification import email_address_add, email_taken_by_another

WRONG_PASSWORD = _("Your password was entered incorrectly.")
SAME_ADDRESS = _("This is already your e-mail address.")
REQUIRED = _("This field is required.")
# The longest address EmailAddress stores (allauth.account's EMAIL_MAX_LENGTH).
MAX_LENGTH = 254
# Changes one account may ask for (each mails an address the caller chooses, as sign-up
# and reset do, which have limits of their own): per account, on every transport.
EMAIL_CHANGE_RATE = "5/hour"
EMAIL_CHANGE_FLOW = "email_change"


def email_change_request(
    *, user: User, email: str, password: str, request: HttpRequest | None
) -> None:
    """Ask to change `user`'s address to `email` (see the module's docstring).

    ValidationError {field: [...]} writing nothing for a wrong password (counted by the
    lockout; LockedOut while locked), a malformed address or the account's own address.
    Throttled (nothing written, nothing mailed) past EMAIL_CHANGE_RATE for this account.
    """
    email = User.objects.normalize_email((email or "").strip())
    errors: dict[str, list[str]] = {}
    if not email:
        errors["email"] = [str(REQUIRED)]
    else:
        try:
            validate_email(email)
            if len(email) > MAX_LENGTH:
                raise ValidationError(_("Enter a valid email address."))
        except ValidationError as exc:
            errors["email"] = [str(message) for message in exc.messages]
    if not verify_password(request, user, password):
        errors["password"] = [str(WRONG_PASSWORD)]
    if not errors and email.lower() == (user.email or "").lower():
        errors["email"] = [str(SAME_ADDRESS)]
    if errors:
        raise ValidationError(errors)
    retry_after = rate_limit_hit(flow=EMAIL_CHANGE_FLOW, key=str(user.pk), rate=EMAIL_CHANGE_RATE)
    if retry_after is not None:
        raise Throttled(retry_after)
    with transaction.atomic():
        # Only the newest request can complete: older pending rows (and their links) go.
        email_changes_cancel(user=user, keep=email)
        if not email_taken_by_another(user=user, email=email):
            email_address_add(user=user, email=email, primary=False)
        record_event(AuthEvent.Kind.EMAIL_CHANGE_REQUESTED, request=request, user=user)
    if request is not None:  # after the commit: the task reads the row
        tasks.send_email_change_mail.enqueue(
            user_id=user.pk,
            email=email,
            domain=request.get_host(),
            use_https=request.is_secure(),
            language=translation.get_language() or "",
        )


def email_changes_cancel(*, user: User, keep: str = "") -> None:
    """Void `user`'s pending e-mail changes (their links stop working), but one to `keep`.
    Also run when the password is set (accounts.users.password_changes): a change asked
    for with the old password must not complete after the owner has changed it."""
    pending = EmailAddress.objects.filter(user_id=user.pk, verified=False).exclude(
        email__iexact=user.email
    )
    if keep:
        pending = pending.exclude(email=keep)
    pending.delete()
