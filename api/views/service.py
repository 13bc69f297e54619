"""Service routes: other backends and workers calling the kit with an API key.

These are the examples to copy for a product's own service routes: subclass ServiceView,
declare the scope, keep the rule in a service function.
"""

from django.contrib.auth import get_user_model
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response

from api.api_keys import HasScope, ServiceView


class ServiceUserSerializer(serializers.ModelSerializer):
    """The `/me` fields of a user."""

    class Meta:
        model = get_user_model()
        fields = ["id", "username", "email", "first_name", "last_name", "is_staff"]


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

    @extend_schema(tags=["service"], responses={200: _KEY_INFO})
    def get(self, request):
        key = request.auth
        return Response({"key": {"name": key.name, "prefix": key.prefix, "scopes": key.scopes}})


class UserDetailView(ServiceView):
    """Scope users:read: a user's profile by id."""

    permission_classes = [HasScope("users:read")]

    @extend_schema(tags=["service"], responses={200: ServiceUserSerializer})
    def get(self, request, user_id):
        user = get_object_or_404(get_user_model(), pk=user_id)
        return Response(ServiceUserSerializer(user).data)
