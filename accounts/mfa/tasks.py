"""The second-factor e-mails, sent after the response through Django's tasks framework
(as accounts.users.tasks): the arguments name the user and what changed, never a secret."""

from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django_tasks import task

from accounts.conf import kit_settings
from accounts.models import AuthEvent


@task()
def send_mfa_notice_mail(*, user_id: int, kind: str, factor: str) -> None:
    """Tell the user a second factor changed (added, removed, a recovery code used, codes
    renewed, all reset by an administrator). Nothing is sent for a user gone since."""
    user = get_user_model()._default_manager.filter(pk=user_id, is_active=True).first()
    if user is None or not user.email:
        return
    context = {
        "user": user,
        "site_name": kit_settings.SITE_NAME,
        "what": AuthEvent.Kind(kind).label,
        "factor": factor,
    }
    subject = render_to_string("accounts/email/mfa_notice_subject.txt", context)
    send_mail(
        " ".join(subject.split()),
        render_to_string("accounts/email/mfa_notice.txt", context),
        None,
        [user.email],
    )
