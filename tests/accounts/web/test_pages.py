"""The HTML pages on the Django session: what a person in a browser sees and keeps."""

import re

import pytest
from django.conf import settings
from django.contrib.auth import SESSION_KEY, get_user_model
from django.test import Client

from accounts.models import AuthEvent

User = get_user_model()
NEW_PASSWORD = "a-brand-new-passphrase-42"


def _session_cookie(client):
    return client.cookies[settings.SESSION_COOKIE_NAME]


# --- sign in -------------------------------------------------------------------------


@pytest.mark.django_db
def test_login_page_renders_with_the_site_name_and_stylesheet(client, settings):
    settings.ACCOUNTS = {**settings.ACCOUNTS, "SITE_NAME": "Acme"}
    response = client.get("/accounts/login/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "<title>Sign in · Acme</title>" in body
    assert "kit.css" in body
    assert "Username or e-mail" in body
    # One script, a file (the passkey sign-in), never inline script (the CSP).
    assert re.findall(r"<script[^>]*>[^<]*", body) == [
        '<script src="/static/accounts/passkey-sign-in.js" defer>'
    ]


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["ada", "ADA@example.com"])
def test_login_with_username_or_email_lands_on_the_account_page(client, make_user, password, name):
    user = make_user(username="ada", email="ada@example.com")
    response = client.post("/accounts/login/", {"username": name, "password": password})
    assert response.status_code == 302
    assert response["Location"] == "/accounts/"
    assert client.session[SESSION_KEY] == str(user.pk)
    cookie = response.cookies[settings.SESSION_COOKIE_NAME]
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"
    page = client.get("/accounts/")
    assert page.status_code == 200
    assert "ada@example.com" in page.content.decode()


@pytest.mark.django_db
def test_login_rotates_the_session_key(client, user, password):
    from django.contrib.sessions.models import Session

    session = client.session  # an anonymous session, as a fixation attacker would plant
    session["planted"] = "1"
    session.save()
    before = _session_cookie(client).value
    client.post("/accounts/login/", {"username": user.username, "password": password})
    after = _session_cookie(client).value
    assert after
    assert after != before
    assert not Session.objects.filter(session_key=before).exists()
    assert client.session[SESSION_KEY] == str(user.pk)


@pytest.mark.django_db
def test_wrong_password_shows_a_form_error_and_signs_nobody_in(client, user):
    response = client.post("/accounts/login/", {"username": user.username, "password": "nope"})
    assert response.status_code == 200
    assert "Please enter a correct" in response.content.decode()
    assert SESSION_KEY not in client.session


@pytest.mark.django_db
def test_login_follows_a_local_next(client, user, password):
    response = client.post(
        "/accounts/login/?next=/accounts/password_change/",
        {"username": user.username, "password": password, "next": "/accounts/password_change/"},
    )
    assert response["Location"] == "/accounts/password_change/"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "evil", ["//evil.com", "https://evil.com", "https://evil.com/accounts/", "///evil.com"]
)
def test_login_never_redirects_off_site(client, user, password, evil):
    response = client.post(
        "/accounts/login/", {"username": user.username, "password": password, "next": evil}
    )
    assert response.status_code == 302
    assert response["Location"] == "/accounts/"


