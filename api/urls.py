"""API routes: /api/v1/... plus the OpenAPI schema and its interactive docs."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from api.views.auth import (
    LogoutAllView,
    LogoutView,
    TokenObtainView,
    TokenRefreshView,
    TokenVerifyView,
)
from api.views.devices import DeviceDetailView, DeviceListView
from api.views.me import MeView

v1_patterns = [
    path("auth/token/", TokenObtainView.as_view(), name="token-obtain"),
    path("auth/token/refresh/", TokenRefreshView.as_view(), name="token-refresh"),
    path("auth/token/verify/", TokenVerifyView.as_view(), name="token-verify"),
    path("auth/logout/", LogoutView.as_view(), name="logout"),
    path("auth/logout-all/", LogoutAllView.as_view(), name="logout-all"),
    path("me/", MeView.as_view(), name="me"),
    path("devices/", DeviceListView.as_view(), name="devices"),
    path("devices/<uuid:session_id>/", DeviceDetailView.as_view(), name="device-detail"),
]

urlpatterns = [
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="api-docs"),
    path("api/v1/", include((v1_patterns, "api"), namespace="v1")),
]
