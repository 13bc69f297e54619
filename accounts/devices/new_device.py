"""The new-device notice: a sign-in from a device that presented no valid trust token of
the account (accounts.security.device_trust) e-mails the user, after the response, the
device's name, the time and the address, with a one-click link that revokes that device
session.

The link carries `TimestampSigner(salt=LINK_SALT).sign_object({"s": <session id>,
"u": <user id>})`: the signature (HMAC keyed by SECRET_KEY) makes it unforgeable, the
timestamp makes it expire after LINK_MAX_AGE. It is made inside the task (accounts.devices
.tasks, queued by accounts.devices.sessions.sign_in), so the queue stores only the session
id and the site's host. Following it twice is harmless: a revoked session stays revoked,
and the page says so.
"""

import uuid
from dataclasses import dataclass

from django.core import signing

from accounts.models import DeviceSession

LINK_SALT = "accounts.devices.new_device_revoke"
LINK_MAX_AGE = 7 * 24 * 3600  # seconds a revoke link is valid


def revoke_link_token(*, session: DeviceSession) -> str:
    """The signed token of the revoke link of `session`."""
    payload = {"s": str(session.pk), "u": str(session.user_id)}
    return signing.TimestampSigner(salt=LINK_SALT).sign_object(payload)


@dataclass(frozen=True)
class RevokeLink:
    """What a revoke link names: `session` (None when the link is refused) or `expired`."""

    session: DeviceSession | None
    expired: bool = False


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
    try:
        session_id = uuid.UUID(str(payload.get("s")))
    except ValueError:
        return RevokeLink(session=None)
    session = DeviceSession.objects.select_related("user").filter(pk=session_id).first()
    if session is None or str(session.user_id) != str(payload.get("u")):
        return RevokeLink(session=None)
    return RevokeLink(session=session)
