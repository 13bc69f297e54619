"""GET /api/v1/me/: the signed-in user's profile."""

from drf_spectacular.utils import extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.errors import SessionRevoked
from accounts.users.profiles import get_profile
from api.openapi import error
from api.serializers.account import MeSerializer


class MeView(APIView):
    @extend_schema(
        operation_id="getMe",
        tags=["me"],
        summary="The signed-in user",
        responses={
            200: MeSerializer,
            401: error(["not_authenticated", "token_invalid", "session_revoked", "token_stale"]),
        },
    )
    def get(self, request):
        profile = get_profile(request.user.pk)  # cached: a warm /me makes no query
        if profile is None:
            raise SessionRevoked()  # the user was deleted
        return Response(profile)
