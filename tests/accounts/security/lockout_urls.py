"""The site's routes plus one API sign-in shaped like the JWT token view, calling Django's
authenticate() with DRF's Request, so the lockout's refusal is tested the way a product's
own API sign-in would read it."""

from django.contrib.auth import authenticate
from django.urls import path
from rest_framework.decorators import (
    api_view,
    authentication_classes,
    permission_classes,
)
from rest_framework.permissions import AllowAny
from rest_framework.response import Response

from accounts.security.lockout import lockout_refusal
from api.exceptions import api_error
from config.urls import urlpatterns as site_urlpatterns


@api_view(["POST"])
@authentication_classes([])
@permission_classes([AllowAny])
def sign_in(request):
    user = authenticate(
        request, username=request.data.get("username"), password=request.data.get("password")
    )
    if user is None:
        refusal = lockout_refusal(request)
        if refusal is not None:
            raise refusal  # 429 too_many_attempts with Retry-After (api/exceptions.py)
        return api_error("invalid_credentials", "Wrong username or password.", 401)
    return Response({"id": user.pk})


urlpatterns = [path("test/sign-in/", sign_in), *site_urlpatterns]
