"""The second-factor e-mails, sent after the response through Django's tasks framework
(as accounts.users.tasks): the arguments name the user and what changed, never a secret."""

from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext_lazy as _
from django_tasks import task

from accounts.conf import kit_settings
from accounts.models import AuthEvent

# What the e-mail says changed, by audit kind (accounts.mfa.notices.MAILED; the audit's
# labels, translated here), and the factor's name in the user's words.
WHAT = {
    AuthEvent.Kind.MFA_FACTOR_ADDED: _("Second factor added"),
    AuthEvent.Kind.MFA_FACTOR_REMOVED: _("Second factor removed"),
    AuthEvent.Kind.MFA_RECOVERY_CODE_USED: _("Recovery code used"),
    AuthEvent.Kind.MFA_RECOVERY_CODES_RENEWED: _("Recovery codes renewed"),
    AuthEvent.Kind.MFA_RESET: _("Second factors reset by an administrator"),
}
FACTOR = {
    "totp": _("authenticator app"),
    "recovery_codes": _("recovery codes"),
    "webauthn": _("passkey"),
}


@task()
def send_mfa_notice_mail(*, user_id: int, kind: str, factor: str, language: str) -> None:
    """Tell the user a second factor changed (added, removed, a recovery code used, codes
    renewed, all reset by an administrator), in `language` (the request's that changed
    it). Nothing is sent for a user gone since."""
    user = get_user_model()._default_manager.filter(pk=user_id, is_active=True).first()
    if user is None or not user.email:
        return
    event_kind = AuthEvent.Kind(kind)
    with translation.override(language):
        context = {
            "user": user,
            "site_name": kit_settings.SITE_NAME,
            "what": str(WHAT.get(event_kind, event_kind.label)),
            "factor": str(FACTOR.get(factor, factor)),
        }
        subject = render_to_string("accounts/email/mfa_notice_subject.txt", context)
        send_mail(
            " ".join(subject.split()),
            render_to_string("accounts/email/mfa_notice.txt", context),
            None,
            [user.email],
        )
