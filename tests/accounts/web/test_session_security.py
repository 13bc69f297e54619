"""The browser session: no fixation, CSRF on the sign-in form."""

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def test_sign_in_rotates_the_session_key(client, user, password):
    client.get("/accounts/login/")
    client.session.save()  # an attacker-planted, pre-login session
    planted = client.session.session_key

    response = client.post("/accounts/login/", {"username": user.username, "password": password})

    assert response.status_code == 302
    assert client.session.session_key != planted
    assert client.session["_auth_user_id"] == str(user.pk)


def test_sign_in_form_refuses_a_post_without_csrf_token(user, password):
    browser = Client(enforce_csrf_checks=True)

    response = browser.post("/accounts/login/", {"username": user.username, "password": password})

    assert response.status_code == 403
    assert "_auth_user_id" not in browser.session
