"""The second factors in the HTML: the sign-in's second step (a code page after the
password, "Sign in with a passkey") and the account page's enrolment. Thin views over the
kit's rules (accounts.mfa.signin, .factors, .passkeys), which keep every factor in
allauth.mfa's store (docs/decisions/0001-mfa-pages.md). The two WebAuthn ceremonies are
scripts over the API (static/accounts/passkey-*.js); everything else is a form that posts.
"""

import functools
import re
from collections.abc import Callable
from typing import Any, cast

from allauth.mfa.adapter import get_adapter
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render, resolve_url
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from accounts import auth
from accounts.errors import (
    EmailUnverified,
    LockedOut,
    MfaInvalid,
    MfaStepUpRequired,
    MfaTokenInvalid,
    NotFound,
    PasskeyInvalid,
)
from accounts.mfa import factors, passkeys, signin
from accounts.models import User
from accounts.web.forms import (
    EMAIL_UNVERIFIED_MESSAGE,
    MfaCodeForm,
    PasskeySignInForm,
    add_service_errors,
)
from accounts.web.views import (
    MFA_CODE_LABELS,
    PENDING_SIGN_IN,
    account_page,
    signed_in_redirect,
)

# A base32 TOTP secret, as totp_enrol hands it out (anything else is not shown again).
SECRET_PATTERN = re.compile(r"[A-Z2-7]{16,128}")


# --- the sign-in's second step ---------------------------------------------------------


def _login_page_again(request: HttpRequest, message: str) -> HttpResponse:
    request.session.pop(PENDING_SIGN_IN, None)
    messages.error(request, message)
    return redirect("accounts:login")


@sensitive_post_parameters("code")
@csrf_protect
@never_cache
def login_code(request: HttpRequest) -> HttpResponse:
    """After a right password for an account with a second factor: a code (TOTP or
    recovery code) finishes the sign-in (accounts.mfa.signin). A wrong code counts for
    the lockout and may be typed again while the step lives."""
    pending = request.session.get(PENDING_SIGN_IN)
    if not isinstance(pending, dict) or not pending.get("mfa_token"):
        return redirect("accounts:login")
    form = MfaCodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = signin.mfa_sign_in_finish_session(
                request=request, mfa_token=pending["mfa_token"], code=form.cleaned_data["code"]
            )
        except MfaTokenInvalid:
            return _login_page_again(request, _("This sign-in has expired: sign in again."))
        except EmailUnverified:
            return _login_page_again(request, str(EMAIL_UNVERIFIED_MESSAGE))
        except MfaInvalid as refusal:
            form.add_error("code", refusal.detail)
        except LockedOut as refusal:
            # The lockout marked the request: LockoutMiddleware makes this page a 429.
            form.add_error("code", refusal.detail)
        else:
            del request.session[PENDING_SIGN_IN]
            return signed_in_redirect(user, pending["next"])
    return render(
        request,
        "accounts/login_code.html",
        {"form": form, "methods": pending.get("methods", []), "next": pending.get("next", "")},
        status=400 if form.errors else 200,
    )


@csrf_protect
@never_cache
@require_POST
def login_passkey(request: HttpRequest) -> HttpResponse:
    """ "Sign in with a passkey": the browser's answer to a passwordless sign-in begun
    through the API (static/accounts/passkey-sign-in.js) signs this browser in, amr
    hwk, user, mfa (accounts.mfa.passkeys.passkey_sign_in_complete)."""
    form = PasskeySignInForm(request.POST)
    try:
        if not form.is_valid():
            raise PasskeyInvalid()
        user = passkeys.passkey_sign_in_complete(
            request=request,
            challenge_token=form.cleaned_data["challenge_token"],
            credential=form.cleaned_data["credential"],
        )
    except PasskeyInvalid as refusal:
        messages.error(request, refusal.detail)
        return redirect("accounts:login")
    request.session.pop(PENDING_SIGN_IN, None)
    try:
        auth.login(request, user, backend=auth.SESSION, amr=passkeys.AMR)
    except EmailUnverified:
        messages.error(request, EMAIL_UNVERIFIED_MESSAGE)
        return redirect("accounts:login")
    next_url = form.cleaned_data.get("next", "")
    if not url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        next_url = resolve_url(settings.LOGIN_REDIRECT_URL)
    return signed_in_redirect(user, next_url)


# --- the account page's second factors ----------------------------------------------------


