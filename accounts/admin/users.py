from django.contrib import admin, messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.urls import reverse
from django.utils.html import format_html
from django.utils.http import urlencode

from accounts.admin import device_sessions as device_sessions_admin
from accounts.admin.base import KitModelAdmin, may_act_on, may_revoke_sessions, refuse_superusers
from accounts.admin.device_sessions import DeviceSessionInline, Reason
from accounts.devices import sessions
from accounts.models import User


@admin.register(User)
class UserAdmin(KitModelAdmin, DjangoUserAdmin):
    """Django's user admin, plus: a non-superuser cannot change, delete, set the password of,
    promote to superuser or end the sessions of a superuser."""

    list_display = ("username", "email", "first_name", "last_name", "is_active", "is_staff")
    list_filter = ("is_active", "is_staff", "is_superuser", "groups")
    search_fields = ("username", "email", "first_name", "last_name")
    inlines = [DeviceSessionInline]
    actions = ["revoke_all_sessions"]

    def has_change_permission(self, request, obj=None):
        # Also guards Django's set-password view (<id>/password/).
        return super().has_change_permission(request, obj) and may_act_on(request, obj)

    def has_delete_permission(self, request, obj=None):
        # Django's delete_selected asks this for each user: one superuser refuses it all.
        return super().has_delete_permission(request, obj) and may_act_on(request, obj)

    def has_revoke_sessions_permission(self, request):
        return may_revoke_sessions(request)

    def get_readonly_fields(self, request, obj=None):
        fields = (*super().get_readonly_fields(request, obj), "device_sessions")
        if request.user.is_superuser:
            return fields
        return (*fields, "is_superuser")

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if obj is None:
            return fieldsets
        return (*fieldsets, ("Device sessions", {"fields": ("device_sessions",)}))

    @admin.display(description="device sessions")
    def device_sessions(self, user):
        """How many are live (the most recent are listed below) and a link to all of them,
        ended ones included: the user page never loads thousands of rows."""
        url = reverse("admin:accounts_devicesession_changelist")
        return format_html(
            '{} live (the {} most recently used are listed below). <a href="{}">All device '
            "sessions of this user</a>",
            sessions.active_sessions(user).count(),
            device_sessions_admin.LIVE_SESSIONS_SHOWN,
            f"{url}?{urlencode({'user__id__exact': user.pk})}",
        )

    @admin.action(description="Revoke all sessions", permissions=["revoke_sessions"])
    def revoke_all_sessions(self, request, queryset):
        """All of them at once: one UPDATE of the users, one of their sessions, one INSERT
        of the audit rows (accounts.devices.sessions.revoke_all_sessions_of_users)."""
        users = list(queryset)
        if refuse_superusers(self, request, users):
            return
        total = sessions.revoke_all_sessions_of_users(
            users, reason=Reason.ADMIN, actor=request.user.get_username(), request=request
        )
        for user in users:
            if user.pk == request.user.pk:
                user.refresh_from_db(fields=["sessions_version"])
                update_session_auth_hash(request, user)  # the admin stays signed in here
        self.message_user(request, f"Revoked {total} device session(s).", messages.SUCCESS)
