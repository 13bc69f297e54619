"""Social sign-in's pages (accounts.social.web_flow holds the rules): the provider buttons
of the sign-in page post here, the provider sends the browser back to the callback, and
the browser ends signed in as the password page signs it in (a second-factor step first
for an account with one). Every refusal is a message on the sign-in page, never an error
page: a provider down, a cancelled sign-in, a bad or replayed state."""

import functools
from collections.abc import Callable

from csp.decorators import csp_update
from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponseBase, HttpResponseRedirect
from django.shortcuts import redirect, resolve_url
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_GET, require_POST

from accounts import auth
from accounts.errors import (
    EmailUnverified,
    MfaRequired,
    SocialProviderUnavailable,
    SocialTokenInvalid,
)
from accounts.mfa import signin as mfa_signin
from accounts.social import web_flow
from accounts.social.providers import social_providers
from accounts.social.signin import social_account_for, social_amr
from accounts.web.views import PENDING_SIGN_IN, signed_in_redirect


def with_social_form_action(
    view: Callable[..., HttpResponseBase],
) -> Callable[..., HttpResponseBase]:
    """The sign-in page's CSP lets its provider buttons' POST lead to the providers
    (`form-action`: a browser checks the redirect after a form against it)."""

    @functools.wraps(view)
    def wrapped(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponseBase:
        response = view(request, *args, **kwargs)
        sources = web_flow.form_action_sources()
        if not sources:
            return response
        return csp_update({"form-action": sources})(lambda _request: response)(request)

    return wrapped


def _provider_name(provider_id: str) -> str:
    return next((p.name for p in social_providers() if p.id == provider_id), provider_id)


def _safe_next(request: HttpRequest, next_url: object) -> str:
    if isinstance(next_url, str) and url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return next_url
    return resolve_url(settings.LOGIN_REDIRECT_URL)


def _back_to_login(request: HttpRequest, message: str) -> HttpResponseBase:
    messages.error(request, message)
    return redirect("accounts:login")


def _unavailable(request: HttpRequest, provider_id: str) -> HttpResponseBase:
    return _back_to_login(
        request,
        gettext("%(provider)s cannot be reached right now; try again in a moment.")
        % {"provider": _provider_name(provider_id)},
    )


@csrf_protect
@never_cache
@require_POST
def social_login(request: HttpRequest, provider_id: str) -> HttpResponseBase:
    """A provider button: off to the provider's authorization page."""
    if provider_id not in {p.id for p in social_providers() if p.client_secret}:
        raise Http404("No such provider.")
    redirect_uri = request.build_absolute_uri(
        reverse("accounts:social_callback", args=[provider_id])
    )
    try:
        url = web_flow.authorization_begin(
            request=request,
            provider_id=provider_id,
            redirect_uri=redirect_uri,
            next_url=_safe_next(request, request.POST.get("next")),
        )
    except SocialProviderUnavailable:
        return _unavailable(request, provider_id)
    return HttpResponseRedirect(url)


@never_cache
@require_GET
def social_callback(request: HttpRequest, provider_id: str) -> HttpResponseBase:
    """The provider's answer: signed in (or the second-factor step), or a message."""
    try:
        provider, claims, next_url = web_flow.authorization_complete(
            request=request, provider_id=provider_id, params=request.GET
        )
        user = social_account_for(request=request, provider=provider, claims=claims)
        amr = social_amr(claims)
        mfa_signin.mfa_sign_in_begin(request=request, user=user, transport="session", amr=amr)
        auth.login(request, user, backend=auth.SESSION, amr=amr)
    except MfaRequired as required:
        # No session yet: the code page (accounts.web.mfa_views.login_code) finishes it.
        request.session[PENDING_SIGN_IN] = {
            "mfa_token": required.mfa_token,
            "methods": required.methods,
            "next": next_url,
        }
        return redirect("accounts:login_mfa")
    except SocialProviderUnavailable:
        return _unavailable(request, provider_id)
    except EmailUnverified as unverified:
        return _back_to_login(request, str(unverified.detail))
    except SocialTokenInvalid as refused:
        name = _provider_name(provider_id)
        if refused.reason == "access_denied":
            message = gettext("The sign-in with %(provider)s was cancelled.")
        elif refused.reason == "state":
            message = gettext(
                "This sign-in with %(provider)s has expired or was already used: try again."
            )
        elif refused.reason == "signup_closed":
            message = gettext(
                "No account here is linked to this %(provider)s sign-in, and sign-up is closed."
            )
        else:
            message = gettext("The sign-in with %(provider)s was refused: try again.")
        return _back_to_login(request, message % {"provider": name})
    return signed_in_redirect(user, next_url)
