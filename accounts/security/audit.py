"""Writing the audit trail. Every caller records events through `record_event`."""

import logging

from accounts.models import AuthEvent

logger = logging.getLogger("accounts.security.audit")

_MAX_USER_AGENT = AuthEvent._meta.get_field("user_agent").max_length


def record_event(
    kind, *, request=None, user=None, username="", actor="", session_id=None, **detail
):
    """Append one AuthEvent (and log it). `detail` must never hold a secret.

    The client address is `request.client_ip` when the client-address middleware set it,
    else REMOTE_ADDR.
    """
    ip_address = None
    user_agent = ""
    if request is not None:
        ip_address = getattr(request, "client_ip", None) or request.META.get("REMOTE_ADDR")
        user_agent = request.META.get("HTTP_USER_AGENT", "")[:_MAX_USER_AGENT]
    if user is not None and not username:
        username = user.get_username()
    event = AuthEvent.objects.create(
        kind=kind,
        user=user if user is not None and user.pk else None,
        username=username[:254],
        actor=str(actor)[:254],
        session_id=session_id,
        ip_address=ip_address or None,
        user_agent=user_agent,
        detail=detail,
    )
    logger.info(
        "auth event %s user=%s actor=%s session=%s ip=%s %s",
        kind,
        username,
        actor,
        session_id,
        ip_address,
        detail,
    )
    return event
