"""Social sign-in in the HTML, end to end with Django's test client against the stub
provider (tests/oidc_provider.py): the button's POST, the provider's authorization step,
the callback's code exchange and ID-token check, and every refusal as a page message."""

import urllib.error
import urllib.request
from urllib.parse import parse_qs, urlsplit

import pytest
from allauth.account.models import EmailAddress
from allauth.socialaccount.models import SocialAccount
from django.contrib.messages import get_messages

from accounts import auth
from accounts.models import AuthEvent, User
from accounts.social import web_flow

pytestmark = pytest.mark.django_db

LOGIN = "/accounts/login/"
BUTTON = "/accounts/social/stub/login/"
CALLBACK = "/accounts/social/stub/callback/"


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def provider_answer(authorize_url):
    """What the stub's /authorize sends the browser back with: (path, query dict)."""
    opener = urllib.request.build_opener(_NoRedirect())
    try:
        opener.open(authorize_url, timeout=5)
    except urllib.error.HTTPError as answer:
        location = answer.headers["Location"]
    else:
        raise AssertionError("the stub did not redirect")
    parts = urlsplit(location)
    return parts.path, {k: v[0] for k, v in parse_qs(parts.query).items()}


def signed_in_user(client):
    return client.get("/accounts/").wsgi_request.user


def page_messages(response):
    return [str(m) for m in get_messages(response.wsgi_request)]


@pytest.fixture
def start(client, oidc_provider):
    """start(next=...) -> the authorization URL the button sends the browser to."""

    def _start(next_url=""):
        response = client.post(BUTTON, {"next": next_url})
        assert response.status_code == 302, response.content
        return response["Location"]

    return _start


@pytest.fixture
def round_trip(client, start):
    """The whole flow: -> the callback's response."""

    def _trip(next_url=""):
        path, query = provider_answer(start(next_url))
        assert path == CALLBACK
        return client.get(CALLBACK, query)

    return _trip


def test_the_login_page_shows_a_button_per_provider(client, oidc_provider, settings):
    second = {**oidc_provider.settings_entry("other", "Other ID")}
    settings.ACCOUNTS = {
        **settings.ACCOUNTS,
        "SOCIAL_PROVIDERS": [oidc_provider.settings_entry(), second],
    }

    page = client.get(LOGIN)

    html = page.content.decode()
    assert 'action="/accounts/social/stub/login/"' in html
    assert "Sign in with Stub ID" in html
    assert "Sign in with Other ID" in html
    assert CLIENT_SECRET_TEXT not in html
    # The buttons' POST may lead to the provider (CSP form-action).
    assert oidc_provider.issuer in page["Content-Security-Policy"]


CLIENT_SECRET_TEXT = "stub-secret"


def test_no_provider_no_button(client, db):
    page = client.get(LOGIN)

    assert "/accounts/social/" not in page.content.decode()
    assert "form-action 'self'" in page["Content-Security-Policy"]


def test_the_button_sends_the_browser_to_the_provider_with_pkce_state_and_nonce(
    client, start, oidc_provider
):
    url = start()

    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == f"{oidc_provider.issuer}/authorize"
    assert query["response_type"] == "code"
    assert query["client_id"] == "kit-test-client"
    assert query["redirect_uri"] == "http://testserver" + CALLBACK
    assert query["code_challenge_method"] == "S256"
    assert len(query["code_challenge"]) == 43
    assert len(query["state"]) >= 43
    assert len(query["nonce"]) >= 43
    assert "openid" in query["scope"].split()
    flow = client.session[web_flow.FLOWS_KEY][query["state"]]
    assert flow["nonce"] == query["nonce"]


def test_the_button_needs_csrf(oidc_provider, db):
    from django.test import Client

    response = Client(enforce_csrf_checks=True).post(BUTTON)

    assert response.status_code == 403


def test_a_get_of_the_button_url_is_405(client, oidc_provider):
    assert client.get(BUTTON).status_code == 405


def test_an_unknown_provider_button_is_404(client, oidc_provider):
    assert client.post("/accounts/social/nobody/login/").status_code == 404


def test_the_round_trip_signs_the_browser_in(client, round_trip, oidc_provider):
    response = round_trip("/accounts/spa-demo/")

    assert response.status_code == 302
    assert response["Location"] == "/accounts/spa-demo/"
    user = signed_in_user(client)
    assert user.email == "ada@example.com"
    assert auth.session_amr(response.wsgi_request) == ["fed"]
    assert EmailAddress.objects.get(user=user).verified
    assert SocialAccount.objects.get().user == user
    # The code exchange used the verifier and Basic client authentication.
    (sent,) = oidc_provider.token_requests
    assert sent["authorization"].startswith("Basic ")
    assert sent["form"]["code_verifier"]


def test_client_secret_post_when_the_provider_lists_only_that(client, round_trip, oidc_provider):
    oidc_provider.auth_methods = ["client_secret_post"]

    round_trip()

    (sent,) = oidc_provider.token_requests
    assert sent["form"]["client_secret"] == oidc_provider.settings_entry()["client_secret"]
    assert signed_in_user(client).is_authenticated


