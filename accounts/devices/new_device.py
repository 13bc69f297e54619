"""The new-device notice: a sign-in from a device that presented no valid trust token of
the account (accounts.security.device_trust) e-mails the user, after the response, the
device's name, the time and the address, with a one-click link that revokes that device
session, or that browser session for a sign-in on the HTML pages.

The link carries `TimestampSigner(salt=LINK_SALT).sign_object({"s": <session id>,
"u": <user id>})` (a device session) or `{"b": <sign-in id>, "u": <user id>}` (a browser
session: accounts.devices.browsers; never its session key, a credential): the signature
(HMAC keyed by SECRET_KEY) makes it unforgeable, the timestamp makes it expire after
LINK_MAX_AGE. It is made inside the task (accounts.devices.tasks, queued by
accounts.devices.sessions.sign_in and .browser_sign_in_notice), so the queue stores only
ids and the site's host. Following it twice is harmless: a revoked session stays revoked
(an ended browser session stays gone), and the page says so.
"""

import uuid
from dataclasses import dataclass

from django.core import signing
from django.core.exceptions import ValidationError

from accounts.devices.browsers import browser_session_find
from accounts.models import BrowserSession, DeviceSession, User

LINK_SALT = "accounts.devices.new_device_revoke"
LINK_MAX_AGE = 7 * 24 * 3600  # seconds a revoke link is valid


def revoke_link_token(*, session: DeviceSession) -> str:
    """The signed token of the revoke link of `session`."""
    payload = {"s": str(session.pk), "u": str(session.user_id)}
    return signing.TimestampSigner(salt=LINK_SALT).sign_object(payload)


def browser_revoke_link_token(*, user: User, browser_id: str) -> str:
    """The signed token of the revoke link of the browser session that the sign-in
    `browser_id` opened (accounts.devices.browsers)."""
    payload = {"b": browser_id, "u": str(user.pk)}
    return signing.TimestampSigner(salt=LINK_SALT).sign_object(payload)


@dataclass(frozen=True)
class RevokeLink:
    """What a revoke link names: a device `session`, or a `browser` session while it is
    live (`browser_ended` once it is not); all None when the link is refused (`expired`
    when only its age is wrong)."""

    session: DeviceSession | None
    expired: bool = False
    browser: BrowserSession | None = None
    browser_ended: bool = False


def revoke_link_read(*, token: str) -> RevokeLink:
    """The session a link names, when its signature holds, it is younger than
    LINK_MAX_AGE, and the session belongs to the user it was made for."""
    try:
        payload = signing.TimestampSigner(salt=LINK_SALT).unsign_object(token, max_age=LINK_MAX_AGE)
    except signing.SignatureExpired:
        return RevokeLink(session=None, expired=True)
    except signing.BadSignature:
        return RevokeLink(session=None)
    if not isinstance(payload, dict):
        return RevokeLink(session=None)
    if "b" in payload:
        return _browser_link(payload)
    try:
        session_id = uuid.UUID(str(payload.get("s")))
    except ValueError:
        return RevokeLink(session=None)
    session = DeviceSession.objects.select_related("user").filter(pk=session_id).first()
    if session is None or str(session.user_id) != str(payload.get("u")):
        return RevokeLink(session=None)
    return RevokeLink(session=session)


def _browser_link(payload: dict[str, object]) -> RevokeLink:
    """A browser session's link (its signature already checked): the user's live browser
    session of that sign-in, or `browser_ended` when there is none any more (signed out,
    revoked, expired; or a user deleted since)."""
    try:
        user = User.objects.filter(pk=str(payload.get("u")), is_active=True).first()
    except (ValueError, ValidationError):  # signed by us, so never; but never a 500
        user = None
    browser = (
        None if user is None else browser_session_find(user=user, browser_id=str(payload.get("b")))
    )
    return RevokeLink(session=None, browser=browser, browser_ended=browser is None)
