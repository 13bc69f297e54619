"""Device sessions: sign in, refresh, revoke, check. Every view, admin action, command and
signal goes through these functions; none re-implements their rules.

Errors are accounts.errors' domain errors (each with its contract code; field errors are
Django's ValidationError): an API view lets them through to api/exceptions.py, the HTML
pages map them in accounts/web.
"""

import re
import unicodedata
import uuid
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.contrib.auth import authenticate, get_user_model
from django.contrib.auth.signals import user_logged_in
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Q, QuerySet
from django.http import HttpRequest
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _
from rest_framework_simplejwt.exceptions import TokenError

from accounts import revocation
from accounts.conf import kit_settings
from accounts.devices import browsers, session_state, tasks
from accounts.devices.session_state import SessionState
from accounts.devices.tokens import (
    RIGHTS_VERSION_CLAIM,
    DeviceAccessToken,
    DeviceRefreshToken,
    TokenPair,
    decode_any,
    decode_refresh,
    issue_pair,
    new_jti,
    refresh_lifetime,
)
from accounts.errors import (
    DeviceLimitReached,
    DeviceMismatch,
    InvalidCredentials,
    NotFound,
    RefreshReused,
    SessionRevoked,
    TokenInvalid,
    TokenStale,
)
from accounts.models import AuthEvent, DeviceSession, User, session_max_age
from accounts.security.audit import record_event, record_events
from accounts.security.client_ip import client_ip
from accounts.security.lockout import lockout_refusal, presented_trust_tokens

Reason = DeviceSession.RevokeReason
DEVICE_ID_PATTERN = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_TOUCH_INTERVAL = 60  # seconds between last_used_at writes by access-token requests
_MAX_NAME = DeviceSession._meta.get_field("name").max_length
_MAX_USER_AGENT = DeviceSession._meta.get_field("user_agent").max_length

# --- small helpers ----------------------------------------------------------------------


def _user_agent(request: HttpRequest | None) -> str:
    return "" if request is None else request.META.get("HTTP_USER_AGENT", "")[:_MAX_USER_AGENT]


_PLATFORMS = (
    ("iPhone", "iPhone"),
    ("iPad", "iPad"),
    ("Android", "Android"),
    ("Windows", "Windows"),
    ("Macintosh", "Mac"),
    ("CrOS", "ChromeOS"),
    ("Linux", "Linux"),
)
_BROWSERS = (
    ("Edg/", "Edge"),
    ("Firefox/", "Firefox"),
    ("Chrome/", "Chrome"),
    ("Safari/", "Safari"),
)


# Invisible characters that make a name display as another one in a device list: format
# characters (Cf: bidi overrides and isolates, zero-width ones, BOM), lone surrogates (Cs),
# and controls and line/paragraph separators (Cc, Zl, Zp), which become spaces.
_NAME_DROPPED = frozenset({"Cf", "Cs"})
_NAME_SPACES = frozenset({"Cc", "Zl", "Zp"})


def device_name_clean(name: str) -> str:
    """`name` without invisible or control characters, whitespace runs as one space."""
    kept = (
        " " if unicodedata.category(char) in _NAME_SPACES else char
        for char in name
        if unicodedata.category(char) not in _NAME_DROPPED
    )
    return " ".join("".join(kept).split())[:_MAX_NAME].rstrip()


def device_name_from_user_agent(user_agent: str) -> str:
    """A readable default name: "Firefox on Linux", or the User-Agent's first word."""
    platform = next((name for marker, name in _PLATFORMS if marker in user_agent), "")
    browser = next((name for marker, name in _BROWSERS if marker in user_agent), "")
    if platform and browser:
        return f"{browser} on {platform}"
    if platform or browser:
        return platform or browser
    return device_name_clean(user_agent).split(" ", 1)[0] or "Unknown device"


