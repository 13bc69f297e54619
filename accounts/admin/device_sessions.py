from django.contrib import admin, messages
from django.db.models import Q, Value
from django.db.models.functions import Lower
from django.db.models.lookups import Exact
from django.forms.models import BaseInlineFormSet
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.text import smart_split, unescape_string_literal

from accounts.admin.base import KitModelAdmin, may_act_on, may_revoke_sessions, refuse_superusers
from accounts.devices import sessions
from accounts.models import DeviceSession, User

Reason = DeviceSession.RevokeReason
# Never shown: knowing the current refresh `jti` helps nobody but a forger.
_REFRESH_IDS = ("refresh_jti", "previous_refresh_jti")
# Live sessions listed on a user's page; the rest are one link away (the filtered list).
LIVE_SESSIONS_SHOWN = 20


class LiveSessionsFormSet(BaseInlineFormSet):
    """At most LIVE_SESSIONS_SHOWN rows: a user with thousands of sessions (a test rig, a
    shared login) keeps a light page; the user page links to the full list."""

    @cached_property
    def shown(self):
        return super().get_queryset()[:LIVE_SESSIONS_SHOWN]

    def get_queryset(self):
        return self.shown


class DeviceSessionInline(admin.TabularInline):
    """The user's live device sessions, most recently used first, read-only (revoke them
    with the actions); the ended ones are in the device-session list."""

    model = DeviceSession
    formset = LiveSessionsFormSet
    verbose_name_plural = "live device sessions"
    extra = 0
    can_delete = False
    show_change_link = True
    ordering = ["-last_used_at"]
    fields = ("name", "device_id", "ip_address", "created_at", "last_used_at", "status")
    readonly_fields = fields

    def get_queryset(self, request):
        live = Q(revoked_at__isnull=True, refresh_expires_at__gt=timezone.now())
        return super().get_queryset(request).filter(live)

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description="status")
    def status(self, session):
        return session_status(session)


def user_ids_named(term: str) -> list:
    """The users whose username or e-mail address is `term`, in any case: through the
    LOWER() unique indexes of accounts.models.User (at most two rows)."""
    name = Lower(Value(term))
    named = Q(Exact(Lower("username"), name)) | (~Q(email="") & Q(Exact(Lower("email"), name)))
    return list(User.objects.filter(named).values_list("pk", flat=True))


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
    # Exact matches, each through an index (3M rows): see get_search_results.
    search_fields = ("=user__username", "=user__email", "device_id")
    search_help_text = "Exact match: a username or e-mail address (any case), or a device id."
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

    def get_search_results(self, request, queryset, search_term):
        """Each word: the sessions of the user it names or of the device it names. The
        user is looked up first (an indexed query), so the session query is an OR of two
        indexed lookups on its own table, not a scan of every session joined to its user.
        """
        for word in smart_split(search_term):
            if word[0] in "\"'" and word[0] == word[-1]:
                word = unescape_string_literal(word)
            queryset = queryset.filter(Q(user_id__in=user_ids_named(word)) | Q(device_id=word))
        return queryset, False

    @admin.action(description="Revoke selected sessions", permissions=["revoke_sessions"])
    def revoke_selected(self, request, queryset):
        """All of them at once: one UPDATE, one INSERT of the audit rows (accounts.devices.
        sessions.revoke_sessions), however many are selected."""
        live = queryset.filter(revoked_at__isnull=True)
        owners = User.objects.filter(pk__in=live.values("user_id"), is_superuser=True)
        if refuse_superusers(self, request, owners):
            return
        count = sessions.revoke_sessions(
            live.values("pk"),
            reason=Reason.ADMIN,
            actor=request.user.get_username(),
            request=request,
        )
        self.message_user(request, f"Revoked {count} device session(s).", messages.SUCCESS)

    def delete_model(self, request, obj):
        self._revoke(request, obj)
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        # The rows chosen now: the list's default filter (active) would drop them once revoked.
        queryset = self.model.objects.filter(pk__in=list(queryset.values_list("pk", flat=True)))
        sessions.revoke_sessions(
            queryset.values("pk"),
            reason=Reason.ADMIN,
            actor=request.user.get_username(),
            request=request,
        )
        super().delete_queryset(request, queryset)

    def _revoke(self, request, session):
        """Revoke through accounts.devices.sessions: the cached state follows before a delete."""
        return sessions.revoke_session(
            session, reason=Reason.ADMIN, actor=request.user.get_username(), request=request
        )
