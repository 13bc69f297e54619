"""Second factors over the API: the second step of a token sign-in (/auth/token/mfa/) and
the signed-in user's TOTP and recovery codes (/mfa/...). Thin views over accounts.mfa:
the cookie twin of the second step is in api/views/cookies.py."""

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.mfa import factors, signin
from accounts.mfa.passkeys import passkeys_list
from api.authentication import model_user
from api.openapi import INVALID, error
from api.serializers.mfa import (
    MfaCodeSerializer,
    MfaSignInSerializer,
    MfaStatusSerializer,
    NewRecoveryCodesSerializer,
    TotpConfirmSerializer,
    TotpSetupSerializer,
)
from api.serializers.sessions import SignInResponseSerializer
from api.views.auth import sign_in_body

AUTH_ERRORS = ["not_authenticated", "token_invalid", "session_revoked", "token_stale"]
WRONG_CODE = (
    "`invalid`: field errors in `errors` (a wrong or used `code`: it counts toward the "
    "account lockout)."
)
MFA_STEP_401 = error(
    ["mfa_invalid", "mfa_token_invalid"],
    "`mfa_invalid`: a wrong, replayed or used code; it counts as a failed sign-in for the "
    "lockout, and the `mfa_token` stays usable until it expires. `mfa_token_invalid`: the "
    "token is unknown, expired or used (a right code uses it up): sign in again.",
)
DEVICE_LIMIT_403 = error(
    ["device_limit_reached", "email_unverified"],
    "`devices` lists the active sessions (the first step's `revoke_device_id` applies "
    "now; to sign one out, sign in again with it). `email_unverified`: the account's "
    "address is not verified yet (a new link was e-mailed).",
)
LOCKED_429 = error(["too_many_attempts"], "Locked out: see Retry-After.")
STEP_UP_403 = error(
    ["csrf_failed", "mfa_required_for_route"],
    "`mfa_required_for_route`: the account has a second factor and the caller signed in "
    "without one (a password alone): sign in again with a second factor to change them.",
)


def _validated(serializer_class, request):
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


class TokenMfaView(APIView):
    permission_classes = [AllowAny]
    authentication_classes = []

    @extend_schema(
        operation_id="signInSecondFactor",
        tags=["auth"],
        summary="Finish a sign-in with a second factor",
        description="The second step after `401 mfa_required`: the `mfa_token` and a TOTP "
        "or recovery code. The device session opens now, with the first step's "
        "`device_id`, `device_name` and `revoke_device_id`; the access token's `amr` is "
        '["pwd", "otp", "mfa"].',
        auth=[],
        request=MfaSignInSerializer,
        responses={
            200: SignInResponseSerializer,
            400: INVALID,
            401: MFA_STEP_401,
            403: DEVICE_LIMIT_403,
            429: LOCKED_429,
        },
    )
    def post(self, request):
        data = _validated(MfaSignInSerializer, request)
        user, (session, pair) = signin.mfa_sign_in_finish(
            request=request, mfa_token=data["mfa_token"], code=data["code"], transport="token"
        )
        return Response(sign_in_body(user=user, session=session, pair=pair))


class MfaView(APIView):
    @extend_schema(
        operation_id="mfaStatus",
        tags=["mfa"],
        summary="The caller's second factors",
        responses={200: MfaStatusSerializer, 401: error(AUTH_ERRORS)},
    )
    def get(self, request):
        user = model_user(request.user)
        return Response({**factors.mfa_summary(user=user), "passkeys": passkeys_list(user=user)})


class TotpView(APIView):
    @extend_schema(
        operation_id="totpEnrol",
        tags=["mfa"],
        summary="Start setting up an authenticator app (TOTP)",
        description="A new secret, pending until POST /mfa/totp/confirm/ gets its first "
        "code (an earlier pending secret is voided; it waits 15 minutes).",
        request=None,
        responses={
            200: TotpSetupSerializer,
            400: error(["invalid"], "An authenticator app is already set up."),
            401: error(AUTH_ERRORS),
            403: STEP_UP_403,
        },
    )
    def post(self, request):
        setup = factors.totp_enrol(user=model_user(request.user), request=request)
        return Response({"secret": setup.secret, "otpauth_uri": setup.otpauth_uri})

    @extend_schema(
        operation_id="totpRemove",
        tags=["mfa"],
        summary="Remove the authenticator app",
        description="Needs a current TOTP code or a recovery code. The recovery codes go "
        "too when no passkey is left. The user is told by e-mail.",
        request=MfaCodeSerializer,
        responses={
            204: OpenApiResponse(description="TOTP is off."),
            400: error(["invalid"], WRONG_CODE + " Also when no authenticator app is set up."),
            401: error(AUTH_ERRORS),
            403: STEP_UP_403,
            429: LOCKED_429,
        },
    )
    def delete(self, request):
        code = _validated(MfaCodeSerializer, request)["code"]
        factors.totp_remove(user=model_user(request.user), code=code, request=request)
        return Response(status=status.HTTP_204_NO_CONTENT)


class TotpConfirmView(APIView):
    @extend_schema(
        operation_id="totpConfirm",
        tags=["mfa"],
        summary="Turn on the authenticator app with its first code",
        description="`recovery_codes` holds the new recovery codes when this is the "
        "account's first factor (shown this once), else it is empty. The user is told by "
        "e-mail.",
        request=TotpConfirmSerializer,
        responses={
            200: NewRecoveryCodesSerializer,
            400: error(["invalid"], "A wrong code, or no set-up pending (field `code`)."),
            401: error(AUTH_ERRORS),
            403: STEP_UP_403,
        },
    )
    def post(self, request):
        code = _validated(TotpConfirmSerializer, request)["code"]
        codes = factors.totp_confirm(user=model_user(request.user), code=code, request=request)
        return Response({"recovery_codes": codes})


class RecoveryCodesView(APIView):
    @extend_schema(
        operation_id="recoveryCodesRenew",
        tags=["mfa"],
        summary="Replace the recovery codes",
        description="Needs a current TOTP code or a recovery code; the old codes stop "
        "working. The new ones are shown this once; the user is told by e-mail.",
        request=MfaCodeSerializer,
        responses={
            200: NewRecoveryCodesSerializer,
            400: error(["invalid"], WRONG_CODE + " Also without a second factor."),
            401: error(AUTH_ERRORS),
            403: STEP_UP_403,
            429: LOCKED_429,
        },
    )
    def post(self, request):
        code = _validated(MfaCodeSerializer, request)["code"]
        codes = factors.recovery_codes_renew(
            user=model_user(request.user), code=code, request=request
        )
        return Response({"recovery_codes": codes})
