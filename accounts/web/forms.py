"""Forms of the HTML pages. They check the shape of the input; the rules are in
accounts.users, whose errors they show next to the field they belong to. Every form
that checks a password does so behind the lockout (accounts.security.lockout)."""

import json
from typing import TYPE_CHECKING, Any

from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm, PasswordChangeForm
from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from accounts.errors import EmailUnverified, LockedOut
from accounts.mfa.factors import mfa_enabled
from accounts.security.lockout import lockout_refusal, verify_password
from accounts.users.verification import sign_in_verified_check

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

    # The mixins are only ever mixed into these forms (their request, user, cleaned_data).
    _AuthenticationFormBase = AuthenticationForm
    _PasswordChangeFormBase = PasswordChangeForm
else:
    _AuthenticationFormBase = _PasswordChangeFormBase = object


class LockoutFormMixin(_AuthenticationFormBase):
    """For AuthenticationForm and its subclasses: a sign-in refused by the lockout shows
    the lockout message instead of "wrong username or password" (LockoutMiddleware turns
    the response into a 429 with Retry-After)."""

    def clean(self) -> dict[str, Any]:
        try:
            return super().clean()
        except ValidationError:
            refusal = lockout_refusal(self.request)
            if refusal is None:
                raise
            raise ValidationError(refusal.detail, code=refusal.code) from None


class EmailVerifiedFormMixin(_AuthenticationFormBase):
    """For AuthenticationForm and its subclasses: after the right password, an account
    whose address awaits its verification is refused with a form error, and a new link
    is e-mailed (at most once per accounts.users.verification.RESEND_SECONDS)."""

    def confirm_login_allowed(self, user: Any) -> None:
        super().confirm_login_allowed(user)
        try:
            sign_in_verified_check(user=user, request=self.request)
        except EmailUnverified:
            raise ValidationError(EMAIL_UNVERIFIED_MESSAGE, code=EmailUnverified.code) from None


# The sign-in page's error for an unverified address (the same whether a new link went out
# now or one did within the last few minutes).
EMAIL_UNVERIFIED_MESSAGE = _(
    "Your e-mail address is not verified yet. Follow the link in the e-mail we sent you "
    "(we have just sent it again, unless we did a few minutes ago), then sign in."
)


class LockoutAdminAuthenticationForm(
    EmailVerifiedFormMixin, LockoutFormMixin, AdminAuthenticationForm
):
    """The sign-in form of /admin/login/. It asks for no second factor, so an account
    with one is sent to the sign-in page, which does."""

    def confirm_login_allowed(self, user: Any) -> None:
        super().confirm_login_allowed(user)
        if mfa_enabled(user=user):  # checked after the address (the mixin above)
            raise ValidationError(
                _(
                    "This account has a second factor: sign in on the sign-in page "
                    "(/accounts/login/), then open the admin."
                ),
                code="mfa_required",
            )


class LockoutPasswordChangeMixin(_PasswordChangeFormBase):
    """For PasswordChangeForm and its subclasses: the old password is checked behind the
    lockout (failures count, a locked account is refused without hashing). The form needs
    the request: pass `request=` when building it (a PasswordChangeView subclass's
    get_form_kwargs)."""

    def __init__(self, *args: Any, request: HttpRequest | None = None, **kwargs: Any) -> None:
        self.request = request
        super().__init__(*args, **kwargs)

    def clean_old_password(self) -> str:
        old_password = self.cleaned_data["old_password"]
        try:
            if verify_password(self.request, self.user, old_password):
                return old_password
        except LockedOut as refusal:
            raise ValidationError(refusal.detail, code=refusal.code) from None
        raise ValidationError(self.error_messages["password_incorrect"], code="password_incorrect")


class LockoutPasswordChangeForm(LockoutPasswordChangeMixin, PasswordChangeForm):
    """The password-change form, with the old password behind the lockout."""


class LoginForm(EmailVerifiedFormMixin, LockoutFormMixin, AuthenticationForm):
    """The sign-in form of /accounts/login/: username or e-mail."""

    username = forms.CharField(
        label=_("Username or e-mail"),
        max_length=254,
        widget=forms.TextInput(attrs={"autofocus": True, "autocomplete": "username"}),
    )


class SignupForm(forms.Form):
    username = forms.CharField(
        label=_("Username"),
        max_length=150,
        widget=forms.TextInput(attrs={"autocomplete": "username"}),
    )
    email = forms.EmailField(
        label=_("E-mail"), widget=forms.EmailInput(attrs={"autocomplete": "email"})
    )
    password = forms.CharField(
        label=_("Password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    password_confirm = forms.CharField(
        label=_("Password (again)"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean_password_confirm(self):
        confirm = self.cleaned_data["password_confirm"]
        if self.cleaned_data.get("password") not in (None, confirm):
            raise ValidationError(_("The two passwords differ."))
        return confirm


def add_service_errors(form, error, field_map=None):
    """Show a service's ValidationError({field: [...]}) on the form's matching fields."""
    field_map = field_map or {}
    for field, messages in error.message_dict.items():
        name = field_map.get(field, field)
        form.add_error(name if name in form.fields else None, messages)


class MfaCodeForm(forms.Form):
    """A second-factor code: the 6 digits of an authenticator app, or a recovery code."""

    code = forms.CharField(
        label=_("Code"),
        max_length=64,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "text", "spellcheck": "false"}
        ),
    )

    def __init__(self, *args: Any, label: "StrOrPromise" = "", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if label:
            self.fields["code"].label = label


class PasskeySignInForm(forms.Form):
    """The hidden form static/accounts/passkey-sign-in.js fills: the API's challenge token
    and the authenticator's answer (WebAuthn JSON), then where to go after."""

    challenge_token = forms.CharField(max_length=128, strip=False)
    # Text parsed here, not a JSONField: that one lets json's RecursionError (a body
    # nested a few thousand levels deep) through as a 500.
    credential = forms.CharField(max_length=16384, strip=False)
    next = forms.CharField(required=False, max_length=2048)

    def clean_credential(self) -> dict[str, Any]:
        try:
            credential = json.loads(self.cleaned_data["credential"])
        except (ValueError, RecursionError):
            credential = None
        if not isinstance(credential, dict):
            raise ValidationError(_("Not a credential."))
        return credential


class AccountDeleteForm(forms.Form):
    """The account page's "Delete account": the password, and a second-factor code when
    the account has a factor (`with_code`); accounts.users.deletion checks both."""

    password = forms.CharField(
        label=_("Your password"),
        strip=False,
        max_length=4096,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    code = forms.CharField(
        label=_("Code from your authenticator app, or a recovery code"),
        max_length=64,
        strip=False,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "text", "spellcheck": "false"}
        ),
    )

    def __init__(self, *args: Any, with_code: bool, **kwargs: Any) -> None:
        kwargs.setdefault("prefix", "delete")
        super().__init__(*args, **kwargs)
        if not with_code:
            del self.fields["code"]


class EmailChangeForm(forms.Form):
    """The account page's "E-mail address": the new address and the password
    (accounts.users.email_change checks it behind the lockout)."""

    email = forms.EmailField(
        label=_("New e-mail address"),
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    password = forms.CharField(
        label=_("Your password"),
        strip=False,
        max_length=4096,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "email_change_%s")
        super().__init__(*args, **kwargs)
