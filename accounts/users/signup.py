"""Creating an account: the rules the HTML sign-up page and the API share.

Whether an e-mail address has an account is not told to whoever signs up with it: a new
address gets the account (its address unverified, accounts.users.verification, unless
ACCOUNTS_EMAIL_VERIFICATION is "none") and a verification e-mail (a welcome with "none"),
a registered one gets a "you already have an account" e-mail and no account, and the
caller answers the same in both cases. Both paths hash the password and enqueue one
e-mail task, so they also take about the same time. Usernames are public (they appear to
other users), so a taken one is an error.
"""

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from accounts.users import tasks, verification
from accounts.users.passwords import validate_new_password

REQUIRED = _("This field is required.")
USERNAME_TAKEN = _("A user with that username already exists.")


def signup_errors(*, username: str, email: str, password: str) -> dict[str, list[str]]:
    """Every reason this sign-up is refused, keyed by field (empty when none). A
    registered e-mail address is not one: see sign_up."""
    users = get_user_model()._default_manager
    candidate = users.model(username=username, email=users.normalize_email(email))
    errors: dict[str, list[str]] = {}
    try:
        # Field formats: username characters, lengths, e-mail syntax. Uniqueness is
        # checked below, whatever the case.
        candidate.full_clean(
            exclude=["password"], validate_unique=False, validate_constraints=False
        )
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if not email:
        errors["email"] = [str(REQUIRED)]
    if username and users.filter(username__iexact=username).exists():
        errors["username"] = [str(USERNAME_TAKEN)]
    try:
        validate_new_password(password, candidate)
    except ValidationError as exc:
        errors["password"] = exc.message_dict["new_password"]
    return errors


def _registered(email: str) -> bool:
    return get_user_model()._default_manager.filter(email__iexact=email).exists()


def sign_up(*, username: str, email: str, password: str, request: HttpRequest) -> None:
    """Create an active user (its address unverified) and queue a verification e-mail,
    or, when the address already has an account, queue a "you already have an account"
    e-mail to it and create nothing.

    Raises ValidationError({field: [messages]}) writing nothing for bad input or a taken
    username. Returns nothing either way: the caller answers "check your inbox" alike.
    """
    errors = signup_errors(username=username, email=email, password=password)
    if errors:
        raise ValidationError(errors)
    users = get_user_model()._default_manager
    email = users.normalize_email(email)
    created = False
    if _registered(email):
        make_password(password)  # the work create_user does, so both paths take as long
    else:
        try:
            with transaction.atomic():
                user = users.create_user(username=username, email=email, password=password)
                verification.signup_email_address_add(user=user, email=email)
            created = True
        except IntegrityError as exc:
            # Lost a race with a concurrent sign-up: for the username, that is an error;
            # for the address, this sign-up is one for a registered address.
            errors = signup_errors(username=username, email=email, password=password)
            if errors or not _registered(email):
                raise ValidationError(errors or {"username": [USERNAME_TAKEN]}) from exc
    tasks.send_signup_mail.enqueue(
        email=email,
        created=created,
        domain=request.get_host(),
        use_https=request.is_secure(),
        language=translation.get_language() or "",
    )
