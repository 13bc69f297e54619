"""A route reading only the claims-backed user, for counting queries per request."""

from django.urls import include, path
from rest_framework.decorators import api_view
from rest_framework.response import Response


@api_view(["GET"])
def claims_view(request):
    return Response({"id": request.user.id, "username": request.user.username})


urlpatterns = [path("claims/", claims_view), path("", include("config.urls"))]
