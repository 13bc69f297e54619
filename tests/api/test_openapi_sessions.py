"""/api/schema/ documents every device-session route, its bodies and its error codes."""

import pytest
import yaml

pytestmark = pytest.mark.django_db

ROUTES = {
    ("/api/v1/auth/token/", "post"): {"200", "400", "401", "403"},
    ("/api/v1/auth/token/refresh/", "post"): {"200", "400", "401"},
    ("/api/v1/auth/token/verify/", "post"): {"200", "400", "401"},
    ("/api/v1/auth/logout/", "post"): {"204", "401"},
    ("/api/v1/auth/logout-all/", "post"): {"204", "401"},
    ("/api/v1/me/", "get"): {"200", "401"},
    ("/api/v1/devices/", "get"): {"200", "401"},
    ("/api/v1/devices/{session_id}/", "delete"): {"204", "401", "404"},
}


@pytest.fixture
def schema(client):
    response = client.get("/api/schema/")
    assert response.status_code == 200
    return yaml.safe_load(response.content)


def test_bearer_security_scheme(schema):
    assert schema["components"]["securitySchemes"]["Bearer"] == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "An access token from POST /api/v1/auth/token/.",
    }
    assert {"Bearer": []} in schema["paths"]["/api/v1/me/"]["get"]["security"]


@pytest.mark.parametrize(("path", "method"), list(ROUTES))
def test_route_documented_with_error_codes(schema, path, method):
    operation = schema["paths"][path][method]
    assert ROUTES[(path, method)] <= set(operation["responses"])
    for status, response in operation["responses"].items():
        if status.startswith("4"):
            assert "`code`" in response["description"], (path, status)


def test_contract_codes_are_named(schema):
    text = yaml.safe_dump(schema)
    for code in (
        "invalid_credentials",
        "device_limit_reached",
        "device_mismatch",
        "refresh_reused",
        "session_revoked",
        "token_invalid",
        "not_found",
    ):
        assert code in text, code
    sign_in = schema["paths"]["/api/v1/auth/token/"]["post"]
    assert "Bearer" not in str(sign_in.get("security", []))  # public
    body = schema["components"]["schemas"]["SignInRequest"]["properties"]
    assert {"username", "password", "device_id", "device_name", "revoke_device_id"} <= set(body)


COOKIE_ROUTES = {
    ("/api/v1/auth/csrf/", "get"): {"204"},
    ("/api/v1/auth/cookie/login/", "post"): {"200", "400", "401", "403", "429"},
    ("/api/v1/auth/cookie/refresh/", "post"): {"200", "401", "403"},
    ("/api/v1/auth/cookie/logout/", "post"): {"204", "403"},
}


@pytest.mark.parametrize(("path", "method"), list(COOKIE_ROUTES))
def test_cookie_routes_documented(schema, path, method):
    operation = schema["paths"][path][method]
    assert COOKIE_ROUTES[(path, method)] <= set(operation["responses"])
    if method == "post":
        headers = [p["name"] for p in operation["parameters"] if p["in"] == "header"]
        assert headers == ["X-CSRFToken"]
        assert "`csrf_failed`" in operation["responses"]["403"]["description"]


def test_cookie_security_scheme(schema):
    assert schema["components"]["securitySchemes"]["AccessCookie"]["in"] == "cookie"
    assert schema["components"]["securitySchemes"]["AccessCookie"]["name"] == "access_token"
    assert {"AccessCookie": []} in schema["paths"]["/api/v1/me/"]["get"]["security"]
    login = schema["paths"]["/api/v1/auth/cookie/login/"]["post"]
    body = schema["components"]["schemas"]["CookieSignInRequest"]["properties"]
    assert "device_id" not in body
    response = login["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    assert response.endswith("/CookieSignInResponse")
    refresh = schema["paths"]["/api/v1/auth/cookie/refresh/"]["post"]
    assert {p["name"] for p in refresh["parameters"] if p["in"] == "cookie"} == {
        "refresh_token",
        "device_id",
    }