def _iso(moment: datetime) -> str:
    """ISO 8601 UTC as the API writes it elsewhere (DRF's format: microseconds, a Z)."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _refresh_expiry(now: datetime, created_at: datetime) -> datetime:
    """A full refresh lifetime from now, within the session's absolute cap."""
    return min(now + refresh_lifetime(), created_at + session_max_age())


def active_sessions(user: User) -> QuerySet[DeviceSession]:
    """The user's active device sessions, most recently used first."""
    return DeviceSession.objects.filter(
        DeviceSession.active_q(timezone.now()), user_id=user.pk
    ).order_by("-last_used_at")


def _audit_revoked(
    sessions: Iterable[DeviceSession],
    *,
    reason: str,
    actor: str,
    request: HttpRequest | None,
    user: User | None = None,
) -> None:
    """One `session_revoked` row per session, all in one INSERT."""
    record_events(
        AuthEvent.Kind.SESSION_REVOKED,
        [
            {
                "user": user if user is not None else session.user,
                "session_id": session.pk,
                "detail": {"reason": str(reason)},
            }
            for session in sessions
        ],
        request=request,
        actor=actor,
    )


def _revoke_rows(
    sessions: Sequence[DeviceSession],
    *,
    reason: str,
    actor: str = "",
    request: HttpRequest | None = None,
    user: User | None = None,
) -> int:
    """Revoke these rows (in the caller's transaction), audit, and write through."""
    ids = [s.pk for s in sessions]
    if not ids:
        return 0
    now = timezone.now()
    DeviceSession.objects.filter(pk__in=ids).update(revoked_at=now, revoke_reason=reason)
    for session in sessions:
        session.revoked_at, session.revoke_reason = now, reason
    _audit_revoked(sessions, reason=reason, actor=actor, request=request, user=user)
    session_state.mark_revoked(ids)
    return len(ids)


# --- sign-in ----------------------------------------------------------------------------


def sign_in(
    *,
    request: HttpRequest | None,
    user: User,
    device_id: str | None = None,
    device_name: str = "",
    revoke_device_id: uuid.UUID | str | None = None,
    amr: Sequence[str] = ("pwd",),
    device_trust_token: str | None = None,
    device_trusted: bool = False,
) -> tuple[DeviceSession, TokenPair]:
    """Open a device session for an authenticated `user`: -> (session, TokenPair).

    A device is trusted when `device_trust_token` (the body's) or the request's
    `device_trust` cookie is a valid trust token of `user`, or when the caller already
    knows it was (`device_trusted`: the second step of an MFA sign-in, whose first step
    saw the token). An untrusted one gets the new-device notice: an e-mail with a link
    that revokes this session (accounts.devices.new_device), sent after the commit.

    `amr` names how the user proved who they are (RFC 8176: "pwd", "otp", "hwk", "mfa",
    ...); the session keeps it and every access token it issues carries it.

    One transaction holding the user's row lock, so concurrent sign-ins queue and the
    device limit holds. The same `device_id` replaces its old session; `revoke_device_id`
    (one of the user's active sessions) is revoked in the same transaction. At the limit,
    policy `reject` raises DeviceLimitReached and `evict_oldest` revokes the least recently
    used session.
    """
    device_id = device_id or uuid.uuid4().hex
    user_agent = _user_agent(request)
    try:
        with transaction.atomic():
            user = get_user_model().objects.select_for_update().get(pk=user.pk)
            now = timezone.now()
            # The active sessions and this device's unrevoked one (active or not: the unique
            # constraint allows one unrevoked row per device): never the user's history of
            # expired rows, so a sign-in costs the same after years of them.
            live = list(
                DeviceSession.objects.filter(
                    DeviceSession.active_q(now) | Q(revoked_at__isnull=True, device_id=device_id),
                    user=user,
                ).order_by("last_used_at")
            )
            # Same device: the old session goes, whether or not its refresh has expired.
            _revoke_rows(
                [s for s in live if s.device_id == device_id],
                reason=Reason.REPLACED,
                request=request,
                user=user,
            )
            active = [s for s in live if s.device_id != device_id]
            if revoke_device_id is not None:
                lost = [s for s in active if str(s.pk) == str(revoke_device_id)]
                if not lost:
                    raise ValidationError(
                        {"revoke_device_id": [_("Not one of your active device sessions.")]}
                    )
                _revoke_rows(lost, reason=Reason.USER, request=request, user=user)
                active.remove(lost[0])
            _enforce_device_limit(active, request=request, user=user)

            session = DeviceSession(
                user=user,
                device_id=device_id,
                # Cleaned wherever it comes from; a name left empty gets the default.
                name=device_name_clean(device_name) or device_name_from_user_agent(user_agent),
                user_agent=user_agent,
                ip_address=client_ip(request),
                created_at=now,
                last_used_at=now,
                refresh_jti=new_jti(),
                amr=list(amr),
            )
            session.refresh_expires_at = _refresh_expiry(now, now)
            session.save(force_insert=True)
            pair = issue_pair(session, user, now=now)
            record_event(
                AuthEvent.Kind.LOGIN_SUCCEEDED, request=request, user=user, session_id=session.pk
            )
            user_logged_in.send(sender=user.__class__, request=request, user=user)
            session_state.remember_new_session(session, user)
            _mark_touched(session.pk)
            if not _trusted(request, user, device_trust_token, device_trusted):
                _new_device_notice(request=request, session=session)
    except DeviceLimitReached:
        record_event(AuthEvent.Kind.DEVICE_LIMIT_REACHED, request=request, user=user)
        raise
    return session, pair


