"""Reference views for `make bench`: one tiny DRF view behind different authentication.

Served only when KIT_BENCH_ROUTES=1 (see config/urls.py). Every variant runs the same
view code and the same middleware, so the difference in throughput is the cost of the
authentication (or refresh) alone.
"""

from contextlib import contextmanager

from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_simplejwt.authentication import (
    JWTAuthentication,
    JWTStatelessUserAuthentication,
)
from rest_framework_simplejwt.serializers import TokenRefreshSerializer
from rest_framework_simplejwt.settings import api_settings as simplejwt_settings
from rest_framework_simplejwt.tokens import RefreshToken, Token
from rest_framework_simplejwt.views import TokenRefreshView


class WhoAmIView(APIView):
    """Returns the caller's id, read from `request.user` (a token user needs no query).

    The contract's access token carries `sub` but no username, so the id is all a
    claims-only route can answer without loading the user.
    """

    def get(self, request):
        return Response({"id": request.user.id})


class NoAuthView(WhoAmIView):
    """The baseline: no authentication at all (the id is None)."""

    authentication_classes = []
    permission_classes = [AllowAny]


class StockJWTView(WhoAmIView):
    """simplejwt's JWTAuthentication: loads the user from the database on every request."""

    authentication_classes = [JWTAuthentication]
    permission_classes = [IsAuthenticated]


class StockStatelessJWTView(WhoAmIView):
    """simplejwt's JWTStatelessUserAuthentication: claims only, no revocation check."""

    authentication_classes = [JWTStatelessUserAuthentication]
    permission_classes = [IsAuthenticated]


class KitClaimsView(WhoAmIView):
    """The kit's default authentication (its Bearer authentication first)."""

    permission_classes = [IsAuthenticated]


@contextmanager
def _simplejwt_settings(**overrides):
    """simplejwt reads its settings per call from one global object; the bench server runs
    sync workers (one request at a time per process), so swapping them around one request
    is safe there and lets both stock refresh variants share one server."""
    saved = {name: getattr(simplejwt_settings, name) for name in overrides}
    for name, value in overrides.items():
        setattr(simplejwt_settings, name, value)
    try:
        yield
    finally:
        for name, value in saved.items():
            setattr(simplejwt_settings, name, value)


class RefreshTokenWithoutBlacklist(RefreshToken):
    """simplejwt's refresh token as it behaves when the blacklist app is not installed."""

    def verify(self, *args, **kwargs):
        Token.verify(self, *args, **kwargs)


class RefreshWithoutBlacklistSerializer(TokenRefreshSerializer):
    token_class = RefreshTokenWithoutBlacklist


class StockRotatingRefreshView(TokenRefreshView):
    """Stock refresh with ROTATE_REFRESH_TOKENS and BLACKLIST_AFTER_ROTATION."""

    def post(self, request, *args, **kwargs):
        with _simplejwt_settings(ROTATE_REFRESH_TOKENS=True, BLACKLIST_AFTER_ROTATION=True):
            return super().post(request, *args, **kwargs)


class StockPlainRefreshView(TokenRefreshView):
    """Stock refresh without rotation and without the blacklist: a new access token only."""

    serializer_class = RefreshWithoutBlacklistSerializer

    def post(self, request, *args, **kwargs):
        with _simplejwt_settings(ROTATE_REFRESH_TOKENS=False, BLACKLIST_AFTER_ROTATION=False):
            return super().post(request, *args, **kwargs)
