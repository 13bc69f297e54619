"""/api/v1/me/: the signed-in user's profile; its edit and the account's deletion.

Thin: the rules are in accounts.users.profiles and accounts.users.deletion, whose field
errors become 400 `invalid`."""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.errors import SessionRevoked
from accounts.users.deletion import account_delete
from accounts.users.email_change import email_change_request
from accounts.users.profiles import get_profile, profile_update
from api.authentication import model_user
from api.openapi import INVALID, error
from api.serializers.account import (
    AcceptedSerializer,
    MeDeleteSerializer,
    MeEmailSerializer,
    MeSerializer,
    MeUpdateSerializer,
)
from api.views.account import service_errors

AUTH_401 = error(["not_authenticated", "token_invalid", "session_revoked", "token_stale"])


class MeView(APIView):
    @extend_schema(
        operation_id="getMe",
        tags=["me"],
        summary="The signed-in user",
        responses={200: MeSerializer, 401: AUTH_401},
    )
    def get(self, request):
        profile = get_profile(request.user.pk)  # cached: a warm /me makes no query
        if profile is None:
            raise SessionRevoked()  # the user was deleted
        return Response(profile)

    @extend_schema(
        operation_id="updateMe",
        tags=["me"],
        summary="Edit the signed-in user's names",
        description="Only `first_name` and `last_name` change; any other field is ignored "
        "(the e-mail address changes through `POST /api/v1/me/email/`, the username never).",
        request=MeUpdateSerializer,
        responses={200: MeSerializer, 400: INVALID, 401: AUTH_401, 403: error(["csrf_failed"])},
    )
    def patch(self, request):
        serializer = MeUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        with service_errors():
            profile_update(user=model_user(request.user), changes=serializer.validated_data)
        return self.get(request)

    @extend_schema(
        operation_id="deleteMe",
        tags=["me"],
        summary="Delete the signed-in user's account",
        description="Needs the password, and `code` when the account has a second factor; "
        "a wrong one counts toward the account lockout. Every session of the user ends "
        "and the account is deactivated at once; its personal data is erased "
        "ACCOUNTS_DELETION_GRACE_DAYS later.",
        request=MeDeleteSerializer,
        responses={
            204: OpenApiResponse(description="Deleted: the caller's tokens no longer work."),
            400: INVALID,
            401: AUTH_401,
            403: error(["csrf_failed"]),
            429: error(["too_many_attempts"], "Locked out: see Retry-After."),
        },
    )
    def delete(self, request):
        serializer = MeDeleteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        with service_errors():
            account_delete(
                user=model_user(request.user),
                password=serializer.validated_data["password"],
                code=serializer.validated_data.get("code"),
                request=request,
            )
        return Response(status=status.HTTP_204_NO_CONTENT)


EMAIL_CHANGE_ACCEPTED = _(
    "Check the inbox of the new address: it becomes your account's once you follow the link "
    "sent to it. Your current address has been told."
)


class MeEmailView(APIView):
    @extend_schema(
        operation_id="changeMyEmail",
        tags=["me"],
        summary="Change the signed-in user's e-mail address",
        description="Needs the password (a wrong one counts toward the account lockout). "
        "202: the new address gets a verification e-mail (its key for POST "
        "/auth/email/verify/, and a link) and becomes the account's only once verified; "
        "the current address is told. An address another account uses gets the same 202 "
        "and changes nothing (no e-mail goes to it).",
        request=MeEmailSerializer,
        responses={
            202: AcceptedSerializer,
            400: error(
                ["invalid"],
                "`errors.password` for a wrong password, `errors.email` for a malformed "
                "address or the account's own.",
            ),
            401: AUTH_401,
            403: error(["csrf_failed"]),
            429: error(
                ["too_many_attempts", "throttled"],
                "`too_many_attempts`: locked out by wrong passwords. `throttled`: more "
                "changes asked for than 5 an hour (nothing is mailed). See Retry-After.",
            ),
        },
    )
    def post(self, request):
        serializer = MeEmailSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        with service_errors():
            email_change_request(
                user=model_user(request.user),
                email=serializer.validated_data["email"],
                password=serializer.validated_data["password"],
                request=request,
            )
        return Response({"detail": EMAIL_CHANGE_ACCEPTED}, status=status.HTTP_202_ACCEPTED)
