"""Account routes for apps: password change and reset, sign-up, e-mail verification.

Thin: each view checks the body's shape with a serializer and calls the same service as
the HTML pages (accounts.users), whose field errors become 400 `invalid`.
"""

from contextlib import contextmanager

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.throttling import AnonRateThrottle
from rest_framework.views import APIView

from accounts.conf import kit_settings
from accounts.security import ratelimit
from accounts.users.passwords import change_password, reset_password, send_password_reset
from accounts.users.signup import sign_up
from accounts.users.verification import email_verify
from api.authentication import model_user
from api.openapi import INVALID, error
from api.serializers.account import (
    AcceptedSerializer,
    EmailVerifySerializer,
    PasswordChangeSerializer,
    PasswordResetConfirmSerializer,
    PasswordResetSerializer,
    SignupSerializer,
)

RESET_ACCEPTED = _("If an account uses this address, a link to reset its password is on its way.")
SIGNUP_ACCEPTED = _("Check your inbox: a message telling you how to go on is on its way.")

THROTTLED = error(["throttled"], "See Retry-After.")


@contextmanager
def service_errors():
    """A service's ValidationError({field: [...]}) becomes the contract's 400 `invalid`."""
    try:
        yield
    except DjangoValidationError as exc:
        raise exceptions.ValidationError(exc.message_dict) from exc


def limit_request(request, flow):
    """Count the request against the flow's limit (accounts.security.ratelimit: one counter per
    client address, shared with the HTML page); 429 `throttled` past it."""
    retry_after = ratelimit.request_limit_hit(request, flow=flow)
    if retry_after is not None:
        raise exceptions.Throttled(wait=retry_after)


class ClientAddressThrottle(AnonRateThrottle):
    """Per client address (from trusted proxies only, see accounts.security.client_ip), so reset
    links cannot be tried at speed (reset and sign-up have limits of their own)."""

    rate = "20/hour"

    def get_ident(self, request):
        return getattr(request, "client_ip", None) or request.META.get("REMOTE_ADDR")


class PublicAccountView(APIView):
    """Public: no credentials are read, so a stale session cookie cannot get in the way."""

    authentication_classes = ()
    permission_classes = (AllowAny,)


class PasswordChangeView(APIView):
    @extend_schema(
        operation_id="changePassword",
        tags=["account"],
        summary="Change the caller's password",
        description="Every other session of the user is revoked; the caller's stays.",
        request=PasswordChangeSerializer,
        responses={
            204: OpenApiResponse(description="Changed."),
            400: INVALID,
            401: error(["not_authenticated", "token_invalid", "session_revoked", "token_stale"]),
            403: error(["csrf_failed"]),
            429: error(["too_many_attempts"], "Locked out: see Retry-After."),
        },
    )
    def post(self, request):
        serializer = PasswordChangeSerializer(data=request.data, context={"request": request})
        # A locked-out caller: LockedOut from the old password's check, 429 (api.exceptions).
        serializer.is_valid(raise_exception=True)
        with service_errors():
            change_password(
                user=model_user(request.user),
                new_password=serializer.validated_data["new_password"],
                request=request,
            )
        return Response(status=status.HTTP_204_NO_CONTENT)


class PasswordResetView(PublicAccountView):
    @extend_schema(
        operation_id="requestPasswordReset",
        tags=["account"],
        summary="Mail a password-reset link",
        description="Always 202 with the same body, whether or not the address is known "
        "(the e-mail goes out after the response). Limited by ACCOUNTS_RESET_RATE per "
        "client address, shared with the HTML page.",
        auth=[],
        request=PasswordResetSerializer,
        responses={202: AcceptedSerializer, 400: INVALID, 429: THROTTLED},
    )
    def post(self, request):
        limit_request(request, ratelimit.RESET)
        serializer = PasswordResetSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        send_password_reset(email=serializer.validated_data["email"], request=request)
        return Response({"detail": RESET_ACCEPTED}, status=status.HTTP_202_ACCEPTED)


class PasswordResetConfirmView(PublicAccountView):
    throttle_classes = (ClientAddressThrottle,)

    @extend_schema(
        operation_id="confirmPasswordReset",
        tags=["account"],
        summary="Set a new password from a reset link",
        description="Every session of the user is revoked. A link works once.",
        auth=[],
        request=PasswordResetConfirmSerializer,
        responses={
            204: OpenApiResponse(description="Password set."),
            400: error(
                ["invalid"],
                "`errors.token` for a bad or used link, `errors.new_password` for a "
                "password the validators refuse.",
            ),
            429: THROTTLED,
        },
    )
    def post(self, request):
        serializer = PasswordResetConfirmSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        with service_errors():
            reset_password(
                uidb64=serializer.validated_data["uid"],
                token=serializer.validated_data["token"],
                new_password=serializer.validated_data["new_password"],
                request=request,
            )
        return Response(status=status.HTTP_204_NO_CONTENT)


class SignupView(PublicAccountView):
    @extend_schema(
        operation_id="signUp",
        tags=["account"],
        summary="Create an account",
        description="Only when ACCOUNTS_ALLOW_SIGNUP is on. Always 202 with the same body "
        "whether or not the e-mail address is registered: a new one gets the account and a "
        "verification e-mail (its key for POST /auth/email/verify/, and a link), a "
        'registered one a "you already have an account" e-mail and no new account. A taken '
        "username (any case) is 400. Sign in afterwards with /auth/token/ (403 "
        "`email_unverified` until the address is verified, when ACCOUNTS_EMAIL_VERIFICATION "
        "is `mandatory`). Limited by ACCOUNTS_SIGNUP_RATE per client address, shared with the "
        "HTML page.",
        auth=[],
        request=SignupSerializer,
        responses={
            202: AcceptedSerializer,
            400: INVALID,
            404: error(["not_found"], "Sign-up is off."),
            429: THROTTLED,
        },
    )
    def post(self, request):
        if not kit_settings.ALLOW_SIGNUP:
            raise exceptions.NotFound()
        limit_request(request, ratelimit.SIGNUP)
        serializer = SignupSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        with service_errors():
            sign_up(**serializer.validated_data, request=request)
        return Response({"detail": SIGNUP_ACCEPTED}, status=status.HTTP_202_ACCEPTED)


class EmailVerifyView(PublicAccountView):
    @extend_schema(
        operation_id="verifyEmail",
        tags=["account"],
        summary="Verify an e-mail address with the key of its verification e-mail",
        description="The key of a sign-up's e-mail verifies the account's address (it can "
        "sign in then); the key of an e-mail change's makes the new address the account's. "
        "A key works once, for ACCOUNT_EMAIL_CONFIRMATION_EXPIRE_DAYS (3) days.",
        auth=[],
        request=EmailVerifySerializer,
        responses={
            204: OpenApiResponse(description="Verified."),
            400: error(
                ["invalid"],
                "`errors.key` for a bad, forged, expired or used key, or a new address "
                "another account took meanwhile (nothing changed).",
            ),
        },
    )
    def post(self, request):
        serializer = EmailVerifySerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        with service_errors():
            email_verify(key=serializer.validated_data["key"], request=request)
        return Response(status=status.HTTP_204_NO_CONTENT)
