"""A new password ends the user's sessions, whatever set it (SECURITY.md "Stolen device").

The rule runs when a save writes a different password hash for an existing user
(accounts.users.signals): the password-change and reset flows, the admin's password form,
`manage.py changepassword`, `user.set_password(); user.save()` in a shell, and
`set_unusable_password()` alike. Every device session of the user is revoked, every
Django browser session ends (`sessions_version` is bumped), and one audit event names
who did it. The request that changed the user's own password keeps its session.

Not a change: creating a user, the first password of a user saved without one (a
factory's second step), and the hash upgrade Django saves when a sign-in meets an older
hasher (User.check_password). A bulk `QuerySet.update(password=...)` sends no signal:
call `sessions.revoke_all_sessions` after it.

Who did it comes from the request being served: `RequestMiddleware` records it for every
request, the password services name theirs (and whether it is a reset) with
`on_behalf_of`. Outside a request the actor is the management command, or "system".
"""

import contextlib
import os
import sys
from collections.abc import Callable, Iterator
from contextvars import ContextVar

from django.contrib.auth import SESSION_KEY, update_session_auth_hash
from django.http import HttpRequest, HttpResponseBase

from accounts.devices import sessions
from accounts.models import AuthEvent, DeviceSession, User
from accounts.security.audit import record_event
from accounts.users.email_change import email_changes_cancel

RESET_ACTOR = "password-reset link"
SYSTEM_ACTOR = "system"
Reason = DeviceSession.RevokeReason
_COMMAND_PROGRAMS = ("manage.py", "django-admin")

# The request a password is set in (Django's, or DRF's around it), and whether by a
# reset link. Context variables: each thread and each async task sees its own.
_changing_request: ContextVar[HttpRequest | None] = ContextVar("kit_password_request", default=None)
_reset: ContextVar[bool] = ContextVar("kit_password_reset", default=False)


@contextlib.contextmanager
def on_behalf_of(*, request: HttpRequest | None, reset: bool = False) -> Iterator[None]:
    """Passwords set inside are set for `request` (its user is the actor, its own session
    is kept), or by a reset link when `reset` (nothing kept)."""
    request_token, reset_token = _changing_request.set(request), _reset.set(reset)
    try:
        yield
    finally:
        _reset.reset(reset_token)
        _changing_request.reset(request_token)


class RequestMiddleware:
    """Records the request being served, for a password set by a view that does not name
    it (the admin's password form, any third-party view)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        with on_behalf_of(request=request):
            return self.get_response(request)


def sessions_end_on_password_change(*, user: User) -> None:
    """End the sessions of `user`, whose new password hash was just saved: one audit
    event, every device session revoked, every browser session ended but the caller's."""
    request, reset = _changing_request.get(), _reset.get()
    if reset:
        kind, reason, actor = AuthEvent.Kind.PASSWORD_RESET, Reason.PASSWORD_RESET, RESET_ACTOR
        keep_session_id = None
    else:
        kind, reason = AuthEvent.Kind.PASSWORD_CHANGED, Reason.PASSWORD_CHANGED
        actor = _actor(request)
        # The caller's device session; one of another user's is not among these anyway.
        keep_session_id = None if request is None else sessions.current_session_id(request)
    record_event(kind, request=request, user=user, actor=actor)
    sessions.revoke_all_sessions(
        user, reason=reason, actor=actor, keep_session_id=keep_session_id, request=request
    )
    # A pending e-mail change asked for with the old password is void (whoever knew it
    # may hold the new address's link).
    email_changes_cancel(user=user)
    session = getattr(request, "session", None)
    if (
        request is not None
        and not reset
        and session is not None
        and session.get(SESSION_KEY) == str(user.pk)
    ):
        # The user's own browser: it stays signed in with the new hash.
        update_session_auth_hash(request, user)


def _actor(request: HttpRequest | None) -> str:
    if request is None:
        return _process_actor()
    requester = getattr(request, "user", None)
    if requester is not None and requester.is_authenticated:
        return requester.get_username()
    return "anonymous request"


def _process_actor() -> str:
    """ "manage.py changepassword" (any management command, `shell` included), else
    "system"."""
    program = os.path.basename(sys.argv[0]) if sys.argv else ""
    if program in _COMMAND_PROGRAMS and len(sys.argv) > 1:
        return f"{program} {sys.argv[1]}"
    return SYSTEM_ACTOR
