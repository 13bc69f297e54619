"""ACCOUNTS_MFA_REQUIRED_FOR_STAFF: a staff account reaches /admin/ only with a second
factor, since the admin can read and end everyone's sessions. A staff user without one is
sent to the account page's enrolment with a message saying why, instead of the admin."""

from collections.abc import Callable

from django.contrib import messages
from django.http import HttpRequest, HttpResponseBase, HttpResponseRedirect
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from accounts.conf import kit_settings
from accounts.mfa.factors import mfa_enabled

MESSAGE = _("Staff accounts need a second factor before they open the admin: add one below.")


class StaffMfaGateMiddleware:
    """Guards every view of the admin site (its URL namespace) but its sign-out."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        return self.get_response(request)

    def process_view(
        self, request: HttpRequest, view_func: object, view_args: object, view_kwargs: object
    ) -> HttpResponseBase | None:
        match = request.resolver_match
        if match is None or "admin" not in match.namespaces or match.url_name == "logout":
            return None
        user = getattr(request, "user", None)
        if user is None or not (user.is_active and user.is_staff):
            return None  # the admin itself sends them to its sign-in page
        if not kit_settings.MFA_REQUIRED_FOR_STAFF or mfa_enabled(user=user):
            return None
        messages.warning(request, MESSAGE)
        return HttpResponseRedirect(reverse("accounts:account") + "#second-factors")
