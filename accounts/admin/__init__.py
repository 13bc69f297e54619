"""The admin, one module per model family; importing them registers them."""

from django.contrib import admin

from accounts.admin import api_keys, audit, device_sessions, lockouts, social, users  # noqa: F401
from accounts.conf import kit_settings
from accounts.web.forms import LockoutAdminAuthenticationForm

admin.site.site_header = f"{kit_settings.SITE_NAME} administration"
admin.site.site_title = f"{kit_settings.SITE_NAME} admin"
admin.site.index_title = "Users, sessions and keys"
# /admin/login/ is a sign-in path like any other: it shows the lockout message.
admin.site.login_form = LockoutAdminAuthenticationForm
