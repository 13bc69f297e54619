"""Account routes for apps: POST auth/password/change|reset|reset/confirm, auth/signup."""

import re

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from accounts.models import AuthEvent
from accounts.users.passwords import reset_link_context

User = get_user_model()
NEW_PASSWORD = "a-brand-new-passphrase-42"
CHANGE = "/api/v1/auth/password/change/"
RESET = "/api/v1/auth/password/reset/"
CONFIRM = "/api/v1/auth/password/reset/confirm/"
SIGNUP = "/api/v1/auth/signup/"


def _signed_in(user, *, enforce_csrf=False):
    client = APIClient(enforce_csrf_checks=enforce_csrf)
    client.force_login(user)
    return client


# --- password change -----------------------------------------------------------------


@pytest.mark.django_db
def test_change_password_with_the_session_keeps_the_caller_signed_in(user, password):
    caller = _signed_in(user)
    other = _signed_in(user)
    response = caller.post(
        CHANGE, {"old_password": password, "new_password": NEW_PASSWORD}, format="json"
    )
    assert response.status_code == 204
    assert response.content == b""
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)
    assert AuthEvent.objects.filter(kind="password_changed", user=user).count() == 1
    assert caller.get("/accounts/").status_code == 200
    assert other.get("/accounts/").status_code == 302


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"old_password": "wrong"}, "old_password", "Your old password was entered incorrectly."),
        ({"new_password": "short"}, "new_password", "This password is too short"),
        ({"new_password": "password"}, "new_password", "This password is too common."),
        ({"new_password": ""}, "new_password", "This field may not be blank."),
    ],
)
def test_change_password_rejects_bad_input_and_writes_nothing(user, password, body, field, message):
    hash_before = user.password
    response = _signed_in(user).post(
        CHANGE, {"old_password": password, "new_password": NEW_PASSWORD, **body}, format="json"
    )
    assert response.status_code == 400
    data = response.json()
    assert data["code"] == "invalid"
    assert list(data["errors"]) == [field]
    assert message in " ".join(data["errors"][field])
    assert User.objects.get(pk=user.pk).password == hash_before
    assert not AuthEvent.objects.filter(kind="password_changed").exists()


@pytest.mark.django_db
def test_change_password_needs_authentication(api_client, user, password):
    response = api_client.post(
        CHANGE, {"old_password": password, "new_password": NEW_PASSWORD}, format="json"
    )
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


@pytest.mark.django_db
def test_change_password_with_the_session_needs_the_csrf_token(user, password):
    client = _signed_in(user, enforce_csrf=True)
    body = {"old_password": password, "new_password": NEW_PASSWORD}
    refused = client.post(CHANGE, body, format="json")
    assert refused.status_code == 403
    assert User.objects.get(pk=user.pk).password == user.password

    client.get("/accounts/password_change/")  # a page with a form sets the csrftoken cookie
    token = client.cookies["csrftoken"].value
    accepted = client.post(CHANGE, body, format="json", HTTP_X_CSRFTOKEN=token)
    assert accepted.status_code == 204