def test_a_foreign_next_is_not_followed(client, round_trip):
    response = round_trip("https://evil.example/")

    assert response["Location"] == "/accounts/"


def _refused_on_the_login_page(client, response, text):
    assert response.status_code == 302
    assert response["Location"] == LOGIN
    assert any(text in m for m in page_messages(response)), page_messages(response)
    assert not signed_in_user(client).is_authenticated


def test_a_replayed_state_is_refused(client, start, oidc_provider):
    _, query = provider_answer(start())
    client.get(CALLBACK, query)

    again = client.get(CALLBACK, query)

    assert again["Location"] == LOGIN
    assert any("expired or was already used" in m for m in page_messages(again))
    assert len(oidc_provider.token_requests) == 1  # the code was not sent again


def test_two_callbacks_racing_with_one_state_go_on_once(client, start, oidc_provider):
    """The second request loaded the session before the first saved it (the flow still
    there): the cache's claim on the state stops it."""
    _, query = provider_answer(start())
    flows_before = client.session[web_flow.FLOWS_KEY]
    client.get(CALLBACK, query)
    session = client.session
    session[web_flow.FLOWS_KEY] = flows_before
    session.save()

    again = client.get(CALLBACK, query)

    assert again["Location"] == LOGIN
    assert any("expired or was already used" in m for m in page_messages(again))
    assert len(oidc_provider.token_requests) == 1


def test_a_state_of_another_browser_is_refused(client, start, oidc_provider):
    from django.test import Client

    _, query = provider_answer(start())

    other = Client()
    response = other.get(CALLBACK, query)

    _refused_on_the_login_page(other, response, "expired or was already used")
    assert not User.objects.exists()


def test_a_made_up_state_is_refused(client, start):
    _, query = provider_answer(start())

    response = client.get(CALLBACK, {**query, "state": "made-up"})

    _refused_on_the_login_page(client, response, "expired or was already used")


def test_an_expired_flow_is_refused(client, start, monkeypatch):
    _, query = provider_answer(start())
    real = web_flow.time.time
    monkeypatch.setattr(web_flow.time, "time", lambda: real() + web_flow.FLOW_SECONDS + 1)

    response = client.get(CALLBACK, query)

    _refused_on_the_login_page(client, response, "expired or was already used")


def test_a_cancelled_sign_in_is_a_message(client, start, oidc_provider):
    oidc_provider.deny = True
    _, query = provider_answer(start())

    response = client.get(CALLBACK, query)

    _refused_on_the_login_page(client, response, "was cancelled")
    assert AuthEvent.objects.filter(
        kind=AuthEvent.Kind.SOCIAL_SIGN_IN_REFUSED, detail__reason="access_denied"
    ).exists()


def test_a_token_with_another_nonce_is_refused(client, start, oidc_provider, monkeypatch):
    real_mint = oidc_provider.mint
    monkeypatch.setattr(oidc_provider, "mint", lambda **kw: real_mint(**{**kw, "nonce": "x"}))
    _, query = provider_answer(start())

    response = client.get(CALLBACK, query)

    _refused_on_the_login_page(client, response, "was refused")
    assert not User.objects.exists()


def test_a_code_the_provider_refuses_is_a_message(client, start, oidc_provider):
    _, query = provider_answer(start())

    response = client.get(CALLBACK, {**query, "code": "not-a-code"})

    _refused_on_the_login_page(client, response, "was refused")


def test_the_provider_down_is_a_message_not_a_500(client, oidc_provider):
    oidc_provider.down = True

    response = client.post(BUTTON)

    _refused_on_the_login_page(client, response, "cannot be reached")


def test_the_provider_down_at_the_callback_is_a_message(client, start, oidc_provider):
    _, query = provider_answer(start())
    oidc_provider.down = True

    response = client.get(CALLBACK, query)

    _refused_on_the_login_page(client, response, "cannot be reached")


def test_an_account_with_a_second_factor_goes_to_the_code_step(
    client, round_trip, make_user, enrol_totp, mfa_clock
):
    ada = make_user(username="ada", email="ada@example.com")
    secret, _ = enrol_totp(ada)

    response = round_trip("/accounts/spa-demo/")

    assert response["Location"] == "/accounts/login/mfa/"
    assert not signed_in_user(client).is_authenticated
    done = client.post("/accounts/login/mfa/", {"code": mfa_clock.code(secret)})
    assert done.status_code == 302
    assert done["Location"] == "/accounts/spa-demo/"
    assert signed_in_user(client) == ada
    assert auth.session_amr(done.wsgi_request) == ["fed", "otp", "mfa"]


def test_an_account_whose_address_is_unverified_is_not_handed_over(client, round_trip, make_user):
    squatter = make_user(username="squatter", email="ada@example.com")
    EmailAddress.objects.create(user=squatter, email="ada@example.com", verified=False)

    response = round_trip()

    _refused_on_the_login_page(client, response, "not verified yet")
    assert not SocialAccount.objects.exists()


def test_sign_up_closed_is_a_message(client, round_trip, settings):
    settings.ACCOUNTS = {**settings.ACCOUNTS, "ALLOW_SIGNUP": False}

    response = round_trip()

    _refused_on_the_login_page(client, response, "sign-up is closed")
    assert not User.objects.exists()
