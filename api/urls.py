"""API routes: /api/v1/... plus the OpenAPI schema and its interactive docs."""

from django.urls import URLPattern, URLResolver, include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from api.views import account, auth, cookies, devices, me, mfa, passkeys, root, service, social
from api.views.jwks import JWKSView

# The busiest first, the many auth routes grouped under one prefix: Django tries a URL's
# patterns one by one, so a service call skips every auth route at once, and each include
# level costs a little more to resolve (docs/performance.md).
auth_patterns = [
    # Device sessions and tokens (mobile apps: Bearer)
    path("token/", auth.TokenObtainView.as_view(), name="token-obtain"),
    path("token/mfa/", mfa.TokenMfaView.as_view(), name="token-mfa"),
    path("token/refresh/", auth.TokenRefreshView.as_view(), name="token-refresh"),
    path("token/verify/", auth.TokenVerifyView.as_view(), name="token-verify"),
    path("logout/", auth.LogoutView.as_view(), name="logout"),
    path("logout-all/", auth.LogoutAllView.as_view(), name="logout-all"),
    # Cookie transport (browser apps)
    path("csrf/", cookies.CsrfCookieView.as_view(), name="csrf"),
    path("cookie/login/", cookies.CookieLoginView.as_view(), name="cookie-login"),
    path("cookie/login/mfa/", cookies.CookieLoginMfaView.as_view(), name="cookie-login-mfa"),
    path("cookie/refresh/", cookies.CookieRefreshView.as_view(), name="cookie-refresh"),
    path("cookie/logout/", cookies.CookieLogoutView.as_view(), name="cookie-logout"),
    # Account routes for apps
    path("password/change/", account.PasswordChangeView.as_view(), name="password-change"),
    path("password/reset/", account.PasswordResetView.as_view(), name="password-reset"),
    path(
        "password/reset/confirm/",
        account.PasswordResetConfirmView.as_view(),
        name="password-reset-confirm",
    ),
    path("signup/", account.SignupView.as_view(), name="signup"),
    path("email/verify/", account.EmailVerifyView.as_view(), name="email-verify"),
    # Passkey sign-in (discoverable credentials)
    path("passkey/begin/", passkeys.PasskeySignInBeginView.as_view(), name="passkey-begin"),
    path("passkey/", passkeys.PasskeySignInView.as_view(), name="passkey-sign-in"),
    # Social sign-in with a provider's ID token (apps)
    path("social/<str:provider>/", social.SocialSignInView.as_view(), name="social-sign-in"),
]

v1_patterns: list[URLPattern | URLResolver] = [
    path("me/", me.MeView.as_view(), name="me"),
    path("me/email/", me.MeEmailView.as_view(), name="me-email"),
    path("", root.ApiRootView.as_view(), name="root"),
    # Service routes (API keys); not an include: a level less to resolve for each call
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
    path("auth/", include(auth_patterns)),
    path("devices/", devices.DeviceListView.as_view(), name="devices"),
    path("devices/<uuid:session_id>/", devices.DeviceDetailView.as_view(), name="device-detail"),
    # Second factors of the signed-in user
    path("mfa/", mfa.MfaView.as_view(), name="mfa"),
    path("mfa/totp/", mfa.TotpView.as_view(), name="mfa-totp"),
    path("mfa/totp/confirm/", mfa.TotpConfirmView.as_view(), name="mfa-totp-confirm"),
    path("mfa/recovery-codes/", mfa.RecoveryCodesView.as_view(), name="mfa-recovery-codes"),
    # Passkey enrolment of the signed-in user
    path(
        "mfa/passkeys/begin/",
        passkeys.PasskeyRegisterBeginView.as_view(),
        name="mfa-passkeys-begin",
    ),
    path("mfa/passkeys/", passkeys.PasskeyListView.as_view(), name="mfa-passkeys"),
    path(
        "mfa/passkeys/<int:passkey_id>/",
        passkeys.PasskeyDetailView.as_view(),
        name="mfa-passkey-detail",
    ),
]

urlpatterns = [
    path("api/", root.ApiRootView.as_view(), name="api-root"),
    path("api/v1/", include((v1_patterns, "api"), namespace="v1")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="api-docs"),
    path(".well-known/jwks.json", JWKSView.as_view(), name="jwks"),
]