@pytest.mark.django_db
def test_change_password_refuses_a_body_that_is_not_json(user):
    response = _signed_in(user).post(CHANGE, "{nope", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["code"] == "parse_error"


# --- password reset ------------------------------------------------------------------


@pytest.mark.django_db
def test_reset_answers_the_same_for_known_and_unknown_addresses(api_client, user, mailoutbox):
    known = api_client.post(RESET, {"email": user.email.upper()}, format="json")
    unknown = api_client.post(RESET, {"email": "nobody@example.com"}, format="json")
    assert known.status_code == unknown.status_code == 202
    assert known.json() == unknown.json()
    assert [mail.to for mail in mailoutbox] == [[user.email]]


@pytest.mark.django_db
def test_reset_sends_nothing_to_an_inactive_user(api_client, make_user, mailoutbox):
    make_user(email="gone@example.com", is_active=False)
    response = api_client.post(RESET, {"email": "gone@example.com"}, format="json")
    assert response.status_code == 202
    assert mailoutbox == []


@pytest.mark.django_db
def test_reset_link_can_point_at_an_app(
    api_client, user, password, mailoutbox, settings, sign_in, bearer, refresh
):
    settings.ACCOUNTS = {
        **settings.ACCOUNTS,
        "PASSWORD_RESET_URL": "https://app.example.com/reset/{uid}/{token}",
    }
    device = sign_in().json()
    browser = _signed_in(user)
    api_client.post(RESET, {"email": user.email}, format="json")
    uid, token = re.search(
        r"https://app\.example\.com/reset/(\S+)/(\S+)", mailoutbox[0].body
    ).groups()
    response = api_client.post(
        CONFIRM, {"uid": uid, "token": token, "new_password": NEW_PASSWORD}, format="json"
    )
    assert response.status_code == 204
    # The new password signs in, the old one no longer does.
    sign_in(device_id="laptop", password=NEW_PASSWORD)
    old = sign_in(device_id="tablet", expect=401).json()
    assert old["code"] == "invalid_credentials"
    # Every session that existed before the reset has ended: device and browser.
    me = api_client.get("/api/v1/me/", **bearer(device["access"]))
    assert (me.status_code, me.json()["code"]) == (401, "session_revoked")
    assert refresh(device["refresh"]).json()["code"] == "session_revoked"
    assert browser.get("/accounts/").status_code == 302
    # The link worked once.
    body = {"uid": uid, "token": token, "new_password": "yet-another-phrase-43"}
    again = api_client.post(CONFIRM, body, format="json")
    assert (again.status_code, again.json()["code"]) == (400, "invalid")


@pytest.mark.django_db
def test_reset_rejects_a_malformed_address(api_client, mailoutbox):
    response = api_client.post(RESET, {"email": "not an address"}, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert "email" in response.json()["errors"]


@pytest.mark.django_db
def test_reset_is_limited_per_client_address_by_the_setting(api_client, settings, mailoutbox):
    settings.ACCOUNTS = {**settings.ACCOUNTS, "RESET_RATE": "3/hour"}
    for _ in range(3):
        assert api_client.post(RESET, {"email": "a@example.com"}, format="json").status_code == 202
    response = api_client.post(RESET, {"email": "a@example.com"}, format="json")
    assert response.status_code == 429
    assert response.json()["code"] == "throttled"
    assert 0 < int(response["Retry-After"]) <= 3600
    # Another client address has its own count.
    other = api_client.post(
        RESET, {"email": "a@example.com"}, format="json", REMOTE_ADDR="198.51.100.4"
    )
    assert other.status_code == 202


@pytest.mark.django_db
def test_reset_shares_one_count_with_the_html_page(api_client, client, user, settings, mailoutbox):
    """Switching transport buys no extra e-mails: the page and the route count together."""
    settings.ACCOUNTS = {**settings.ACCOUNTS, "RESET_RATE": "2/hour"}
    assert client.post("/accounts/password_reset/", {"email": user.email}).status_code == 302
    assert api_client.post(RESET, {"email": user.email}, format="json").status_code == 202
    assert api_client.post(RESET, {"email": user.email}, format="json").status_code == 429
    assert client.post("/accounts/password_reset/", {"email": user.email}).status_code == 429
    assert len(mailoutbox) == 2


@pytest.mark.django_db
def test_reset_confirm_sets_the_password_once_and_ends_browser_sessions(api_client, user):
    browser = _signed_in(user)
    link = reset_link_context(user)
    body = {**link, "new_password": NEW_PASSWORD}
    response = api_client.post(CONFIRM, body, format="json")
    assert response.status_code == 204
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)
    assert AuthEvent.objects.filter(kind="password_reset", user=user).count() == 1
    assert browser.get("/accounts/").status_code == 302

    reused = api_client.post(
        CONFIRM, {**body, "new_password": "another-passphrase-77"}, format="json"
    )
    assert reused.status_code == 400
    assert reused.json()["code"] == "invalid"
    assert "token" in reused.json()["errors"]
    assert User.objects.get(pk=user.pk).check_password(NEW_PASSWORD)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"token": "abc-123"}, "token"),
        ({"uid": "!!!"}, "token"),
        ({"uid": "OTk5OTk"}, "token"),  # a user id that does not exist
        ({"uid": "OTk5OTk5OTk5OTk5OTk5OTk5OTk5OTk5OTk5"}, "token"),  # beyond any integer column
        ({"uid": "YWJj"}, "token"),  # "abc": not an id at all
        ({"new_password": "12345678"}, "new_password"),
        ({"new_password": ""}, "new_password"),
    ],
)
def test_reset_confirm_rejects_bad_input_and_writes_nothing(api_client, user, change, field):
    body = {**reset_link_context(user), "new_password": NEW_PASSWORD, **change}
    response = api_client.post(CONFIRM, body, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert list(response.json()["errors"]) == [field]
    assert User.objects.get(pk=user.pk).password == user.password


@pytest.mark.django_db
def test_public_routes_ignore_a_session_without_csrf(user, password, mailoutbox):
    client = _signed_in(user, enforce_csrf=True)
    assert client.post(RESET, {"email": user.email}, format="json").status_code == 202


# --- sign-up -------------------------------------------------------------------------


@pytest.fixture
def signup_open(settings):
    settings.ACCOUNTS = {**settings.ACCOUNTS, "ALLOW_SIGNUP": True}


@pytest.mark.django_db
def test_signup_is_404_when_closed(api_client):
    response = api_client.post(
        SIGNUP,
        {"username": "grace", "email": "grace@example.com", "password": NEW_PASSWORD},
        format="json",
    )
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    assert not User.objects.exists()


@pytest.mark.django_db
@pytest.mark.usefixtures("signup_open")
def test_signup_creates_a_user_and_answers_202_check_your_inbox(api_client, mailoutbox):
    response = api_client.post(
        SIGNUP,
        {"username": "grace", "email": "Grace@Example.COM", "password": NEW_PASSWORD},
        format="json",
    )
    assert response.status_code == 202
    assert list(response.json()) == ["detail"]
    user = User.objects.get(username="grace")
    assert user.email == "Grace@example.com"
    assert user.check_password(NEW_PASSWORD)
    assert user.is_active
    assert not user.is_staff
    assert [mail.to for mail in mailoutbox] == [["Grace@example.com"]]
    assert "/accounts/email/verify/" in mailoutbox[0].body  # a verification link


@pytest.mark.django_db
@pytest.mark.usefixtures("signup_open")
def test_signup_with_a_registered_address_answers_the_same_and_mails_its_owner(
    api_client, make_user, mailoutbox
):
    """The contract: the same 202 body whether or not the address is registered; the
    owner is told by e-mail, and no second account is made."""
    owner = make_user(username="ada", email="ada@example.com")
    new = api_client.post(
        SIGNUP,
        {"username": "grace", "email": "grace@example.com", "password": NEW_PASSWORD},
        format="json",
    )
    registered = api_client.post(
        SIGNUP,
        {"username": "ada2", "email": "ADA@example.com", "password": NEW_PASSWORD},
        format="json",
    )
    assert new.status_code == registered.status_code == 202
    assert new.content == registered.content
    assert not User.objects.filter(username="ada2").exists()
    assert [mail.to for mail in mailoutbox] == [["grace@example.com"], [owner.email]]
    welcome, existing = mailoutbox
    assert welcome.subject != existing.subject
    assert "already" in existing.subject
    assert "/accounts/password_reset/" in existing.body
    assert "/accounts/login/" in existing.body


@pytest.mark.django_db
@pytest.mark.usefixtures("signup_open")
def test_signup_is_limited_per_client_address_by_the_setting(api_client, client, settings):
    settings.ACCOUNTS = {**settings.ACCOUNTS, "SIGNUP_RATE": "2/hour"}
    body = {"username": "grace", "email": "grace@example.com", "password": NEW_PASSWORD}
    assert api_client.post(SIGNUP, body, format="json").status_code == 202
    page = {**body, "username": "grace2", "password_confirm": NEW_PASSWORD}
    assert client.post("/accounts/signup/", page).status_code == 200
    response = api_client.post(SIGNUP, {**body, "username": "grace3"}, format="json")
    assert response.status_code == 429
    assert response.json()["code"] == "throttled"
    assert int(response["Retry-After"]) > 0
    assert not User.objects.filter(username="grace3").exists()


@pytest.mark.django_db
@pytest.mark.usefixtures("signup_open")
@pytest.mark.parametrize(
    ("change", "fields"),
    [
        ({"username": "Ada"}, ["username"]),
        ({"username": "ADA", "email": "ada@EXAMPLE.COM"}, ["username"]),
        ({"password": "grace"}, ["password"]),
        ({"email": "nope"}, ["email"]),
        ({"username": "a b"}, ["username"]),
        ({"username": "x" * 151}, ["username"]),
        ({"password": ""}, ["password"]),
    ],
)
def test_signup_rejects_bad_input_and_writes_nothing(api_client, make_user, change, fields):
    make_user(username="ada", email="ada@example.com")
    body = {"username": "grace", "email": "grace@example.com", "password": NEW_PASSWORD, **change}
    response = api_client.post(SIGNUP, body, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert sorted(response.json()["errors"]) == sorted(fields)
    assert User.objects.count() == 1


@pytest.mark.django_db
def test_the_schema_documents_the_account_routes(api_client):
    response = api_client.get("/api/schema/?format=json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    # Beside the statuses every route has (tests/api/test_openapi_conventions.py).
    common = {"405", "413", "415", "503"}
    assert set(paths[CHANGE]["post"]["responses"]) == {"204", "400", "401", "403", "429"} | common
    assert set(paths[RESET]["post"]["responses"]) == {"202", "400", "429"} | common
    assert set(paths[CONFIRM]["post"]["responses"]) == {"204", "400", "429"} | common
    assert set(paths[SIGNUP]["post"]["responses"]) == {"202", "400", "404", "429"} | common
    for path in (RESET, CONFIRM, SIGNUP):
        assert "security" not in paths[path]["post"]  # public, as generators read it
