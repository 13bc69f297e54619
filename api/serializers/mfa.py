"""Request and response bodies of the second-factor routes: the second step of a sign-in
and the signed-in user's TOTP and recovery codes."""

from rest_framework import serializers

from api.serializers.fields import StrictCharField
from api.serializers.passkeys import PasskeySerializer

CODE_HELP = "A current TOTP code (6 digits) or one of the recovery codes."


def code_field(help_text: str = CODE_HELP, *, required: bool = True) -> StrictCharField:
    # A string, never a number: a code with leading zeros would lose them as one. Kept
    # as sent: the rules normalise spaces (accounts.mfa.factors), and a code of only
    # whitespace is a wrong code (401/400 from the rules), not a blank field.
    return StrictCharField(
        max_length=64, trim_whitespace=False, help_text=help_text, required=required
    )


class MfaSignInSerializer(serializers.Serializer):
    mfa_token = StrictCharField(
        max_length=128,
        trim_whitespace=False,
        help_text="The `mfa_token` of the `mfa_required` answer (single-use, short-lived).",
    )
    code = code_field()


class MfaCodeSerializer(serializers.Serializer):
    code = code_field()


class TotpConfirmSerializer(serializers.Serializer):
    code = code_field("The code the authenticator app shows for the new secret.")


class MfaStatusSerializer(serializers.Serializer):
    totp = serializers.BooleanField(help_text="An authenticator app (TOTP) is set up.")
    recovery_codes_left = serializers.IntegerField(help_text="Unused recovery codes.")
    passkeys = PasskeySerializer(many=True)


class TotpSetupSerializer(serializers.Serializer):
    secret = serializers.CharField(help_text="The base32 secret, for typing into the app.")
    otpauth_uri = serializers.CharField(
        help_text="The otpauth://totp/ URI (RFC 6238: 6 digits, 30 s, SHA-1), for a QR code."
    )


class NewRecoveryCodesSerializer(serializers.Serializer):
    recovery_codes = serializers.ListField(
        child=serializers.CharField(),
        help_text="Single-use codes, shown this once: each one stands in for a TOTP code.",
    )
