from django.contrib import admin, messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from accounts import sessions
from accounts.admin.device_sessions import DeviceSessionInline, Reason
from accounts.models import User


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    list_display = ("username", "email", "first_name", "last_name", "is_active", "is_staff")
    list_filter = ("is_active", "is_staff", "is_superuser", "groups")
    search_fields = ("username", "email", "first_name", "last_name")
    inlines = [DeviceSessionInline]
    actions = ["revoke_all_sessions"]

    @admin.action(description="Revoke all sessions")
    def revoke_all_sessions(self, request, queryset):
        total = 0
        for user in queryset:
            total += sessions.revoke_all_sessions(
                user, reason=Reason.ADMIN, actor=request.user.get_username(), request=request
            )
            if user.pk == request.user.pk:
                update_session_auth_hash(request, user)  # the admin stays signed in here
        self.message_user(request, f"Revoked {total} device session(s).", messages.SUCCESS)
