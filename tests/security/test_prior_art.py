"""Regression tests for the faults of existing packages (shared/prior-art.md): the kit must
never repeat one. Each test names the package and fault it guards against."""

import re
import time

import pytest
from django.shortcuts import resolve_url
from django.urls import URLResolver, get_resolver

from accounts.devices.signing import get_token_backend
from accounts.models import AuthEvent, DeviceSession

ME_URL = "/api/v1/me/"
LOGOUT_URL = "/api/v1/auth/logout/"

pytestmark = pytest.mark.django_db


def me(api_client, token, scheme="Bearer "):
    return api_client.get(ME_URL, HTTP_AUTHORIZATION=f"{scheme}{token}")


def test_a_token_expired_long_ago_never_authenticates_nor_is_reissued(victim, routes, api_client):
    """Duck: a token expired 30 days ago still resolved to the user and was re-issued."""
    month_ago = int(time.time()) - 30 * 86400
    expired = get_token_backend().encode(
        {**victim.access_claims, "iat": month_ago - 300, "exp": month_ago}
    )
    response = me(api_client, expired)
    assert response.status_code == 401
    assert response.json()["code"] == "token_invalid"
    assert "Set-Cookie" not in response
    assert routes["introspect"](expired).json() == {"active": False}


def test_logout_revokes_the_access_token_at_once(victim, routes, api_client):
    """Duck, django-bolt, simplejwt #28: logout left the access token working."""
    assert (
        api_client.post(LOGOUT_URL, HTTP_AUTHORIZATION=f"Bearer {victim.access}").status_code == 204
    )
    assert me(api_client, victim.access).json()["code"] == "session_revoked"
    assert routes["verify"](victim.access).json()["code"] == "session_revoked"
    assert routes["introspect"](victim.access).json() == {"active": False}


def test_a_logged_out_refresh_token_in_the_access_slot_is_refused(victim, api_client):
    """drf-cookie-jwtauth: a blacklisted refresh token in the access slot was alice for a day."""
    api_client.post(LOGOUT_URL, {"refresh": victim.refresh}, format="json")
    response = me(api_client, victim.refresh)
    assert response.status_code == 401
    assert response.json()["code"] == "token_invalid"


def test_a_bare_token_without_the_bearer_scheme_is_not_accepted(victim, api_client):
    """django-bolt: the `Bearer ` prefix was optional."""
    for scheme in ("", "JWT ", "Token "):
        response = me(api_client, victim.access, scheme=scheme)
        assert response.status_code == 401, scheme
        assert response.json()["code"] == "not_authenticated", scheme


@pytest.mark.parametrize("policy", ["reject", "evict_oldest"])
def test_the_device_limit_never_signs_every_device_out(sign_in, api_client, settings, policy):
    """d_jwt_auth: going over the limit logged out every device."""
    settings.ACCOUNTS = {**settings.ACCOUNTS, "MAX_DEVICES": 2, "DEVICE_LIMIT_POLICY": policy}
    phone = sign_in(device_id="phone").json()
    laptop = sign_in(device_id="laptop").json()
    sign_in(device_id="tablet", expect=403 if policy == "reject" else 200)
    live = set(
        DeviceSession.objects.filter(revoked_at__isnull=True).values_list("device_id", flat=True)
    )
    if policy == "reject":
        assert live == {"phone", "laptop"}
        assert me(api_client, phone["access"]).status_code == 200
    else:
        assert live == {"laptop", "tablet"}  # only the least recently used one went
        assert me(api_client, phone["access"]).json()["code"] == "session_revoked"
    assert me(api_client, laptop["access"]).status_code == 200


def test_refreshing_one_device_never_touches_another(sign_in, refresh, api_client):
    """d_jwt_auth: every N refreshes rotated the shared id and killed other devices."""
    other = sign_in(device_id="laptop").json()
    current = sign_in(device_id="phone-1").json()
    for _ in range(5):
        response = refresh(current["refresh"], device_id="phone-1")
        assert response.status_code == 200
        current = response.json()
    assert me(api_client, other["access"]).status_code == 200
    assert refresh(other["refresh"], device_id="laptop").status_code == 200


