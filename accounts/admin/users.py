from allauth.mfa.models import Authenticator
from django.contrib import admin, messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.http import urlencode

from accounts.admin import device_sessions as device_sessions_admin
from accounts.admin.base import KitModelAdmin, may_act_on, may_revoke_sessions, refuse_superusers
from accounts.admin.device_sessions import DeviceSessionInline, Reason
from accounts.devices import sessions
from accounts.mfa.reset import mfa_factors_reset
from accounts.models import User


@admin.register(User)
class UserAdmin(KitModelAdmin, DjangoUserAdmin):
    """Django's user admin, plus: a non-superuser cannot change, delete, set the password of,
    promote to superuser or end the sessions of a superuser."""

    list_display = ("username", "email", "first_name", "last_name", "is_active", "is_staff")
    list_filter = ("is_active", "is_staff", "is_superuser", "groups")
    search_fields = ("username", "email", "first_name", "last_name")
    inlines = [DeviceSessionInline]
    actions = ["revoke_all_sessions", "reset_second_factors"]

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

    def get_urls(self):
        return [
            path(
                "<path:object_id>/mfa-reset/",
                self.admin_site.admin_view(self.mfa_reset_view),
                name="accounts_user_mfa_reset",
            ),
            *super().get_urls(),
        ]

    def _reset(self, request, users):
        """The reset (accounts.mfa.reset), the admin kept signed in when among `users`."""
        revoked = mfa_factors_reset(users=users, actor=request.user.get_username(), request=request)
        for user in users:
            if user.pk == request.user.pk:
                user.refresh_from_db(fields=["sessions_version"])
                update_session_auth_hash(request, user)
        return revoked

    def mfa_reset_view(self, request, object_id):
        """The "Reset second factors" button of a user's page: a confirmation page (GET),
        the reset (POST, CSRF-checked by the admin site)."""
        user = self.get_object(request, object_id)
        if user is None:
            raise Http404("No such user.")
        if not self.has_change_permission(request, user):
            raise PermissionDenied
        if request.method == "POST":
            revoked = self._reset(request, [user])
            self.message_user(
                request,
                f"The second factors of {user.get_username()} were reset; "
                f"{revoked} device session(s) revoked.",
                messages.SUCCESS,
            )
            return HttpResponseRedirect(reverse("admin:accounts_user_change", args=[user.pk]))
        context = {
            **self.admin_site.each_context(request),
            "title": "Reset second factors",
            "opts": self.opts,
            "original": user,
            "factors": Authenticator.objects.filter(user=user).order_by("type"),
        }
        return TemplateResponse(request, "admin/accounts/user/mfa_reset.html", context)

    @admin.action(description="Reset second factors", permissions=["change"])
    def reset_second_factors(self, request, queryset):
        """For every selected user at once (accounts.mfa.reset.mfa_factors_reset)."""
        users = list(queryset)
        if refuse_superusers(self, request, users):
            return
        revoked = self._reset(request, users)
        self.message_user(
            request,
            f"Reset the second factors of {len(users)} user(s); "
            f"{revoked} device session(s) revoked.",
            messages.SUCCESS,
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
