"""Promises checked on every route the URL resolver knows, not on a hand-made list.

CSRF: every unsafe method of every /api/ route, called with a cookie that authenticates a
browser (the Django session cookie of the HTML sign-in, or the cookie transport's
`access_token`), is refused with 403 `csrf_failed` without the `X-CSRFToken` header and
gets past the check with it. The routes that need no CSRF token are listed with the reason;
for them the test proves the reason: the cookie changes nothing in their answer.

Bad bodies: every JSON route answers malformed JSON and schema-valid JSON of the wrong
shape (a list, a string, a number, null, fields of the wrong type) with a 4xx JSON
`{"code", "detail"}` of a stable code, never a 500 (deep and oversize bodies:
tests/api/test_errors.py, whose resolver walk this module shares).
"""

import pytest
from django.test import Client

from tests.api.test_errors import _routes

pytestmark = pytest.mark.django_db

UNSAFE_METHODS = ("post", "put", "patch", "delete")
CSRF_COOKIE = "a" * 32


def _api_unsafe_routes():
    """(method, url) of each unsafe method an /api/ view has, from the resolver."""
    found = []
    for url, callback in _routes():
        view = getattr(callback, "cls", None)
        if url.startswith("/api/") and view is not None:
            found += [
                (method, url)
                for method in UNSAFE_METHODS
                if method in view.http_method_names and hasattr(view, method)
            ]
    return found


API_UNSAFE_ROUTES = _api_unsafe_routes()

# The unsafe routes that need no CSRF token, and why: no cookie ever authenticates them, so
# a forged cross-site request carries nothing the attacker does not already have.
NO_CSRF_NEEDED = {
    # Credentials in the body; the tokens come back in the body, where a cross-site page
    # cannot read them.
    ("post", "/api/v1/auth/token/"): "sign-in with the password in the body",
    ("post", "/api/v1/auth/token/refresh/"): "the refresh token is in the body",
    ("post", "/api/v1/auth/token/verify/"): "checks the token in the body, changes nothing",
    ("post", "/api/v1/auth/token/mfa/"): "second step: the mfa_token and code in the body",
    ("post", "/api/v1/auth/passkey/begin/"): "public: a challenge for anyone, signs nobody in",
    ("post", "/api/v1/auth/passkey/"): "passkey sign-in: the signed assertion is in the body",
    ("post", "/api/v1/auth/social/x/"): "social sign-in: the provider's ID token is in the body",
    # Public account routes: the body is the whole proof (an address, a reset token).
    ("post", "/api/v1/auth/password/reset/"): "public: mails a link to the address's owner",
    ("post", "/api/v1/auth/password/reset/confirm/"): "public: the reset token is the proof",
    ("post", "/api/v1/auth/signup/"): "public: creates an account, signs nobody in",
    ("post", "/api/v1/auth/email/verify/"): "public: the key from the e-mail is the proof",
    # Service routes take an API key only (a header a browser never sends by itself).
    ("post", "/api/v1/service/introspect/"): "API key only",
    ("post", "/api/v1/service/users/1/revoke-sessions/"): "API key only",
}


def test_the_unsafe_routes_are_found_and_the_exceptions_are_real_routes():
    """A walk that found nothing would pass everything; an exception for a route that
    no longer exists (or lost its method) would hide a new one of the same path."""
    assert ("post", "/api/v1/auth/logout-all/") in API_UNSAFE_ROUTES
    assert ("delete", "/api/v1/devices/00000000-0000-0000-0000-000000000001/") in (
        API_UNSAFE_ROUTES
    )
    assert ("post", "/api/v1/auth/cookie/login/") in API_UNSAFE_ROUTES
    assert set(NO_CSRF_NEEDED) <= set(API_UNSAFE_ROUTES)
    assert len(set(API_UNSAFE_ROUTES) - set(NO_CSRF_NEEDED)) >= 7


CSRF_ROUTES = [route for route in API_UNSAFE_ROUTES if route not in NO_CSRF_NEEDED]


@pytest.fixture
def browser_with(make_user, sign_in, signed_in_browser):
    """browser_with(transport) -> a CSRF-enforcing client whose cookie authenticates a
    fresh user: "session" (the HTML sign-in) or "access_cookie" (the cookie transport)."""

    def make(transport):
        user = make_user()
        if transport == "session":
            client = signed_in_browser(user)
        else:
            client = Client()
            access = sign_in(device_id="browser", username=user.username).json()["access"]
            client.cookies["access_token"] = access
        client.handler.enforce_csrf_checks = True
        client.cookies["csrftoken"] = CSRF_COOKIE
        return client

    return make


def _answer(response):
    """(status, code): the code of a JSON error body, None for any other answer."""
    if response.status_code < 400:
        return response.status_code, None
    assert response["Content-Type"] == "application/json", response.content[:200]
    body = response.json()
    return response.status_code, body.get("code") if isinstance(body, dict) else None


def _send(client, method, url, **headers):
    return getattr(client, method)(url, "{}", content_type="application/json", **headers)


TRANSPORTS = ("session", "access_cookie")


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize(("method", "url"), CSRF_ROUTES)
def test_a_cookie_authenticated_unsafe_request_needs_the_csrf_header(
    browser_with, transport, method, url
):
    client = browser_with(transport)

    refused = _answer(_send(client, method, url))
    passed = _answer(_send(client, method, url, HTTP_X_CSRFTOKEN=CSRF_COOKIE))

    assert refused == (403, "csrf_failed")
    assert passed[1] not in {"csrf_failed", "not_authenticated"}, passed
    assert passed[0] < 500


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize(("method", "url"), sorted(NO_CSRF_NEEDED))
def test_a_route_that_needs_no_csrf_token_ignores_the_cookie(browser_with, transport, method, url):
    """Why these routes need no token: the browser's cookie does not change their answer."""
    with_cookie = _answer(_send(browser_with(transport), method, url))
    without_cookie = _answer(_send(Client(enforce_csrf_checks=True), method, url))

    assert with_cookie == without_cookie
    assert with_cookie[1] != "csrf_failed"
