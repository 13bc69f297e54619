"""What every change of a user's second factors leaves behind: one audit event, and an
e-mail to the user sent after the response (accounts.mfa.tasks), so a factor added or
removed behind the user's back does not go unnoticed."""

from collections.abc import Sequence
from functools import partial
from typing import Any

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest
from django.utils import translation

from accounts.mfa import tasks
from accounts.models import AuthEvent, User
from accounts.security.audit import record_events

# The audit kinds a user is told about by e-mail (a refused code is audited, not mailed).
MAILED = frozenset(
    {
        AuthEvent.Kind.MFA_FACTOR_ADDED,
        AuthEvent.Kind.MFA_FACTOR_REMOVED,
        AuthEvent.Kind.MFA_RECOVERY_CODE_USED,
        AuthEvent.Kind.MFA_RECOVERY_CODES_RENEWED,
        AuthEvent.Kind.MFA_RESET,
    }
)


def mfa_change_record(
    *,
    user: User,
    kind: AuthEvent.Kind,
    request: HttpRequest | None,
    factor: str = "",
    actor: str = "",
    **detail: Any,
) -> None:
    """Audit `kind` for `user` (with `factor`: "totp", "recovery_codes", "webauthn") and,
    for the kinds in MAILED, e-mail the user once the transaction commits."""
    mfa_change_records(
        users=[user], kind=kind, request=request, factor=factor, actor=actor, **detail
    )


def mfa_change_records(
    *,
    users: Sequence[User],
    kind: AuthEvent.Kind,
    request: HttpRequest | None,
    factor: str = "",
    actor: str = "",
    **detail: Any,
) -> None:
    """mfa_change_record for many users at once (an administrator's bulk reset): one
    INSERT of their audit rows, then one e-mail each."""
    if factor:
        detail["factor"] = factor
    record_events(
        kind, [{"user": user, "detail": detail} for user in users], request=request, actor=actor
    )
    if kind not in MAILED:
        return
    # The language of the request that made the change (an administrator's, for a reset).
    language = translation.get_language() or settings.LANGUAGE_CODE
    for user in users:
        if user.email:
            transaction.on_commit(
                partial(
                    tasks.send_mfa_notice_mail.enqueue,
                    user_id=user.pk,
                    kind=str(kind),
                    factor=factor,
                    language=language,
                )
            )
