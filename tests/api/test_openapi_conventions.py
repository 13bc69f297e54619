"""/api/schema/ as a client generator reads it (issue 20): readable operation ids, public
routes without `security`, one error schema per meaning, the conventional statuses and
headers on every route (api/openapi.py's hook), and each declaration true of the server."""

import re

import jsonschema
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from api.openapi import ERROR_SCHEMAS, SCHEMA_OF_CODE, codes_of

pytestmark = pytest.mark.django_db

PUBLIC = {
    "signIn",
    "refreshTokens",
    "verifyToken",
    "logout",
    "getCsrfCookie",
    "cookieSignIn",
    "cookieRefresh",
    "cookieLogout",
    "requestPasswordReset",
    "confirmPasswordReset",
    "signUp",
    "getJwks",
    "signInSecondFactor",
    "cookieSignInSecondFactor",
    "passkeySignInBegin",
    "passkeySignIn",
}


@pytest.fixture
def schema(api_client):
    response = api_client.get("/api/schema/?format=json")
    assert response.status_code == 200
    return response.json()


def _operations(schema):
    for path, methods in schema["paths"].items():
        for method, operation in methods.items():
            yield path, method, operation


def test_operation_ids_are_readable_and_unique(schema):
    ids = [op["operationId"] for _, _, op in _operations(schema)]
    assert len(ids) == len(set(ids))
    for operation_id in ids:
        assert re.fullmatch(r"[a-z][a-zA-Z0-9]*", operation_id), operation_id
    assert {
        "signIn",
        "refreshTokens",
        "verifyToken",
        "logout",
        "logoutAll",
        "listDevices",
        "revokeDevice",
        "getMe",
    } <= set(ids)


def test_every_operation_has_a_described_tag(schema):
    described = {tag["name"] for tag in schema["tags"] if tag.get("description")}
    for path, method, operation in _operations(schema):
        assert operation.get("tags"), (path, method)
        if path.startswith("/api/v1/"):
            assert set(operation["tags"]) <= described, (path, operation["tags"])


def test_public_operations_declare_no_security(schema):
    """`security: [{}]` (or `{}` among schemes) reads as "needs credentials" to
    openapi-python-client: a public route has no `security` at all."""
    by_id = {op["operationId"]: op for _, _, op in _operations(schema)}
    for operation_id in PUBLIC:
        assert "security" not in by_id[operation_id], operation_id
    for path, method, operation in _operations(schema):
        assert {} not in operation.get("security", []), (path, method)


def test_every_error_response_names_its_codes_and_the_schema_they_have(schema):
    for path, method, operation in _operations(schema):
        for status, response in operation["responses"].items():
            if status < "400":
                continue
            codes = codes_of(response)
            assert codes, (path, method, status)
            body = response["content"]["application/json"]["schema"]
            expected = {SCHEMA_OF_CODE.get(code, "Error") for code in codes}
            if len(expected) == 1:
                assert body == {"$ref": "#/components/schemas/" + expected.pop()}
            else:
                refs = {member["$ref"].rsplit("/", 1)[1] for member in body["oneOf"]}
                assert refs == expected, (path, method, status)
                assert body["discriminator"]["propertyName"] == "code"
                assert set(body["discriminator"]["mapping"]) == set(codes)


def test_the_conventional_statuses_are_on_every_route(schema):
    for path, method, operation in _operations(schema):
        responses = operation["responses"]
        where = (path, method)
        assert "bad_request" in codes_of(responses["400"]), where
        assert codes_of(responses["405"]) == ["method_not_allowed"], where
        if "requestBody" in operation:
            assert "parse_error" in codes_of(responses["400"]), where
            assert codes_of(responses["415"]) == ["unsupported_media_type"], where
        if method in ("post", "put", "patch"):
            assert codes_of(responses["413"]) == ["payload_too_large"], where
        for status, response in responses.items():
            if status == "429":
                assert response["headers"]["Retry-After"]["schema"] == {"type": "integer"}


def test_routes_without_a_503_make_no_query(schema, api_client):
    """A route declared without 503 `service_unavailable` must not need the database."""
    without = [(p, m) for p, m, op in _operations(schema) if "503" not in op["responses"]]
    assert ("/.well-known/jwks.json", "get") in without
    assert ("/api/v1/auth/csrf/", "get") in without
    for path, method in without:
        with CaptureQueriesContext(connection) as queries:
            response = getattr(api_client, method)(path)
        assert response.status_code < 400, (path, response.status_code)
        assert not queries.captured_queries, (path, queries.captured_queries)