def _trusted(
    request: HttpRequest | None, user: User, device_trust_token: str | None, device_trusted: bool
) -> bool:
    """Whether a sign-in comes from a device the account trusts: `device_trusted`, or a
    valid trust token of `user` in the body (`device_trust_token`) or the cookie."""
    return device_trusted or any(
        token.vouches_for(user) for token in presented_trust_tokens(request, device_trust_token)
    )


def browser_sign_in_notice(
    *,
    request: HttpRequest | None,
    user: User,
    device_trust_token: str | None = None,
    device_trusted: bool = False,
) -> None:
    """The new-device notice of a browser sign-in (accounts.auth.login "session", after
    Django's login): unless the browser is trusted (as sign_in decides), the user is
    e-mailed, after the commit, with a link that ends this browser session
    (accounts.devices.browsers). Nothing without a request (no host to link to) or an
    address."""
    if request is None or not user.email:
        return
    if _trusted(request, user, device_trust_token, device_trusted):
        return
    sign_in = browsers.request_browser_sign_in(request)
    if sign_in is None:
        return
    # Stored now (the response would store it anyway), so a task run at once (the
    # "immediate" backend) finds the session it names.
    request.session.save()
    transaction.on_commit(
        partial(
            tasks.send_new_browser_mail.enqueue,
            user_id=user.pk,
            browser_id=sign_in.id,
            domain=request.get_host(),
            use_https=request.is_secure(),
            language=translation.get_language() or settings.LANGUAGE_CODE,
        )
    )


def _new_device_notice(*, request: HttpRequest | None, session: DeviceSession) -> None:
    """Queue the new-device e-mail of `session` once the transaction commits. Without a
    request (a sign-in from code) there is no host to link to: nothing is sent."""
    if request is None or not session.user.email:
        return
    transaction.on_commit(
        partial(
            tasks.send_new_device_mail.enqueue,
            session_id=str(session.pk),
            domain=request.get_host(),
            use_https=request.is_secure(),
            language=translation.get_language() or settings.LANGUAGE_CODE,
        )
    )


def _enforce_device_limit(
    active: list[DeviceSession], *, request: HttpRequest | None, user: User
) -> None:
    limit = kit_settings.MAX_DEVICES
    if not limit or len(active) < limit:
        return
    if kit_settings.DEVICE_LIMIT_POLICY == "evict_oldest":
        # `active` is ordered least recently used first.
        evicted = active[: len(active) - limit + 1]
        _revoke_rows(evicted, reason=Reason.DEVICE_LIMIT, request=request, user=user)
        return
    raise DeviceLimitReached(
        [
            {"id": str(s.pk), "name": s.name, "last_used_at": _iso(s.last_used_at)}
            for s in sorted(active, key=lambda s: s.last_used_at, reverse=True)
        ]
    )


