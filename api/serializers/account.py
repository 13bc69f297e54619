"""Request and response bodies of the account routes. Shapes only: the rules are in
accounts.users."""

from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from accounts.security.lockout import verify_password
from api.authentication import model_user
from api.serializers.fields import StrictCharField, StrictEmailField
from api.serializers.mfa import code_field


def _password_field(**kwargs):
    return serializers.CharField(
        write_only=True, trim_whitespace=False, style={"input_type": "password"}, **kwargs
    )


class MeSerializer(serializers.ModelSerializer):
    """The `/me` fields."""

    class Meta:
        model = get_user_model()
        fields = ["id", "username", "email", "first_name", "last_name", "is_staff"]
        read_only_fields = fields


class MeUpdateSerializer(serializers.Serializer):
    """PATCH /me: the fields sent change; others (even those of `/me`) are ignored."""

    first_name = StrictCharField(max_length=150, allow_blank=True, required=False)
    last_name = StrictCharField(max_length=150, allow_blank=True, required=False)


class MeDeleteSerializer(serializers.Serializer):
    password = _password_field()
    code = code_field(
        "A code from the authenticator app or a recovery code: required when the account "
        "has a second factor.",
        required=False,
    )


class PasswordChangeSerializer(serializers.Serializer):
    old_password = _password_field()
    new_password = _password_field()

    def validate_old_password(self, value):
        request = self.context["request"]
        # Behind the lockout: failures count, and a locked account is not even hashed.
        if not verify_password(request, model_user(request.user), value):
            raise serializers.ValidationError(_("Your old password was entered incorrectly."))
        return value


class PasswordResetSerializer(serializers.Serializer):
    email = serializers.EmailField()


class AcceptedSerializer(serializers.Serializer):
    """202 of the public routes that answer alike whatever the address (reset, sign-up)."""

    detail = serializers.CharField()


class PasswordResetConfirmSerializer(serializers.Serializer):
    uid = serializers.CharField(help_text="The `uid` part of the reset link.")
    token = serializers.CharField(help_text="The `token` part of the reset link.")
    new_password = _password_field()


class SignupSerializer(serializers.Serializer):
    username = StrictCharField(max_length=150)
    email = StrictEmailField()
    password = _password_field()


class EmailVerifySerializer(serializers.Serializer):
    key = StrictCharField(
        max_length=512, help_text="The key of the verification e-mail (also in its link)."
    )


class MeEmailSerializer(serializers.Serializer):
    email = StrictEmailField(max_length=254, help_text="The new address.")
    password = _password_field(max_length=4096)
