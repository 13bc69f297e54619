"""Brute-force lockout on the Django authentication path (accounts.security.lockout)."""

import time
from datetime import UTC, datetime
from unittest import mock

import pytest
from django.contrib.auth import authenticate
from django.contrib.auth.hashers import MD5PasswordHasher
from django.test import Client
from rest_framework.test import APIClient

from accounts.models import AuthEvent, Lockout
from accounts.security import lockout
from tests.timing import SAMPLES, timing_gap

LIMIT = 3
ADDRESS_LIMIT = 5
LOCKOUT_SECONDS = 600
API_SIGN_IN = "/test/sign-in/"
LOGIN = "/accounts/login/"

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.accounts.security.lockout_urls")]


@pytest.fixture(autouse=True)
def _lockout_settings(settings):
    settings.ACCOUNTS = {
        **settings.ACCOUNTS,
        "LOGIN_FAILURE_LIMIT": LIMIT,
        "ADDRESS_FAILURE_LIMIT": ADDRESS_LIMIT,
        "LOCKOUT_SECONDS": LOCKOUT_SECONDS,
    }
    settings.TRUSTED_PROXIES = []


class Clock:
    """Replaces the lockout module's clock: tests move time instead of sleeping."""

    def __init__(self):
        self.now = time.time()

    def __call__(self):
        return self.now

    def advance(self, seconds):
        self.now += seconds


@pytest.fixture
def clock(monkeypatch):
    fake = Clock()
    monkeypatch.setattr(lockout, "_now", fake)
    return fake


@pytest.fixture
def hasher_calls():
    """Counts every password hash computed or verified (the tests' hasher is MD5)."""
    with (
        mock.patch.object(
            MD5PasswordHasher, "verify", autospec=True, side_effect=MD5PasswordHasher.verify
        ) as verify,
        mock.patch.object(
            MD5PasswordHasher, "encode", autospec=True, side_effect=MD5PasswordHasher.encode
        ) as encode,
    ):
        yield lambda: verify.call_count + encode.call_count


def fail(client, username, times=LIMIT, path=LOGIN, **extra):
    """Fail `times` sign-ins (each answered as a plain wrong password)."""
    expected = 401 if path == API_SIGN_IN else 200
    if path == API_SIGN_IN:
        extra["format"] = "json"
    for _ in range(times):
        response = client.post(path, {"username": username, "password": "wrong"}, **extra)
        assert response.status_code == expected


def signed_in(client):
    return "_auth_user_id" in client.session


def test_right_password_refused_after_limit_without_running_the_hasher(
    client, user, password, hasher_calls
):
    fail(client, user.username)
    before = hasher_calls()

    response = client.post(LOGIN, {"username": user.username, "password": password})

    assert response.status_code == 429
    assert response["Retry-After"] == str(LOCKOUT_SECONDS)
    assert "Too many failed sign-in attempts. Try again in 10 minutes." in response.text
    assert hasher_calls() == before
    assert not signed_in(client)


def test_below_the_limit_the_right_password_signs_in_and_resets_the_count(client, user, password):
    fail(client, user.username, times=LIMIT - 1)
    assert client.post(LOGIN, {"username": user.username, "password": password}).status_code == 302
    client.logout()

    # The account's count restarted: LIMIT - 1 new failures do not lock it.
    fail(client, user.username, times=LIMIT - 1, REMOTE_ADDR="198.51.100.2")
    response = client.post(
        LOGIN, {"username": user.username, "password": password}, REMOTE_ADDR="198.51.100.3"
    )
    assert response.status_code == 302


def test_account_counter_ignores_case_and_spaces_and_applies_to_any_address(client, user, password):
    for i, typed in enumerate([user.username.upper(), f" {user.username} ", user.username]):
        fail(client, typed, times=1, REMOTE_ADDR=f"198.51.100.{i + 10}")

    response = client.post(
        LOGIN, {"username": user.username, "password": password}, REMOTE_ADDR="203.0.113.50"
    )
    assert response.status_code == 429


def test_unknown_username_locks_exactly_like_a_known_one(api_client, user, password):
    fail(api_client, user.username, path=API_SIGN_IN, REMOTE_ADDR="198.51.100.1")
    fail(api_client, "nobody-here", path=API_SIGN_IN, REMOTE_ADDR="198.51.100.2")

    known = api_client.post(
        API_SIGN_IN,
        {"username": user.username, "password": password},
        format="json",
        REMOTE_ADDR="203.0.113.1",
    )
    unknown = api_client.post(
        API_SIGN_IN,
        {"username": "nobody-here", "password": password},
        format="json",
        REMOTE_ADDR="203.0.113.2",
    )

    assert known.status_code == unknown.status_code == 429
    assert known.json() == unknown.json()
    assert known.json()["code"] == "too_many_attempts"
    assert known["Retry-After"] == unknown["Retry-After"] == str(LOCKOUT_SECONDS)


