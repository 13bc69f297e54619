"""POST /api/v1/auth/social/{provider}/: an app signs in with a provider's ID token, against
the stub provider of tests/oidc_provider.py (never a real one)."""

import time

import jwt
import pytest
from allauth.account.models import EmailAddress
from allauth.socialaccount.models import SocialAccount
from django.core import mail
from django.core.cache import cache

from accounts.models import AuthEvent, DeviceSession, User
from tests.oidc_provider import SigningKey

URL = "/api/v1/auth/social/stub/"


@pytest.fixture
def social(db, api_client, oidc_provider):
    """social(id_token, expect=200, **body) -> the response of the app route."""

    def post(id_token, *, expect=200, url=URL, **body):
        response = api_client.post(
            url, {"id_token": id_token, "device_id": "phone-1", **body}, format="json"
        )
        assert expect is None or response.status_code == expect, response.content
        return response

    return post


def _refused(response):
    assert response.json()["code"] == "social_token_invalid"
    assert set(response.json()) == {"code", "detail"}


def _nothing_made():
    assert not DeviceSession.objects.exists()
    assert not User.objects.exists()
    assert not SocialAccount.objects.exists()


# --- a good token -----------------------------------------------------------------------


def test_a_first_sign_in_makes_a_verified_account_and_a_device_session(social, oidc_provider):
    response = social(oidc_provider.mint(nonce="n-1"), nonce="n-1", device_name="Ada's phone")

    body = response.json()
    assert set(body) == {
        "access", "refresh", "token_type", "access_expires_in", "refresh_expires_in", "device"
    }  # fmt: skip
    user = User.objects.get()
    assert (user.email, user.first_name, user.last_name) == ("ada@example.com", "Ada", "Lovelace")
    assert user.username == "ada"
    assert not user.has_usable_password()
    assert EmailAddress.objects.get(user=user).verified
    link = SocialAccount.objects.get()
    assert (link.user, link.provider, link.uid) == (user, "stub", "stub-user-1")
    session = DeviceSession.objects.get()
    assert (session.user, session.device_id, session.name) == (user, "phone-1", "Ada's phone")
    claims = jwt.decode(body["access"], options={"verify_signature": False})
    assert claims["amr"] == ["fed"]
    assert claims["sid"] == body["device"]["id"] == str(session.pk)
    assert AuthEvent.objects.filter(kind=AuthEvent.Kind.SOCIAL_ACCOUNT_CREATED, user=user).exists()


def test_the_access_token_works_and_a_refresh_keeps_fed(social, oidc_provider, api_client, bearer):
    body = social(oidc_provider.mint()).json()

    me = api_client.get("/api/v1/me/", **bearer(body["access"]))
    refreshed = api_client.post(
        "/api/v1/auth/token/refresh/",
        {"refresh": body["refresh"], "device_id": "phone-1"},
        format="json",
    )

    assert me.status_code == 200
    assert me.json()["email"] == "ada@example.com"
    assert refreshed.status_code == 200
    claims = jwt.decode(refreshed.json()["access"], options={"verify_signature": False})
    assert claims["amr"] == ["fed"]


def test_the_providers_own_factors_follow_fed(social, oidc_provider):
    body = social(oidc_provider.mint(amr=["pwd", "mfa", "made-up", 7])).json()

    claims = jwt.decode(body["access"], options={"verify_signature": False})
    assert claims["amr"] == ["fed", "pwd", "mfa"]


def test_a_known_link_signs_in_the_same_account(social, oidc_provider):
    social(oidc_provider.mint())
    oidc_provider.user["email"] = "changed@example.com"  # the sub decides, not the address

    social(oidc_provider.mint(), device_id="tablet-1")

    assert User.objects.count() == 1
    assert DeviceSession.objects.filter(revoked_at__isnull=True).count() == 2


def test_the_same_device_id_replaces_its_session(social, oidc_provider):
    social(oidc_provider.mint())
    social(oidc_provider.mint())

    sessions = DeviceSession.objects.order_by("created_at")
    assert [s.revoke_reason for s in sessions] == ["replaced", ""]


def test_a_trailing_list_audience_with_azp_is_accepted(social, oidc_provider):
    from tests.oidc_provider import CLIENT_ID

    social(oidc_provider.mint(aud=[CLIENT_ID, "other"], azp=CLIENT_ID))


