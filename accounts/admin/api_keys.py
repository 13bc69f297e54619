from django import forms
from django.contrib import admin, messages
from django.db.models import Q
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.text import smart_split, unescape_string_literal

from accounts.admin.base import KitModelAdmin
from accounts.admin.device_sessions import user_ids_named
from accounts.apikeys.keys import issue_api_key, revoke_api_key, save_api_key
from accounts.apikeys.scopes import declared_scopes
from accounts.models import ApiKey


class ApiKeyStatusFilter(admin.SimpleListFilter):
    title = "status"
    parameter_name = "status"

    def lookups(self, request, model_admin):
        return [("active", "Active"), ("expired", "Expired"), ("revoked", "Revoked")]

    def queryset(self, request, queryset):
        now = timezone.now()
        live = queryset.filter(revoked_at__isnull=True)
        if self.value() == "revoked":
            return queryset.filter(revoked_at__isnull=False)
        if self.value() == "expired":
            return live.filter(expires_at__lte=now)
        if self.value() == "active":
            return live.filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
        return queryset


class ApiKeyCreationForm(forms.ModelForm):
    scopes = forms.MultipleChoiceField(
        choices=lambda: [(name, f"{name}: {text}") for name, text in declared_scopes().items()],
        widget=forms.CheckboxSelectMultiple,
    )

    class Meta:
        model = ApiKey
        fields = ["name", "owner", "scopes", "expires_at"]


@admin.register(ApiKey)
class ApiKeyAdmin(KitModelAdmin):
    """Create (the key is shown once, on the page answering the save), list, revoke.

    Keys are revoked, never deleted: the audit trail refers to their prefixes."""

    list_display = (
        "name",
        "prefix",
        "owner",
        "scope_list",
        "expires_at",
        "last_used_at",
        "status_label",
        "created_at",
    )
    list_filter = (ApiKeyStatusFilter,)
    # Each through an index (see get_search_results).
    search_fields = ("name", "=prefix", "=owner__username")
    search_help_text = "Part of a name, or exactly a prefix or an owner's username or e-mail."
    list_select_related = ("owner",)
    autocomplete_fields = ("owner",)
    actions = ("revoke_selected",)

    def get_search_results(self, request, queryset, search_term):
        """Each word: part of the name (a trigram index on PostgreSQL), the prefix, or the
        owner it names (looked up first): an OR of indexed lookups on the keys' own table,
        not a scan of every key joined to its owner."""
        for word in smart_split(search_term):
            if word[0] in "\"'" and word[0] == word[-1]:
                word = unescape_string_literal(word)
            queryset = queryset.filter(
                Q(name__icontains=word) | Q(prefix=word) | Q(owner_id__in=user_ids_named(word))
            )
        return queryset, False

    @admin.display(description="scopes")
    def scope_list(self, obj):
        return ", ".join(obj.scopes)

    @admin.display(description="status")
    def status_label(self, obj):
        return obj.status

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = ApiKeyCreationForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fields(self, request, obj=None):
        if obj is None:
            return ApiKeyCreationForm.Meta.fields
        return ("name", "owner", *self.get_readonly_fields(request, obj))

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ()
        return (
            "prefix",
            "status_label",
            "scope_list",
            "created_at",
            "expires_at",
            "last_used_at",
            "revoked_at",
        )

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        if change:
            save_api_key(obj)
        else:
            # Kept on the instance for this request only, for response_add to show once.
            obj._raw_key = issue_api_key(obj, actor=request.user.get_username())

    def response_add(self, request, obj, post_url_continue=None):
        """The one page that ever shows the key: the answer to the saving POST."""
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "API key created",
            "api_key": obj,
            "raw_key": obj.__dict__.pop("_raw_key"),
        }
        # Admin views are never_cache: the page is sent with Cache-Control: no-store.
        return TemplateResponse(request, "admin/accounts/apikey/created.html", context)

    @admin.action(description="Revoke selected keys", permissions=["change"])
    def revoke_selected(self, request, queryset):
        actor = request.user.get_username()
        revoked = sum(revoke_api_key(key, actor=actor) for key in queryset.select_related("owner"))
        self.message_user(request, f"Revoked {revoked} API key(s).", messages.SUCCESS)
