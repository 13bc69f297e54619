"""API routes: /api/v1/... plus the OpenAPI schema and its interactive docs."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from api.views import account

v1_patterns = [
    path(
        "auth/password/change/",
        account.PasswordChangeView.as_view(),
        name="password-change",
    ),
    path("auth/password/reset/", account.PasswordResetView.as_view(), name="password-reset"),
    path(
        "auth/password/reset/confirm/",
        account.PasswordResetConfirmView.as_view(),
        name="password-reset-confirm",
    ),
    path("auth/signup/", account.SignupView.as_view(), name="signup"),
]

urlpatterns = [
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="api-docs"),
    path("api/v1/", include((v1_patterns, "api"), namespace="v1")),
]
