from django.contrib import admin

from accounts.admin.base import KitModelAdmin
from accounts.models import AuthEvent


@admin.register(AuthEvent)
class AuthEventAdmin(KitModelAdmin):
    """The audit trail: read-only, append-only."""

    list_display = ("created_at", "kind", "username", "actor", "ip_address", "session_id")
    list_filter = ("kind",)
    search_fields = ("username", "actor", "ip_address", "session_id")
    date_hierarchy = "created_at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