def authenticate_credentials(
    *,
    request: HttpRequest | None,
    username: str,
    password: str,
    device_trust_token: str | None = None,
) -> User:
    """The active user these credentials belong to, for every API sign-in path.

    Django's authenticate() runs the backends (the lockout first: a locked client is
    refused before any password is hashed). Unknown user, inactive user and wrong password
    are one error, InvalidCredentials; a lockout is LockedOut (a subclass).
    """
    # The trust token goes to the backends only when there is one: a product's backend
    # that takes no such argument is then still asked about plain credentials.
    extra = {"device_trust_token": device_trust_token} if device_trust_token else {}
    user = authenticate(request, username=username, password=password, **extra)
    if user is not None:
        return user
    refusal = lockout_refusal(request)
    if refusal is not None:
        raise refusal
    record_event(AuthEvent.Kind.LOGIN_FAILED, request=request, username=username or "")
    raise InvalidCredentials()


# --- refresh ----------------------------------------------------------------------------


def _parse_refresh(raw_refresh: object) -> DeviceRefreshToken:
    try:
        return decode_refresh(raw_refresh)
    except TokenError as exc:
        raise TokenInvalid() from exc


def refresh(
    *, request: HttpRequest | None, raw_refresh: object, device_id: str
) -> tuple[DeviceSession, TokenPair]:
    """Rotate: a new pair for the session of `raw_refresh` -> (session, TokenPair).

    The session and its user are read, the new pair issued, and only then is the rotation
    written, by one conditional `update()` that matches only while `raw_refresh` is still
    the session's current refresh token of a live session: of two concurrent exchanges of
    one token only one can match, and a crash while issuing has written nothing, so the old
    token stays current. When nothing matches, `_refresh_refused` says why.
    """
    token = _parse_refresh(raw_refresh)
    now = timezone.now()
    session = _live_session(token, device_id=device_id, now=now)
    if session is not None:
        session.previous_refresh_jti = token.jti
        session.refresh_jti = new_jti()
        session.rotated_at = session.last_used_at = now
        session.ip_address = client_ip(request)
        session.refresh_expires_at = _refresh_expiry(now, session.created_at)
        pair = issue_pair(session, session.user, now=now)
        if _rotate(session, token=token, now=now):
            # The rotation wrote last_used_at: this process skips the next minute's write.
            # Not the shared mark (a round trip per refresh); another worker may write it
            # once more.
            revocation.due_once_a_while(_touch_key(session.pk), _TOUCH_INTERVAL)
            return session, pair
    return _refresh_refused(token, request=request, device_id=device_id, now=now)


def _live_session(
    token: DeviceRefreshToken, *, device_id: str, now: datetime
) -> DeviceSession | None:
    """The session (its user loaded) whose current refresh token `token` is, live, of an
    active user, on this device; or None. Read by primary key and checked here: composing
    the conditions into the query cost the ORM more than the database work."""
    try:
        session = DeviceSession.objects.select_related("user").get(pk=token.session_id)
    except DeviceSession.DoesNotExist:
        return None
    live = (
        str(session.user_id) == token["sub"]
        and session.user.is_active
        and session.device_id == device_id
        and session.refresh_jti == token.jti
        and session.revoked_at is None
        and session.refresh_expires_at > now
        and session.created_at > now - session_max_age()
    )
    return session if live else None


_ROTATED = (
    "refresh_jti",
    "previous_refresh_jti",
    "rotated_at",
    "last_used_at",
    "ip_address",
    "refresh_expires_at",
)


