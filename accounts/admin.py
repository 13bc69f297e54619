from django.conf import settings
from django.contrib import admin, messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.db.models import Q
from django.utils import timezone

from accounts import sessions
from accounts.models import AuthEvent, DeviceSession, User

admin.site.site_header = f"{settings.ACCOUNTS['SITE_NAME']} administration"
admin.site.site_title = f"{settings.ACCOUNTS['SITE_NAME']} admin"
admin.site.index_title = "Users, sessions and keys"

Reason = DeviceSession.RevokeReason
# Never shown: knowing the current refresh `jti` helps nobody but a forger.
_REFRESH_IDS = ("refresh_jti", "previous_refresh_jti")


class DeviceSessionInline(admin.TabularInline):
    """The user's device sessions, read-only (revoke them with the actions)."""

    model = DeviceSession
    extra = 0
    can_delete = False
    show_change_link = True
    ordering = ["-last_used_at"]
    fields = ("name", "device_id", "ip_address", "created_at", "last_used_at", "status")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description="status")
    def status(self, session):
        return session_status(session)


def session_status(session):
    if session.revoked_at is not None:
        return f"revoked ({session.get_revoke_reason_display()})"
    return "active" if session.refresh_expires_at > timezone.now() else "expired"


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


class SessionStatusFilter(admin.SimpleListFilter):
    title = "status"
    parameter_name = "status"

    def lookups(self, request, model_admin):
        return [("active", "Active"), ("revoked", "Revoked"), ("expired", "Expired")]

    def queryset(self, request, queryset):
        now = timezone.now()
        if self.value() == "active":
            return queryset.filter(revoked_at__isnull=True, refresh_expires_at__gt=now)
        if self.value() == "revoked":
            return queryset.filter(revoked_at__isnull=False)
        if self.value() == "expired":
            return queryset.filter(Q(revoked_at__isnull=True) & Q(refresh_expires_at__lte=now))
        return queryset


@admin.register(DeviceSession)
class DeviceSessionAdmin(admin.ModelAdmin):
    list_display = (
        "user",
        "name",
        "device_id",
        "ip_address",
        "created_at",
        "last_used_at",
        "status",
    )
    list_filter = (SessionStatusFilter, "revoke_reason")
    search_fields = ("user__username", "user__email", "device_id", "name")
    list_select_related = ("user",)
    actions = ["revoke_selected"]
    exclude = _REFRESH_IDS
    readonly_fields = [f.name for f in DeviceSession._meta.fields if f.name not in _REFRESH_IDS]

    @admin.display(description="status")
    def status(self, session):
        return session_status(session)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        # Viewable; changes go through the revoke action only.
        return False

    def has_revoke_permission(self, request):
        return request.user.has_perm("accounts.change_devicesession")

    @admin.action(description="Revoke selected sessions", permissions=["revoke"])
    def revoke_selected(self, request, queryset):
        actor = request.user.get_username()
        count = sum(
            sessions.revoke_session(session, reason=Reason.ADMIN, actor=actor, request=request)
            for session in queryset.filter(revoked_at__isnull=True)
        )
        self.message_user(request, f"Revoked {count} device session(s).", messages.SUCCESS)


@admin.register(AuthEvent)
class AuthEventAdmin(admin.ModelAdmin):
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
