"""Changing and resetting passwords: one set of rules for the HTML pages and the API.

Every function raises django.core.exceptions.ValidationError with a dict keyed by the
request field the message belongs to (`new_password`, `token`), so a form or serializer
can show it next to that field; nothing is written when one is raised.
"""

from typing import TYPE_CHECKING

from django.conf import settings
from django.contrib.auth import get_user_model, password_validation
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.utils import translation
from django.utils.encoding import force_bytes, force_str
from django.utils.http import urlsafe_base64_decode, urlsafe_base64_encode
from django.utils.translation import gettext_lazy as _

from accounts.users import password_changes, tasks

if TYPE_CHECKING:
    from accounts.models import User

INVALID_RESET_LINK = _("This password-reset link is invalid or has already been used.")


def validate_new_password(password: str, user: "User | None") -> None:
    """Django's password validators, with their messages filed under `new_password`."""
    try:
        password_validation.validate_password(password, user)
    except ValidationError as exc:
        raise ValidationError({"new_password": exc.messages}) from exc


def change_password(*, user: "User", new_password: str, request: HttpRequest | None) -> None:
    """Set a new password for a signed-in user (who has proved the old one).

    Every other session of the user ends (accounts.users.password_changes, as for any new
    password); the caller's own device session or browser session stays signed in.
    """
    validate_new_password(new_password, user)
    with password_changes.on_behalf_of(request=request):
        user.set_password(new_password)
        user.save(update_fields=["password"])


def reset_link_context(user: "User") -> dict[str, str]:
    """`uid` and `token` for a reset link; the token dies once the password changes."""
    return {
        "uid": urlsafe_base64_encode(force_bytes(user.pk)),
        "token": default_token_generator.make_token(user),
    }


def send_password_reset(*, email: str, request: HttpRequest) -> None:
    """Queue the mail of a reset link to the active user with this address, if any.

    The request does the same work whether or not the address is known (one task
    enqueued with the address; the task looks the user up and sends after the response),
    so neither the answer nor its timing tells who has an account.
    """
    tasks.send_password_reset_mail.enqueue(
        email=email,
        domain=request.get_host(),
        use_https=request.is_secure(),
        language=translation.get_language() or settings.LANGUAGE_CODE,
    )


def user_from_reset_link(uidb64: str | None, token: str | None) -> "User | None":
    """The user a reset link was made for, or None when the link is bad or used."""
    try:
        pk = force_str(urlsafe_base64_decode(uidb64 or ""))
        user = get_user_model()._default_manager.get(pk=pk, is_active=True)
    except (TypeError, ValueError, OverflowError, get_user_model().DoesNotExist):
        return None
    if not default_token_generator.check_token(user, token or ""):
        return None
    return user


def reset_password(
    *, uidb64: str | None, token: str | None, new_password: str, request: HttpRequest | None
) -> "User":
    """Set a new password from a reset link; the link cannot be used a second time."""
    user = user_from_reset_link(uidb64, token)
    if user is None:
        raise ValidationError({"token": [INVALID_RESET_LINK]})
    validate_new_password(new_password, user)
    with transaction.atomic():
        # Lock the row and check the token again, so two uses of one link cannot both win.
        user = type(user)._default_manager.select_for_update().get(pk=user.pk)
        if not default_token_generator.check_token(user, token):
            raise ValidationError({"token": [INVALID_RESET_LINK]})
        # Every session of the user ends, none kept (accounts.users.password_changes).
        with password_changes.on_behalf_of(request=request, reset=True):
            user.set_password(new_password)
            user.save(update_fields=["password"])
    return user