def test_deleted_user_gets_401_not_500(victim, routes):
    """d_jwt_auth: a deleted user raised DoesNotExist, a 500."""
    victim.user.delete()
    for name in ("me", "refresh", "verify"):
        response = routes[name](victim.refresh if name == "refresh" else victim.access)
        assert (response.status_code, response.json()["code"]) == (401, "session_revoked"), name
    assert routes["introspect"](victim.access).json() == {"active": False}


def test_the_raw_api_key_is_never_stored_or_logged(api_client, make_api_key, caplog):
    """django-bolt: the raw key leaked into user_id (and so into logs)."""
    _, raw_key = make_api_key(name="worker", scopes=["users:read"])
    wrong = raw_key[:-1] + ("A" if raw_key[-1] != "A" else "B")
    with caplog.at_level("DEBUG"):
        assert api_client.get("/api/v1/service/ping/", HTTP_X_API_KEY=raw_key).status_code == 200
        assert api_client.get("/api/v1/service/ping/", HTTP_X_API_KEY=wrong).status_code == 401
    secret = raw_key.rsplit("_", 1)[1]
    assert secret not in caplog.text
    assert wrong.rsplit("_", 1)[1] not in caplog.text
    for event in AuthEvent.objects.all():
        assert secret[:20] not in str(event.detail) + event.username + event.actor


# Every route an anonymous caller may use, and why. Every other route the URL resolver
# knows needs credentials: a route added without a guard, or whose guard is misdeclared,
# fails test_every_private_route_refuses_anonymous_callers until it is listed here.
PUBLIC_ROUTES = {
    "/": "the front page (links to sign-in, sign-up and the docs)",
    "/api/": "the API's index: links to its versions and docs",
    "/api/v1/": "the index of version 1: links to its routes",
    "/api/v1/auth/token/": "sign-in: the password is in the body",
    "/api/v1/auth/token/refresh/": "the refresh token in the body is the credential",
    "/api/v1/auth/token/verify/": "checks the token in the body",
    "/api/v1/auth/token/mfa/": "second step of a sign-in: mfa_token and code in the body",
    "/api/v1/auth/csrf/": "sets the CSRF cookie a cookie sign-in needs",
    "/api/v1/auth/cookie/login/": "sign-in of the cookie transport",
    "/api/v1/auth/cookie/login/mfa/": "second step of the cookie sign-in",
    "/api/v1/auth/cookie/refresh/": "the refresh cookie is the credential",
    "/api/v1/auth/cookie/logout/": "deletes the cookies, also when the session is over",
    "/api/v1/auth/password/reset/": "mails a link to the address's owner",
    "/api/v1/auth/password/reset/confirm/": "the token from the e-mail is the proof",
    "/api/v1/auth/signup/": "creates an account (when sign-up is on)",
    "/api/v1/auth/email/verify/": "the key from the verification e-mail is the proof",
    "/api/v1/auth/passkey/begin/": "starts a passkey sign-in: a challenge, nobody known yet",
    "/api/v1/auth/passkey/": "passkey sign-in: the signed assertion in the body",
    "/api/v1/auth/social/<str:provider>/": "social sign-in: the provider's ID token in the body",
    "/api/schema/": "the OpenAPI schema",
    "/api/docs/": "the interactive API docs",
    "/.well-known/jwks.json": "the public keys that verify access tokens",
    "/healthz": "the load balancer's probe",
    "/admin/login/": "the admin's sign-in page",
    "/admin/logout/": "signs out (an anonymous caller is sent to the admin's sign-in)",
    "/accounts/login/": "the sign-in page",
    "/accounts/login/mfa/": "the sign-in's second factor: the pending sign-in is the proof",
    "/accounts/login/passkey/": "passkey sign-in: the signed assertion in the body",
    "/accounts/logout/": "signs out",
    "/accounts/social/<str:provider_id>/login/": "a provider button: off to the provider",
    "/accounts/social/<str:provider_id>/callback/": "the provider's answer: this browser's "
    "session holds the state that proves it",
    "/accounts/devices/revoke/<str:token>/": "the new-device mail's signed link is the proof",
    "/accounts/signup/": "the sign-up page (when sign-up is on)",
    "/accounts/email/verify/<str:key>/": "the verification e-mail's signed link is the proof",
    "/accounts/spa-demo/": "a static page whose script signs in through the API",
    "/accounts/password_reset/": "asks for a reset link",
    "/accounts/password_reset/done/": "says the link was sent",
    "/accounts/reset/<uidb64>/<token>/": "the token in the link is the proof",
    "/accounts/reset/done/": "says the password was reset",
}
METHODS = ("get", "post", "put", "patch", "delete")
SAMPLE_PATH_VALUES = {"int": "1", "uuid": "6f1c7a52-8a40-4d59-9a53-0e7a7c1a9a01"}


