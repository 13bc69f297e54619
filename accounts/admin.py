from django.conf import settings
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.utils import timezone

from accounts.forms import LockoutAdminAuthenticationForm
from accounts.lockout import clear_lockout
from accounts.models import Lockout, User

admin.site.site_header = f"{settings.ACCOUNTS['SITE_NAME']} administration"
admin.site.site_title = f"{settings.ACCOUNTS['SITE_NAME']} admin"
admin.site.index_title = "Users, sessions and keys"
# /admin/login/ is a sign-in path like any other: it shows the lockout message.
admin.site.login_form = LockoutAdminAuthenticationForm


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    list_display = ("username", "email", "first_name", "last_name", "is_active", "is_staff")
    list_filter = ("is_active", "is_staff", "is_superuser", "groups")
    search_fields = ("username", "email", "first_name", "last_name")


@admin.register(Lockout)
class LockoutAdmin(admin.ModelAdmin):
    """Active lockouts; clearing one lets that account or address sign in again at once."""

    list_display = ("kind", "value", "failures", "locked_at", "locked_until")
    list_filter = ("kind",)
    search_fields = ("value",)
    actions = ["clear_lockouts"]

    def get_queryset(self, request):
        return super().get_queryset(request).filter(locked_until__gt=timezone.now())

    def get_actions(self, request):
        # Clearing must also drop the cache entries, so the plain delete action is hidden.
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.action(description="Clear selected lockouts", permissions=["delete"])
    def clear_lockouts(self, request, queryset):
        lockouts = list(queryset)
        for lockout in lockouts:
            clear_lockout(lockout.kind, lockout.value)
        self.message_user(request, f"Cleared {len(lockouts)} lockout(s).", messages.SUCCESS)

    def delete_model(self, request, obj):
        clear_lockout(obj.kind, obj.value)
