"""HTML pages on the Django session. Thin: the rules live in accounts.users and
accounts.mfa (the second factors' pages: accounts.web.mfa_views)."""

from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect, ensure_csrf_cookie
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from accounts import auth
from accounts.conf import kit_settings
from accounts.devices import cookies, sessions
from accounts.errors import LockedOut, MfaRequired, NotFound
from accounts.mfa import factors, passkeys, signin
from accounts.models import DeviceSession
from accounts.security import ratelimit
from accounts.security.device_trust import trust_token_issue
from accounts.users.deletion import account_delete
from accounts.users.passwords import change_password, reset_password, send_password_reset
from accounts.users.signup import sign_up
from accounts.web.forms import (
    AccountDeleteForm,
    EmailChangeForm,
    LockoutPasswordChangeForm,
    LoginForm,
    MfaCodeForm,
    SignupForm,
    add_service_errors,
)
from accounts.web.session_store import browser_sessions_active

# The account page's forms that change a second factor with a code: prefix -> label.
MFA_CODE_LABELS = {
    "totp_remove": gettext_lazy("Code to remove the app"),
    "recovery_codes": gettext_lazy("Code for new recovery codes"),
}


def account_page(request, *, status=200, **forms):
    """The account page, with the bound `forms` of a second-factor change (or of the
    account's deletion) that failed."""
    user = request.user
    mfa_enabled = factors.mfa_enabled(user=user)
    return render(
        request,
        "accounts/account.html",
        {
            "device_sessions": sessions.active_sessions(user),
            "browser_sessions": browser_sessions_active(
                user=user, current_key=request.session.session_key
            ),
            "mfa": {
                **factors.mfa_summary(user=user),
                "enabled": mfa_enabled,
                "passkeys": passkeys.passkeys_list(user=user),
            },
            **{
                f"{prefix}_form": forms.get(f"{prefix}_form")
                or MfaCodeForm(prefix=prefix, label=label)
                for prefix, label in MFA_CODE_LABELS.items()
            },
            "email_form": forms.get("email_form") or EmailChangeForm(),
            "delete_form": forms.get("delete_form") or AccountDeleteForm(with_code=mfa_enabled),
            "deletion_grace_days": kit_settings.DELETION_GRACE_DAYS,
        },
        status=status,
    )


@login_required
def account(request):
    """The account page: the profile, the second factors, the active device sessions and
    browsers."""
    return account_page(request)


@login_required
@require_POST
def revoke_device_session(request, session_id):
    """Sign out one of the user's devices (the revoke button of the account page)."""
    try:
        session = sessions.revoke_own_session(
            user=request.user, session_id=session_id, request=request
        )
    except NotFound:
        raise Http404("No such device session.") from None
    messages.success(
        request, _("%(name)s is signed out.") % {"name": session.name or session.device_id}
    )
    return redirect("accounts:account")


@login_required
@require_POST
def sign_out_everywhere(request):
    """End every device session and every other browser session; keep this one."""
    count = sessions.revoke_all_sessions(
        request.user, reason=DeviceSession.RevokeReason.LOGOUT_ALL, request=request
    )
    update_session_auth_hash(request, request.user)
    messages.success(
        request,
        ngettext(
            "Signed out everywhere else (%(count)d device).",
            "Signed out everywhere else (%(count)d devices).",
            count,
        )
        % {"count": count},
    )
    return redirect("accounts:account")


@sensitive_post_parameters("delete-password", "delete-code")
@never_cache
@login_required
@require_POST
def delete_account(request):
    """ "Delete account": with the password (and a second-factor code when the account has
    a factor), accounts.users.deletion ends every session, deactivates the account and
    erases its data after the grace; this browser is signed out and told so. A wrong
    password or code is the form's error, counted by the lockout (a 429 once locked)."""
    user = request.user
    form = AccountDeleteForm(request.POST, with_code=factors.mfa_enabled(user=user))
    if form.is_valid():
        try:
            account_delete(
                user=user,
                password=form.cleaned_data["password"],
                code=form.cleaned_data.get("code"),
                request=request,
            )
        except ValidationError as error:
            add_service_errors(form, error)
        except LockedOut as refusal:  # LockoutMiddleware makes the page a 429
            form.add_error(None, refusal.detail)
        else:
            auth.logout(request, backend=auth.SESSION)
            return render(
                request,
                "accounts/account_deleted.html",
                {"deletion_grace_days": kit_settings.DELETION_GRACE_DAYS},
            )
    return account_page(request, status=400, delete_form=form)


@ensure_csrf_cookie
def spa_demo(request):
    """A page of plain JavaScript on the cookie transport (static/accounts/spa-demo.js)."""
    return render(request, "accounts/spa_demo.html")


# The browser session's key of a sign-in waiting for its second factor: A's `mfa_token`
# (accounts.mfa.signin), the methods offered and where to go after.
PENDING_SIGN_IN = "accounts_mfa_pending"


