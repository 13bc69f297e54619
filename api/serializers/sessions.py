"""Request and response bodies of the token, /me and /devices routes (the contract's)."""

from rest_framework import serializers

from accounts.devices.sessions import DEVICE_ID_PATTERN
from accounts.models import DeviceSession
from api.serializers.fields import StrictCharField

DEVICE_ID_HELP = "The client's stable id for the device: 1-128 characters of A-Za-z0-9._:-"


def device_id_field(**kwargs):
    return serializers.RegexField(
        DEVICE_ID_PATTERN,
        max_length=128,
        trim_whitespace=False,  # the schema's pattern holds for the value as sent
        help_text=DEVICE_ID_HELP,
        error_messages={"invalid": "Use 1-128 characters of A-Za-z0-9._:-"},
        **kwargs,
    )


DEVICE_TRUST_HELP = (
    "The `device.trust_token` of this device's last sign-in to this account: with it the "
    "account lockout does not refuse the sign-in (the password is still checked), and no "
    "new-device e-mail is sent. Browsers send the `device_trust` cookie instead."
)


def device_trust_token_field(help_text=DEVICE_TRUST_HELP):
    return serializers.CharField(
        max_length=512,
        required=False,
        allow_blank=True,
        trim_whitespace=False,
        write_only=True,
        help_text=help_text,
    )


# --- requests ---------------------------------------------------------------------------


class SignInSerializer(serializers.Serializer):
    # Not trimmed by the field: a blank-looking username is a failed sign-in (401, like any
    # unknown name), not a malformed body, as the schema (any non-empty string) promises.
    username = serializers.CharField(
        max_length=254, trim_whitespace=False, help_text="The username or e-mail address."
    )
    password = serializers.CharField(max_length=4096, trim_whitespace=False, write_only=True)
    device_id = device_id_field(required=False)
    device_name = StrictCharField(max_length=100, required=False, allow_blank=True)
    revoke_device_id = serializers.UUIDField(
        required=False,
        help_text="The `id` of one of your active sessions, signed out in the same step.",
    )
    device_trust_token = device_trust_token_field()

    def validate_username(self, value):
        return value.strip()


class RefreshSerializer(serializers.Serializer):
    refresh = StrictCharField(trim_whitespace=False)
    device_id = device_id_field()


class VerifySerializer(serializers.Serializer):
    token = StrictCharField(trim_whitespace=False)


class LogoutSerializer(serializers.Serializer):
    refresh = StrictCharField(
        required=False,
        trim_whitespace=False,
        help_text="Identifies the session when the access token has expired.",
    )


# --- responses --------------------------------------------------------------------------


class TokenPairSerializer(serializers.Serializer):
    access = serializers.CharField()
    refresh = serializers.CharField()
    token_type = serializers.CharField(default="Bearer")
    access_expires_in = serializers.IntegerField(help_text="Seconds.")
    refresh_expires_in = serializers.IntegerField(help_text="Seconds.")


class DeviceSerializer(serializers.ModelSerializer):
    """The device of a new sign-in; `id` is the `sid` claim."""

    class Meta:
        model = DeviceSession
        fields = ["id", "device_id", "name"]


class TrustedDeviceSerializer(DeviceSerializer):
    trust_token = serializers.CharField(
        help_text="Proof that this device signed in to this account: send it back as "
        "`device_trust_token` with the next sign-in, so an account lockout caused by "
        "someone else does not refuse it. Keep it like a refresh token; it dies with the "
        "password and after ACCOUNTS_SESSION_MAX_AGE."
    )

    class Meta(DeviceSerializer.Meta):
        fields = [*DeviceSerializer.Meta.fields, "trust_token"]


class SignInResponseSerializer(TokenPairSerializer):
    device = TrustedDeviceSerializer()


class VerifyResponseSerializer(serializers.Serializer):
    valid = serializers.BooleanField()
    token_type = serializers.ChoiceField(["access", "refresh"])


class DeviceSessionSerializer(serializers.ModelSerializer):
    current = serializers.SerializerMethodField()

    class Meta:
        model = DeviceSession
        fields = ["id", "device_id", "name", "created_at", "last_used_at", "ip_address", "current"]

    def get_current(self, session) -> bool:
        return str(session.pk) == str(self.context.get("current_session_id"))


# --- cookie transport -------------------------------------------------------------------


class CookieSignInSerializer(SignInSerializer):
    """The body of /auth/token/ without `device_id`: the browser's lives in its cookie."""

    device_id = None


class CookieSignInResponseSerializer(serializers.Serializer):
    device = DeviceSerializer()
    access_expires_in = serializers.IntegerField(help_text="Seconds.")
