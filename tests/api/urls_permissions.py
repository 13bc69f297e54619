"""Routes guarded by the claim permissions (api.permissions), for tests."""

from django.urls import include, path
from rest_framework.response import Response
from rest_framework.views import APIView

from api.permissions import HasPermission, IsStaff


class WhoAmI(APIView):
    """Reads only what the claims carry."""

    def get(self, request):
        user = request.user
        return Response(
            {
                "id": user.id,
                "username": user.username,
                "is_staff": user.is_staff,
                "is_superuser": user.is_superuser,
            }
        )


class StaffOnly(WhoAmI):
    permission_classes = [IsStaff]


class ViewUsers(WhoAmI):
    permission_classes = [HasPermission("accounts.view_user")]


class ViewAndChangeUsers(WhoAmI):
    permission_classes = [HasPermission("accounts.view_user", "accounts.change_user")]


urlpatterns = [
    path("whoami/", WhoAmI.as_view()),
    path("staff/", StaffOnly.as_view()),
    path("view-users/", ViewUsers.as_view()),
    path("view-change-users/", ViewAndChangeUsers.as_view()),
    path("", include("config.urls")),
]
