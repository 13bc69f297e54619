"""GET /api/v1/me/: the signed-in user's profile."""

from drf_spectacular.utils import extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from api.authentication import model_user
from api.openapi import error
from api.serializers.account import MeSerializer


class MeView(APIView):
    @extend_schema(
        tags=["account"],
        summary="The signed-in user",
        responses={
            200: MeSerializer,
            401: error(["not_authenticated", "token_invalid", "session_revoked", "token_stale"]),
        },
    )
    def get(self, request):
        return Response(MeSerializer.plain(model_user(request.user)))
