"""Request and response bodies of the passkey routes. Options and credentials are the
WebAuthn JSON serialization (base64url strings), passed through to accounts.mfa.passkeys."""

from rest_framework import serializers

from accounts.mfa.passkeys import NAME_MAX_LENGTH
from api.serializers.fields import StrictCharField
from api.serializers.sessions import device_id_field, device_trust_token_field

CHALLENGE_HELP = "The `challenge_token` of the begin route (single-use, short-lived)."


def credential_field() -> serializers.DictField:
    return serializers.DictField(
        help_text="The authenticator's answer as the browser's `credential.toJSON()` gives "
        "it (WebAuthn JSON: base64url strings)."
    )


class PasskeyBeginSerializer(serializers.Serializer):
    challenge_token = serializers.CharField(help_text=CHALLENGE_HELP)
    options = serializers.DictField(
        help_text="WebAuthn options for `PublicKeyCredential.parseRequestOptionsFromJSON()` "
        "(sign-in) or `parseCreationOptionsFromJSON()` (registration)."
    )


class PasskeySignInSerializer(serializers.Serializer):
    challenge_token = StrictCharField(max_length=128, trim_whitespace=False)
    credential = credential_field()
    device_id = device_id_field(required=False)
    device_name = StrictCharField(max_length=100, required=False, allow_blank=True)
    revoke_device_id = serializers.UUIDField(
        required=False,
        help_text="The `id` of one of your active sessions, signed out in the same step.",
    )
    device_trust_token = device_trust_token_field(
        help_text="The `device.trust_token` of this device's last sign-in to this account: "
        "with it no new-device e-mail is sent."
    )


class PasskeyRegisterSerializer(serializers.Serializer):
    credential = credential_field()
    name = StrictCharField(
        max_length=NAME_MAX_LENGTH,
        required=False,
        allow_blank=True,
        help_text='What the user calls this passkey (default "Passkey").',
    )
    challenge_token = StrictCharField(
        max_length=128,
        required=False,
        trim_whitespace=False,
        help_text=CHALLENGE_HELP + " Optional: the credential's client data names it.",
    )


class PasskeySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    created_at = serializers.DateTimeField()
    last_used_at = serializers.DateTimeField(allow_null=True)


class PasskeyAddedSerializer(PasskeySerializer):
    recovery_codes = serializers.ListField(
        child=serializers.CharField(),
        help_text="With the first factor enrolled: the 10 recovery codes, shown once (store "
        "them safely); [] when the user already has a set.",
    )
