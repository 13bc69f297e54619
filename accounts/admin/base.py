"""What every kit admin shares: no secret-derived column reachable from a URL, and the rule
that only a superuser may end a superuser's sessions."""

from django.contrib import admin, messages
from django.core.exceptions import FieldDoesNotExist
from django.db.models.constants import LOOKUP_SEP

from accounts.admin.pagination import EstimatedCountPaginator
from accounts.models import ApiKey, DeviceSession, User

# Columns derived from a secret. Django lets a changelist's querystring filter on any local
# field (`?hashed_secret__startswith=ab`), which answers "does this prefix match?": an
# oracle that reads a hash or a refresh `jti` character by character. None of them may be
# filtered, searched, listed or shown.
SECRET_FIELDS = frozenset(
    {
        (User, "password"),
        (DeviceSession, "refresh_jti"),
        (DeviceSession, "previous_refresh_jti"),
        (ApiKey, "hashed_secret"),
    }
)


def reaches_secret(model, lookup: str) -> bool:
    """Whether a lookup path (`user__password__startswith`) reads a secret-derived column
    on its way, through relations in either direction."""
    for part in lookup.split(LOOKUP_SEP):
        try:
            field = model._meta.get_field(part)
        except FieldDoesNotExist:
            return False  # the rest is a transform or a lookup type (startswith, exact, ...)
        if (field.model, field.name) in SECRET_FIELDS:
            return True
        if field.related_model is None:
            return False
        model = field.related_model
    return False


class KitModelAdmin(admin.ModelAdmin):
    """The base of every kit ModelAdmin (a mixin before Django's UserAdmin for users).

    At production size (millions of rows, docs/performance.md) no changelist counts a
    whole table: a bounded count or the planner's estimate (EstimatedCountPaginator), no
    unfiltered total beside it, no facet counts."""

    paginator = EstimatedCountPaginator
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER

    def lookup_allowed(self, lookup, value, request=None):
        # A refused lookup is a 400 (DisallowedModelAdminLookup) whatever the value: no signal.
        if reaches_secret(self.model, lookup):
            return False
        return super().lookup_allowed(lookup, value, request)


def may_revoke_sessions(request) -> bool:
    """Ending device sessions (from the users or the sessions list) changes DeviceSession rows."""
    return request.user.has_perm("accounts.change_devicesession")


def may_act_on(request, user) -> bool:
    """Only a superuser may change, delete or sign out a superuser: anything less could end
    the sessions of, or lock out, the people who hold every right."""
    return user is None or not user.is_superuser or request.user.is_superuser


def refuse_superusers(model_admin, request, users) -> bool:
    """True, after an error message, when a non-superuser's action would reach a superuser.

    The whole action is refused, not just the superusers skipped: a partial run is easy to
    misread as done."""
    names = sorted({u.get_username() for u in users if not may_act_on(request, u)})
    if not names:
        return False
    model_admin.message_user(
        request,
        "Only a superuser can end a superuser's sessions; nothing was changed "
        f"(superusers selected: {', '.join(names)}).",
        messages.ERROR,
    )
    return True
