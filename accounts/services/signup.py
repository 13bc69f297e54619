"""Creating an account: the rules the HTML sign-up page and the API share."""

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from accounts.services.passwords import validate_new_password

REQUIRED = "This field is required."
USERNAME_TAKEN = "A user with that username already exists."
EMAIL_TAKEN = "A user with that e-mail address already exists."


def signup_errors(*, username, email, password):
    """Every reason this account cannot be created, keyed by field (empty when none)."""
    users = get_user_model()._default_manager
    candidate = users.model(username=username, email=users.normalize_email(email))
    errors = {}
    try:
        # Field formats: username characters, lengths, e-mail syntax. Uniqueness is
        # checked below, whatever the case.
        candidate.full_clean(
            exclude=["password"], validate_unique=False, validate_constraints=False
        )
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if not email:
        errors["email"] = [REQUIRED]
    if username and users.filter(username__iexact=username).exists():
        errors["username"] = [USERNAME_TAKEN]
    if "email" not in errors and users.filter(email__iexact=candidate.email).exists():
        errors["email"] = [EMAIL_TAKEN]
    try:
        validate_new_password(password, candidate)
    except ValidationError as exc:
        errors["password"] = exc.message_dict["new_password"]
    return errors


def sign_up(*, username, email, password, request):
    """Create an active user, or raise ValidationError({field: [messages]}) writing nothing.

    Usernames and e-mail addresses are unique whatever their case. `request` is the
    caller's; signing in afterwards is the caller's job (each transport has its own way).
    """
    errors = signup_errors(username=username, email=email, password=password)
    if errors:
        raise ValidationError(errors)
    users = get_user_model()._default_manager
    try:
        with transaction.atomic():
            return users.create_user(
                username=username, email=users.normalize_email(email), password=password
            )
    except IntegrityError as exc:
        # Lost a race with a concurrent sign-up for the same name or address.
        errors = signup_errors(username=username, email=email, password=password)
        raise ValidationError(errors or {"username": [USERNAME_TAKEN]}) from exc
