import ipaddress
import uuid

from django.contrib import admin
from django.db.models import Q
from django.utils.text import smart_split, unescape_string_literal

from accounts.admin.base import KitModelAdmin
from accounts.models import AuthEvent


def audit_term_query(term: str) -> Q:
    """What one search word matches, each through an index of its own (20M rows, no
    substring scan): a session id, a client address, or a name or actor in any case."""
    try:
        return Q(session_id=uuid.UUID(term))
    except ValueError:
        pass
    try:
        return Q(ip_address=str(ipaddress.ip_address(term)))
    except ValueError:
        pass
    # `actor <> ''` lets the actor arm use its partial index (only rows with an actor).
    return Q(username__iexact=term) | (Q(actor__iexact=term) & ~Q(actor=""))


@admin.register(AuthEvent)
class AuthEventAdmin(KitModelAdmin):
    """The audit trail: read-only, append-only.

    At 20M rows (docs/performance.md): a date filter instead of a date hierarchy (whose
    year/month links read every row's date), and exact-match search."""

    list_display = ("created_at", "kind", "username", "actor", "ip_address", "session_id")
    list_filter = ("kind", "created_at")
    search_fields = ("=username", "=actor", "ip_address", "session_id")
    search_help_text = (
        "Exact match: a username or actor (any case), a client address or a session id."
    )

    def get_search_results(self, request, queryset, search_term):
        for word in smart_split(search_term):
            if word[0] in "\"'" and word[0] == word[-1]:
                word = unescape_string_literal(word)
            queryset = queryset.filter(audit_term_query(word))
        return queryset, False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