@pytest.mark.django_db
def test_account_page_needs_a_session(client):
    response = client.get("/accounts/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/accounts/"


# --- sign out ------------------------------------------------------------------------


@pytest.mark.django_db
def test_logout_is_post_only_and_ends_the_session(client, user):
    client.force_login(user)
    assert client.get("/accounts/logout/").status_code == 405
    assert client.get("/accounts/").status_code == 200
    response = client.post("/accounts/logout/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/"
    assert client.get("/accounts/").status_code == 302


@pytest.mark.django_db
def test_logout_needs_the_csrf_token(user):
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    assert client.post("/accounts/logout/").status_code == 403
    assert client.get("/accounts/").status_code == 200


# --- sign up -------------------------------------------------------------------------


@pytest.fixture
def signup_open(settings):
    settings.ACCOUNTS = {**settings.ACCOUNTS, "ALLOW_SIGNUP": True}


@pytest.mark.django_db
def test_signup_is_404_when_closed(client):
    assert client.get("/accounts/signup/").status_code == 404
    response = client.post(
        "/accounts/signup/",
        {"username": "x", "email": "x@example.com", "password": NEW_PASSWORD},
    )
    assert response.status_code == 404
    assert not User.objects.exists()
    assert "Create an account" not in client.get("/accounts/login/").content.decode()


def _signup_form(**fields):
    return {
        "username": "grace",
        "email": "grace@example.com",
        "password": NEW_PASSWORD,
        "password_confirm": NEW_PASSWORD,
        **fields,
    }


def _page_body(response):
    """The page as a visitor compares it (without the per-response CSRF token)."""
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", response.content.decode())


@pytest.mark.django_db
@pytest.mark.usefixtures("signup_open")
def test_signup_creates_the_user_and_says_check_your_email(client, mailoutbox):
    assert "Create an account" in client.get("/accounts/login/").content.decode()
    response = client.post("/accounts/signup/", _signup_form(email="Grace@Example.COM"))
    assert response.status_code == 200
    assert "Check your e-mail" in response.content.decode()
    user = User.objects.get(username="grace")
    assert user.email == "Grace@example.com"
    assert user.check_password(NEW_PASSWORD)
    assert SESSION_KEY not in client.session
    assert [mail.to for mail in mailoutbox] == [["Grace@example.com"]]


@pytest.mark.django_db
@pytest.mark.usefixtures("signup_open")
def test_signup_page_answers_the_same_for_a_registered_address(client, make_user, mailoutbox):
    make_user(username="ada", email="ada@example.com")
    new = client.post("/accounts/signup/", _signup_form())
    registered = client.post(
        "/accounts/signup/", _signup_form(username="ada2", email="ADA@example.com")
    )
    assert new.status_code == registered.status_code == 200
    assert _page_body(new) == _page_body(registered)
    assert not User.objects.filter(username="ada2").exists()
    assert SESSION_KEY not in client.session
    assert [mail.to for mail in mailoutbox] == [["grace@example.com"], ["ada@example.com"]]
    assert "already" in mailoutbox[1].subject


@pytest.mark.django_db
@pytest.mark.usefixtures("signup_open")
def test_signup_page_is_limited_per_client_address(client, settings, mailoutbox):
    """Before the limit, 22 posts made 22 accounts and sent 22 e-mails."""
    settings.ACCOUNTS = {**settings.ACCOUNTS, "SIGNUP_RATE": "3/hour"}
    statuses = [
        client.post(
            "/accounts/signup/", _signup_form(username=f"u{n}", email=f"u{n}@example.com")
        ).status_code
        for n in range(22)
    ]
    assert statuses == [200] * 3 + [429] * 19
    refused = client.post("/accounts/signup/", _signup_form(username="late"))
    assert "Too many requests" in refused.content.decode()
    assert int(refused["Retry-After"]) > 0
    assert User.objects.count() == 3
    assert len(mailoutbox) == 3


@pytest.mark.django_db
@pytest.mark.usefixtures("signup_open")
@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"username": "ADA"}, "username", "A user with that username already exists."),
        ({"password": "123", "password_confirm": "123"}, "password", "This password is too short"),
        ({"password_confirm": "something-else-99"}, "password_confirm", "The two passwords differ"),
        ({"email": "not-an-address"}, "email", "Enter a valid email address."),
        ({"username": "bad name!"}, "username", "Enter a valid username."),
    ],
)
def test_signup_rejects_bad_input_next_to_the_field(client, make_user, data, field, message):
    make_user(username="ada", email="ada@example.com")
    form = {
        "username": "grace",
        "email": "grace@example.com",
        "password": NEW_PASSWORD,
        "password_confirm": NEW_PASSWORD,
        **data,
    }
    response = client.post("/accounts/signup/", form)
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert list(errors) == [field]
    assert message in " ".join(errors[field])
    assert f'id="id_{field}_errors"' in response.content.decode()
    assert User.objects.count() == 1


# --- password change -----------------------------------------------------------------


@pytest.mark.django_db
def test_password_change_keeps_this_browser_and_ends_the_others(client, user, password):
    other_browser = Client()
    other_browser.force_login(user)
    client.force_login(user)
    response = client.post(
        "/accounts/password_change/",
        {
            "old_password": password,
            "new_password1": NEW_PASSWORD,
            "new_password2": NEW_PASSWORD,
        },
    )
    assert response.status_code == 302
    assert response["Location"] == "/accounts/password_change/done/"
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)
    assert client.get("/accounts/").status_code == 200
    assert other_browser.get("/accounts/").status_code == 302
    assert AuthEvent.objects.filter(kind="password_changed", user=user).count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"old_password": "wrong"}, "old_password"),
        ({"new_password1": "short", "new_password2": "short"}, "new_password2"),
        ({"new_password2": "does-not-match-1"}, "new_password2"),
    ],
)
def test_password_change_rejects_bad_input_and_writes_nothing(client, user, password, data, field):
    client.force_login(user)
    hash_before = User.objects.get(pk=user.pk).password
    response = client.post(
        "/accounts/password_change/",
        {
            "old_password": password,
            "new_password1": NEW_PASSWORD,
            "new_password2": NEW_PASSWORD,
            **data,
        },
    )
    assert response.status_code == 200
    assert field in response.context["form"].errors
    assert User.objects.get(pk=user.pk).password == hash_before
    assert not AuthEvent.objects.filter(kind="password_changed").exists()


