"""OpenAPI pieces shared by the API views, and the hook that finishes /api/schema/.

Views declare what is particular to them: their bodies, their success answers and, with
`error([...])`, the error `code`s each status may carry. `postprocess_schema` (registered
in SPECTACULAR_SETTINGS) derives the rest from the contract's conventions, so that no view
repeats them and a generated client (docs/clients.md) needs no workaround:

- one schema per meaning of an error body: `Error` for the plain `{"code", "detail"}`,
  its own schema (a `code` enum) for a body with extra fields or a shape of its own, and a
  `oneOf` with a discriminator on `code` where one status has several;
- 400 `bad_request` on every route (a request Django refuses before any view) and
  `parse_error` where there is a body; 405 everywhere; 413 `payload_too_large` on unsafe
  methods; 415 where there is a body; 503 `service_unavailable` on every route that uses
  the database (a view says `extensions=NO_DATABASE` when it does not);
- `Retry-After` on every 429;
- readable operation ids (camelCase), public routes without `security`, the tags'
  descriptions.
"""

import re
from collections.abc import Iterable, Mapping
from copy import deepcopy
from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse


class BearerAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "api.authentication.BearerAuthentication"
    name = "Bearer"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": "An access token from POST /api/v1/auth/token/.",
        }


class SessionAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "api.authentication.SessionAuthentication"
    name = "Session"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
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

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return {
            "type": "apiKey",
            "in": "cookie",
            "name": "access_token",
            "description": "The HttpOnly access-token cookie of POST "
            "/api/v1/auth/cookie/login/; unsafe methods need the X-CSRFToken header.",
        }


# --- error bodies -----------------------------------------------------------------------

_REF = "#/components/schemas/"


def _error_schema(
    description: str,
    codes: Iterable[str] | None = None,
    required: Iterable[str] = (),
    **extra_properties: Any,
) -> dict[str, Any]:
    code: dict[str, Any] = {
        "type": "string",
        "description": "Stable error code; clients branch on it.",
    }
    if codes:
        code["enum"] = list(codes)
    return {
        "type": "object",
        "description": description,
        "properties": {
            "code": code,
            "detail": {"type": "string", "description": "Human-readable explanation."},
            **extra_properties,
        },
        "required": ["code", "detail", *required],
    }


