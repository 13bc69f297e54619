"""Forms of the HTML pages."""

from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm, PasswordChangeForm
from django.core.exceptions import ValidationError

from accounts.lockout import lockout_message, verify_password


class LockoutFormMixin:
    """For AuthenticationForm and its subclasses: a sign-in refused by the lockout shows
    the lockout message instead of "wrong username or password" (LockoutMiddleware turns
    the response into a 429 with Retry-After)."""

    def clean(self):
        try:
            return super().clean()
        except ValidationError:
            retry_after = getattr(self.request, "lockout_retry_after", None)
            if retry_after is None:
                raise
            raise ValidationError(lockout_message(retry_after), code="too_many_attempts") from None


class LockoutAuthenticationForm(LockoutFormMixin, AuthenticationForm):
    """The sign-in form of /accounts/login/."""


class LockoutAdminAuthenticationForm(LockoutFormMixin, AdminAuthenticationForm):
    """The sign-in form of /admin/login/."""


class LockoutPasswordChangeMixin:
    """For PasswordChangeForm and its subclasses: the old password is checked behind the
    lockout (failures count, a locked account is refused without hashing). The form needs
    the request: pass `request=` when building it (a PasswordChangeView subclass's
    get_form_kwargs)."""

    def __init__(self, *args, request=None, **kwargs):
        self.request = request
        super().__init__(*args, **kwargs)

    def clean_old_password(self):
        old_password = self.cleaned_data["old_password"]
        if verify_password(self.request, self.user, old_password):
            return old_password
        retry_after = getattr(self.request, "lockout_retry_after", None)
        if retry_after is not None:
            raise ValidationError(lockout_message(retry_after), code="too_many_attempts")
        raise ValidationError(self.error_messages["password_incorrect"], code="password_incorrect")


class LockoutPasswordChangeForm(LockoutPasswordChangeMixin, PasswordChangeForm):
    """The password-change form, with the old password behind the lockout."""
