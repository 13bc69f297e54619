"""Errors Django and DRF raise before or around a view: JSON in the contract's shape on
/api/, the branded HTML pages elsewhere, never a 500, and one log line per refusal.

The bad-body cases run on every route the URL resolver has: each /api/ route whose view
takes POST, PUT or PATCH, and each HTML page."""

import logging
import re
import sys
import uuid

import pytest
from django.core.exceptions import DisallowedHost
from django.test import RequestFactory
from django.urls import URLResolver, get_resolver

from api import parsers
from api.views import cookies, errors

pytestmark = pytest.mark.django_db

SAMPLE_PATH_VALUES = {"int": "1", "uuid": str(uuid.UUID(int=1))}
BODY_METHODS = ("post", "put", "patch")
DEEP = 1000
DEEP_BODIES = {
    "arrays": "[" * DEEP + "]" * DEEP,
    "objects": '{"a":' * DEEP + "1" + "}" * DEEP,
    "mixed": '[{"a":' * (DEEP // 2) + "1" + "}]" * (DEEP // 2),
    "in a field": '{"username": ' + "[" * DEEP + "]" * DEEP + ', "password": "x"}',
}


def _routes(patterns=None, prefix=""):
    """(route, callback) of every URL pattern, path converters filled with sample values."""
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            yield from _routes(pattern.url_patterns, route)
            continue
        filled = re.sub(
            r"<(?:(\w+):)?\w+>", lambda m: SAMPLE_PATH_VALUES.get(m.group(1), "x"), route
        )
        yield "/" + filled, pattern.callback


def _api_body_routes():
    found = []
    for url, callback in _routes():
        view = getattr(callback, "cls", None)
        if url.startswith("/api/") and view is not None:
            found += [(method, url) for method in BODY_METHODS if hasattr(view, method)]
    return found


API_BODY_ROUTES = _api_body_routes()
HTML_PAGES = [url for url, _ in _routes() if url.startswith("/accounts/")]


def test_the_routes_are_found():
    """The resolver walk finds the routes (a walk that found nothing would pass all)."""
    assert ("post", "/api/v1/auth/token/") in API_BODY_ROUTES
    assert ("post", "/api/v1/service/introspect/") in API_BODY_ROUTES
    assert len(API_BODY_ROUTES) >= 12
    assert "/accounts/login/" in HTML_PAGES


def _answer(response):
    """What a client sees: the status and the contract's code (or the JSON body's fields:
    their values may be fresh on each call, e.g. a passkey challenge)."""
    if response.status_code == 204:
        return 204, None
    assert response["Content-Type"] == "application/json", response.content[:200]
    body = response.json()
    return response.status_code, body.get("code", sorted(body)) if isinstance(body, dict) else body


@pytest.mark.parametrize("shape", DEEP_BODIES)
@pytest.mark.parametrize(("method", "url"), API_BODY_ROUTES)
def test_json_nested_too_deep_is_answered_as_malformed_json(call, method, url, shape):
    """Where the view reads the body, 400 parse_error, as for `{`; a view that reads no
    body answers as it does to any body."""
    malformed = _answer(call(method, url, "{"))
    assert _answer(call(method, url, DEEP_BODIES[shape])) == malformed


def test_the_depth_limit_is_the_parsers_not_the_interpreters(api_client, monkeypatch):
    """Nested just past MAX_JSON_DEPTH: refused, though Python could parse it; within it:
    parsed. And should the limit be raised past Python's, RecursionError is still a 400."""

    def post(username_json):
        body = f'{{"username": {username_json}, "password": "x"}}'
        response = api_client.post("/api/v1/auth/token/", body, content_type="application/json")
        return response.status_code, response.json()["code"]

    depth = parsers.MAX_JSON_DEPTH  # the object around the username is one level
    assert post("[" * depth + "]" * depth) == (400, "parse_error")
    assert post("[" * (depth - 1) + "]" * (depth - 1)) == (400, "invalid")  # parsed

    monkeypatch.setattr(parsers, "MAX_JSON_DEPTH", 10**6)
    assert post("[" * 100_000 + "]" * 100_000) == (400, "parse_error")


@pytest.mark.parametrize(
    "body",
    ["1" * 5000, '{"username": ' + "9" * 5000 + "}", "NaN", '{"a": Infinity}', "1e999999"],
    ids=["huge int", "huge int in a field", "NaN", "Infinity", "huge float"],
)
def test_hostile_numbers_are_a_parse_error_or_invalid(api_client, body):
    response = api_client.post("/api/v1/auth/token/", body, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["code"] in {"parse_error", "invalid"}


def _expected(call, method, url, when_read):
    """`when_read` where the view reads its body; else its answer to any body (that of a
    malformed one: a view that reads no body has the same answer for every body)."""
    malformed = _answer(call(method, url, "{"))
    return when_read if malformed == (400, "parse_error") else malformed


@pytest.mark.parametrize(("method", "url"), API_BODY_ROUTES)
def test_a_body_over_the_size_limit_is_413_json(call, settings, method, url):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    big = '{"username": "%s"}' % ("x" * 2000)

    answer = _answer(call(method, url, big))

    assert answer == _expected(call, method, url, (413, "payload_too_large"))


FORM_BODIES = {
    "urlencoded, too many fields": (
        "&".join(f"f{n}=x" for n in range(50)),
        "application/x-www-form-urlencoded",
    ),
    "multipart, too big": (
        '--b\r\nContent-Disposition: form-data; name="f"\r\n\r\n' + "x" * 2000 + "\r\n--b--\r\n",
        "multipart/form-data; boundary=b",
    ),
}


@pytest.mark.parametrize("form", FORM_BODIES)
@pytest.mark.parametrize(("method", "url"), API_BODY_ROUTES)
def test_form_bodies_to_the_api_are_415_json(call, settings, method, url, form):
    """The API parses JSON only: a form body, over Django's limits or not, is refused by
    its media type before it is read (with a session cookie too: DRF's CSRF check reads
    form fields through the same parsers)."""
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 10
    body, content_type = FORM_BODIES[form]

    answer = _answer(call(method, url, body, content_type))

    assert answer == _expected(call, method, url, (415, "unsupported_media_type"))


def test_too_many_form_fields_with_a_session_cookie_are_json(browser, user, settings):
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 10
    browser.force_login(user)
    fields = "&".join(f"f{n}=x" for n in range(20))

    response = browser.post(
        "/api/v1/auth/logout-all/", fields, content_type="application/x-www-form-urlencoded"
    )

    assert _answer(response) == (415, "unsupported_media_type")


@pytest.mark.parametrize("url", HTML_PAGES)
def test_a_big_form_posted_to_an_html_page_is_a_branded_413_page(browser, settings, url):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000

    response = browser.post(url, {"comment": "x" * 2000})

    assert response.status_code == 413
    assert response["Content-Type"].startswith("text/html")
    assert settings.ACCOUNTS["SITE_NAME"] in response.content.decode()
    assert b"Too much data" in response.content


def test_too_many_form_fields_to_an_html_page_is_a_branded_413_page(browser, settings):
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 10
    response = browser.post("/accounts/login/", {f"f{n}": "x" for n in range(20)})
    assert response.status_code == 413
    assert b"Too much data" in response.content


def test_a_host_outside_allowed_hosts_is_400_bad_request_json_on_the_api(api_client):
    response = api_client.get("/api/v1/me/", HTTP_HOST="evil.example")
    assert response.status_code == 400
    assert response.json() == {"code": "bad_request", "detail": "The request was refused."}


def test_a_host_outside_allowed_hosts_is_a_branded_400_page_elsewhere(client, settings):
    response = client.get("/accounts/login/", HTTP_HOST="evil.example")
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/html")
    assert settings.ACCOUNTS["SITE_NAME"] in response.content.decode()
    assert b"evil.example" not in response.content


def test_a_refused_request_is_logged_as_one_line_without_traceback(api_client, django_log):
    """The log keeps that a request was refused and why, not a stack trace per probe."""
    api_client.get("/api/v1/me/", HTTP_HOST="evil.example")

    [record] = [r for r in django_log.records if r.name == "django.security.DisallowedHost"]
    [handler] = logging.getLogger("django").handlers  # settings.LOGGING's console handler
    line = handler.format(record)

    assert "\n" not in line
    assert "Traceback" not in line
    assert "django.security.DisallowedHost" in line
    assert "Invalid HTTP_HOST header: 'evil.example'" in line


def test_a_server_error_keeps_its_traceback_in_the_log():
    """Only refusals are shortened: a crash is still logged in full."""
    [handler] = logging.getLogger("django").handlers
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        exc_info = sys.exc_info()
    for name in ("django.request", "django.security.DisallowedHost"):
        record = logging.makeLogRecord({"name": name, "msg": "x", "exc_info": exc_info})
        formatted = handler.format(record)
        assert ("Traceback" in formatted) is (name == "django.request")


def test_a_suspicious_operation_inside_a_view_is_400_json_and_one_log_line(
    api_client, django_log, monkeypatch
):
    """Raised inside a DRF view (e.g. a Host check when building a link): Django answers
    and logs it as one raised before the view."""

    def refuse(*args, **kwargs):
        raise DisallowedHost("Invalid HTTP_HOST header: 'evil.example'.")

    monkeypatch.setattr(cookies.CsrfCookieView, "get", refuse)

    response = api_client.get("/api/v1/auth/csrf/")

    assert response.status_code == 400
    assert response.json() == {"code": "bad_request", "detail": "The request was refused."}
    [record] = [r for r in django_log.records if r.name == "django.security.DisallowedHost"]
    [handler] = logging.getLogger("django").handlers
    assert "Traceback" not in handler.format(record)


def test_permission_denied_outside_drf_is_json_on_the_api_and_a_branded_page_elsewhere(
    client, settings
):
    """handler403: Django's PermissionDenied raised outside a DRF view."""
    api = errors.permission_denied(_request("/api/v1/x/"), None)
    assert (api.status_code, api["Content-Type"]) == (403, "application/json")
    assert b'"code": "permission_denied"' in api.content
    page = errors.permission_denied(_request("/accounts/"), None)
    assert page.status_code == 403
    assert settings.ACCOUNTS["SITE_NAME"] in page.content.decode()


def _request(path):
    return RequestFactory().get(path)


def test_unknown_api_path_is_json_404(client):
    response = client.get("/api/v1/no-such-route/")
    assert response.status_code == 404
    assert response.json() == {"code": "not_found", "detail": "Not found."}


def test_schema_and_docs_are_public(client):
    assert client.get("/api/schema/").status_code == 200
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    assert b"cdn" not in docs.content.lower()
