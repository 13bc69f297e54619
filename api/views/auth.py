"""/api/v1/auth/...: sign in, refresh, verify, logout, logout everywhere (device sessions).

Thin views: the rules live in accounts.devices.sessions.
"""

from django.contrib.auth import update_session_auth_hash
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import auth
from accounts.devices import sessions
from accounts.devices.tokens import DeviceAccessToken, TokenPair
from accounts.mfa import signin
from accounts.models import DeviceSession, User
from accounts.security.device_trust import trust_token_issue
from api.authentication import model_user
from api.openapi import INVALID, error
from api.serializers.sessions import (
    LogoutSerializer,
    RefreshSerializer,
    SignInResponseSerializer,
    SignInSerializer,
    TokenPairSerializer,
    VerifyResponseSerializer,
    VerifySerializer,
)

TAG = ["auth"]


def _validated(serializer_class, request):
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def sign_in_body(*, user: User, session: DeviceSession, pair: TokenPair) -> dict:
    """The body of a device sign-in (/auth/token/, and every route that ends one the same
    way): the token pair and the device, with its trust token."""
    body = pair.as_dict()
    body["device"] = {
        "id": str(session.pk),
        "device_id": session.device_id,
        "name": session.name,
        "trust_token": trust_token_issue(user=user),
    }
    return body


class TokenObtainView(APIView):
    permission_classes = [AllowAny]
    authentication_classes = []

    @extend_schema(
        operation_id="signIn",
        tags=TAG,
        summary="Sign in a device",
        auth=[],
        request=SignInSerializer,
        responses={
            200: SignInResponseSerializer,
            400: INVALID,
            401: error(
                ["invalid_credentials", "mfa_required"],
                "`mfa_required`: the password was right and the account has a second "
                "factor: finish with `mfa_token` and a code at POST /auth/token/mfa/ "
                "(no session is open yet; the device fields are remembered).",
            ),
            403: error(
                ["device_limit_reached", "email_unverified"],
                "`devices` lists the active sessions so the app can offer to sign one out "
                "(`revoke_device_id`). `email_unverified`: the password was right and the "
                "account's address is not verified yet (ACCOUNTS_EMAIL_VERIFICATION "
                "`mandatory`): no session is opened, and a new verification e-mail is sent "
                "(at most one per 10 minutes).",
            ),
            429: error(["too_many_attempts"], "Locked out: see Retry-After."),
        },
    )
    def post(self, request):
        data = _validated(SignInSerializer, request)
        user = auth.authenticate(
            request,
            data["username"],
            data["password"],
            device_trust_token=data.get("device_trust_token"),
        )
        signin.mfa_sign_in_begin(
            request=request,
            user=user,
            transport="token",
            device_id=data.get("device_id"),
            device_name=data.get("device_name", ""),
            revoke_device_id=data.get("revoke_device_id"),
            device_trust_token=data.get("device_trust_token"),
        )
        session, pair = auth.login(
            request,
            user,
            backend=auth.JWT,
            device_id=data.get("device_id"),
            device_name=data.get("device_name", ""),
            revoke_device_id=data.get("revoke_device_id"),
            device_trust_token=data.get("device_trust_token"),
        )
        return Response(sign_in_body(user=user, session=session, pair=pair))


class TokenRefreshView(APIView):
    permission_classes = [AllowAny]
    authentication_classes = []

    @extend_schema(
        operation_id="refreshTokens",
        tags=TAG,
        summary="Rotate a refresh token",
        auth=[],
        request=RefreshSerializer,
        responses={
            200: TokenPairSerializer,
            400: INVALID,
            401: error(["token_invalid", "device_mismatch", "refresh_reused", "session_revoked"]),
        },
    )
    def post(self, request):
        data = _validated(RefreshSerializer, request)
        _, pair = sessions.refresh(
            request=request, raw_refresh=data["refresh"], device_id=data["device_id"]
        )
        return Response(pair.as_dict())


class TokenVerifyView(APIView):
    permission_classes = [AllowAny]
    authentication_classes = []

    @extend_schema(
        operation_id="verifyToken",
        tags=TAG,
        summary="Verify a token (signature, expiry and its device session)",
        auth=[],
        request=VerifySerializer,
        responses={
            200: VerifyResponseSerializer,
            400: INVALID,
            401: error(["token_invalid", "session_revoked", "token_stale"]),
        },
    )
    def post(self, request):
        token = sessions.verify_token(_validated(VerifySerializer, request)["token"])
        return Response({"valid": True, "token_type": token.token_type})


class LogoutView(APIView):
    """Authentication runs only when no refresh token is in the body, so an app whose
    access token has expired can still sign out with its refresh token."""

    permission_classes = [AllowAny]

    def perform_authentication(self, request):
        pass  # deferred to post(): see the class docstring

    @extend_schema(
        operation_id="logout",
        tags=TAG,
        summary="Sign out this device",
        description="The session is named by the access token (`Authorization: Bearer`, or "
        "the `access_token` cookie with X-CSRFToken) or, when the access token has expired, "
        'by `{"refresh": ...}` in the body (then nothing else is read). 204 also when the '
        "session had already ended; a token the kit did not sign, or an expired one, is "
        "401 `token_invalid`. Declared without `security`: a client without credentials "
        "calls it with the refresh token.",
        auth=[],
        request=LogoutSerializer,
        responses={
            204: OpenApiResponse(description="Signed out (also when already signed out)."),
            400: INVALID,
            401: error(["not_authenticated", "token_invalid", "token_stale"]),
            403: error(["csrf_failed"]),
        },
    )
    def post(self, request):
        raw_refresh = _validated(LogoutSerializer, request).get("refresh")
        if raw_refresh:
            sessions.logout_with_refresh(request=request, raw_refresh=raw_refresh)
            return Response(status=status.HTTP_204_NO_CONTENT)
        try:
            signed_in = request.user.is_authenticated
        except exceptions.AuthenticationFailed as exc:
            if exc.get_codes() != "session_revoked":
                raise  # a token the kit did not sign, or expired: 401 token_invalid
            # A token the kit signed (signature, expiry, address and CSRF checked) whose
            # session has already ended: nothing left to sign out, and the contract says 204.
            return Response(status=status.HTTP_204_NO_CONTENT)
        if not signed_in:
            raise exceptions.NotAuthenticated()
        backend = auth.JWT if isinstance(request.auth, DeviceAccessToken) else auth.SESSION
        auth.logout(request, backend=backend)
        return Response(status=status.HTTP_204_NO_CONTENT)


class LogoutAllView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="logoutAll",
        tags=TAG,
        summary="Sign out every device and browser session",
        request=None,
        responses={
            204: OpenApiResponse(description="Every session of the caller is signed out."),
            401: error(["not_authenticated", "token_invalid", "session_revoked", "token_stale"]),
            403: error(["csrf_failed"]),
        },
    )
    def post(self, request):
        user = model_user(request.user)
        sessions.revoke_all_sessions(
            user, reason=DeviceSession.RevokeReason.LOGOUT_ALL, request=request
        )
        if request.auth is None:
            # A browser caller keeps its own Django session; every other one has ended.
            update_session_auth_hash(request, user)
        return Response(status=status.HTTP_204_NO_CONTENT)
