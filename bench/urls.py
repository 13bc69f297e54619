"""Bench-only routes, mounted under /bench/ when KIT_BENCH_ROUTES=1 (see config/urls.py).

Stock simplejwt references for `make bench`, plus a claims-only route behind the kit's own
default authentication once the kit has its Bearer authentication.
"""

from importlib.util import find_spec

from django.urls import path
from rest_framework_simplejwt.views import TokenObtainPairView

from bench import views

urlpatterns = [
    path("noauth/", views.NoAuthView.as_view(), name="bench-noauth"),
    path("jwt/", views.StockJWTView.as_view(), name="bench-jwt"),
    path("jwt-stateless/", views.StockStatelessJWTView.as_view(), name="bench-jwt-stateless"),
    path("stock/token/", TokenObtainPairView.as_view(), name="bench-stock-token"),
    path(
        "stock/refresh/rotate/",
        views.StockRotatingRefreshView.as_view(),
        name="bench-stock-refresh-rotate",
    ),
    path("stock/refresh/", views.StockPlainRefreshView.as_view(), name="bench-stock-refresh"),
]


def _kit_has_bearer_authentication():
    if find_spec("api.authentication") is None:
        return False
    from api import authentication

    return hasattr(authentication, "BearerAuthentication")


if _kit_has_bearer_authentication():
    # Second, next to the baseline: URL resolution tries the patterns in order, and the
    # last place cost the claims-only route more than resolving cost the baseline.
    urlpatterns.insert(1, path("claims/", views.KitClaimsView.as_view(), name="bench-claims"))
