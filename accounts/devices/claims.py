"""Extra access-token claims (ACCOUNTS["TOKEN_CLAIMS"]) and the kit's default function.

The setting is the dotted path of `function(user) -> dict`. Its claims are added to every
access token at sign-in and at refresh. The claims the kit writes itself are reserved: a
function returning one of them is a configuration error (ImproperlyConfigured), never a
silent override, because a product must not be able to grant itself `is_superuser` or
move a token to another session by accident.

Claims that grant rights are safe to trust only because of `rv`: a rights change bumps
the user's rights_version (accounts.devices.rights) and older access tokens are refused as stale.
"""

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from accounts.conf import kit_settings
from accounts.devices.ip_binding import CLIENT_IP_CLAIM

if TYPE_CHECKING:
    from accounts.models import User

RESERVED_CLAIMS = frozenset(
    {
        # JWT and simplejwt
        "token_type",
        "exp",
        "iat",
        "nbf",
        "jti",
        "iss",
        "aud",
        "sub",
        # the kit's (accounts.devices.tokens)
        "sid",
        "rv",
        "username",
        "is_staff",
        "is_superuser",
        CLIENT_IP_CLAIM,
    }
)


def _claims_function() -> Callable[["User"], Any] | None:
    path = kit_settings.TOKEN_CLAIMS
    if not path:
        return None
    try:
        function: Callable[[User], Any] = import_string(path)
        return function
    except ImportError as exc:
        raise ImproperlyConfigured(f"ACCOUNTS_TOKEN_CLAIMS: cannot import {path!r}.") from exc


def extra_claims(user: "User") -> dict[str, Any]:
    """The configured function's claims for `user`, checked; {} when none is configured."""
    function = _claims_function()
    if function is None:
        return {}
    claims = function(user)
    if not isinstance(claims, dict):
        raise ImproperlyConfigured(
            f"ACCOUNTS_TOKEN_CLAIMS: {kit_settings.TOKEN_CLAIMS} must return a dict."
        )
    reserved = sorted(RESERVED_CLAIMS.intersection(claims))
    if reserved:
        raise ImproperlyConfigured(
            f"ACCOUNTS_TOKEN_CLAIMS: {kit_settings.TOKEN_CLAIMS} returned reserved "
            f"claim(s) {', '.join(reserved)}; the kit writes these itself."
        )
    try:
        json.dumps(claims)
    except (TypeError, ValueError) as exc:
        raise ImproperlyConfigured(
            f"ACCOUNTS_TOKEN_CLAIMS: {kit_settings.TOKEN_CLAIMS} returned claims "
            "that are not JSON (use strings, numbers, lists, dicts)."
        ) from exc
    return claims


def permissions_and_roles(user: "User") -> dict[str, list[str]]:
    """`permissions` ("app.codename", sorted) and `roles` (group names, sorted).

    A superuser has every permission (Django's rule), so the list stays empty for them and
    api.permissions.HasPermission answers from `is_superuser`: tokens stay small.
    """
    permissions = [] if user.is_superuser else sorted(user.get_all_permissions())
    roles = sorted(user.groups.values_list("name", flat=True))
    return {"permissions": permissions, "roles": roles}
