"""The e-mail address pages: the verification link's page and the account page's change
form. Thin: the rules are accounts.users.verification and accounts.users.email_change."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST

from accounts.errors import LockedOut, Throttled
from accounts.users.email_change import email_change_request
from accounts.users.verification import email_verification_read, email_verify
from accounts.web.forms import EmailChangeForm, add_service_errors
from accounts.web.views import account_page

VERIFY_TEMPLATE = "accounts/email_verify.html"


@never_cache
@csrf_protect
@require_http_methods(["GET", "POST"])
def email_verify_page(request: HttpRequest, key: str) -> HttpResponse:
    """The link of a verification e-mail. A GET only shows the address and a button (mail
    scanners follow links); the POST verifies, then offers to sign in. A bad, expired or
    used link changes nothing (400)."""
    if request.method == "POST":
        try:
            email_verify(key=key, request=request)
        except ValidationError:
            return render(request, VERIFY_TEMPLATE, {"state": "invalid"}, status=400)
        return render(request, VERIFY_TEMPLATE, {"state": "verified"})
    address = email_verification_read(key=key)
    if address is None:
        return render(request, VERIFY_TEMPLATE, {"state": "invalid"}, status=400)
    # The account is named: someone who signed up with another person's address must not
    # have them confirm it unawares (it would hand them that person's provider sign-ins).
    return render(
        request,
        VERIFY_TEMPLATE,
        {"state": "confirm", "email": address.email, "username": address.user.get_username()},
    )


@sensitive_post_parameters("password")
@never_cache
@login_required
@require_POST
def email_change(request: HttpRequest) -> HttpResponse:
    """The account page's "E-mail address" form: with the password, a link goes to the new
    address, which becomes the account's once followed. A wrong password is the form's
    error, counted by the lockout (a 429 once locked)."""
    form = EmailChangeForm(request.POST)
    if form.is_valid():
        try:
            email_change_request(
                user=request.user,  # type: ignore[arg-type]
                email=form.cleaned_data["email"],
                password=form.cleaned_data["password"],
                request=request,
            )
        except ValidationError as error:
            add_service_errors(form, error)
        except LockedOut as refusal:  # LockoutMiddleware makes the page a 429
            form.add_error(None, refusal.detail)
        except Throttled as refusal:  # too many changes asked for: nothing mailed
            form.add_error(None, refusal.detail)
            response = account_page(request, status=429, email_form=form)
            response["Retry-After"] = str(refusal.retry_after)
            return response
        else:
            messages.success(
                request,
                _(
                    "Check the inbox of %(email)s: follow the link we sent there to make it "
                    "your address. Until then your account keeps its current one."
                )
                % {"email": form.cleaned_data["email"]},
            )
            return redirect(reverse("accounts:account") + "#email")
    return account_page(request, status=400, email_form=form)
