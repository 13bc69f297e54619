"""Is this device session still active? The answer every request with an access token asks.

Device sessions register their kind with the revocation state (accounts.revocation): an
entry `(active, rights_version, user_id)` per session, read from the session's row and its
user; an "active" entry lives one access-token lifetime, a revoked one a minute longer; a
repair replays the sessions revoked within one access-token lifetime (also those of
deleted users, from the audit trail).
"""

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone

from accounts import revocation
from accounts.models import AuthEvent, DeviceSession, User, session_max_age

# The cached value of a session: (active, rights_version, user_id).
StateValue = tuple[bool, int, Any]


@dataclass(frozen=True)
class SessionState:
    active: bool
    rights_version: int
    user_id: object = None  # whose session: a token naming another `sub` is refused


REVOKED = SessionState(active=False, rights_version=0)


def _active_timeout() -> int:
    # Bounded by one access lifetime: should a write-through ever fail, a stale "active"
    # entry cannot outlive the access tokens it would let through.
    return max(1, settings.JWT_ACCESS_TOKEN_LIFETIME)


def _revoked_timeout() -> int:
    # Long enough that every access token of the session has expired; after that a miss
    # simply reads the (revoked) row again.
    return settings.JWT_ACCESS_TOKEN_LIFETIME + 60


def _to_value(state: SessionState) -> StateValue:
    return (state.active, state.rights_version, state.user_id)


def read_session_state_from_db(session_id: uuid.UUID) -> SessionState | None:
    """The state from the row (one query), or None when the session does not exist."""
    row = (
        DeviceSession.objects.filter(pk=session_id)
        .values_list(
            "user_id",
            "user__rights_version",
            "user__is_active",
            "revoked_at",
            "refresh_expires_at",
            "created_at",
        )
        .first()
    )
    if row is None:
        return None
    user_id, rights_version, user_is_active, revoked_at, expires_at, created_at = row
    now = timezone.now()
    active = (
        user_is_active
        and revoked_at is None
        and expires_at > now
        and created_at > now - session_max_age()
    )
    return SessionState(active=active, rights_version=rights_version, user_id=user_id)


def _load_value(session_id: uuid.UUID) -> StateValue:
    # A session that does not exist (deleted, flushed) is cached as revoked.
    return _to_value(read_session_state_from_db(session_id) or REVOKED)


def _timeout(value: StateValue) -> int:
    return _active_timeout() if value[0] else _revoked_timeout()


def _recent_revocations(now: datetime) -> dict[uuid.UUID, StateValue]:
    since = now - timedelta(seconds=_active_timeout())
    # No ORDER BY (the model's default ordering): a set is wanted, and sorting 50,000 rows
    # spilled to disk.
    revoked_ids: set[uuid.UUID] = set(
        DeviceSession.objects.filter(revoked_at__gte=since).order_by().values_list("pk", flat=True)
    )
    # Sessions of deleted users have no row left; their revocation is in the audit trail.
    revoked_ids.update(
        AuthEvent.objects.filter(
            kind=AuthEvent.Kind.SESSION_REVOKED, created_at__gte=since, session_id__isnull=False
        )
        .order_by()
        .values_list("session_id", flat=True)  # type: ignore[arg-type]  # never None: filtered
    )
    return dict.fromkeys(revoked_ids, _to_value(REVOKED))


SESSIONS = revocation.register(
    revocation.Kind(
        prefix="devsess",
        load=_load_value,
        timeout=_timeout,
        recent_revocations=_recent_revocations,
    )
)


def get_session_state(session_id: uuid.UUID | str, *, refresh: bool = False) -> SessionState:
    """The session's state (REVOKED when it does not exist: deleted, flushed).

    `refresh=True` skips the cached entry and rewrites it from the database (used when a
    token's rights version does not match the cached one).
    """
    if not isinstance(session_id, uuid.UUID):
        session_id = uuid.UUID(str(session_id))
    return SessionState(*revocation.read_through(SESSIONS, session_id, refresh=refresh))


def remember_new_session(session: DeviceSession, user: User) -> None:
    """Fill the entry of a session just signed in, after commit."""
    state = SessionState(active=True, rights_version=user.rights_version, user_id=user.pk)
    revocation.remember(SESSIONS, session.pk, _to_value(state))


def mark_revoked(session_ids: Iterable[uuid.UUID | str]) -> None:
    """Write these sessions' revocation through (cache and every process's view)."""
    ids = [uuid.UUID(str(sid)) for sid in session_ids]
    revocation.mark_revoked(SESSIONS, dict.fromkeys(ids, _to_value(REVOKED)))


def forget_user_sessions(user: User | int) -> None:
    """Drop the entries of a user's live sessions after a rights change, so the next
    check reads the new rights version from the database."""
    live = DeviceSession.objects.filter(user=user, revoked_at__isnull=True)
    revocation.forget(SESSIONS, live.values_list("pk", flat=True))