def test_api_helper_answers_invalid_credentials_when_not_locked(api_client, user):
    response = api_client.post(
        API_SIGN_IN, {"username": user.username, "password": "wrong"}, format="json"
    )
    assert response.status_code == 401
    assert response.json()["code"] == "invalid_credentials"
    assert "Retry-After" not in response


def test_many_usernames_from_one_address_lock_the_address(client, make_user, password):
    victim = make_user()
    for i in range(ADDRESS_LIMIT):
        fail(client, f"guess{i}", times=1, REMOTE_ADDR="198.51.100.7")

    locked = client.post(
        LOGIN, {"username": victim.username, "password": password}, REMOTE_ADDR="198.51.100.7"
    )
    elsewhere = client.post(
        LOGIN, {"username": victim.username, "password": password}, REMOTE_ADDR="198.51.100.8"
    )

    assert locked.status_code == 429
    assert elsewhere.status_code == 302
    assert Lockout.objects.filter(kind="address", value="198.51.100.7").exists()


def test_spoofed_forwarded_for_from_untrusted_peer_cannot_dodge_the_address_lock(
    client, make_user, password
):
    for i in range(ADDRESS_LIMIT):
        fail(
            client,
            f"guess{i}",
            times=1,
            REMOTE_ADDR="198.51.100.7",
            HTTP_X_FORWARDED_FOR=f"203.0.113.{i}",
        )

    response = client.post(
        LOGIN,
        {"username": make_user().username, "password": password},
        REMOTE_ADDR="198.51.100.7",
        HTTP_X_FORWARDED_FOR="203.0.113.99",
    )

    assert response.status_code == 429
    assert list(Lockout.objects.values_list("kind", "value")) == [("address", "198.51.100.7")]


def test_forwarded_for_from_a_trusted_proxy_is_the_address_counted(
    client, settings, make_user, password
):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    for i in range(ADDRESS_LIMIT):
        fail(
            client,
            f"guess{i}",
            times=1,
            REMOTE_ADDR="10.0.0.2",
            HTTP_X_FORWARDED_FOR="198.51.100.7",
        )

    same_client = client.post(
        LOGIN,
        {"username": make_user().username, "password": password},
        REMOTE_ADDR="10.0.0.2",
        HTTP_X_FORWARDED_FOR="198.51.100.7",
    )
    other_client = client.post(
        LOGIN,
        {"username": make_user().username, "password": password},
        REMOTE_ADDR="10.0.0.2",
        HTTP_X_FORWARDED_FOR="198.51.100.8",
    )

    assert same_client.status_code == 429
    assert other_client.status_code == 302
    assert list(Lockout.objects.values_list("kind", "value")) == [("address", "198.51.100.7")]


def test_lock_ends_after_lockout_seconds_and_refusals_do_not_extend_it(
    client, user, password, clock
):
    fail(client, user.username)

    clock.advance(LOCKOUT_SECONDS - 100)
    refused = client.post(LOGIN, {"username": user.username, "password": password})
    assert refused.status_code == 429
    assert refused["Retry-After"] == "100"

    clock.advance(100)
    response = client.post(LOGIN, {"username": user.username, "password": password})
    assert response.status_code == 302


def test_lockout_is_written_once_with_an_audit_event(client, user, clock):
    fail(client, user.username)
    for _ in range(2):  # refused while locked
        client.post(LOGIN, {"username": user.username, "password": "wrong"})

    row = Lockout.objects.get(kind="account")
    assert (row.value, row.failures) == (user.username, LIMIT)
    assert abs(row.locked_until.timestamp() - (clock.now + LOCKOUT_SECONDS)) < 1
    events = AuthEvent.objects.filter(kind=AuthEvent.Kind.LOGIN_LOCKED_OUT)
    assert list(events.values_list("detail__lockout", "username")) == [("account", user.username)]


def test_known_lockout_holds_when_the_cache_is_down(client, user, password):
    fail(client, user.username)

    with mock.patch.object(lockout.cache, "get_many", side_effect=ConnectionError("down")):
        response = client.post(
            LOGIN, {"username": user.username, "password": password}, REMOTE_ADDR="203.0.113.9"
        )

    assert response.status_code == 429


