"""Fixtures of the API tests."""

import logging

import pytest
from django.test import Client


@pytest.fixture
def call(make_user, sign_in, make_api_key):
    """call(method, url, body, content_type): the route called as a signed-in user of a
    fresh device with an API key of every scope, so that each call reaches the view with
    its own credentials (an earlier call may have signed the device out)."""
    user = make_user()
    _, api_key = make_api_key(scopes=["users:read", "tokens:introspect", "sessions:revoke"])
    devices = iter(range(1000))

    def _call(method, url, body, content_type="application/json"):
        access = sign_in(device_id=f"d{next(devices)}", username=user.username).json()["access"]
        url = url.replace("/users/1/", f"/users/{user.pk}/")
        client = Client()
        headers = {"HTTP_AUTHORIZATION": f"Bearer {access}", "HTTP_X_API_KEY": api_key}
        return getattr(client, method)(url, body, content_type=content_type, **headers)

    return _call


@pytest.fixture
def browser():
    """A browser: CSRF checks enforced, holding a CSRF cookie as after loading a form."""
    client = Client(enforce_csrf_checks=True)
    client.cookies["csrftoken"] = "a" * 32
    return client


@pytest.fixture
def django_log(caplog, monkeypatch):
    """caplog, also seeing Django's loggers (settings.LOGGING stops them at "django")."""
    monkeypatch.setattr(logging.getLogger("django"), "propagate", True)
    caplog.set_level(logging.INFO)
    return caplog
