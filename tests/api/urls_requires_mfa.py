"""A step-up route guarded by api.permissions.RequiresMFA, for tests (docs/mfa.md's
example), beside the kit's own routes."""

from django.urls import include, path
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from api.permissions import RequiresMFA


class PayoutView(APIView):
    permission_classes = [IsAuthenticated, RequiresMFA]

    def post(self, request):
        return Response({"paid": True})


urlpatterns = [
    path("payouts/", PayoutView.as_view()),
    path("", include("config.urls")),
]