# --- refusals: 401 social_token_invalid, no session, no user ----------------------------


def _forged_alg_key_doc(oidc_provider):
    oidc_provider.algorithms = ["RS256", "HS256", "none"]  # even a document listing them


REFUSED = {
    "another key (same kid)": lambda p: p.mint(key=SigningKey("key-1")),
    "another issuer": lambda p: p.mint(iss="https://evil.example"),
    "another audience": lambda p: p.mint(aud="someone-else"),
    "several audiences, azp another": lambda p: p.mint(aud=["kit-test-client", "x"], azp="x"),
    "several audiences, no azp": lambda p: p.mint(aud=["kit-test-client", "x"]),
    "expired": lambda p: p.mint(exp=int(time.time()) - 120, iat=int(time.time()) - 900),
    "issued in the future": lambda p: p.mint(iat=int(time.time()) + 600),
    "without exp": lambda p: p.mint(exp=None),
    "without sub": lambda p: p.mint(sub=None),
    "sub not a string": lambda p: p.mint(sub=12345),
    "an unknown kid": lambda p: p.mint(key=SigningKey("key-9")),
    "no kid (several keys)": lambda p: (p.rotate(), p.mint(kid=None))[1],
    "alg none": lambda p: (_forged_alg_key_doc(p), p.mint(alg="none"))[1],
    "alg HS256 with the public key": lambda p: (_forged_alg_key_doc(p), p.mint(alg="HS256"))[1],
    "not a JWT": lambda p: "not-a-token",
    "a truncated signature": lambda p: p.mint()[:-10],
}


@pytest.mark.parametrize("make", REFUSED.values(), ids=REFUSED.keys())
def test_a_bad_token_is_refused_with_nothing_made(social, oidc_provider, make):
    response = social(make(oidc_provider), expect=401)

    _refused(response)
    _nothing_made()
    assert AuthEvent.objects.filter(kind=AuthEvent.Kind.SOCIAL_SIGN_IN_REFUSED).exists()


def test_a_wrong_or_missing_nonce_is_refused(social, oidc_provider):
    _refused(social(oidc_provider.mint(nonce="n-1"), nonce="n-2", expect=401))
    _refused(social(oidc_provider.mint(), nonce="n-1", expect=401))
    _nothing_made()


def test_an_unknown_provider_is_refused_alike(social, oidc_provider):
    response = social(oidc_provider.mint(), url="/api/v1/auth/social/nobody/", expect=401)

    _refused(response)
    _nothing_made()


def test_a_provider_without_a_client_secret_serves_apps(social, oidc_provider, settings, client):
    settings.ACCOUNTS = {
        **settings.ACCOUNTS,
        "SOCIAL_PROVIDERS": [{**oidc_provider.settings_entry(), "client_secret": ""}],
    }

    social(oidc_provider.mint())

    assert "/accounts/social/" not in client.get("/accounts/login/").content.decode()
    assert client.post("/accounts/social/stub/login/").status_code == 404


def test_a_token_of_another_configured_provider_is_refused(social, oidc_provider, settings):
    other = {**oidc_provider.settings_entry("other"), "client_id": "other-client"}
    settings.ACCOUNTS = {
        **settings.ACCOUNTS,
        "SOCIAL_PROVIDERS": [oidc_provider.settings_entry(), other],
    }

    _refused(social(oidc_provider.mint(), url="/api/v1/auth/social/other/", expect=401))


def test_an_inactive_account_is_refused(social, oidc_provider):
    social(oidc_provider.mint())
    User.objects.update(is_active=False)
    DeviceSession.objects.all().delete()

    _refused(social(oidc_provider.mint(), device_id="tablet-1", expect=401))
    assert not DeviceSession.objects.exists()


def test_the_provider_down_is_503_and_nothing_made(social, oidc_provider):
    oidc_provider.down = True

    response = social(oidc_provider.mint(), expect=503)

    assert response.json()["code"] == "service_unavailable"
    _nothing_made()


