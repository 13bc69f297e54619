"""HTML pages on the Django session."""

from django.contrib.auth import views as auth_views
from django.urls import path

from accounts.web import email_views, mfa_views, new_device_views, social_views, views

app_name = "accounts"

urlpatterns = [
    path("", views.account, name="account"),
    path(
        "login/",
        social_views.with_social_form_action(views.LoginView.as_view()),
        name="login",
    ),
    path("login/mfa/", mfa_views.login_code, name="login_mfa"),
    path("login/passkey/", mfa_views.login_passkey, name="login_passkey"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("social/<str:provider_id>/login/", social_views.social_login, name="social_login"),
    path(
        "social/<str:provider_id>/callback/",
        social_views.social_callback,
        name="social_callback",
    ),
    path("signup/", views.signup, name="signup"),
    path("email/verify/<str:key>/", email_views.email_verify_page, name="email_verify"),
    path("email/change/", email_views.email_change, name="email_change"),
    path("delete/", views.delete_account, name="delete_account"),
    path("mfa/totp/", mfa_views.totp_enrol, name="mfa_totp_enrol"),
    path("mfa/totp/confirm/", mfa_views.totp_confirm, name="mfa_totp_confirm"),
    path("mfa/totp/remove/", mfa_views.totp_remove, name="mfa_totp_remove"),
    path("mfa/recovery-codes/", mfa_views.recovery_codes_renew, name="mfa_recovery_codes"),
    path(
        "mfa/passkeys/<int:passkey_id>/remove/",
        mfa_views.passkey_remove,
        name="mfa_passkey_remove",
    ),
    path("spa-demo/", views.spa_demo, name="spa_demo"),
    path(
        "devices/<uuid:session_id>/revoke/",
        views.revoke_device_session,
        name="revoke_device_session",
    ),
    path(
        "devices/revoke/<str:token>/",
        new_device_views.new_device_revoke,
        name="new_device_revoke",
    ),
    path("devices/sign-out-everywhere/", views.sign_out_everywhere, name="sign_out_everywhere"),
    path("password_change/", views.PasswordChangeView.as_view(), name="password_change"),
    path(
        "password_change/done/",
        auth_views.PasswordChangeDoneView.as_view(),
        name="password_change_done",
    ),
    path("password_reset/", views.PasswordResetView.as_view(), name="password_reset"),
    path(
        "password_reset/done/",
        auth_views.PasswordResetDoneView.as_view(),
        name="password_reset_done",
    ),
    path(
        "reset/<uidb64>/<token>/",
        views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "reset/done/",
        auth_views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
]