def _filled(route):
    """A URL of `route`: converters and regex groups filled with sample values."""
    url = re.sub(r"<(?:(\w+):)?\w+>", lambda m: SAMPLE_PATH_VALUES.get(m.group(1), "x"), route)
    # A regex pattern (the admin's app index and catch-all): its group's first alternative.
    url = re.sub(r"\(\?P<\w+>([\w-]*)[^)]*\)", lambda m: m.group(1) or "x", url)
    return url.replace("^", "").replace("$", "")


def _resolver_routes(patterns=None, prefix="/"):
    """{route: (url, methods)} of every pattern the URL resolver knows; methods are the
    ones a class-based view implements, or all of METHODS for a function view."""
    found = {}
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            found.update(_resolver_routes(pattern.url_patterns, route))
            continue
        view = getattr(pattern.callback, "view_class", None)
        if view is None:
            methods = METHODS
        else:
            methods = tuple(m for m in METHODS if m in view.http_method_names and hasattr(view, m))
        found.setdefault(route, (_filled(route), methods))
    return found


ROUTES = _resolver_routes()


def test_the_walk_finds_the_routes_and_the_public_list_names_only_real_ones():
    """A walk that found nothing would pass everything; a public entry for a route that no
    longer exists would silently cover a new route of the same path."""
    assert {"/api/v1/me/", "/api/v1/service/ping/", "/accounts/", "/admin/"} <= set(ROUTES)
    assert set(PUBLIC_ROUTES) <= set(ROUTES), set(PUBLIC_ROUTES) - set(ROUTES)
    assert len(set(ROUTES) - set(PUBLIC_ROUTES)) >= 30


@pytest.mark.parametrize("route", sorted(set(ROUTES) - set(PUBLIC_ROUTES)))
def test_every_private_route_refuses_anonymous_callers(client, route):
    """django-bolt: a misdeclared guard silently made a route public. Every method of every
    route not in PUBLIC_ROUTES refuses a caller without credentials: 401 with the
    contract's code on /api/, a redirect to a sign-in page elsewhere."""
    url, methods = ROUTES[route]
    assert methods, route
    for method in methods:
        response = getattr(client, method)(url, {}, content_type="application/json")
        if url.startswith("/api/"):
            assert response.status_code == 401, (method, url, response.status_code)
            assert response.json()["code"] in ("not_authenticated", "api_key_missing"), url
        else:
            assert response.status_code == 302, (method, url, response.status_code)
            login = "/admin/login/" if url.startswith("/admin/") else resolve_url("accounts:login")
            assert response["Location"].startswith(f"{login}?next="), (method, url)


@pytest.mark.parametrize("route", sorted(PUBLIC_ROUTES))
def test_public_routes_answer_anonymous_callers_without_an_error(client, route):
    url, methods = ROUTES[route]
    for method in methods:
        response = getattr(client, method)(url, {}, content_type="application/json")
        assert response.status_code < 500, (method, url, response.status_code)
