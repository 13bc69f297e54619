from django.contrib import admin, messages
from django.db.models import Q
from django.utils import timezone

from accounts.admin.base import KitModelAdmin, may_act_on, may_revoke_sessions, refuse_superusers
from accounts.devices import sessions
from accounts.models import DeviceSession

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


class SessionStatusFilter(admin.SimpleListFilter):
    """Active only unless another status (or all) is chosen: the live sessions are what an
    operator looks for, and the ended ones outnumber them by far."""

    title = "status"
    parameter_name = "status"

    def lookups(self, request, model_admin):
        return [
            ("active", "Active"),
            ("revoked", "Revoked"),
            ("expired", "Expired"),
            ("all", "All"),
        ]

    def value(self):
        return super().value() or "active"

    def choices(self, changelist):
        for lookup, title in self.lookup_choices:
            yield {
                "selected": self.value() == lookup,
                "query_string": changelist.get_query_string({self.parameter_name: lookup}),
                "display": title,
            }

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
class DeviceSessionAdmin(KitModelAdmin):
    """Sessions are listed and revoked; deleting one (rights permitting) revokes it first."""

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

    def has_delete_permission(self, request, obj=None):
        # Django asks this for each session deleted, alone or with its user.
        return super().has_delete_permission(request, obj) and may_act_on(request, obj and obj.user)

    def has_revoke_sessions_permission(self, request):
        return may_revoke_sessions(request)

    @admin.action(description="Revoke selected sessions", permissions=["revoke_sessions"])
    def revoke_selected(self, request, queryset):
        live = list(queryset.filter(revoked_at__isnull=True).select_related("user"))
        if refuse_superusers(self, request, [session.user for session in live]):
            return
        count = sum(self._revoke(request, session) for session in live)
        self.message_user(request, f"Revoked {count} device session(s).", messages.SUCCESS)

    def delete_model(self, request, obj):
        self._revoke(request, obj)
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        # The rows chosen now: the list's default filter (active) would drop them once revoked.
        queryset = self.model.objects.filter(pk__in=list(queryset.values_list("pk", flat=True)))
        for session in queryset.filter(revoked_at__isnull=True):
            self._revoke(request, session)
        super().delete_queryset(request, queryset)

    def _revoke(self, request, session):
        """Revoke through accounts.devices.sessions: the cached state follows before a delete."""
        return sessions.revoke_session(
            session, reason=Reason.ADMIN, actor=request.user.get_username(), request=request
        )
