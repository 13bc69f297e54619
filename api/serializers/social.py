"""Request body of the app route of social sign-in (POST /api/v1/auth/social/{provider}/)."""

from rest_framework import serializers

from api.serializers.fields import StrictCharField
from api.serializers.sessions import device_id_field


class SocialSignInSerializer(serializers.Serializer):
    id_token = StrictCharField(
        max_length=16384,
        trim_whitespace=False,
        write_only=True,
        help_text="The ID token the provider's SDK gave the app (a signed JWT).",
    )
    nonce = serializers.CharField(
        max_length=512,
        required=False,
        trim_whitespace=False,
        help_text="The nonce the app put in its request to the provider: the token's "
        "`nonce` must then be the same.",
    )
    device_id = device_id_field(required=False)
    device_name = StrictCharField(max_length=100, required=False, allow_blank=True)
    revoke_device_id = serializers.UUIDField(
        required=False,
        help_text="The `id` of one of your active sessions, signed out in the same step.",
    )
    device_trust_token = serializers.CharField(
        max_length=512,
        required=False,
        allow_blank=True,
        trim_whitespace=False,
        write_only=True,
        help_text="The `device.trust_token` of this device's last sign-in to this account: "
        "a device that has one gets no new-device e-mail.",
    )
