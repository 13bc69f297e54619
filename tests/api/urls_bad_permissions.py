"""A route listing the HasPermission class itself: the system check must refuse it."""

from django.urls import path
from rest_framework.views import APIView

from api.permissions import HasPermission


class Misconfigured(APIView):
    permission_classes = [HasPermission]


urlpatterns = [path("oops/", Misconfigured.as_view())]
