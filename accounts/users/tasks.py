"""Work done after the response: the account e-mails, through Django's tasks framework
(the django-tasks backport; TASKS_BACKEND in config/settings.py).

A request only enqueues, with the same arguments whether or not an address belongs to
someone, so neither its answer nor its timing tells who has an account; the task looks
the user up and decides what to send. The arguments are stored by the database backend:
they carry an address and the site's host, never a token or a link (a reset token is
made when the task runs). Every task is safe to run again (a retry sends one more,
equally valid, e-mail and writes nothing else) and returns nothing.
"""

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.forms import PasswordResetForm
from django.contrib.auth.tokens import default_token_generator
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.urls import reverse
from django_tasks import task

from accounts.conf import kit_settings


class _ResetMailForm(PasswordResetForm):
    """Django's reset mail (active users with a usable password, matched case-insensitively)
    with the kit's link and branding."""

    def send_mail(
        self,
        subject_template_name: str,
        email_template_name: str,
        context: dict[str, Any],
        *args: Any,
        **kwargs: Any,
    ) -> None:
        link_template = kit_settings.PASSWORD_RESET_URL
        if link_template:
            context["reset_url"] = link_template.format(uid=context["uid"], token=context["token"])
        super().send_mail(subject_template_name, email_template_name, context, *args, **kwargs)


@task()
def send_password_reset_mail(*, email: str, domain: str, use_https: bool) -> None:
    """Mail a reset link to each active user with this address (none when it is unknown)."""
    form = _ResetMailForm({"email": email})
    if not form.is_valid():
        return
    form.save(
        domain_override=domain,
        use_https=use_https,
        token_generator=default_token_generator,
        subject_template_name="registration/password_reset_subject.txt",
        email_template_name="registration/password_reset_email.txt",
        extra_email_context={"site_name": kit_settings.SITE_NAME},
    )


@task()
def send_signup_mail(*, email: str, created: bool, domain: str, use_https: bool) -> None:
    """After a sign-up: a welcome to the account just `created` with this address, or a
    "you already have an account" note (sign-in and reset links) to its owner."""
    user = get_user_model()._default_manager.filter(email__iexact=email).first()
    if user is None:
        return
    base = f"{'https' if use_https else 'http'}://{domain}"
    context = {
        "user": user,
        "site_name": kit_settings.SITE_NAME,
        "login_url": base + reverse("accounts:login"),
        "reset_url": base + reverse("accounts:password_reset"),
    }
    template = "welcome" if created else "existing_account"
    subject = render_to_string(f"accounts/email/{template}_subject.txt", context)
    send_mail(
        " ".join(subject.split()),
        render_to_string(f"accounts/email/{template}.txt", context),
        None,
        [user.email],
    )