def signed_in_redirect(user, url):
    """To `url` after a sign-in; the next sign-in from this browser is exempt from the
    account lockout (a device trust cookie)."""
    response = HttpResponseRedirect(url)
    cookies.set_trust_cookie(response, trust_token_issue(user=user))
    return response


class LoginView(auth_views.LoginView):
    """Username or e-mail; `next` is followed only to this site (Django's check). For an
    account with a second factor the right password signs nobody in: the code page
    (mfa_views.login_code) finishes the sign-in."""

    form_class = LoginForm
    redirect_authenticated_user = True

    def form_valid(self, form):
        user = form.get_user()
        try:
            signin.mfa_sign_in_begin(request=self.request, user=user, transport="session")
        except MfaRequired as required:
            # No session yet: the second step (mfa_views.login_code) finishes it.
            self.request.session[PENDING_SIGN_IN] = {
                "mfa_token": required.mfa_token,
                "methods": required.methods,
                "next": self.get_success_url(),
            }
            return redirect("accounts:login_mfa")
        auth.login(self.request, user, backend=auth.SESSION)
        return signed_in_redirect(user, self.get_success_url())

    def get_context_data(self, **kwargs):
        # Django puts the request's host name here; the pages show the product's name.
        return {**super().get_context_data(**kwargs), "site_name": kit_settings.SITE_NAME}


def _rate_limited_page(request, template, context, retry_after):
    """The form page again (`context["form"]`), with the rate limit's message, as a 429."""
    context["form"].add_error(None, ratelimit.retry_message(retry_after))
    response = render(request, template, context, status=429)
    response["Retry-After"] = str(retry_after)
    return response


@sensitive_post_parameters("password", "password_confirm")
@csrf_protect
@never_cache
def signup(request):
    """Create an account when ACCOUNTS_ALLOW_SIGNUP is on (404 otherwise). The same "check
    your e-mail" page follows whether or not the address is registered (accounts.users
    .signup); nobody is signed in."""
    if not kit_settings.ALLOW_SIGNUP:
        raise Http404("Sign-up is closed.")
    form = SignupForm(request.POST or None)
    if request.method == "POST":
        retry_after = ratelimit.request_limit_hit(request, flow=ratelimit.SIGNUP)
        if retry_after is not None:
            return _rate_limited_page(request, "accounts/signup.html", {"form": form}, retry_after)
    if request.method == "POST" and form.is_valid():
        try:
            sign_up(
                username=form.cleaned_data["username"],
                email=form.cleaned_data["email"],
                password=form.cleaned_data["password"],
                request=request,
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            return render(request, "accounts/signup_done.html")
    return render(request, "accounts/signup.html", {"form": form})


class PasswordChangeView(auth_views.PasswordChangeView):
    """Proves the old password (the form), then the shared rule sets the new one and keeps
    this browser signed in."""

    form_class = LockoutPasswordChangeForm
    success_url = reverse_lazy("accounts:password_change_done")

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "request": self.request}

    def form_valid(self, form):
        try:
            change_password(
                user=form.user,  # the request's user (PasswordChangeView gives it the form)
                new_password=form.cleaned_data["new_password1"],
                request=self.request,
            )
        except ValidationError as exc:
            add_service_errors(form, exc, {"new_password": "new_password2"})
            return self.form_invalid(form)
        return HttpResponseRedirect(self.get_success_url())


class PasswordResetView(auth_views.PasswordResetView):
    """The same page follows, whether or not the address belongs to someone."""

    success_url = reverse_lazy("accounts:password_reset_done")

    def post(self, request, *args, **kwargs):
        retry_after = ratelimit.request_limit_hit(request, flow=ratelimit.RESET)
        if retry_after is not None:
            context = self.get_context_data(form=self.get_form())
            return _rate_limited_page(request, self.template_name, context, retry_after)
        return super().post(request, *args, **kwargs)

    def form_valid(self, form):
        send_password_reset(email=form.cleaned_data["email"], request=self.request)
        return HttpResponseRedirect(self.get_success_url())


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    """Django's link handling (the token leaves the URL for the session), then the shared
    rule sets the password."""

    success_url = reverse_lazy("accounts:password_reset_complete")
    token_generator = default_token_generator

    def form_valid(self, form):
        try:
            reset_password(
                uidb64=self.kwargs["uidb64"],
                token=self.request.session.get(auth_views.INTERNAL_RESET_SESSION_TOKEN),
                new_password=form.cleaned_data["new_password1"],
                request=self.request,
            )
        except ValidationError as exc:
            add_service_errors(form, exc, {"new_password": "new_password2"})
            return self.form_invalid(form)
        del self.request.session[auth_views.INTERNAL_RESET_SESSION_TOKEN]
        return HttpResponseRedirect(self.get_success_url())