def _rotate(session: DeviceSession, *, token: DeviceRefreshToken, now: datetime) -> bool:
    """Write the rotation of `session` (its new values set) if `token` is still its current
    refresh token and it is still live. True when written. The condition is on the
    session's own row only (no join), so a concurrent exchange that changed it first makes
    this one match nothing: PostgreSQL re-checks it on the row it waited for."""
    return bool(
        DeviceSession.objects.filter(
            DeviceSession.active_q(now), pk=session.pk, refresh_jti=token.jti
        ).update(**{name: getattr(session, name) for name in _ROTATED})
    )


def _pair_for(session_id: uuid.UUID, *, now: datetime) -> tuple[DeviceSession, TokenPair]:
    session = DeviceSession.objects.select_related("user").filter(pk=session_id).first()
    if session is None or not session.is_active or not session.user.is_active:
        raise SessionRevoked()
    return session, issue_pair(session, session.user, now=now)


def _refresh_refused(
    token: DeviceRefreshToken, *, request: HttpRequest | None, device_id: str, now: datetime
) -> tuple[DeviceSession, TokenPair]:
    session = DeviceSession.objects.select_related("user").filter(pk=token.session_id).first()
    if session is None or str(session.user_id) != token["sub"] or not session.user.is_active:
        raise SessionRevoked()
    if not session.is_active:
        raise SessionRevoked()
    if session.device_id != device_id:
        record_event(
            AuthEvent.Kind.DEVICE_MISMATCH,
            request=request,
            user=session.user,
            session_id=session.pk,
        )
        raise DeviceMismatch()
    if token.jti == session.refresh_jti:
        # Current token and right device, yet the UPDATE lost: a revocation got in first.
        raise SessionRevoked()
    grace = kit_settings.REFRESH_REUSE_GRACE_SECONDS
    if (
        grace > 0
        and token.jti == session.previous_refresh_jti
        and session.rotated_at is not None
        and session.rotated_at > now - timedelta(seconds=grace)
    ):
        # The app lost the answer to its last exchange and retries: a fresh pair for the
        # same session. `rotated_at` stays, so the window does not slide.
        with transaction.atomic():
            resent = DeviceSession.objects.filter(
                pk=session.pk, refresh_jti=session.refresh_jti, revoked_at__isnull=True
            ).update(refresh_jti=new_jti(), last_used_at=now)
            if resent:
                return _pair_for(session.pk, now=now)
    with transaction.atomic():
        record_event(
            AuthEvent.Kind.REFRESH_REUSED, request=request, user=session.user, session_id=session.pk
        )
        revoke_session(session, reason=Reason.REFRESH_REUSED, request=request)
    raise RefreshReused()


# --- checks -----------------------------------------------------------------------------


def check_access(token: DeviceAccessToken) -> SessionState:
    """Refuse an access token whose session has ended or whose rights are stale.

    One cache get with a shared cache, one query otherwise. Raises SessionRevoked or
    TokenStale; returns the SessionState.
    """
    state = session_state.get_session_state(token.session_id)
    if (
        state is not None
        and state.active
        # A stale rights version, or an entry cached before it carried the user id.
        and (state.rights_version != token.get(RIGHTS_VERSION_CLAIM) or state.user_id is None)
    ):
        state = session_state.get_session_state(token.session_id, refresh=True)
    if state is None or not state.active or str(state.user_id) != token["sub"]:
        # Also a session of another user: a `sid` is bound to its `sub`.
        raise SessionRevoked()
    if state.rights_version != token.get(RIGHTS_VERSION_CLAIM):
        raise TokenStale()
    touch(token.session_id)
    return state


def verify_token(raw: object) -> DeviceAccessToken | DeviceRefreshToken:
    """Any token of the kit, fully checked: signature, expiry, type, and its device session
    (an access token's rights too; a refresh token only while it is the current one).
    Returns the token; raises TokenInvalid, SessionRevoked or TokenStale."""
    try:
        token = decode_any(raw)
    except TokenError as exc:
        raise TokenInvalid() from exc
    if isinstance(token, DeviceAccessToken):
        check_access(token)
    else:
        check_refresh(raw)
    return token