def test_admin_lists_and_clears_lockouts(client, make_user, password):
    staff = make_user(is_staff=True, is_superuser=True)
    victim = make_user()
    fail(client, victim.username, REMOTE_ADDR="198.51.100.20")
    fail(client, "someone-else", times=ADDRESS_LIMIT - LIMIT, REMOTE_ADDR="198.51.100.20")
    # A lockout that has ended is not listed.
    ended = datetime(2000, 1, 1, tzinfo=UTC)
    Lockout.objects.create(kind="account", value="old", failures=3, locked_until=ended)
    client.force_login(staff)

    listing = client.get("/admin/accounts/lockout/")
    assert listing.status_code == 200
    assert victim.username in listing.text
    assert "198.51.100.20" in listing.text
    assert ">old<" not in listing.text

    account_lock = Lockout.objects.get(kind="account", value=victim.username)
    response = client.post(
        "/admin/accounts/lockout/",
        {"action": "clear_lockouts", "_selected_action": [account_lock.pk]},
    )
    assert response.status_code == 302
    assert not Lockout.objects.filter(kind="account", value=victim.username).exists()
    client.logout()
    signed = client.post(
        LOGIN, {"username": victim.username, "password": password}, REMOTE_ADDR="203.0.113.4"
    )
    assert signed.status_code == 302


def test_admin_login_shows_the_message_with_429(client, make_user, password, hasher_calls):
    staff = make_user(is_staff=True)
    fail(client, staff.username, path="/admin/login/")
    before = hasher_calls()

    response = client.post("/admin/login/", {"username": staff.username, "password": password})

    assert response.status_code == 429
    assert response["Retry-After"] == str(LOCKOUT_SECONDS)
    assert "Too many failed sign-in attempts." in response.text
    assert hasher_calls() == before
    assert not signed_in(client)


def test_reset_account_ends_its_lockout(client, user, password):
    fail(client, user.username)

    lockout.reset_account(user.username.upper())

    response = client.post(
        LOGIN, {"username": user.username, "password": password}, REMOTE_ADDR="203.0.113.5"
    )
    assert response.status_code == 302