def test_a_provider_that_is_down_is_asked_once_per_interval(social, oidc_provider):
    """Each refused fetch would hold a worker up to the HTTP timeout: while the provider
    stays down, the next sign-ins answer 503 at once, and it is asked again later."""
    oidc_provider.down = True
    for device in ("a", "b", "c"):
        social(oidc_provider.mint(), device_id=device, expect=503)
    assert oidc_provider.down_answers == 1

    oidc_provider.down = False
    social(oidc_provider.mint(), device_id="d", expect=503)  # still within the interval
    cache.clear()  # the interval is over (the marker expired)
    social(oidc_provider.mint(), device_id="e")
    assert oidc_provider.discovery_fetches == 1


def test_a_document_of_another_issuer_is_refused(social, oidc_provider):
    oidc_provider.discovery_issuer = "https://evil.example"

    social(oidc_provider.mint(), expect=503)
    _nothing_made()


# --- keys: cache, rotation, no fetch storm ------------------------------------------------


def test_the_document_and_keys_are_fetched_once_then_cached(social, oidc_provider):
    for device in ("a", "b", "c"):
        social(oidc_provider.mint(), device_id=device)

    assert (oidc_provider.discovery_fetches, oidc_provider.jwks_fetches) == (1, 1)


def test_a_rotated_key_is_fetched_once_and_then_works(social, oidc_provider):
    social(oidc_provider.mint(), device_id="a")
    oidc_provider.rotate(keep_old=False)

    social(oidc_provider.mint(), device_id="b")
    social(oidc_provider.mint(), device_id="c")

    assert oidc_provider.jwks_fetches == 2


def test_a_forged_kid_on_a_cold_cache_fetches_the_keys_once(social, oidc_provider):
    _refused(social(oidc_provider.mint(key=SigningKey("forged")), expect=401))

    assert oidc_provider.jwks_fetches == 1


def test_forged_kids_fetch_the_keys_at_most_once_per_interval(social, oidc_provider):
    social(oidc_provider.mint(), device_id="a")
    for n in range(20):
        _refused(social(oidc_provider.mint(key=SigningKey(f"forged-{n}")), expect=401))

    assert oidc_provider.jwks_fetches == 2  # the first fetch, then one refetch


# --- linking rules --------------------------------------------------------------------------


def test_a_verified_provider_address_links_to_a_verified_account(social, oidc_provider, make_user):
    ada = make_user(username="ada.l", email="Ada@Example.com")

    social(oidc_provider.mint())

    assert SocialAccount.objects.get().user == ada
    assert User.objects.count() == 1
    assert DeviceSession.objects.get().user == ada
    assert AuthEvent.objects.filter(kind=AuthEvent.Kind.SOCIAL_ACCOUNT_LINKED, user=ada).exists()


def test_an_unverified_provider_address_never_links(social, oidc_provider, make_user):
    ada = make_user(username="ada.l", email="ada@example.com")
    oidc_provider.user["email_verified"] = False

    social(oidc_provider.mint())

    new = User.objects.exclude(pk=ada.pk).get()
    assert SocialAccount.objects.get().user == new
    assert new.email == ""  # the unverified address is not kept
    assert not DeviceSession.objects.filter(user=ada).exists()


def test_a_lookalike_domain_never_links_to_the_ascii_one(social, oidc_provider, make_user):
    ada = make_user(username="ada.l", email="ada@kexample.com")
    oidc_provider.user["email"] = "ada@\u212aexample.COM"  # the Kelvin sign, not a K

    social(oidc_provider.mint(), expect=None)

    assert not SocialAccount.objects.filter(user=ada).exists()
    assert not DeviceSession.objects.filter(user=ada).exists()


def test_a_string_true_email_verified_counts(social, oidc_provider, make_user):
    ada = make_user(username="ada.l", email="ada@example.com")
    oidc_provider.user["email_verified"] = "true"

    social(oidc_provider.mint())

    assert SocialAccount.objects.get().user == ada


def test_an_account_whose_own_address_is_unverified_is_not_handed_over(
    social, oidc_provider, make_user
):
    squatter = make_user(username="squatter", email="ada@example.com")
    EmailAddress.objects.create(user=squatter, email="ada@example.com", verified=False)

    response = social(oidc_provider.mint(), expect=403)

    assert response.json()["code"] == "email_unverified"
    assert not SocialAccount.objects.exists()
    assert not DeviceSession.objects.exists()
    assert User.objects.count() == 1