# The error bodies of api/exceptions.py. `Error` is every plain body; the others are the
# bodies with a shape of their own, each with its codes (so a client parsing a `oneOf`
# picks the right one by `code`).
ERROR_SCHEMAS = {
    "Error": _error_schema("An API error: branch on `code`."),
    "ValidationError": _error_schema(
        "A body the route refuses, field by field.",
        codes=["invalid"],
        required=["errors"],
        errors={
            "type": "object",
            "additionalProperties": {"type": "array", "items": {"type": "string"}},
            "description": 'Messages per request field, e.g. {"new_password": ["..."]}; '
            "`non_field_errors` for the body as a whole.",
        },
    ),
    "BadRequestError": _error_schema(
        "`parse_error`: a body that is not JSON (or nested deeper than the parser takes); "
        "`bad_request`: a request Django refuses before any view (a Host outside "
        "ALLOWED_HOSTS).",
        codes=["parse_error", "bad_request"],
    ),
    "CsrfFailedError": _error_schema(
        "A cookie-authenticated unsafe request (or a cookie route) without the X-CSRFToken "
        "header matching the csrftoken cookie.",
        codes=["csrf_failed"],
    ),
    "MfaStepUpError": _error_schema(
        "The caller signed in without a second factor (its `amr` lacks `mfa`) and the "
        "route needs one (RequiresMFA, or a change of the second factors of an account "
        "that has one): sign in again with a second factor.",
        codes=["mfa_required_for_route"],
    ),
    "DeviceLimitError": _error_schema(
        "The user has ACCOUNTS_MAX_DEVICES active sessions (policy `reject`).",
        codes=["device_limit_reached"],
        required=["devices"],
        devices={
            "type": "array",
            "description": "The active sessions, so the app can offer to sign one out "
            "(`revoke_device_id`).",
            "items": {
                "type": "object",
                "properties": {
                    "id": {"type": "string", "format": "uuid"},
                    "name": {"type": "string"},
                    "last_used_at": {"type": "string", "format": "date-time"},
                },
                "required": ["id", "name", "last_used_at"],
            },
        },
    ),
    "InvalidCredentialsError": _error_schema(
        "A sign-in refused: unknown user, inactive user or wrong password (one answer).",
        codes=["invalid_credentials"],
    ),
    "MfaRequiredError": _error_schema(
        "The password was right and the account has a second factor: no session is open "
        "yet. Send `mfa_token` and a code to the route's `.../mfa/` twin.",
        codes=["mfa_required"],
        required=["mfa_token", "methods"],
        mfa_token={
            "type": "string",
            "description": "Single-use; expires after ACCOUNTS_MFA_TOKEN_SECONDS (300).",
        },
        methods={
            "type": "array",
            "items": {"type": "string", "enum": ["totp", "recovery_code", "webauthn"]},
            "description": "The second factors the account has.",
        },
    ),
    "EmailUnverifiedError": _error_schema(
        "The account's e-mail address is not verified yet (ACCOUNTS_EMAIL_VERIFICATION "
        "mandatory): no session was opened.",
        codes=["email_unverified"],
    ),
    "SocialTokenInvalidError": _error_schema(
        "A social sign-in refused: an unknown provider, a bad ID token (signature, "
        "algorithm, issuer, audience, expiry, nonce), an inactive account, or no account "
        "while sign-up is closed (one code for all; `detail` may say more).",
        codes=["social_token_invalid"],
    ),
    "InsufficientScopeError": _error_schema(
        "The API key lacks the route's scope.",
        codes=["insufficient_scope"],
        required=["required_scope"],
        required_scope={"type": "string", "description": "The scope the route needs."},
    ),
}
SCHEMA_OF_CODE = {
    code: name
    for name, schema in ERROR_SCHEMAS.items()
    for code in schema["properties"]["code"].get("enum", [])
}

_CODES = re.compile(r"^`code`: ((?:`\w+`(?:, )?)+)")


def error(codes: Iterable[str], detail: str = "") -> OpenApiResponse:
    """A documented error response: `codes` is the list of `code` values it may carry
    (the hook gives it the schema those codes have); `detail` says more."""
    description = "`code`: " + ", ".join(f"`{c}`" for c in codes)
    if detail:
        description += ". " + detail
    return OpenApiResponse({"$ref": _REF + "Error"}, description=description)


def codes_of(response: Mapping[str, Any]) -> list[str]:
    """The `code` values a response of the schema declares (what `error()` wrote)."""
    match = _CODES.match(response.get("description", ""))
    return re.findall(r"`(\w+)`", match.group(1)) if match else []


INVALID = error(["invalid"], "Field errors in `errors`.")

# extend_schema(extensions=NO_DATABASE): the route answers without the database (no 503).
NO_DATABASE = {"x-no-database": True}

# A response header: OpenApiParameter(..., response=[statuses]).
SET_COOKIE = "Set-Cookie"


def set_cookie_header(description: str, statuses: list[int]) -> OpenApiParameter:
    return OpenApiParameter(
        SET_COOKIE,
        type=str,
        location=OpenApiParameter.HEADER,
        response=statuses,
        description=description,
    )


# --- the hook ---------------------------------------------------------------------------

TAGS = [
    ("auth", "Device sessions and Bearer tokens for mobile apps (docs/mobile.md)."),
    (
        "cookies",
        "The same sessions with the tokens in HttpOnly cookies, for browser apps "
        "(docs/browser-apps.md).",
    ),
    ("account", "Password change, reset and sign-up."),
    ("me", "The signed-in user."),
    ("devices", "The signed-in user's device sessions."),
    ("mfa", "The signed-in user's second factors: TOTP, recovery codes, passkeys (docs/mfa.md)."),
    ("service", "Routes for other backends, with an API key (docs/services.md)."),
    ("keys", "The public keys that verify the kit's tokens (docs/signing-keys.md)."),
    ("meta", "Where the API's description lives."),
]