def test_authenticate_timing_does_not_reveal_unknown_or_inactive_users(settings, make_user):
    """Unknown user, wrong password and inactive user (right password) cost the same:
    the real Argon2 hasher runs for each. Interleaved samples compared with a rank test
    at a fixed false-positive rate and a median ratio (tests/timing.py), so a busy machine
    does not fail it, while a case that skips the hash (~100x faster) always does."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.Argon2PasswordHasher"]
    settings.ACCOUNTS = {
        **settings.ACCOUNTS,
        "LOGIN_FAILURE_LIMIT": 10_000,
        "ADDRESS_FAILURE_LIMIT": 10_000,
    }
    make_user(username="active")
    make_user(username="inactive", is_active=False)
    attempts = {  # the reference first
        "wrong password": {"username": "active", "password": "wrong"},
        "unknown": {"username": "nobody", "password": "whatever"},
        "inactive": {"username": "inactive", "password": "correct-horse-battery-staple"},
    }
    authenticate(**attempts["wrong password"])  # warm-up (imports, first hash)

    samples = {name: [] for name in attempts}
    for _ in range(SAMPLES):
        for name, credentials in attempts.items():
            start = time.perf_counter()
            assert authenticate(**credentials) is None
            samples[name].append(time.perf_counter() - start)
    assert timing_gap(samples) is None


def test_password_change_old_password_counts_and_locks_without_hashing(
    rf, user, password, hasher_calls
):
    from accounts.web.forms import LockoutPasswordChangeForm

    def change(old):
        request = rf.post("/accounts/password_change/", REMOTE_ADDR="198.51.100.30")
        new = "n3w-Pass!word"
        data = {"old_password": old, "new_password1": new, "new_password2": new}
        return request, LockoutPasswordChangeForm(user, data, request=request)

    for _ in range(LIMIT):
        _, form = change("wrong")
        assert form.errors["old_password"] == [
            "Your old password was entered incorrectly. Please enter it again."
        ]
    before = hasher_calls()

    request, form = change(password)

    assert not form.is_valid()
    assert form.errors["old_password"] == [
        "Too many failed sign-in attempts. Try again in 10 minutes."
    ]
    assert lockout.lockout_refusal(request).retry_after == LOCKOUT_SECONDS
    assert hasher_calls() == before


# --- the account, whatever it is typed as ------------------------------------------------

TOKEN_URL = "/api/v1/auth/token/"


@pytest.fixture
def alice(make_user):
    return make_user(username="alice", email="alice@example.com")


@pytest.mark.parametrize(
    "typed",
    [
        pytest.param(["alice", "alice@example.com", "ALICE"], id="username-email-case"),
        pytest.param(["Alice@Example.com", "ALICE@EXAMPLE.COM", " alice@example.com "], id="email"),
        pytest.param(["al\u0131ce", "AL\u0130CE", "al\u0131ce"], id="dotless-and-dotted-i"),
        pytest.param(["\uff41\uff4c\uff49\uff43\uff45", "ALİCE", "alice"], id="fullwidth"),
    ],
)
def test_the_account_locks_whatever_the_name_is_typed_as(client, alice, password, typed):
    for i, name in enumerate(typed):
        fail(client, name, times=1, REMOTE_ADDR=f"198.51.100.{i + 40}")

    for name in ("alice", "alice@example.com"):
        response = client.post(
            LOGIN, {"username": name, "password": password}, REMOTE_ADDR="203.0.113.40"
        )
        assert response.status_code == 429, name
    assert not signed_in(client)


@pytest.mark.parametrize(
    "typed",
    [
        pytest.param(["Denis", "DENIS", " denis "], id="case"),
        pytest.param(["d\u00e9nis", "\uff44\uff45\uff4e\uff49\uff53", "DENIS"], id="unicode"),
        pytest.param(["den\u0131s", "DEN\u0130S", "denis"], id="dotless-and-dotted-i"),
    ],
)
def test_an_unknown_name_locks_in_one_normal_form(api_client, alice, password, typed):
    """Variants of a name that names nobody share one counter (as a known name's do), so
    probing with variants tells nothing about whether it exists."""
    for i, name in enumerate(typed):
        fail(api_client, name, times=1, path=API_SIGN_IN, REMOTE_ADDR=f"198.51.100.{i + 50}")

    response = api_client.post(
        API_SIGN_IN, {"username": "denis", "password": password}, format="json"
    )
    assert response.status_code == 429
    assert response.json()["code"] == "too_many_attempts"
    assert list(Lockout.objects.values_list("kind", "value")) == [("account", "denis")]


def test_a_known_and_an_unknown_name_lock_alike_whatever_the_variants(api_client, alice, password):
    """An address look-alike resolves to nobody: it is counted under its normal form, which
    the real address shares, so the known address answers as an unknown one would."""
    for i, name in enumerate(["al\u0131ce@example.com", "bob\u0131@example.com"]):
        fail(api_client, name, path=API_SIGN_IN, REMOTE_ADDR=f"198.51.100.{60 + i}")

    answers = [
        api_client.post(
            API_SIGN_IN, {"username": name, "password": password}, format="json"
        ).status_code
        for name in ("alice@example.com", "bobi@example.com")
    ]
    assert answers == [429, 429]


def test_one_query_for_a_known_and_an_unknown_name(rf, alice, django_assert_num_queries):
    """The lock check adds no query: the backend looks the user up once, for the lock and
    the password alike."""
    for name in ("alice", "ALICE@example.com", "nobody", "nobody@example.com"):
        with django_assert_num_queries(1):
            assert authenticate(rf.post(LOGIN), username=name, password="wrong") is None


# --- the address: a throttle, not a lock on everyone behind it ---------------------------


def test_an_address_is_not_locked_before_its_own_higher_limit(client, make_user, password):
    office = "198.51.100.70"
    for _ in range(ADDRESS_LIMIT - 1):
        fail(client, make_user().username, times=1, REMOTE_ADDR=office)

    colleague = make_user()
    signed = client.post(
        LOGIN, {"username": colleague.username, "password": password}, REMOTE_ADDR=office
    )
    assert signed.status_code == 302
    client.logout()

    fail(client, make_user().username, times=1, REMOTE_ADDR=office)
    locked = client.post(
        LOGIN, {"username": make_user().username, "password": password}, REMOTE_ADDR=office
    )
    assert locked.status_code == 429


# --- trusted devices (the device_trust cookie / device_trust_token) ----------------------


def html_sign_in(client, user, password, **extra):
    response = client.post(LOGIN, {"username": user.username, "password": password}, **extra)
    assert response.status_code == 302
    client.logout()  # the session ends (and the test client forgets every cookie) ...
    client.cookies["device_trust"] = response.cookies["device_trust"].value  # ... not this
    return response


def test_the_html_sign_in_sets_the_device_trust_cookie(client, user, password, settings):
    response = html_sign_in(client, user, password)

    cookie = response.cookies["device_trust"]
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"
    assert cookie["secure"] is True  # DEBUG is off
    assert cookie["path"] == "/"
    assert cookie["max-age"] == settings.ACCOUNTS["SESSION_MAX_AGE"]


def test_the_trust_cookie_is_not_secure_under_debug(client, user, password, settings):
    settings.DEBUG = True
    assert html_sign_in(client, user, password).cookies["device_trust"]["secure"] == ""


def test_the_owner_with_the_trust_cookie_signs_in_while_an_attacker_locks_the_account(
    client, alice, password
):
    html_sign_in(client, alice, password, REMOTE_ADDR="203.0.113.80")
    attacker = Client()
    fail(attacker, "ALICE", REMOTE_ADDR="198.51.100.80")
    refused = attacker.post(LOGIN, {"username": "alice", "password": password})
    assert refused.status_code == 429

    owner = client.post(
        LOGIN, {"username": "alice@example.com", "password": password}, REMOTE_ADDR="203.0.113.80"
    )
    assert owner.status_code == 302
    assert signed_in(client)


def api_sign_in(api_client, name, password, **body):
    return api_client.post(
        TOKEN_URL, {"username": name, "password": password, **body}, format="json"
    )


@pytest.fixture
def locked_alice(alice, password):
    """alice, her device's trust token, and her account locked by an attacker."""
    trust_token = api_sign_in(APIClient(), "alice", password).json()["device"]["trust_token"]
    attacker = APIClient()
    fail(attacker, "Alice@Example.com", path=API_SIGN_IN, REMOTE_ADDR="198.51.100.90")
    assert api_sign_in(attacker, "alice", password).status_code == 429
    return alice, trust_token


def test_the_owner_with_the_trust_token_signs_in_while_the_account_is_locked(
    locked_alice, password
):
    _, trust_token = locked_alice
    response = api_sign_in(APIClient(), "ALICE", password, device_trust_token=trust_token)

    assert response.status_code == 200
    assert response.json()["device"]["trust_token"]
    # Unknown clients are still locked.
    assert api_sign_in(APIClient(), "alice", password).status_code == 429


def test_a_trust_token_never_skips_the_password(locked_alice):
    _, trust_token = locked_alice
    response = api_sign_in(APIClient(), "alice", "wrong", device_trust_token=trust_token)

    assert response.status_code == 401
    assert response.json()["code"] == "invalid_credentials"


def _tampered(token):
    return token[:-2] + ("AA" if not token.endswith("AA") else "BB")


@pytest.mark.parametrize("kind", ["forged", "other account", "expired", "password changed"])
def test_an_invalid_trust_token_does_not_pass_the_lock(
    locked_alice, make_user, password, settings, kind
):
    from accounts.security.device_trust import trust_token_issue

    alice, trust_token = locked_alice
    if kind == "forged":
        trust_token = _tampered(trust_token)
    elif kind == "other account":
        trust_token = trust_token_issue(user=make_user())
    elif kind == "expired":
        issued = time.time() - settings.ACCOUNTS["SESSION_MAX_AGE"] - 10
        with mock.patch("time.time", return_value=issued):
            trust_token = trust_token_issue(user=alice)
    else:
        alice.set_password("An0ther-passw0rd!")
        alice.save()
        password = "An0ther-passw0rd!"

    response = api_sign_in(APIClient(), "alice", password, device_trust_token=trust_token)

    assert response.status_code == 429
    assert response.json()["code"] == "too_many_attempts"


def test_a_trust_token_has_its_own_small_budget_then_is_locked_too(locked_alice, password):
    alice, trust_token = locked_alice
    thief = APIClient()
    for _ in range(LIMIT):
        response = api_sign_in(thief, "alice", "guess", device_trust_token=trust_token)
        assert response.status_code == 401

    response = api_sign_in(APIClient(), "alice", password, device_trust_token=trust_token)

    assert response.status_code == 429
    row = Lockout.objects.get(kind="device")
    assert row.failures == LIMIT
    event = AuthEvent.objects.filter(detail__lockout="device").get()
    assert event.username == alice.username


def test_a_trusted_devices_typos_do_not_count_against_the_account(alice, password):
    trust_token = api_sign_in(APIClient(), "alice", password).json()["device"]["trust_token"]
    for _ in range(LIMIT - 1):
        api_sign_in(APIClient(), "alice", "typo", device_trust_token=trust_token)
    for _ in range(LIMIT - 1):
        api_sign_in(APIClient(), "alice", "guess")

    assert api_sign_in(APIClient(), "alice", password).status_code == 200
