"""OpenAPI pieces shared by the API views: the Bearer scheme and error responses."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import OpenApiResponse

from api.serializers.errors import ErrorSerializer, ValidationErrorSerializer


class BearerAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "api.authentication.BearerAuthentication"
    name = "Bearer"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": "An access token from POST /api/v1/auth/token/.",
        }


class SessionAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "api.authentication.SessionAuthentication"
    name = "Session"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "cookie",
            "name": "sessionid",
            "description": "The Django session of the HTML sign-in; unsafe methods need "
            "the X-CSRFToken header.",
        }


class CookieAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "api.authentication.CookieAuthentication"
    name = "AccessCookie"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "cookie",
            "name": "access_token",
            "description": "The HttpOnly access-token cookie of POST "
            "/api/v1/auth/cookie/login/; unsafe methods need the X-CSRFToken header.",
        }


def error(codes, serializer=ErrorSerializer):
    """A documented error response: `codes` is the list of `code` values it may carry."""
    return OpenApiResponse(serializer, description="`code`: " + ", ".join(f"`{c}`" for c in codes))


INVALID = OpenApiResponse(
    ValidationErrorSerializer,
    description="`code`: `invalid` (field errors in `errors`) or `parse_error` (not JSON).",
)
