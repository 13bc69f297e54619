"""The new-device e-mails, sent after the response through Django's tasks framework (as
accounts.users.tasks): the arguments are ids and the site's host, never a secret; the
revoke link is signed when the task runs."""

from typing import Any

from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django_tasks import task

from accounts.conf import kit_settings
from accounts.devices.browsers import browser_session_find, browser_sign_in
from accounts.devices.new_device import browser_revoke_link_token, revoke_link_token
from accounts.models import DeviceSession, User


def _revoke_url(token: str, *, domain: str, use_https: bool) -> str:
    path = reverse("accounts:new_device_revoke", args=[token])
    return f"{'https' if use_https else 'http'}://{domain}{path}"


def _send_notice(*, user: User, session: Any, revoke_url: str) -> None:
    """The notice of `session` (its `name`, `created_at`, `ip_address`) to `user`."""
    context = {
        "user": user,
        "session": session,
        "site_name": kit_settings.SITE_NAME,
        "revoke_url": revoke_url,
    }
    subject = render_to_string("accounts/email/new_device_subject.txt", context)
    send_mail(
        " ".join(subject.split()),
        render_to_string("accounts/email/new_device.txt", context),
        None,
        [user.email],
    )


@task()
def send_new_device_mail(*, session_id: str, domain: str, use_https: bool, language: str) -> None:
    """Tell the user a device signed in, with a link that revokes it, in `language` (the
    signing-in request's). Nothing is sent for a session already ended or a user gone
    since."""
    session = (
        DeviceSession.objects.select_related("user")
        .filter(pk=session_id, revoked_at__isnull=True, user__is_active=True)
        .first()
    )
    if session is None or not session.user.email:
        return
    token = revoke_link_token(session=session)
    with translation.override(language):
        _send_notice(
            user=session.user,
            session=session,
            revoke_url=_revoke_url(token, domain=domain, use_https=use_https),
        )


@task()
def send_new_browser_mail(
    *, user_id: int, browser_id: str, domain: str, use_https: bool, language: str
) -> None:
    """Tell the user a browser signed in on the HTML pages (accounts.devices.browsers),
    with a link that ends that browser session, in `language`. Nothing is sent once that
    session has ended or the user is gone."""
    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is None or not user.email:
        return
    browser = browser_session_find(user=user, browser_id=browser_id)
    if browser is None:
        return
    with translation.override(language):
        sign_in = browser_sign_in(browser.get_decoded())  # its name may be translated
        if sign_in is None:
            return
        token = browser_revoke_link_token(user=user, browser_id=sign_in.id)
        _send_notice(
            user=user,
            session=sign_in,
            revoke_url=_revoke_url(token, domain=domain, use_https=use_https),
        )