def _user(request: HttpRequest) -> User:
    """The signed-in user of a login_required view."""
    return cast(User, request.user)


def _section(request: HttpRequest) -> HttpResponse:
    return redirect(reverse("accounts:account") + "#second-factors")


def _step_up(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """A factor change refused for want of a second factor in this sign-in
    (accounts.mfa.factors.mfa_step_up_check): the account page says why."""

    @functools.wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except MfaStepUpRequired as refusal:
            messages.error(request, refusal.detail)
            return _section(request)

    return wrapped


def _totp_page(request: HttpRequest, secret: str, form: MfaCodeForm) -> HttpResponse:
    uri = get_adapter().build_totp_url(_user(request), secret)
    return render(
        request,
        "accounts/mfa_totp.html",
        {
            "secret": secret,
            # allauth's QR code: an inline SVG of paths (no script, no style attribute).
            "qr_svg": mark_safe(get_adapter().build_totp_svg(uri)),  # noqa: S308
            "form": form,
        },
        status=400 if form.is_bound else 200,
    )


@never_cache
@login_required
@require_POST
@_step_up
def totp_enrol(request: HttpRequest) -> HttpResponse:
    """A new secret, shown with its QR code and a form for the first code."""
    try:
        setup = factors.totp_enrol(user=_user(request), request=request)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return _section(request)
    return _totp_page(request, setup.secret, MfaCodeForm())


@sensitive_post_parameters("code", "secret")
@never_cache
@login_required
@require_POST
@_step_up
def totp_confirm(request: HttpRequest) -> HttpResponse:
    """The first code turns the secret on; the recovery codes of a first factor are shown
    once. The `secret` field only shows the page again after a wrong code: the rule
    confirms the secret it keeps, never this one."""
    form = MfaCodeForm(request.POST)
    if form.is_valid():
        try:
            codes = factors.totp_confirm(
                user=_user(request), code=form.cleaned_data["code"], request=request
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _("Your authenticator app is set up."))
            if not codes:
                return _section(request)
            return render(request, "accounts/mfa_recovery_codes.html", {"codes": codes})
    secret = request.POST.get("secret", "")
    if not SECRET_PATTERN.fullmatch(secret):
        messages.error(request, _("Start the set-up again."))
        return _section(request)
    return _totp_page(request, secret, form)


def _code_change(
    request: HttpRequest, prefix: str, change: Callable[[str], Any]
) -> HttpResponse | Any:
    """Run `change(code)` (a factor change proved with a current code): its result, or the
    account page again with the form's error (a wrong code counts for the lockout)."""
    form = MfaCodeForm(request.POST, prefix=prefix, label=MFA_CODE_LABELS[prefix])
    if form.is_valid():
        try:
            return change(form.cleaned_data["code"])
        except ValidationError as error:
            add_service_errors(form, error)
        except LockedOut as refusal:  # a 429 through LockoutMiddleware, as above
            form.add_error("code", refusal.detail)
    return account_page(request, status=400, **{f"{prefix}_form": form})


@sensitive_post_parameters("totp_remove-code")
@never_cache
@login_required
@require_POST
@_step_up
def totp_remove(request: HttpRequest) -> HttpResponse:
    result = _code_change(
        request,
        "totp_remove",
        lambda code: factors.totp_remove(user=_user(request), code=code, request=request),
    )
    if isinstance(result, HttpResponse):
        return result
    messages.success(request, _("Your authenticator app is removed."))
    return _section(request)


@sensitive_post_parameters("recovery_codes-code")
@never_cache
@login_required
@require_POST
@_step_up
def recovery_codes_renew(request: HttpRequest) -> HttpResponse:
    result = _code_change(
        request,
        "recovery_codes",
        lambda code: factors.recovery_codes_renew(user=_user(request), code=code, request=request),
    )
    if isinstance(result, HttpResponse):
        return result
    messages.success(request, _("New recovery codes: the old ones no longer work."))
    return render(request, "accounts/mfa_recovery_codes.html", {"codes": result})


@login_required
@require_POST
@_step_up
def passkey_remove(request: HttpRequest, passkey_id: int) -> HttpResponse:
    try:
        passkeys.passkey_remove(request=request, user=_user(request), passkey_id=passkey_id)
    except NotFound:
        raise Http404("No such passkey.") from None
    messages.success(request, _("The passkey is removed."))
    return _section(request)
