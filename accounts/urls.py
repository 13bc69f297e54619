"""HTML pages on the Django session."""

from django.contrib.auth import views as auth_views
from django.urls import path

from accounts import views
from accounts.forms import LockoutAuthenticationForm

app_name = "accounts"

urlpatterns = [
    path("", views.account, name="account"),
    path(
        "login/",
        auth_views.LoginView.as_view(
            authentication_form=LockoutAuthenticationForm, redirect_authenticated_user=True
        ),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path(
        "devices/<uuid:session_id>/revoke/",
        views.revoke_device_session,
        name="revoke_device_session",
    ),
    path("devices/sign-out-everywhere/", views.sign_out_everywhere, name="sign_out_everywhere"),
]