# --- password reset ------------------------------------------------------------------


def _reset_link(mail):
    return re.search(r"https?://[^/\s]+(/accounts/reset/\S+/)", mail.body).group(1)


@pytest.mark.django_db
def test_password_reset_page_looks_the_same_for_known_and_unknown_addresses(
    client, make_user, mailoutbox, settings
):
    settings.ACCOUNTS = {**settings.ACCOUNTS, "SITE_NAME": "Acme"}
    make_user(email="known@example.com")
    known = client.post("/accounts/password_reset/", {"email": "KNOWN@example.com"})
    unknown = client.post("/accounts/password_reset/", {"email": "nobody@example.com"})
    assert known.status_code == unknown.status_code == 302
    assert known["Location"] == unknown["Location"] == "/accounts/password_reset/done/"
    assert len(mailoutbox) == 1
    mail = mailoutbox[0]
    assert mail.to == ["known@example.com"]
    assert mail.subject == "Reset your Acme password"
    assert "Acme" in mail.body


@pytest.mark.django_db
def test_no_reset_mail_for_an_inactive_user(client, make_user, mailoutbox):
    make_user(email="gone@example.com", is_active=False)
    response = client.post("/accounts/password_reset/", {"email": "gone@example.com"})
    assert response.status_code == 302
    assert mailoutbox == []


@pytest.mark.django_db
def test_password_reset_flow_sets_the_password_once(client, user, mailoutbox):
    other_browser = Client()
    other_browser.force_login(user)
    client.post("/accounts/password_reset/", {"email": user.email})
    link = _reset_link(mailoutbox[0])

    form_page = client.get(link, follow=True)
    assert form_page.status_code == 200
    assert form_page.context["validlink"] is True
    set_url = form_page.redirect_chain[-1][0]
    response = client.post(set_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == "/accounts/reset/done/"
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)
    assert other_browser.get("/accounts/").status_code == 302
    assert AuthEvent.objects.filter(kind="password_reset", user=user).count() == 1

    again = Client().get(link, follow=True)
    assert again.context["validlink"] is False
    assert "This link does not work" in again.content.decode()


@pytest.mark.django_db
def test_password_reset_rejects_a_weak_password_and_writes_nothing(client, user, mailoutbox):
    client.post("/accounts/password_reset/", {"email": user.email})
    form_page = client.get(_reset_link(mailoutbox[0]), follow=True)
    response = client.post(
        form_page.redirect_chain[-1][0], {"new_password1": "12345", "new_password2": "12345"}
    )
    assert response.status_code == 200
    assert "new_password2" in response.context["form"].errors
    assert User.objects.get(pk=user.pk).password == user.password


@pytest.mark.django_db
def test_password_reset_page_is_limited_per_client_address(client, user, settings, mailoutbox):
    """Before the limit, 22 posts sent 22 e-mails."""
    settings.ACCOUNTS = {**settings.ACCOUNTS, "RESET_RATE": "5/hour"}
    statuses = [
        client.post("/accounts/password_reset/", {"email": user.email}).status_code
        for _ in range(22)
    ]
    assert statuses == [302] * 5 + [429] * 17
    assert len(mailoutbox) == 5
    refused = client.post("/accounts/password_reset/", {"email": user.email})
    assert refused.status_code == 429
    assert "Too many requests" in refused.content.decode()
    assert int(refused["Retry-After"]) > 0
    # Another client address is not held back.
    other = client.post("/accounts/password_reset/", {"email": user.email}, REMOTE_ADDR="10.0.0.9")
    assert other.status_code == 302


@pytest.mark.django_db
def test_password_reset_rejects_a_malformed_address(client, mailoutbox):
    response = client.post("/accounts/password_reset/", {"email": "not an address"})
    assert response.status_code == 200
    assert "email" in response.context["form"].errors
    assert mailoutbox == []
