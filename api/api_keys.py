"""What a service route needs: API-key authentication, scope permissions, a base view.

A service route takes an API key and nothing else (a JWT or a browser session is not
a key: 401 `api_key_missing`). Copy `api/views/service.py`:

    class OrdersView(ServiceView):
        permission_classes = [HasScope("orders:read")]

A request authenticated by a key has `request.auth` = the ApiKey and `request.user` =
AnonymousUser: a key never acts as its owner, so `IsAuthenticated` and every user route
stay closed to keys.
"""

import functools
from typing import Any, cast

from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework.authentication import BaseAuthentication
from rest_framework.exceptions import AuthenticationFailed, PermissionDenied
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.views import APIView

from accounts.apikeys.keys import authenticate_api_key
from accounts.apikeys.scopes import declared_scopes
from accounts.models import ApiKey
from api.exceptions import as_api_exceptions


class InsufficientScope(PermissionDenied):
    default_code = "insufficient_scope"


def api_key_from_headers(request: Request) -> str | None:
    """The key sent as `X-API-Key: <key>` or `Authorization: Api-Key <key>`, or None.

    Both headers with different keys are ambiguous: refused as an invalid key."""
    header_key = request.META.get("HTTP_X_API_KEY", "").strip()
    scheme, _, credentials = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    authorization_key = credentials.strip() if scheme.lower() == "api-key" else ""
    if header_key and authorization_key and header_key != authorization_key:
        raise AuthenticationFailed(
            gettext_lazy("Two different API keys were sent; send one."), code="api_key_invalid"
        )
    return header_key or authorization_key or None


class ApiKeyAuthentication(BaseAuthentication):
    """Authenticates `X-API-Key` / `Authorization: Api-Key`; `request.auth` is the ApiKey.

    A client address that has sent too many bad keys gets 429 `throttled` (Retry-After)."""

    def authenticate(self, request: Request) -> tuple[AnonymousUser, ApiKey] | None:
        raw_key = api_key_from_headers(request)
        if raw_key is None:
            return None
        with as_api_exceptions():  # ApiKeyInvalid 401, ApiKeyThrottled 429 throttled
            api_key = authenticate_api_key(raw_key, request=request)
        return (AnonymousUser(), api_key)

    def authenticate_header(self, request: Request) -> str:
        return 'Api-Key realm="api"'


class HasApiKey(BasePermission):
    """Any valid API key. Without one (no key, or a JWT or session instead): 401."""

    def has_permission(self, request: Request, view: APIView) -> bool:
        if not isinstance(request.auth, ApiKey):
            raise AuthenticationFailed(
                gettext_lazy("This route needs an API key (X-API-Key or Authorization: Api-Key)."),
                code="api_key_missing",
            )
        return True


@functools.cache
def HasScope(scope: str) -> type[HasApiKey]:  # noqa: N802 - reads as a permission class where routes declare it
    """The permission class for keys carrying `scope`; 403 `insufficient_scope` otherwise.

    An undeclared scope raises ImproperlyConfigured when the route module is imported, so
    a typo stops start-up instead of locking out (or letting in) every caller."""
    if scope not in declared_scopes():
        raise ImproperlyConfigured(
            f"HasScope({scope!r}): undeclared scope. Declare it in accounts.apikeys.scopes.SCOPES "
            "or settings.API_KEY_EXTRA_SCOPES."
        )

    class _HasScope(HasApiKey):
        required_scope = scope

        def has_permission(self, request: Request, view: APIView) -> bool:
            super().has_permission(request, view)
            api_key = cast(ApiKey, request.auth)  # HasApiKey checked it is one
            if scope not in api_key.scopes:
                raise InsufficientScope(
                    {
                        "detail": gettext_lazy("This API key lacks the scope %(scope)s.")
                        % {"scope": scope},
                        "required_scope": scope,
                    }
                )
            return True

    _HasScope.__name__ = _HasScope.__qualname__ = f"HasScope({scope!r})"
    return _HasScope


class ServiceView(APIView):
    """Base of every service route: an API key and nothing else; any valid key passes
    unless the route declares `permission_classes = [HasScope("...")]`."""

    authentication_classes = [ApiKeyAuthentication]
    permission_classes = [HasApiKey]


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    """Documents the two ways of sending a key in the OpenAPI schema (either one)."""

    target_class = ApiKeyAuthentication
    name = ["ApiKeyHeader", "ApiKeyAuthorization"]

    def get_security_requirement(self, auto_schema: Any) -> list[dict[str, list[str]]]:
        return [{"ApiKeyHeader": []}, {"ApiKeyAuthorization": []}]

    def get_security_definition(self, auto_schema: Any) -> list[dict[str, str]]:
        return [
            {"type": "apiKey", "in": "header", "name": "X-API-Key"},
            {
                "type": "apiKey",
                "in": "header",
                "name": "Authorization",
                "description": "`Api-Key <key>`",
            },
        ]
