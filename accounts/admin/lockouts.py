from django.contrib import admin, messages
from django.db import transaction
from django.utils import timezone

from accounts.admin.base import KitModelAdmin
from accounts.models import AuthEvent, Lockout
from accounts.security.audit import record_event
from accounts.security.lockout import ACCOUNT, clear_lockout


@admin.register(Lockout)
class LockoutAdmin(KitModelAdmin):
    """Active lockouts; clearing one lets that account or address sign in again at once, and
    is audited (`lockout_cleared`, the administrator as actor)."""

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
            self._clear(request, lockout)
        self.message_user(request, f"Cleared {len(lockouts)} lockout(s).", messages.SUCCESS)

    def delete_model(self, request, obj):
        self._clear(request, obj)

    def _clear(self, request, lockout):
        with transaction.atomic():
            clear_lockout(lockout.kind, lockout.value)
            record_event(
                AuthEvent.Kind.LOCKOUT_CLEARED,
                request=request,
                username=lockout.value if lockout.kind == ACCOUNT else "",
                actor=request.user.get_username(),
                lockout=lockout.kind,
                value=lockout.value,
                failures=lockout.failures,
                locked_until=lockout.locked_until.isoformat(),
            )
