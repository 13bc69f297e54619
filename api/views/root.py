"""GET /api/ and /api/v1/: where the API's description lives (public, JSON)."""

from django.urls import reverse
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

_ROOT = inline_serializer(
    "ApiRoot",
    {
        "version": serializers.CharField(help_text="the current version: v1"),
        "v1": serializers.CharField(help_text="the path of the version's routes"),
        "schema": serializers.CharField(help_text="the OpenAPI schema (YAML; ?format=json)"),
        "docs": serializers.CharField(help_text="the schema, browsable"),
        "health": serializers.CharField(help_text="the health probe"),
    },
)


class ApiRootView(APIView):
    """Links to the schema and docs, so a person or a client that lands here finds them."""

    authentication_classes = []
    permission_classes = [AllowAny]

    @extend_schema(tags=["meta"], responses={200: _ROOT}, summary="Links to the schema and docs")
    def get(self, request):
        return Response(
            {
                "version": "v1",
                "v1": reverse("v1:root"),
                "schema": reverse("schema"),
                "docs": reverse("api-docs"),
                "health": reverse("healthz"),
            }
        )
