"""Security headers on every kind of response, and CORS for the API only (config/settings)."""

import re

import pytest

pytestmark = pytest.mark.django_db

HTML_PAGE = "/accounts/login/"
SPA_DEMO = "/accounts/spa-demo/"
DOCS = "/api/docs/"
API = "/api/schema/?format=json"
ALLOWED = "https://app.example.com"


def directives(response):
    policy = response["Content-Security-Policy"]
    return {
        name: set(values)
        for name, *values in (part.split() for part in policy.split(";") if part.strip())
    }


@pytest.mark.parametrize("path", [HTML_PAGE, SPA_DEMO, DOCS, API, "/admin/login/"])
def test_every_response_carries_the_security_headers(client, path):
    response = client.get(path)

    assert response.status_code == 200
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"
    policy = directives(response)
    assert policy["default-src"] == {"'self'"}
    assert policy["frame-ancestors"] == {"'none'"}
    assert policy["object-src"] == {"'none'"}
    assert policy["base-uri"] == {"'self'"}
    assert policy["form-action"] == {"'self'"}
    # Nothing anywhere may run inline script or eval, nor inline style.
    assert "'unsafe-inline'" not in response["Content-Security-Policy"]
    assert "'unsafe-eval'" not in response["Content-Security-Policy"]
    assert "script-src" not in policy  # falls back to default-src 'self'


@pytest.mark.parametrize("path", [HTML_PAGE, SPA_DEMO, DOCS, "/admin/login/"])
def test_html_pages_have_no_inline_script_or_style(client, path):
    html = client.get(path).text

    assert re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", html) == []
    assert "<style" not in html
    assert not re.search(r"\son[a-z]+=", html)  # no inline event handlers


def test_spa_demo_loads_its_script_from_this_site(client):
    html = client.get(SPA_DEMO).text

    sources = re.findall(r'<script[^>]+src="([^"]+)"', html)
    assert sources == ["/static/accounts/spa-demo.js"]
    from django.contrib.staticfiles import finders

    script = finders.find("accounts/spa-demo.js")
    with open(script) as file:
        assert "/auth/cookie/refresh/" in file.read()


def test_docs_load_their_script_and_assets_from_this_site(client):
    html = client.get(DOCS).text

    sources = re.findall(r'<(?:script|link)[^>]+(?:src|href)="([^"]+)"', html)
    assert "/api/docs/?script=" in sources
    assert all(source.startswith("/") for source in sources), sources
    script = client.get("/api/docs/?script=")
    assert script.status_code == 200
    assert "SwaggerUIBundle" in script.text


def test_no_cors_headers_by_default(client):
    response = client.get(API, HTTP_ORIGIN=ALLOWED)

    assert "Access-Control-Allow-Origin" not in response
    assert "Access-Control-Allow-Credentials" not in response


def test_listed_origin_gets_cors_with_credentials_and_csrf_header(client, settings):
    settings.CORS_ALLOWED_ORIGINS = [ALLOWED]

    response = client.get(API, HTTP_ORIGIN=ALLOWED)
    preflight = client.options(
        "/api/v1/auth/cookie/login/",
        HTTP_ORIGIN=ALLOWED,
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="content-type, x-csrftoken",
    )

    assert response["Access-Control-Allow-Origin"] == ALLOWED
    assert response["Access-Control-Allow-Credentials"] == "true"
    assert preflight.status_code == 200
    assert preflight["Access-Control-Allow-Origin"] == ALLOWED
    assert "x-csrftoken" in preflight["Access-Control-Allow-Headers"]


def test_other_origin_gets_no_cors_headers(client, settings):
    settings.CORS_ALLOWED_ORIGINS = [ALLOWED]

    response = client.get(API, HTTP_ORIGIN="https://evil.example.net")
    preflight = client.options(
        "/api/schema/",
        HTTP_ORIGIN="https://evil.example.net",
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
    )

    assert "Access-Control-Allow-Origin" not in response
    assert "Access-Control-Allow-Origin" not in preflight


def test_cors_stays_off_outside_the_api(client, settings):
    settings.CORS_ALLOWED_ORIGINS = [ALLOWED]

    response = client.get(HTML_PAGE, HTTP_ORIGIN=ALLOWED)

    assert "Access-Control-Allow-Origin" not in response
