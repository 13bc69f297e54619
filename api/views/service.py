"""Service routes: other backends and workers calling the kit with an API key.

These are the examples to copy for a product's own service routes: subclass ServiceView,
declare the scope, keep the rule in a service function.
"""

from django.contrib.auth import get_user_model
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response

from accounts.devices import sessions
from accounts.errors import AccountsError
from accounts.models import DeviceSession
from api.api_keys import HasScope, ServiceView
from api.openapi import INVALID, error
from api.serializers.account import MeSerializer
from api.serializers.fields import StrictCharField

# The errors every service route can answer (documented so clients and fuzzers know them).
# 429 `throttled` (Retry-After): a client address that has sent too many bad keys.
_KEY_ERRORS = {
    401: error(["api_key_missing", "api_key_invalid"]),
    429: error(["throttled"], "See Retry-After."),
}
# A route that declares a scope: 403 with the scope it needs in `required_scope`.
_SCOPED_ERRORS = {**_KEY_ERRORS, 403: error(["insufficient_scope"], "See `required_scope`.")}
_NOT_FOUND = {404: error(["not_found"])}

_KEY_INFO = inline_serializer(
    "ServicePing",
    {
        "key": inline_serializer(
            "ServicePingKey",
            {
                "name": serializers.CharField(),
                "prefix": serializers.CharField(),
                "scopes": serializers.ListField(child=serializers.CharField()),
            },
        )
    },
)


class PingView(ServiceView):
    """Any valid key: says which key the caller is using."""

    @extend_schema(
        operation_id="servicePing",
        tags=["service"],
        summary="Which key is calling",
        responses={200: _KEY_INFO, **_KEY_ERRORS},
    )
    def get(self, request):
        key = request.auth
        return Response({"key": {"name": key.name, "prefix": key.prefix, "scopes": key.scopes}})


class UserDetailView(ServiceView):
    """Scope users:read: a user's profile by id."""

    permission_classes = [HasScope("users:read")]

    @extend_schema(
        operation_id="serviceGetUser",
        tags=["service"],
        summary="A user's profile",
        responses={200: MeSerializer, **_SCOPED_ERRORS, **_NOT_FOUND},
    )
    def get(self, request, user_id):
        user = get_object_or_404(get_user_model(), pk=user_id)
        return Response(MeSerializer(user).data)


class IntrospectSerializer(serializers.Serializer):
    # Not trimmed: whitespace is a token that is not live (200 inactive), as the schema says.
    token = StrictCharField(max_length=20000, trim_whitespace=False)


_INTROSPECTION = inline_serializer(
    "TokenIntrospection",
    {
        "active": serializers.BooleanField(),
        "token_type": serializers.CharField(required=False),
        "sub": serializers.CharField(required=False),
        "sid": serializers.CharField(required=False),
        "exp": serializers.IntegerField(required=False),
        "iat": serializers.IntegerField(required=False),
        "username": serializers.CharField(required=False),
    },
)


class IntrospectView(ServiceView):
    """Scope tokens:introspect: is this token live? (RFC 7662's shape.) Expired, revoked,
    stale and forged tokens are all just `{"active": false}`."""

    permission_classes = [HasScope("tokens:introspect")]

    @extend_schema(
        operation_id="serviceIntrospectToken",
        tags=["service"],
        summary="Is this token live? (RFC 7662)",
        request=IntrospectSerializer,
        responses={200: _INTROSPECTION, 400: INVALID, **_SCOPED_ERRORS},
    )
    def post(self, request):
        serializer = IntrospectSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            token = sessions.verify_token(serializer.validated_data["token"])
        except AccountsError:
            return Response({"active": False})
        username = (
            token.get("username")
            or (
                get_user_model().objects.filter(pk=token["sub"]).values_list("username", flat=True)
            ).first()
        )
        return Response(
            {
                "active": True,
                "token_type": token.token_type,
                "sub": token["sub"],
                "sid": token["sid"],
                "exp": token["exp"],
                "iat": token["iat"],
                "username": username,
            }
        )


class UserRevokeSessionsView(ServiceView):
    """Scope sessions:revoke: sign a user out everywhere (every device session and every
    browser session), e.g. from a fraud-detection worker."""

    permission_classes = [HasScope("sessions:revoke")]

    @extend_schema(
        operation_id="serviceRevokeUserSessions",
        tags=["service"],
        summary="Sign a user out everywhere",
        request=None,
        responses={
            200: inline_serializer("RevokedCount", {"revoked": serializers.IntegerField()}),
            **_SCOPED_ERRORS,
            **_NOT_FOUND,
        },
    )
    def post(self, request, user_id):
        user = get_object_or_404(get_user_model(), pk=user_id)
        revoked = sessions.revoke_all_sessions(
            user,
            reason=DeviceSession.RevokeReason.SERVICE,
            actor=f"api-key:{request.auth.prefix}",
            request=request,
        )
        return Response({"revoked": revoked})
