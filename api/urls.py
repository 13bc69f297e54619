"""API routes: /api/v1/... plus the OpenAPI schema and its interactive docs."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from api.views.jwks import JWKSView

v1_patterns = []

urlpatterns = [
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="api-docs"),
    path("api/v1/", include((v1_patterns, "api"), namespace="v1")),
    path(".well-known/jwks.json", JWKSView.as_view(), name="jwks"),
]
