"""config.middleware: cookie-less API requests skip session, auth and messages work."""

import pytest
from django.test import RequestFactory

from config.middleware import is_lean


@pytest.mark.parametrize(
    ("path", "cookie", "lean"),
    [
        ("/api/v1/me/", "", True),
        ("/bench/noauth/", "", True),
        ("/api/v1/me/", "sessionid=abc", False),  # a browser: full stack, CSRF and all
        ("/accounts/login/", "", False),  # HTML pages always take the full stack
        ("/admin/", "", False),
    ],
)
def test_only_cookie_less_api_requests_are_lean(path, cookie, lean):
    request = RequestFactory().get(path, HTTP_COOKIE=cookie)
    assert is_lean(request) is lean


@pytest.mark.django_db
def test_a_lean_request_sets_no_cookie_and_a_browser_keeps_its_session(
    sign_in, api_client, bearer, user, client
):
    access = sign_in().json()["access"]
    response = api_client.get("/api/v1/me/", **bearer(access))
    assert response.status_code == 200
    assert not response.cookies
    client.force_login(user)  # a session cookie: the API sees the signed-in browser
    assert client.get("/api/v1/me/").json()["id"] == user.pk


@pytest.mark.parametrize("with_middleware", [True, False])
def test_an_unknown_api_url_is_json_also_with_debug(client, settings, with_middleware):
    """With DEBUG Django shows its technical HTML 404 without calling handler404; the
    middleware config/settings.py adds in DEBUG turns it into the contract's JSON."""
    settings.DEBUG = True
    if with_middleware:
        settings.MIDDLEWARE = ["config.middleware.api_not_found_in_debug", *settings.MIDDLEWARE]
    response = client.get("/api/v1/no-such-route/")
    assert response.status_code == 404
    if with_middleware:
        assert response.json() == {"code": "not_found", "detail": "Not found."}
    else:  # the control: what an app got before
        assert response["Content-Type"].startswith("text/html")
    page = client.get("/no-such-page/")  # HTML pages keep Django's debug page
    assert page["Content-Type"].startswith("text/html")
