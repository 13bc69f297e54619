"""The browser-session engine (SESSION_ENGINE): Django's database sessions, each row with
its user, browser and address, so a user's browsers can be listed (accounts.models
.BrowserSession). Sessions behave as Django's own otherwise.

A row outlives its validity when "sign out everywhere" or a new password bumps the user's
`sessions_version`: Django then refuses the session at its next request (the session auth
hash no longer matches) and deletes it. `browser_sessions_active` applies the same check,
so such a browser is never listed as signed in.
"""

from typing import TYPE_CHECKING, Any, cast

from django.contrib.auth import HASH_SESSION_KEY, user_logged_in
from django.contrib.sessions.backends.db import SessionStore as DBStore
from django.dispatch import receiver
from django.utils import timezone
from django.utils.crypto import constant_time_compare

from accounts.devices.sessions import device_name_from_user_agent

if TYPE_CHECKING:
    from django.http import HttpRequest

    from accounts.models import BrowserSession, User

# The session's entry with the browser and address it signed in from.
BROWSER_KEY = "_kit_browser"


class SessionStore(DBStore):
    @classmethod
    def get_model_class(cls) -> type["BrowserSession"]:
        from accounts.models import BrowserSession

        return BrowserSession

    def create_model_instance(self, data: dict[str, Any]) -> "BrowserSession":
        instance = cast("BrowserSession", super().create_model_instance(data))
        browser = data.get(BROWSER_KEY, {})
        instance.user_id = data.get("_auth_user_id")
        instance.user_agent = browser.get("user_agent", "")
        instance.ip_address = browser.get("ip_address")
        return instance


@receiver(user_logged_in, dispatch_uid="accounts.web.session_store.remember_browser")
def remember_browser(
    sender: type, request: "HttpRequest | None", user: "User", **kwargs: Any
) -> None:
    """At sign-in, keep the browser's User-Agent and address with its session."""
    if request is not None and hasattr(request, "session"):
        request.session[BROWSER_KEY] = {
            "user_agent": request.META.get("HTTP_USER_AGENT", "")[:512],
            "ip_address": getattr(request, "client_ip", None),  # ClientIPMiddleware
        }


def browser_sessions_active(
    *, user: "User", current_key: str | None = None
) -> list["BrowserSession"]:
    """The user's signed-in browsers, most recently active first, each with `name` and
    `is_current`: unexpired rows whose session auth hash is still the user's."""
    from accounts.models import BrowserSession

    store = SessionStore()
    expected = user.get_session_auth_hash()
    rows = BrowserSession.objects.filter(user=user, expire_date__gt=timezone.now()).order_by(
        "-last_active_at"
    )
    active = []
    for row in rows:
        if constant_time_compare(
            store.decode(row.session_data).get(HASH_SESSION_KEY, ""), expected
        ):
            row.name = device_name_from_user_agent(row.user_agent) or "Unknown browser"
            row.is_current = row.session_key == current_key
            active.append(row)
    return active