def check_refresh(raw_refresh: object) -> DeviceRefreshToken:
    """Verify a refresh token without using it: valid only while it is the session's
    current one. Returns the token; raises TokenInvalid / SessionRevoked."""
    token = _parse_refresh(raw_refresh)
    session = DeviceSession.objects.filter(
        pk=token.session_id, user_id=token["sub"], user__is_active=True
    ).first()
    if session is None or not session.is_active:
        raise SessionRevoked()
    if session.refresh_jti != token.jti:
        raise TokenInvalid()
    return token


def _touch_key(session_id: uuid.UUID) -> str:
    return f"devsess:touched:{session_id}"


def _mark_touched(session_id: uuid.UUID) -> None:
    # A missed mark only costs one extra UPDATE.
    if not revocation.cache_available():
        return
    try:
        cache.set(_touch_key(session_id), 1, _TOUCH_INTERVAL)
    except Exception:
        revocation.cache_unavailable()


def touch(session_id: uuid.UUID) -> None:
    """Write last_used_at at most once a minute per session: a per-process clock first (no
    round trip), then a shared cache key (no query)."""
    if not revocation.due_once_a_while(_touch_key(session_id), _TOUCH_INTERVAL):
        return
    if not revocation.cache_available():
        return  # the breaker is open: as when the cache is down
    try:
        first = cache.add(_touch_key(session_id), 1, _TOUCH_INTERVAL)
    except Exception:
        revocation.cache_unavailable()
        return
    if first:
        DeviceSession.objects.filter(pk=session_id).update(last_used_at=timezone.now())


# --- revocation -------------------------------------------------------------------------


def revoke_session(
    session_or_id: DeviceSession | uuid.UUID | str,
    *,
    reason: str,
    actor: str = "",
    request: HttpRequest | None = None,
) -> bool:
    """Revoke one device session. True when it was live, False when already ended."""
    with transaction.atomic():
        session_id = session_or_id.pk if isinstance(session_or_id, DeviceSession) else session_or_id
        session = (
            DeviceSession.objects.select_for_update()
            .select_related("user")
            .filter(pk=session_id, revoked_at__isnull=True)
            .first()
        )
        if session is None:
            return False
        _revoke_rows([session], reason=reason, actor=actor, request=request, user=session.user)
    if isinstance(session_or_id, DeviceSession):
        session_or_id.revoked_at, session_or_id.revoke_reason = session.revoked_at, reason
    return True


def revoke_sessions(
    session_ids: Iterable[Any] | QuerySet[Any],
    *,
    reason: str,
    actor: str = "",
    request: HttpRequest | None = None,
) -> int:
    """Revoke many device sessions at once (an administrator's selection): one locking
    read, one UPDATE, one INSERT of their audit rows, one cache write-through, whatever
    their number. `session_ids` is a list or a queryset of ids. Returns how many were live.
    """
    with transaction.atomic():
        live = list(
            DeviceSession.objects.select_for_update(of=("self",))
            .select_related("user")
            .filter(pk__in=session_ids, revoked_at__isnull=True)
        )
        return _revoke_rows(live, reason=reason, actor=actor, request=request)


def revoke_own_session(
    *, user: User, session_id: uuid.UUID | str, request: HttpRequest | None = None
) -> DeviceSession:
    """Revoke one of `user`'s active device sessions (the device list, the account page).
    NotFound for another user's, an ended or an unknown session: they all answer alike."""
    session = active_sessions(user).select_related("user").filter(pk=session_id).first()
    if session is None:
        raise NotFound()
    revoke_session(session, reason=Reason.USER, request=request)
    return session


def current_session_id(request: HttpRequest) -> uuid.UUID | None:
    """The device session a request is authenticated by (its access token's `sid`), or
    None for a browser session, an API key or an anonymous request."""
    return getattr(getattr(request, "auth", None), "session_id", None)