_BODY_METHODS = {"post", "put", "patch"}
_RETRY_AFTER = {
    "Retry-After": {
        "schema": {"type": "integer"},
        "required": True,
        "description": "Seconds to wait before trying again.",
    }
}
# The statuses every route may answer, by what the route is: (status, codes, applies).
_CONVENTIONS = [
    ("400", ["bad_request"], lambda method, op: True),
    ("400", ["parse_error"], lambda method, op: "requestBody" in op),
    ("405", ["method_not_allowed"], lambda method, op: True),
    ("413", ["payload_too_large"], lambda method, op: method in _BODY_METHODS),
    ("415", ["unsupported_media_type"], lambda method, op: "requestBody" in op),
    ("503", ["service_unavailable"], lambda method, op: not op.get("x-no-database")),
]


def _camel(operation_id: str) -> str:
    first, *rest = operation_id.split("_")
    return first + "".join(word[:1].upper() + word[1:] for word in rest)


def _error_response(codes: list[str], description: str) -> dict[str, Any]:
    """The response for these codes: one schema, or a oneOf discriminated by `code`."""
    names = list(dict.fromkeys(SCHEMA_OF_CODE.get(code, "Error") for code in codes))
    if len(names) == 1:
        schema: dict[str, Any] = {"$ref": _REF + names[0]}
    else:
        plain = [c for c in codes if c not in SCHEMA_OF_CODE]
        if plain:
            raise ValueError(
                f"codes {plain} share a status with codes of their own schema: give them "
                "one in api/openapi.py ERROR_SCHEMAS"
            )
        schema = {
            "oneOf": [{"$ref": _REF + name} for name in names],
            "discriminator": {
                "propertyName": "code",
                "mapping": {code: _REF + SCHEMA_OF_CODE[code] for code in codes},
            },
        }
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _describe(codes: Iterable[str], detail: str) -> str:
    text = "`code`: " + ", ".join(f"`{c}`" for c in codes)
    return f"{text}. {detail}" if detail else text


def _finish_responses(method: str, operation: dict[str, Any]) -> None:
    responses = operation["responses"]
    for status, codes, applies in _CONVENTIONS:
        if applies(method, operation):
            existing = responses.get(status)
            have = codes_of(existing) if existing else []
            detail = _CODES.sub("", existing["description"]).lstrip(". ") if existing else ""
            merged = list(dict.fromkeys([*have, *codes]))
            responses[status] = {"description": _describe(merged, detail)}
    for status, response in responses.items():
        codes = codes_of(response)
        if status >= "400" and codes:
            response.update(_error_response(codes, response["description"]))
        if status == "429":
            response["headers"] = {**response.get("headers", {}), **deepcopy(_RETRY_AFTER)}
    operation["responses"] = dict(sorted(responses.items()))


def postprocess_schema(
    result: dict[str, Any], generator: Any, request: Any, public: bool
) -> dict[str, Any]:
    """SPECTACULAR_SETTINGS["POSTPROCESSING_HOOKS"]: see the module docstring."""
    for methods in result["paths"].values():
        for method, operation in methods.items():
            if "_" in operation["operationId"]:
                operation["operationId"] = _camel(operation["operationId"])
            if operation.get("security") == [{}]:
                # drf-spectacular's mark of a public route (AllowAny, no authentication
                # classes), which generators read as "needs credentials": public is none.
                del operation["security"]
            _finish_responses(method, operation)
            operation.pop("x-no-database", None)
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas.update(deepcopy(ERROR_SCHEMAS))
    result["components"]["schemas"] = dict(sorted(schemas.items()))
    used = {
        tag
        for methods in result["paths"].values()
        for op in methods.values()
        for tag in op.get("tags", [])
    }
    result["tags"] = [{"name": n, "description": d} for n, d in TAGS if n in used] + [
        {"name": n} for n in sorted(used - {n for n, _ in TAGS})
    ]
    return result
