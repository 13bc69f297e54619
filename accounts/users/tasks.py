"""Work done after the response: the account e-mails, through Django's tasks framework
(the django-tasks backport; TASKS_BACKEND in config/settings.py).

A request only enqueues, with the same arguments whether or not an address belongs to
someone, so neither its answer nor its timing tells who has an account; the task looks
the user up and decides what to send. The arguments are stored by the database backend:
they carry an address and the site's host, never a token or a link (a reset token is
made when the task runs). Every task is safe to run again (a retry sends one more,
equally valid, e-mail and writes nothing else) and returns nothing.
"""

import unicodedata
from collections.abc import Iterator
from typing import Any

from allauth.account import app_settings as allauth_settings
from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import PasswordResetForm
from django.contrib.auth.models import AbstractBaseUser
from django.contrib.auth.tokens import default_token_generator
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django_tasks import task

from accounts.conf import kit_settings
from accounts.users import verification


def _same_address(typed: str, stored: str) -> bool:
    """Django's reset rule for two addresses: equal once NFKC-normalised and case-folded."""
    return (
        unicodedata.normalize("NFKC", typed).casefold()
        == unicodedata.normalize("NFKC", stored).casefold()
    )


class _ResetMailForm(PasswordResetForm):
    """Django's reset mail (active users with a usable password, matched case-insensitively)
    with the kit's link and branding; also to an active account made by a social sign-in
    that has no password yet: the link gives it its first one, which deleting the account
    or changing its address asks for (an unusable password without a provider link
    still gets none)."""

    def get_users(self, email: str) -> Iterator[Any]:
        yield from super().get_users(email)
        social_only = (
            get_user_model()
            ._default_manager.filter(
                email__iexact=email, is_active=True, socialaccount__isnull=False
            )
            .distinct()
        )
        for user in social_only:
            if not user.has_usable_password() and _same_address(email, user.email):
                yield user

    def send_mail(
        self,
        subject_template_name: str,
        email_template_name: str,
        context: dict[str, Any],
        from_email: str | None,
        to_email: str,
        html_email_template_name: str | None = None,
    ) -> None:
        """Sent here, not by Django's method, which logs a failed send and returns: the task
        would end "successful" with the mail lost. Raising marks the task failed, as for
        every other e-mail task."""
        link_template = kit_settings.PASSWORD_RESET_URL
        if link_template:
            context["reset_url"] = link_template.format(uid=context["uid"], token=context["token"])
        subject = "".join(render_to_string(subject_template_name, context).splitlines())
        body = render_to_string(email_template_name, context)
        send_mail(subject, body, from_email, [to_email])


@task()
def send_password_reset_mail(*, email: str, domain: str, use_https: bool, language: str) -> None:
    """Mail a reset link to each active user with this address (none when it is unknown),
    in `language` (the asking request's)."""
    form = _ResetMailForm({"email": email})
    if not form.is_valid():
        return
    with translation.override(language):
        _reset_mails_send(form, domain=domain, use_https=use_https)


def _reset_mails_send(form: _ResetMailForm, *, domain: str, use_https: bool) -> None:
    form.save(
        domain_override=domain,
        use_https=use_https,
        token_generator=default_token_generator,
        subject_template_name="registration/password_reset_subject.txt",
        email_template_name="registration/password_reset_email.txt",
        extra_email_context={"site_name": kit_settings.SITE_NAME},
    )


def _base_url(domain: str, use_https: bool) -> str:
    return f"{'https' if use_https else 'http'}://{domain}"


def _send(template: str, context: dict[str, Any], to: str) -> None:
    """Render `accounts/email/<template>.txt` and its subject in the active language, and
    send it."""
    subject = render_to_string(f"accounts/email/{template}_subject.txt", context)
    send_mail(
        " ".join(subject.split()),
        render_to_string(f"accounts/email/{template}.txt", context),
        None,
        [to],
    )


def _verification_context(address: EmailAddress, domain: str, use_https: bool) -> dict[str, Any]:
    """The link and the key of a verification e-mail for this unverified row (made now,
    so the queue never stores them)."""
    key = verification.email_verification_key(address=address)
    return {
        "user": address.user,
        "email": address.email,
        "site_name": kit_settings.SITE_NAME,
        "key": key,
        "verify_url": _base_url(domain, use_https) + reverse("accounts:email_verify", args=[key]),
        "expire_days": allauth_settings.EMAIL_CONFIRMATION_EXPIRE_DAYS,
    }


def _pending_address(user: AbstractBaseUser, email: str) -> EmailAddress | None:
    return (
        EmailAddress.objects.select_related("user")
        .filter(user_id=user.pk, email__iexact=email, verified=False, user__is_active=True)
        .first()
    )


@task()
def send_signup_mail(
    *, email: str, created: bool, domain: str, use_https: bool, language: str
) -> None:
    """After a sign-up: to the account just `created` with this address, a verification
    link (or, with ACCOUNTS_EMAIL_VERIFICATION "none", a welcome); to the owner of an
    address that already had an account, a "you already have an account" note (sign-in
    and reset links)."""
    user = get_user_model()._default_manager.filter(email__iexact=email).first()
    if user is None:
        return
    with translation.override(language or None):
        # With "none" the address stays unverified (accounts.users.verification) but no
        # link is sent: a welcome.
        verify = created and verification.email_verification_mode() != verification.NONE
        address = _pending_address(user, user.email) if verify else None
        if address is not None:
            _send("verify_email", _verification_context(address, domain, use_https), user.email)
            return
        base = _base_url(domain, use_https)
        context = {
            "user": user,
            "site_name": kit_settings.SITE_NAME,
            "login_url": base + reverse("accounts:login"),
            "reset_url": base + reverse("accounts:password_reset"),
        }
        _send("welcome" if created else "existing_account", context, user.email)


@task()
def send_verification_mail(*, user_id: int, domain: str, use_https: bool, language: str) -> None:
    """A new verification link for the user's unverified address (a sign-in refused for
    it); nothing once it is verified or the user is gone."""
    user = get_user_model()._default_manager.filter(pk=user_id).first()
    if user is None or not user.email:
        return
    address = _pending_address(user, user.email)
    if address is None:
        return
    with translation.override(language or None):
        _send("verify_email", _verification_context(address, domain, use_https), user.email)


@task()
def send_email_change_mail(
    *, user_id: int, email: str, domain: str, use_https: bool, language: str
) -> None:
    """After a request to change the address to `email`: a verification link to `email`
    when its change is pending (none when another account has it, accounts.users
    .email_change), and, either way, a notice to the current address naming the new one
    masked."""
    user = get_user_model()._default_manager.filter(pk=user_id, is_active=True).first()
    if user is None:
        return
    with translation.override(language or None):
        address = _pending_address(user, email)
        if address is not None and address.email.lower() != user.email.lower():
            _send("email_change_verify", _verification_context(address, domain, use_https), email)
        if user.email:
            context = {
                "user": user,
                "site_name": kit_settings.SITE_NAME,
                "new_email": verification.mask_email(email),
                "reset_url": _base_url(domain, use_https) + reverse("accounts:password_reset"),
            }
            _send("email_change_notice", context, user.email)
