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
