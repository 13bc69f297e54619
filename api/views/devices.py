"""GET /api/v1/devices/ and DELETE /api/v1/devices/{id}/: the caller's device sessions."""

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.devices import sessions
from api.openapi import error
from api.serializers.sessions import DeviceSessionSerializer

TAG = ["devices"]
AUTH_ERRORS = error(["not_authenticated", "token_invalid", "session_revoked", "token_stale"])


class DeviceListView(APIView):
    @extend_schema(
        operation_id="listDevices",
        tags=TAG,
        summary="The caller's active device sessions",
        responses={200: DeviceSessionSerializer(many=True), 401: AUTH_ERRORS},
    )
    def get(self, request):
        serializer = DeviceSessionSerializer(
            sessions.active_sessions(request.user),
            many=True,
            context={"current_session_id": sessions.current_session_id(request)},
        )
        return Response(serializer.data)


class DeviceDetailView(APIView):
    @extend_schema(
        operation_id="revokeDevice",
        tags=TAG,
        summary="Sign out one of the caller's device sessions",
        responses={
            204: OpenApiResponse(description="The session is revoked."),
            401: AUTH_ERRORS,
            403: error(["csrf_failed"]),
            404: error(["not_found"]),
        },
    )
    def delete(self, request, session_id):
        sessions.revoke_own_session(user=request.user, session_id=session_id, request=request)
        return Response(status=status.HTTP_204_NO_CONTENT)
