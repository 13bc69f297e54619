"""The scopes an API key can carry: one registry, checked everywhere a scope is named.

The kit declares the scopes of its own service routes in `SCOPES`; a product adds its own
in settings (`API_KEY_EXTRA_SCOPES = {"orders:read": "Read orders"}`) without touching this
file. A key's scopes, the admin's choices, the `create_api_key` command and every
`HasScope("...")` are all validated against `declared_scopes()`, so a typo fails loudly
instead of silently granting or denying.
"""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

SCOPES = {
    "tokens:introspect": "Introspect access and refresh tokens (RFC 7662)",
    "users:read": "Read a user's profile by id",
    "sessions:revoke": "Revoke all device sessions of a user",
}


def declared_scopes() -> dict[str, str]:
    """Scope name -> description: the kit's scopes plus the product's own."""
    return {**SCOPES, **getattr(settings, "API_KEY_EXTRA_SCOPES", {})}


def validate_scopes(value: object) -> None:
    """A non-empty list of distinct, declared scope names."""
    if not isinstance(value, list) or not value:
        raise ValidationError(_("Choose at least one scope."), code="invalid")
    known = declared_scopes()
    unknown = sorted({s for s in value if not isinstance(s, str) or s not in known}, key=str)
    if unknown:
        raise ValidationError(
            _("Unknown scope(s): %(unknown)s. Declared: %(known)s."),
            code="unknown_scope",
            params={"unknown": ", ".join(map(str, unknown)), "known": ", ".join(sorted(known))},
        )
    if len(set(value)) != len(value):
        raise ValidationError(_("A scope is listed twice."), code="duplicate_scope")
