"""The browser-session engine (SESSION_ENGINE): Django's database sessions, each row with
its user, browser and address, so a user's browsers can be listed (accounts.models
.BrowserSession). Sessions behave as Django's own otherwise.

A row outlives its validity when "sign out everywhere" or a new password bumps the user's
`sessions_version`: Django then refuses the session at its next request (the session auth
hash no longer matches) and deletes it. `browser_sessions_active` applies the same check,
so such a browser is never listed as signed in.
"""

from typing import TYPE_CHECKING, Any, cast

from django.contrib.auth import user_logged_in
from django.contrib.sessions.backends.db import SessionStore as DBStore
from django.dispatch import receiver

from accounts.devices.browsers import (
    BROWSER_KEY,
    UNKNOWN_BROWSER,
    browser_sessions_live,
    browser_sign_in_data,
)
from accounts.devices.sessions import device_name_from_user_agent

if TYPE_CHECKING:
    from django.http import HttpRequest

    from accounts.models import BrowserSession, User


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
    """At sign-in, keep the browser's User-Agent, address, name and time with its session,
    and the id of this sign-in (accounts.devices.browsers)."""
    if request is not None and hasattr(request, "session"):
        user_agent = request.META.get("HTTP_USER_AGENT", "")[:512]
        request.session[BROWSER_KEY] = browser_sign_in_data(
            user_agent=user_agent,
            ip_address=getattr(request, "client_ip", None),  # ClientIPMiddleware
            name=device_name_from_user_agent(user_agent) if user_agent else "",
        )


def browser_sessions_active(
    *, user: "User", current_key: str | None = None
) -> list["BrowserSession"]:
    """The user's signed-in browsers, most recently active first, each with `name` and
    `is_current`: unexpired rows whose session auth hash is still the user's
    (accounts.devices.browsers.browser_sessions_live)."""
    active = browser_sessions_live(user=user)
    for row in active:
        row.name = device_name_from_user_agent(row.user_agent) or str(UNKNOWN_BROWSER)
        row.is_current = row.session_key == current_key
    return active
