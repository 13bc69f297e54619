"""Writing the audit trail. Every caller records events through `record_event`."""

import logging
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from django.http import HttpRequest

from accounts.models import AuthEvent, User
from accounts.security.client_ip import client_ip

logger = logging.getLogger("accounts.security.audit")

_MAX_USER_AGENT = AuthEvent._meta.get_field("user_agent").max_length


def record_event(
    kind: str,
    *,
    request: HttpRequest | None = None,
    user: User | None = None,
    username: str = "",
    actor: str = "",
    session_id: uuid.UUID | None = None,
    **detail: Any,
) -> AuthEvent:
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


def record_events(
    kind: str,
    entries: Iterable[Mapping[str, Any]],
    *,
    request: HttpRequest | None = None,
    actor: str = "",
) -> list[AuthEvent]:
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


def _event(
    kind: str,
    *,
    request: HttpRequest | None,
    user: User | None,
    username: str,
    actor: str,
    session_id: uuid.UUID | None,
    detail: dict[str, Any],
) -> AuthEvent:
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
