"""Browser sessions (the Django sessions of the HTML sign-in) as the rules see them: which
of a user's are live, which one a sign-in opened, and ending one.

The session engine (accounts.web.session_store) keeps, in each signed-in session's data
under BROWSER_KEY, what the browser was at its sign-in: its User-Agent, its address, its
name, the time, and a random `id`. The id names the sign-in, not the session key: the
key is a credential (never in an e-mail, a link, a task or the audit), and it changes
when Django cycles it (a password change in that browser), the id does not.

A browser session is live while its row is unexpired and its session auth hash is the
user's (Django refuses it otherwise: "sign out everywhere" and a new password bump the
user's `sessions_version`). Ending one deletes its row, as Django's logout does: its
next request is anonymous. Revoking ALL of a user's browser sessions is not done here but
by bumping `sessions_version` (accounts.devices.sessions.revoke_all_sessions).
"""

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.contrib.auth import HASH_SESSION_KEY
from django.http import HttpRequest
from django.utils import timezone
from django.utils.crypto import constant_time_compare
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext_lazy as _

from accounts.models import AuthEvent, BrowserSession
from accounts.security.audit import record_event

if TYPE_CHECKING:
    from accounts.models import User

# The session's entry with the browser, address and time it signed in from.
BROWSER_KEY = "_kit_browser"
# The name of a browser that sent no User-Agent (in the language of the page or e-mail).
UNKNOWN_BROWSER = _("Unknown browser")


@dataclass(frozen=True)
class BrowserSignIn:
    """What a browser session's data says of its sign-in (no secret in it)."""

    id: str
    name: str
    ip_address: str | None
    created_at: datetime | None


def browser_sign_in_data(*, user_agent: str, ip_address: str | None, name: str) -> dict[str, Any]:
    """The BROWSER_KEY entry of a sign-in that is happening now."""
    return {
        "id": uuid.uuid4().hex,
        "user_agent": user_agent,
        "ip_address": ip_address,
        "name": name,
        "signed_in_at": timezone.now().isoformat(),
    }


def browser_sign_in(data: dict[str, Any]) -> BrowserSignIn | None:
    """The sign-in a session's decoded data describes, or None (no browser entry, or one
    written before sign-ins had an id)."""
    entry = data.get(BROWSER_KEY)
    if not isinstance(entry, dict):
        return None
    try:
        sign_in_id = uuid.UUID(str(entry.get("id"))).hex
    except ValueError:
        return None
    signed_in_at = entry.get("signed_in_at")
    return BrowserSignIn(
        id=sign_in_id,
        name=str(entry.get("name") or UNKNOWN_BROWSER),
        ip_address=entry.get("ip_address") or None,
        created_at=parse_datetime(signed_in_at) if isinstance(signed_in_at, str) else None,
    )


def request_browser_sign_in(request: HttpRequest | None) -> BrowserSignIn | None:
    """The sign-in of the request's browser session (after accounts.auth.login)."""
    session = getattr(request, "session", None)
    return None if session is None else browser_sign_in(dict(session.items()))


def _live_rows(user: "User") -> list[tuple[BrowserSession, dict[str, Any]]]:
    """The user's live browser sessions with their decoded data, most recently active
    first."""
    expected = user.get_session_auth_hash()
    rows = BrowserSession.objects.filter(user=user, expire_date__gt=timezone.now()).order_by(
        "-last_active_at"
    )
    live = []
    for row in rows:
        data = row.get_decoded()
        if constant_time_compare(data.get(HASH_SESSION_KEY, ""), expected):
            live.append((row, data))
    return live


def browser_sessions_live(*, user: "User") -> list[BrowserSession]:
    """The user's live browser sessions, most recently active first."""
    return [row for row, _ in _live_rows(user)]


def browser_session_find(*, user: "User", browser_id: str) -> BrowserSession | None:
    """The user's live browser session that the sign-in `browser_id` opened, or None
    (ended, expired, signed out everywhere, or never the user's)."""
    for row, data in _live_rows(user):
        sign_in = browser_sign_in(data)
        if sign_in is not None and constant_time_compare(sign_in.id, browser_id):
            return row
    return None


def browser_session_revoke(
    *, session: BrowserSession, reason: str, actor: str = "", request: HttpRequest | None = None
) -> bool:
    """End one browser session: its row is deleted (its next request is anonymous) and a
    `session_revoked` event (detail `browser`: true) carries its sign-in id as the
    `session_id`. True when this call ended it, False when it had already ended (so two
    concurrent calls end it, and audit it, once)."""
    deleted, _ = BrowserSession.objects.filter(session_key=session.session_key).delete()
    if not deleted:
        return False
    sign_in = browser_sign_in(session.get_decoded())
    record_event(
        AuthEvent.Kind.SESSION_REVOKED,
        request=request,
        user=session.user,
        actor=actor,
        session_id=uuid.UUID(sign_in.id) if sign_in is not None else None,
        reason=str(reason),
        browser=True,
    )
    return True
