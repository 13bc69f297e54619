"""Writing the audit trail. Every caller records events through `record_event`."""

import logging

from accounts.models import AuthEvent
from accounts.security.client_ip import client_ip

logger = logging.getLogger("accounts.security.audit")

_MAX_USER_AGENT = AuthEvent._meta.get_field("user_agent").max_length


def record_event(
    kind, *, request=None, user=None, username="", actor="", session_id=None, **detail
):
    """Append one AuthEvent (and log it). `detail` must never hold a secret.

    The client address is `client_ip(request)` (accounts.security.client_ip).
    """
    event = _event(
        kind,
        request=request,
        user=user,
        username=username,
        actor=actor,
        session_id=session_id,
        detail=detail,
    )
    event.save()
    return event


def record_events(kind, entries, *, request=None, actor="") -> list[AuthEvent]:
    """Append many events of one kind in one INSERT (bulk_create), each logged: an
    administrator's bulk action over hundreds of rows. `entries` are dicts with the keys
    of record_event (`user`, `username`, `session_id`, `detail`)."""
    events = [
        _event(
            kind,
            request=request,
            user=entry.get("user"),
            username=entry.get("username", ""),
            actor=actor,
            session_id=entry.get("session_id"),
            detail=entry.get("detail", {}),
        )
        for entry in entries
    ]
    return AuthEvent.objects.bulk_create(events)


def _event(kind, *, request, user, username, actor, session_id, detail):
    """An unsaved AuthEvent, logged."""
    ip_address = None
    user_agent = ""
    if request is not None:
        ip_address = client_ip(request)
        user_agent = request.META.get("HTTP_USER_AGENT", "")[:_MAX_USER_AGENT]
    if user is not None and not username:
        username = user.get_username()
    logger.info(
        "auth event %s user=%s actor=%s session=%s ip=%s %s",
        kind,
        username,
        actor,
        session_id,
        ip_address,
        detail,
    )
    return AuthEvent(
        kind=kind,
        user=user if user is not None and user.pk else None,
        username=username[:254],
        actor=str(actor)[:254],
        session_id=session_id,
        ip_address=ip_address or None,
        user_agent=user_agent,
        detail=detail,
    )
