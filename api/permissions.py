"""Permission classes that decide from the access token's claims, without a query.

    permission_classes = [HasPermission("billing.view_invoice")]
    permission_classes = [IsStaff]
    permission_classes = [IsAuthenticated, RequiresMFA]

On a JWT request `request.user` is a ClaimsUser: `is_staff`, `is_superuser` and (with
ACCOUNTS_TOKEN_CLAIMS = "accounts.devices.claims.permissions_and_roles") `permissions` come from
the token, which is refused as `token_stale` once the user's rights change, so the claims
are as fresh as the database. Without a `permissions` claim HasPermission asks the
database (user.has_perm: correct, one or two queries). On a browser-session request the
user row answers, as usual.

They fail closed: `HasPermission()` without a permission, or one not written
"app_label.codename", raises when the module defining the view is imported, and listing
the class itself (`[HasPermission]`) is a system-check error (api.E001) at start-up,
never a silently public route. Anonymous callers get 401, signed-in ones without the right
403 `permission_denied`.
"""

import re
from collections.abc import Iterable, Iterator
from typing import Any, Self

from django.core.checks import Error, register
from django.utils.translation import gettext_lazy as _
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.views import APIView

from accounts.auth import request_amr

_PERMISSION = re.compile(r"^[\w-]+\.[\w-]+$")


class ClaimPermission(BasePermission):
    """A DRF permission usable as a class or as an instance in permission_classes (DRF
    calls each entry: an instance returns itself)."""

    def __call__(self) -> Self:
        return self


class HasPermission(ClaimPermission):
    """Every one of these permissions ("app_label.codename"); a superuser has them all."""

    def __init__(self, *permissions: str) -> None:
        if not permissions:
            raise TypeError('HasPermission needs at least one "app_label.codename".')
        for permission in permissions:
            if not isinstance(permission, str) or not _PERMISSION.match(permission):
                raise ValueError(f'HasPermission: {permission!r} is not "app_label.codename".')
        self.permissions = frozenset(permissions)

    def has_permission(self, request: Request, view: APIView) -> bool:
        user = request.user
        if not (user and user.is_authenticated and user.is_active):
            return False
        if user.is_superuser:
            return True
        token = getattr(user, "token", None)
        granted = token.get("permissions") if token is not None else None
        if isinstance(granted, list):
            return self.permissions.issubset(granted)
        return user.has_perms(self.permissions)

    def __repr__(self) -> str:
        return f"HasPermission({', '.join(map(repr, sorted(self.permissions)))})"


class IsStaff(ClaimPermission):
    """Staff members (the `is_staff` claim on a JWT request)."""

    def has_permission(self, request: Request, view: APIView) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and user.is_active and user.is_staff)


class RequiresMFA(ClaimPermission):
    """Routes that need a second factor in this very sign-in (step-up): 403
    `mfa_required_for_route` unless the access token's `amr` holds "mfa" (a sign-in with
    a TOTP or recovery code, or a user-verified passkey). On a browser-session request the
    session's own amr answers (accounts.auth.session_amr: the HTML sign-in records it), so
    a page user who signed in with a password alone is refused too. Anonymous callers get
    401, as with every permission here."""

    message = _("This route needs a sign-in with a second factor: sign in again with one.")
    code = "mfa_required_for_route"

    def has_permission(self, request: Request, view: APIView) -> bool:
        user = request.user
        if not (user and user.is_authenticated and user.is_active):
            return False
        return "mfa" in request_amr(request)


def _views(patterns: Iterable[Any]) -> Iterator[type]:
    for pattern in patterns:
        if hasattr(pattern, "url_patterns"):
            yield from _views(pattern.url_patterns)
        else:
            view = getattr(pattern.callback, "cls", None) or getattr(
                pattern.callback, "view_class", None
            )
            if view is not None:
                yield view


@register()
def check_permission_classes(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    """api.E001: a permission class that needs arguments listed without them."""
    from django.urls import get_resolver

    errors: list[Error] = []
    for view in _views(get_resolver().url_patterns):
        for entry in getattr(view, "permission_classes", ()):
            if isinstance(entry, type) and issubclass(entry, HasPermission):
                errors.append(
                    Error(
                        f"{view.__module__}.{view.__qualname__} lists the class "
                        f"{entry.__name__} in permission_classes.",
                        hint='Write HasPermission("app_label.codename"), an instance.',
                        obj=view,
                        id="api.E001",
                    )
                )
    return errors
