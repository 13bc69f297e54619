"""Forms of the HTML pages. They check the shape of the input; the rules are in
accounts.services, whose errors they show next to the field they belong to."""

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError


class LoginForm(AuthenticationForm):
    username = forms.CharField(
        label="Username or e-mail",
        max_length=254,
        widget=forms.TextInput(attrs={"autofocus": True, "autocomplete": "username"}),
    )


class SignupForm(forms.Form):
    username = forms.CharField(
        max_length=150, widget=forms.TextInput(attrs={"autocomplete": "username"})
    )
    email = forms.EmailField(
        label="E-mail", widget=forms.EmailInput(attrs={"autocomplete": "email"})
    )
    password = forms.CharField(
        strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "new-password"})
    )
    password_confirm = forms.CharField(
        label="Password (again)",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean_password_confirm(self):
        confirm = self.cleaned_data["password_confirm"]
        if self.cleaned_data.get("password") not in (None, confirm):
            raise ValidationError("The two passwords differ.")
        return confirm


def add_service_errors(form, error, field_map=None):
    """Show a service's ValidationError({field: [...]}) on the form's matching fields."""
    field_map = field_map or {}
    for field, messages in error.message_dict.items():
        name = field_map.get(field, field)
        form.add_error(name if name in form.fields else None, messages)