def test_every_service_route_with_a_scope_declares_insufficient_scope(schema):
    scoped = [
        ("/api/v1/service/users/{user_id}/", "get"),
        ("/api/v1/service/users/{user_id}/revoke-sessions/", "post"),
        ("/api/v1/service/introspect/", "post"),
    ]
    for path, method in scoped:
        forbidden = schema["paths"][path][method]["responses"]["403"]
        body = forbidden["content"]["application/json"]["schema"]
        assert body == {"$ref": "#/components/schemas/InsufficientScopeError"}
    component = schema["components"]["schemas"]["InsufficientScopeError"]
    assert "required_scope" in component["required"]


def test_cookie_and_csrf_routes_declare_set_cookie(schema):
    expected = {
        ("/api/v1/auth/csrf/", "get"): {"204"},
        ("/api/v1/auth/cookie/login/", "post"): {"200"},
        ("/api/v1/auth/cookie/refresh/", "post"): {"200", "401"},
        ("/api/v1/auth/cookie/logout/", "post"): {"204"},
    }
    for (path, method), statuses in expected.items():
        responses = schema["paths"][path][method]["responses"]
        for status in statuses:
            assert "Set-Cookie" in responses[status]["headers"], (path, status)


# --- the error bodies the server sends parse as exactly one schema ----------------------


def _validate(schema, response_schema, body):
    """jsonschema against the schema's own components (an OpenAPI 3.0 discriminator is a
    hint; `oneOf` itself demands that exactly one member matches)."""
    document = {**response_schema, "components": schema["components"]}
    jsonschema.validate(body, document)


def _response_schema(schema, path, method, status):
    return schema["paths"][path][method]["responses"][status]["content"]["application/json"][
        "schema"
    ]


def test_csrf_failed_is_not_a_device_limit_error(schema, browser, user, password):
    response = browser.post(
        "/api/v1/auth/cookie/login/",
        {"username": user.username, "password": password},
        content_type="application/json",
    )
    body = response.json()
    assert (response.status_code, body["code"]) == (403, "csrf_failed")
    forbidden = _response_schema(schema, "/api/v1/auth/cookie/login/", "post", "403")
    _validate(schema, forbidden, body)
    with pytest.raises(jsonschema.ValidationError):
        _validate(schema, {"$ref": "#/components/schemas/DeviceLimitError"}, body)


def test_a_device_limit_body_is_a_device_limit_error(schema, sign_in, settings):
    settings.ACCOUNTS = {**settings.ACCOUNTS, "MAX_DEVICES": 1}
    sign_in(device_id="a")
    body = sign_in(device_id="b", expect=403).json()
    assert body["code"] == "device_limit_reached"
    _validate(schema, _response_schema(schema, "/api/v1/auth/token/", "post", "403"), body)
    cookie_403 = _response_schema(schema, "/api/v1/auth/cookie/login/", "post", "403")
    _validate(schema, cookie_403, body)
    with pytest.raises(jsonschema.ValidationError):
        _validate(schema, {"$ref": "#/components/schemas/CsrfFailedError"}, body)


def test_400_bodies_parse_as_their_own_schema(schema, api_client):
    invalid = api_client.post("/api/v1/auth/token/", {}, format="json").json()
    parse_error = api_client.post(
        "/api/v1/auth/token/", "{", content_type="application/json"
    ).json()
    assert (invalid["code"], parse_error["code"]) == ("invalid", "parse_error")
    bad_request = _response_schema(schema, "/api/v1/auth/token/", "post", "400")
    for body in (invalid, parse_error):
        _validate(schema, bad_request, body)
    with pytest.raises(jsonschema.ValidationError):
        _validate(schema, {"$ref": "#/components/schemas/ValidationError"}, parse_error)


def test_insufficient_scope_body_matches_its_schema(schema, make_api_key, api_client):
    _, key = make_api_key(scopes=["users:read"])
    response = api_client.post("/api/v1/service/introspect/", {"token": "x"}, HTTP_X_API_KEY=key)
    body = response.json()
    assert (response.status_code, body["code"]) == (403, "insufficient_scope")
    assert body["required_scope"] == "tokens:introspect"
    forbidden = _response_schema(schema, "/api/v1/service/introspect/", "post", "403")
    _validate(schema, forbidden, body)


def test_error_components_are_the_hooks(schema):
    for name, component in ERROR_SCHEMAS.items():
        assert schema["components"]["schemas"][name] == component
