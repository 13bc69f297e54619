"""Passkeys for apps: sign in with one (/api/v1/auth/passkey/...) and enrol or remove the
signed-in user's (/api/v1/mfa/passkeys/...). Thin views over accounts.mfa.passkeys."""

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import auth
from accounts.mfa import passkeys
from api.authentication import model_user
from api.openapi import INVALID, error
from api.serializers.passkeys import (
    PasskeyAddedSerializer,
    PasskeyBeginSerializer,
    PasskeyRegisterSerializer,
    PasskeySignInSerializer,
)
from api.serializers.sessions import SignInResponseSerializer
from api.views.auth import sign_in_body
from api.views.mfa import STEP_UP_403

AUTH_ERRORS = ["not_authenticated", "token_invalid", "session_revoked", "token_stale"]
REFUSED = (
    "`passkey_invalid`: the credential or the challenge was refused (unknown, malformed, "
    "without user verification, from another origin or relying party, already registered, "
    "a sign counter that did not grow, or a challenge token unknown, expired or used)."
)


def _validated(serializer_class, request):
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


class PasskeySignInBeginView(APIView):
    permission_classes = [AllowAny]
    authentication_classes = []

    @extend_schema(
        operation_id="passkeySignInBegin",
        tags=["auth"],
        summary="Start a passkey sign-in",
        description="WebAuthn request options without a user (discoverable credentials, "
        "user verification required) and the `challenge_token` to send back.",
        auth=[],
        request=None,
        responses={
            200: PasskeyBeginSerializer,
            429: error(["throttled"], "ACCOUNTS_PASSKEY_SIGN_IN_RATE: see Retry-After."),
        },
    )
    def post(self, request):
        token, options = passkeys.passkey_sign_in_begin(request=request)
        return Response({"challenge_token": token, "options": options})


class PasskeySignInView(APIView):
    permission_classes = [AllowAny]
    authentication_classes = []

    @extend_schema(
        operation_id="passkeySignIn",
        tags=["auth"],
        summary="Sign in a device with a passkey",
        description="The body of /auth/token/ on success; the access token's `amr` is "
        '["hwk", "user", "mfa"]. The device limit, `revoke_device_id` and '
        "`device_trust_token` (no new-device e-mail) apply as there.",
        auth=[],
        request=PasskeySignInSerializer,
        responses={
            200: SignInResponseSerializer,
            400: INVALID,
            401: error(["passkey_invalid"], REFUSED),
            403: error(
                ["device_limit_reached", "email_unverified"],
                "`devices` lists the active sessions. `email_unverified`: the account's "
                "address is not verified yet (a new link was e-mailed).",
            ),
        },
    )
    def post(self, request):
        data = _validated(PasskeySignInSerializer, request)
        user = passkeys.passkey_sign_in_complete(
            request=request,
            challenge_token=data["challenge_token"],
            credential=data["credential"],
        )
        session, pair = auth.login(
            request,
            user,
            backend=auth.JWT,
            device_id=data.get("device_id"),
            device_name=data.get("device_name", ""),
            revoke_device_id=data.get("revoke_device_id"),
            amr=passkeys.AMR,
            device_trust_token=data.get("device_trust_token"),
        )
        return Response(sign_in_body(user=user, session=session, pair=pair))


class PasskeyRegisterBeginView(APIView):
    @extend_schema(
        operation_id="passkeyRegisterBegin",
        tags=["mfa"],
        summary="Start registering a passkey",
        description="WebAuthn creation options (a discoverable credential with user "
        "verification; the user's passkeys excluded) and the `challenge_token`.",
        request=None,
        responses={
            200: PasskeyBeginSerializer,
            401: error(AUTH_ERRORS),
            403: STEP_UP_403,
        },
    )
    def post(self, request):
        token, options = passkeys.passkey_register_begin(
            request=request, user=model_user(request.user)
        )
        return Response({"challenge_token": token, "options": options})


class PasskeyListView(APIView):
    @extend_schema(
        operation_id="passkeyRegister",
        tags=["mfa"],
        summary="Register a passkey",
        request=PasskeyRegisterSerializer,
        responses={
            201: PasskeyAddedSerializer,
            400: INVALID,
            401: error([*AUTH_ERRORS, "passkey_invalid"], REFUSED),
            403: STEP_UP_403,
        },
    )
    def post(self, request):
        data = _validated(PasskeyRegisterSerializer, request)
        authenticator, recovery_codes = passkeys.passkey_register_complete(
            request=request,
            user=model_user(request.user),
            credential=data["credential"],
            name=data.get("name", ""),
            challenge_token=data.get("challenge_token"),
        )
        body = {**passkeys.passkey_describe(authenticator), "recovery_codes": recovery_codes}
        return Response(PasskeyAddedSerializer(body).data, status=status.HTTP_201_CREATED)


class PasskeyDetailView(APIView):
    @extend_schema(
        operation_id="passkeyRemove",
        tags=["mfa"],
        summary="Remove one of the caller's passkeys",
        responses={
            204: OpenApiResponse(description="The passkey is removed."),
            401: error(AUTH_ERRORS),
            403: STEP_UP_403,
            404: error(["not_found"]),
        },
    )
    def delete(self, request, passkey_id):
        passkeys.passkey_remove(
            request=request, user=model_user(request.user), passkey_id=passkey_id
        )
        return Response(status=status.HTTP_204_NO_CONTENT)
