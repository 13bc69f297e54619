from django.contrib import admin, messages
from django.utils import timezone

from accounts.lockout import clear_lockout
from accounts.models import Lockout


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
