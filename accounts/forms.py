"""Forms of the HTML pages."""

from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError

from accounts.lockout import lockout_message


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
