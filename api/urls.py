"""API routes: /api/v1/... plus the OpenAPI schema and its interactive docs."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from api.views import account, auth, cookies, devices, me, service
from api.views.jwks import JWKSView

v1_patterns = [
    # Device sessions and tokens (mobile apps: Bearer)
    path("auth/token/", auth.TokenObtainView.as_view(), name="token-obtain"),
    path("auth/token/refresh/", auth.TokenRefreshView.as_view(), name="token-refresh"),
    path("auth/token/verify/", auth.TokenVerifyView.as_view(), name="token-verify"),
    path("auth/logout/", auth.LogoutView.as_view(), name="logout"),
    path("auth/logout-all/", auth.LogoutAllView.as_view(), name="logout-all"),
    # Cookie transport (browser apps)
    path("auth/csrf/", cookies.CsrfCookieView.as_view(), name="csrf"),
    path("auth/cookie/login/", cookies.CookieLoginView.as_view(), name="cookie-login"),
    path("auth/cookie/refresh/", cookies.CookieRefreshView.as_view(), name="cookie-refresh"),
    path("auth/cookie/logout/", cookies.CookieLogoutView.as_view(), name="cookie-logout"),
    path("me/", me.MeView.as_view(), name="me"),
    path("devices/", devices.DeviceListView.as_view(), name="devices"),
    path("devices/<uuid:session_id>/", devices.DeviceDetailView.as_view(), name="device-detail"),
    # Account routes for apps
    path("auth/password/change/", account.PasswordChangeView.as_view(), name="password-change"),
    path("auth/password/reset/", account.PasswordResetView.as_view(), name="password-reset"),
    path(
        "auth/password/reset/confirm/",
        account.PasswordResetConfirmView.as_view(),
        name="password-reset-confirm",
    ),
    path("auth/signup/", account.SignupView.as_view(), name="signup"),
    # Service routes (API keys)
    path("service/ping/", service.PingView.as_view(), name="service-ping"),
    path(
        "service/users/<int:user_id>/",
        service.UserDetailView.as_view(),
        name="service-user-detail",
    ),
    path(
        "service/users/<int:user_id>/revoke-sessions/",
        service.UserRevokeSessionsView.as_view(),
        name="service-user-revoke-sessions",
    ),
    path("service/introspect/", service.IntrospectView.as_view(), name="service-introspect"),
]

urlpatterns = [
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="api-docs"),
    path("api/v1/", include((v1_patterns, "api"), namespace="v1")),
    path(".well-known/jwks.json", JWKSView.as_view(), name="jwks"),
]