def test_without_an_address_a_new_account_has_none(social, oidc_provider):
    oidc_provider.user.pop("email")
    oidc_provider.user.pop("email_verified")
    oidc_provider.user["preferred_username"] = "ada"

    social(oidc_provider.mint())

    assert User.objects.get().email == ""


def test_a_taken_username_gets_a_suffix(social, oidc_provider, make_user):
    make_user(username="ADA", email="someone@example.com")

    social(oidc_provider.mint())

    new = User.objects.get(email="ada@example.com")
    assert new.username.startswith("ada-")
    assert len(new.username) == 10


def test_with_sign_up_closed_no_account_is_made(social, oidc_provider, settings):
    settings.ACCOUNTS = {**settings.ACCOUNTS, "ALLOW_SIGNUP": False}

    _refused(social(oidc_provider.mint(), expect=401))
    _nothing_made()


def test_with_sign_up_closed_an_existing_account_still_links(
    social, oidc_provider, settings, make_user
):
    settings.ACCOUNTS = {**settings.ACCOUNTS, "ALLOW_SIGNUP": False}
    ada = make_user(username="ada", email="ada@example.com")

    social(oidc_provider.mint())

    assert DeviceSession.objects.get().user == ada


# --- the sign-in's other rules ----------------------------------------------------------------


def test_an_account_with_a_second_factor_gets_mfa_required(
    social, oidc_provider, make_user, totp_enrol, mfa_clock, api_client
):
    ada = make_user(username="ada", email="ada@example.com")
    secret, _ = totp_enrol(ada)

    response = social(oidc_provider.mint(), expect=401)

    body = response.json()
    assert body["code"] == "mfa_required"
    assert body["methods"] == ["totp", "recovery_code"]
    assert not DeviceSession.objects.exists()
    finished = api_client.post(
        "/api/v1/auth/token/mfa/",
        {"mfa_token": body["mfa_token"], "code": mfa_clock.code(secret)},
        format="json",
    )
    assert finished.status_code == 200, finished.content
    claims = jwt.decode(finished.json()["access"], options={"verify_signature": False})
    assert claims["amr"] == ["fed", "otp", "mfa"]
    assert DeviceSession.objects.get().device_id == "phone-1"


def test_an_unverified_account_gets_403_before_any_session(
    social, oidc_provider, make_user, settings
):
    settings.ACCOUNTS = {**settings.ACCOUNTS, "EMAIL_VERIFICATION": "mandatory"}
    ada = make_user(username="ada", email="ada@example.com")
    SocialAccount.objects.create(user=ada, provider="stub", uid="stub-user-1")
    EmailAddress.objects.create(user=ada, email="ada@example.com", verified=False)

    response = social(oidc_provider.mint(), expect=403)

    assert response.json()["code"] == "email_unverified"
    assert not DeviceSession.objects.exists()
    assert AuthEvent.objects.filter(kind=AuthEvent.Kind.LOGIN_EMAIL_UNVERIFIED, user=ada).exists()
    assert len(mail.outbox) == 1  # a new verification link, as after a password
    assert mail.outbox[0].to == ["ada@example.com"]


def test_the_device_limit_holds(social, oidc_provider, settings):
    settings.ACCOUNTS = {**settings.ACCOUNTS, "MAX_DEVICES": 2}
    social(oidc_provider.mint(), device_id="a")
    social(oidc_provider.mint(), device_id="b")

    response = social(oidc_provider.mint(), device_id="c", expect=403)

    assert response.json()["code"] == "device_limit_reached"
    assert len(response.json()["devices"]) == 2
    assert DeviceSession.objects.filter(revoked_at__isnull=True).count() == 2


def test_a_revoked_session_is_refused_next_request(social, oidc_provider, api_client, bearer):
    body = social(oidc_provider.mint()).json()
    api_client.post("/api/v1/auth/logout/", **bearer(body["access"]))

    response = api_client.get("/api/v1/me/", **bearer(body["access"]))

    assert response.status_code == 401
    assert response.json()["code"] == "session_revoked"


def test_a_body_without_id_token_is_400(social, oidc_provider, api_client):
    response = api_client.post(URL, {"device_id": "a"}, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