def revoke_all_sessions(
    user: User,
    *,
    reason: str,
    actor: str = "",
    keep_session_id: uuid.UUID | str | None = None,
    request: HttpRequest | None = None,
) -> int:
    """Revoke every live device session of `user` (but `keep_session_id`) and end their
    Django browser sessions by bumping `sessions_version`. Returns how many were revoked.

    A browser caller that should stay signed in calls `update_session_auth_hash` after.
    """
    with transaction.atomic():
        get_user_model().objects.filter(pk=user.pk).update(
            sessions_version=F("sessions_version") + 1
        )
        # Unrevoked rows whose refresh token is still valid: never the expired history.
        # Also those past a lowered max age, which a raised one would bring back.
        sessions = list(
            DeviceSession.objects.select_for_update()
            .filter(user_id=user.pk, revoked_at__isnull=True, refresh_expires_at__gt=timezone.now())
            # None excludes nothing (pk IS NULL matches no row)
            .exclude(pk=keep_session_id)  # type: ignore[misc]
        )
        count = _revoke_rows(sessions, reason=reason, actor=actor, request=request, user=user)
    user.refresh_from_db(fields=["sessions_version"])
    return count


def revoke_all_sessions_of_users(
    users: Iterable[User],
    *,
    reason: str,
    actor: str = "",
    request: HttpRequest | None = None,
) -> int:
    """revoke_all_sessions for many users at once (an administrator's selection): one
    UPDATE bumps their `sessions_version`, then revoke_sessions ends all their live device
    sessions, whatever their number. Each user object's `sessions_version` is not
    refreshed: reload the one a browser caller must keep signed in."""
    ids = [user.pk for user in users]
    with transaction.atomic():
        get_user_model().objects.filter(pk__in=ids).update(
            sessions_version=F("sessions_version") + 1
        )
        return revoke_sessions(
            DeviceSession.objects.filter(user_id__in=ids, revoked_at__isnull=True).values("pk"),
            reason=reason,
            actor=actor,
            request=request,
        )


def logout(*, request: HttpRequest | None, session_id: uuid.UUID | str) -> None:
    """Sign out one device session (nothing to do when it already ended)."""
    with transaction.atomic():
        session = DeviceSession.objects.select_related("user").filter(pk=session_id).first()
        if session is not None and revoke_session(session, reason=Reason.LOGOUT, request=request):
            record_event(
                AuthEvent.Kind.LOGOUT, request=request, user=session.user, session_id=session.pk
            )


def logout_with_refresh(*, request: HttpRequest | None, raw_refresh: object) -> None:
    """Sign out the session of a refresh token (for an app whose access token expired)."""
    token = _parse_refresh(raw_refresh)
    logout(request=request, session_id=token.session_id)


def revoke_sessions_of_deleted_user(user: User) -> None:
    """Before a user row is deleted (its sessions cascade): write the revocations through
    and audit them by name only, as the user row is about to go."""
    ids = list(
        DeviceSession.objects.filter(user_id=user.pk, revoked_at__isnull=True).values_list(
            "pk", flat=True
        )
    )
    record_events(
        AuthEvent.Kind.SESSION_REVOKED,
        [
            {
                "username": user.get_username(),
                "session_id": session_id,
                "detail": {"reason": str(Reason.USER_DELETED)},
            }
            for session_id in ids
        ],
    )
    session_state.mark_revoked(ids)


__all__ = [
    "DEVICE_ID_PATTERN",
    "DeviceLimitReached",
    "TokenPair",
    "active_sessions",
    "authenticate_credentials",
    "browser_sign_in_notice",
    "check_access",
    "check_refresh",
    "current_session_id",
    "device_name_clean",
    "device_name_from_user_agent",
    "logout",
    "logout_with_refresh",
    "refresh",
    "revoke_all_sessions",
    "revoke_all_sessions_of_users",
    "revoke_own_session",
    "revoke_session",
    "revoke_sessions",
    "revoke_sessions_of_deleted_user",
    "sign_in",
    "touch",
    "verify_token",
]
