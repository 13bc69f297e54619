"""The new-device e-mail, sent after the response through Django's tasks framework (as
accounts.users.tasks): the arguments are the session id and the site's host; the revoke
link is signed when the task runs."""

from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.urls import reverse
from django_tasks import task

from accounts.conf import kit_settings
from accounts.devices.new_device import revoke_link_token
from accounts.models import DeviceSession


@task()
def send_new_device_mail(*, session_id: str, domain: str, use_https: bool) -> None:
    """Tell the user a device signed in, with a link that revokes it. Nothing is sent for
    a session already ended or a user gone since."""
    session = (
        DeviceSession.objects.select_related("user")
        .filter(pk=session_id, revoked_at__isnull=True, user__is_active=True)
        .first()
    )
    if session is None or not session.user.email:
        return
    path = reverse("accounts:new_device_revoke", args=[revoke_link_token(session=session)])
    context = {
        "user": session.user,
        "session": session,
        "site_name": kit_settings.SITE_NAME,
        "revoke_url": f"{'https' if use_https else 'http'}://{domain}{path}",
    }
    subject = render_to_string("accounts/email/new_device_subject.txt", context)
    send_mail(
        " ".join(subject.split()),
        render_to_string("accounts/email/new_device.txt", context),
        None,
        [session.user.email],
    )
