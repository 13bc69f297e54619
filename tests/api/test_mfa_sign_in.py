"""The two-step sign-in over HTTP: the password answers `mfa_required` with a single-use,
short-lived `mfa_token`; the second step with a TOTP or recovery code opens the device
session then (device fields of the first step, device limit, revoke_device_id), with amr
["pwd", "otp", "mfa"]. Codes are accepted once; wrong codes count toward the lockout."""

from concurrent.futures import ThreadPoolExecutor

import pytest
from django.core import mail
from django.core.cache import cache
from rest_framework.test import APIClient

from accounts.devices.tokens import decode_access
from accounts.models import AuthEvent, DeviceSession

pytestmark = pytest.mark.django_db

TOKEN_URL = "/api/v1/auth/token/"
MFA_URL = "/api/v1/auth/token/mfa/"
COOKIE_LOGIN_URL = "/api/v1/auth/cookie/login/"
COOKIE_MFA_URL = "/api/v1/auth/cookie/login/mfa/"
MFA_AMR = ["pwd", "otp", "mfa"]


@pytest.fixture
def enrolled(user, totp_enrol, mfa_clock):
    """The user with TOTP on: (secret, recovery codes); the clock is the fake one."""
    return totp_enrol(user)


@pytest.fixture
def first_step(api_client, user, password):
    """first_step(**fields) -> the mfa_token of a right password (asserting the 401)."""

    def step(device_id="phone-1", **fields):
        body = {"username": user.username, "password": password, "device_id": device_id}
        response = api_client.post(TOKEN_URL, {**body, **fields}, format="json")
        assert response.status_code == 401, response.content
        assert response.json().get("code") == "mfa_required"
        return response.json()["mfa_token"]

    return step


def second_step(client, mfa_token, code):
    return client.post(MFA_URL, {"mfa_token": mfa_token, "code": code}, format="json")


def test_the_password_alone_answers_mfa_required_and_opens_no_session(
    api_client, user, password, enrolled
):
    response = api_client.post(
        TOKEN_URL, {"username": user.username, "password": password}, format="json"
    )
    body = response.json()
    assert response.status_code == 401
    assert body["code"] == "mfa_required"
    assert body["methods"] == ["totp", "recovery_code"]
    assert len(body["mfa_token"]) > 30
    assert "access" not in body
    assert "refresh" not in body
    assert not DeviceSession.objects.exists()


def test_a_wrong_password_is_still_invalid_credentials(api_client, user, enrolled):
    response = api_client.post(
        TOKEN_URL, {"username": user.username, "password": "wrong"}, format="json"
    )
    assert (response.status_code, response.json().get("code")) == (401, "invalid_credentials")
    assert "mfa_token" not in response.json()


def test_the_second_step_signs_in_with_amr_and_a_refresh_keeps_it(
    api_client, first_step, enrolled, mfa_clock, bearer, refresh
):
    secret, _ = enrolled
    token = first_step(device_id="phone-1", device_name="Pixel")
    response = second_step(api_client, token, mfa_clock.code(secret))
    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) >= {"access", "refresh", "token_type", "access_expires_in", "device"}
    assert body["device"]["device_id"] == "phone-1"
    assert body["device"]["name"] == "Pixel"
    assert body["device"]["trust_token"]
    assert decode_access(body["access"])["amr"] == MFA_AMR
    assert APIClient().get("/api/v1/me/", **bearer(body["access"])).status_code == 200
    session = DeviceSession.objects.get()
    assert session.amr == MFA_AMR
    rotated = refresh(body["refresh"], device_id="phone-1")
    assert rotated.status_code == 200, rotated.content
    assert decode_access(rotated.json()["access"])["amr"] == MFA_AMR


def test_an_mfa_token_is_single_use(api_client, first_step, enrolled, mfa_clock):
    secret, codes = enrolled
    token = first_step()
    assert second_step(api_client, token, mfa_clock.code(secret)).status_code == 200
    again = second_step(api_client, token, codes[0])
    assert (again.status_code, again.json().get("code")) == (401, "mfa_token_invalid")
    assert DeviceSession.objects.count() == 1


def test_an_mfa_token_dies_after_its_seconds(api_client, first_step, enrolled, mfa_clock, settings):
    settings.ACCOUNTS = {**settings.ACCOUNTS, "MFA_TOKEN_SECONDS": 300}
    secret, _ = enrolled
    token = first_step()
    mfa_clock.advance(301)
    response = second_step(api_client, token, mfa_clock.code(secret))
    assert (response.status_code, response.json().get("code")) == (401, "mfa_token_invalid")
    assert not DeviceSession.objects.exists()


def test_an_mfa_token_within_its_seconds_still_works(
    api_client, first_step, enrolled, mfa_clock, settings
):
    settings.ACCOUNTS = {**settings.ACCOUNTS, "MFA_TOKEN_SECONDS": 300}
    secret, _ = enrolled
    token = first_step()
    mfa_clock.advance(299)
    assert second_step(api_client, token, mfa_clock.code(secret)).status_code == 200


@pytest.mark.parametrize("token", ["", "not-a-token", "x" * 128])
def test_unknown_mfa_tokens_are_refused(api_client, enrolled, mfa_clock, token):
    secret, _ = enrolled
    response = second_step(api_client, token, mfa_clock.code(secret))
    assert response.status_code in (400, 401)
    assert response.json()["code"] in ("invalid", "mfa_token_invalid")
    if token:
        assert response.json().get("code") == "mfa_token_invalid"


def test_a_wrong_code_is_refused_audited_and_the_token_may_be_retried(
    api_client, first_step, enrolled, mfa_clock, user
):
    secret, _ = enrolled
    token = first_step()
    wrong = mfa_clock.code(secret, steps=5)
    response = second_step(api_client, token, wrong)
    assert (response.status_code, response.json().get("code")) == (401, "mfa_invalid")
    assert AuthEvent.objects.filter(kind=AuthEvent.Kind.MFA_FAILED, user=user).count() == 1
    assert not DeviceSession.objects.exists()
    assert mail.outbox == []  # a refused code is audited, not mailed
    assert second_step(api_client, token, mfa_clock.code(secret)).status_code == 200


def test_a_totp_code_is_accepted_once(api_client, first_step, enrolled, mfa_clock):
    secret, _ = enrolled
    code = mfa_clock.code(secret)
    assert second_step(api_client, first_step(device_id="a"), code).status_code == 200
    mfa_clock.advance(20)  # the same 30-second step
    replay = second_step(api_client, first_step(device_id="b"), code)
    assert (replay.status_code, replay.json().get("code")) == (401, "mfa_invalid")
    mfa_clock.advance(10)  # the next step: its own code works
    assert (
        second_step(api_client, first_step(device_id="c"), mfa_clock.code(secret)).status_code
        == 200
    )


def test_a_replay_is_refused_by_a_worker_whose_cache_never_saw_the_code(
    api_client, first_step, enrolled, mfa_clock
):
    """The database refuses the replay (TotpCodeUse), not only a cache another worker or
    instance may not share (allauth marks used codes in the cache)."""
    secret, _ = enrolled
    code = mfa_clock.code(secret)
    assert second_step(api_client, first_step(device_id="a"), code).status_code == 200
    cache.clear()
    replay = second_step(api_client, first_step(device_id="b"), code)
    assert (replay.status_code, replay.json().get("code")) == (401, "mfa_invalid")


@pytest.mark.postgres  # SQLite takes one writer at a time: the others would wait or fail
@pytest.mark.django_db(transaction=True)
def test_a_totp_code_sent_by_two_requests_at_once_signs_in_once(
    user, password, totp_enrol, mfa_clock
):
    secret, _ = totp_enrol(user)
    tokens = []
    for device in ("a", "b", "c", "d"):
        body = {"username": user.username, "password": password, "device_id": device}
        tokens.append(APIClient().post(TOKEN_URL, body, format="json").json()["mfa_token"])
    code = mfa_clock.code(secret)

    def finish(token):
        from django.db import connection

        try:
            return second_step(APIClient(), token, code).status_code
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=4) as pool:
        statuses = sorted(pool.map(finish, tokens))
    assert statuses == [200, 401, 401, 401]
    assert DeviceSession.objects.count() == 1


def test_a_recovery_code_signs_in_once_and_is_audited_and_mailed(
    api_client, first_step, enrolled, user, bearer, django_capture_on_commit_callbacks
):
    _, codes = enrolled
    token = first_step(device_id="a")
    with django_capture_on_commit_callbacks(execute=True):
        response = second_step(api_client, token, codes[0])
    assert response.status_code == 200, response.content
    assert decode_access(response.json()["access"])["amr"] == MFA_AMR
    used = AuthEvent.objects.get(kind=AuthEvent.Kind.MFA_RECOVERY_CODE_USED)
    assert used.user == user
    # The new-device notice of this sign-in aside (tests/accounts/devices/test_new_device_notice).
    mfa_mails = [(m.to, m.subject) for m in mail.outbox if "new sign-in" not in m.subject]
    assert mfa_mails == [([user.email], "Kit: Recovery code used")]
    again = second_step(api_client, first_step(device_id="b"), codes[0])
    assert (again.status_code, again.json().get("code")) == (401, "mfa_invalid")
    status = APIClient().get("/api/v1/mfa/", **bearer(response.json()["access"])).json()
    assert status["recovery_codes_left"] == 9
    assert second_step(api_client, first_step(device_id="b"), codes[1]).status_code == 200


def test_wrong_codes_lock_the_account_out(api_client, first_step, enrolled, mfa_clock, settings):
    settings.ACCOUNTS = {**settings.ACCOUNTS, "LOGIN_FAILURE_LIMIT": 3}
    secret, _ = enrolled
    token = first_step()
    wrong = mfa_clock.code(secret, steps=3)
    for _ in range(3):
        assert second_step(api_client, token, wrong).json().get("code") == "mfa_invalid"
    locked = second_step(api_client, token, mfa_clock.code(secret))
    assert (locked.status_code, locked.json().get("code")) == (429, "too_many_attempts")
    assert int(locked["Retry-After"]) > 0
    assert not DeviceSession.objects.exists()
    assert AuthEvent.objects.filter(kind=AuthEvent.Kind.LOGIN_LOCKED_OUT).exists()


def test_a_new_password_step_does_not_reset_the_count_of_wrong_codes(
    api_client, first_step, enrolled, mfa_clock, settings, user, password
):
    settings.ACCOUNTS = {**settings.ACCOUNTS, "LOGIN_FAILURE_LIMIT": 3}
    secret, _ = enrolled
    wrong = mfa_clock.code(secret, steps=3)
    for _ in range(3):
        assert second_step(api_client, first_step(), wrong).json().get("code") == "mfa_invalid"
    body = {"username": user.username, "password": password}
    response = api_client.post(TOKEN_URL, body, format="json")
    assert (response.status_code, response.json().get("code")) == (429, "too_many_attempts")


def test_the_device_limit_applies_at_the_second_step(
    api_client, first_step, enrolled, mfa_clock, settings
):
    settings.ACCOUNTS = {**settings.ACCOUNTS, "MAX_DEVICES": 1}
    secret, codes = enrolled
    assert (
        second_step(api_client, first_step(device_id="a"), mfa_clock.code(secret)).status_code
        == 200
    )
    token = first_step(device_id="b")  # the first step opens nothing, so it is not refused
    refused = second_step(api_client, token, codes[0])
    assert (refused.status_code, refused.json().get("code")) == (403, "device_limit_reached")
    assert len(refused.json()["devices"]) == 1
    assert list(DeviceSession.objects.values_list("device_id", flat=True)) == ["a"]


def test_revoke_device_id_of_the_first_step_applies_at_the_second(
    api_client, first_step, enrolled, mfa_clock, settings
):
    settings.ACCOUNTS = {**settings.ACCOUNTS, "MAX_DEVICES": 1}
    secret, codes = enrolled
    assert (
        second_step(api_client, first_step(device_id="a"), mfa_clock.code(secret)).status_code
        == 200
    )
    old = DeviceSession.objects.get(device_id="a")
    token = first_step(device_id="b", device_name="Tablet", revoke_device_id=str(old.pk))
    old.refresh_from_db()
    assert old.revoked_at is None  # nothing happens before the second factor
    response = second_step(api_client, token, codes[0])
    assert response.status_code == 200, response.content
    assert response.json()["device"]["name"] == "Tablet"
    old.refresh_from_db()
    assert old.revoked_at is not None
    assert DeviceSession.objects.get(revoked_at__isnull=True).device_id == "b"


def test_a_password_change_between_the_steps_voids_the_token(
    api_client, first_step, enrolled, mfa_clock, user
):
    secret, _ = enrolled
    token = first_step()
    user.set_password("another-Passw0rd-entirely")
    user.save()
    response = second_step(api_client, token, mfa_clock.code(secret))
    assert (response.status_code, response.json().get("code")) == (401, "mfa_token_invalid")


def test_an_account_without_a_factor_signs_in_in_one_step(api_client, user, password):
    body = {"username": user.username, "password": password}
    response = api_client.post(TOKEN_URL, body, format="json")
    assert response.status_code == 200
    assert decode_access(response.json()["access"])["amr"] == ["pwd"]


# --- the cookie twin --------------------------------------------------------------------


def _cookie_first_step(browser, user, password):
    response = browser.post(
        COOKIE_LOGIN_URL,
        {"username": user.username, "password": password, "device_name": "Firefox"},
        content_type="application/json",
        HTTP_X_CSRFTOKEN=browser.cookies["csrftoken"].value,
    )
    assert (response.status_code, response.json().get("code")) == (401, "mfa_required")
    assert "access_token" not in response.cookies
    return response.json()["mfa_token"]


def test_the_cookie_sign_in_finishes_with_a_code_and_sets_the_cookies(
    browser, user, password, enrolled, mfa_clock
):
    secret, _ = enrolled
    token = _cookie_first_step(browser, user, password)
    response = browser.post(
        COOKIE_MFA_URL,
        {"mfa_token": token, "code": mfa_clock.code(secret)},
        content_type="application/json",
        HTTP_X_CSRFTOKEN=browser.cookies["csrftoken"].value,
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert "access" not in body
    assert "refresh" not in body
    assert body["device"]["name"] == "Firefox"
    assert response.cookies["access_token"]["httponly"]
    assert response.cookies["refresh_token"].value
    assert response.cookies["device_trust"].value
    assert decode_access(response.cookies["access_token"].value)["amr"] == MFA_AMR
    assert browser.get("/api/v1/me/").status_code == 200


def test_the_cookie_second_step_needs_the_csrf_header(browser, user, password, enrolled, mfa_clock):
    secret, _ = enrolled
    token = _cookie_first_step(browser, user, password)
    body = {"mfa_token": token, "code": mfa_clock.code(secret)}
    refused = browser.post(COOKIE_MFA_URL, body, content_type="application/json")
    assert (refused.status_code, refused.json().get("code")) == (403, "csrf_failed")
    assert not DeviceSession.objects.exists()
    allowed = browser.post(
        COOKIE_MFA_URL,
        body,
        content_type="application/json",
        HTTP_X_CSRFTOKEN=browser.cookies["csrftoken"].value,
    )
    assert allowed.status_code == 200


def test_an_mfa_token_works_only_on_the_transport_that_issued_it(
    browser, api_client, first_step, user, password, enrolled, mfa_clock
):
    _, codes = enrolled
    app_token = first_step()
    refused = browser.post(
        COOKIE_MFA_URL,
        {"mfa_token": app_token, "code": codes[0]},
        content_type="application/json",
        HTTP_X_CSRFTOKEN=browser.cookies["csrftoken"].value,
    )
    assert (refused.status_code, refused.json().get("code")) == (401, "mfa_token_invalid")
    browser_token = _cookie_first_step(browser, user, password)
    refused = second_step(api_client, browser_token, codes[1])
    assert (refused.status_code, refused.json().get("code")) == (401, "mfa_token_invalid")


def test_a_trusted_device_stays_trusted_through_both_steps(
    api_client, first_step, enrolled, mfa_clock, user, password, settings
):
    """Someone else's wrong passwords lock the account; the device that signed in before
    (its trust token in the first step's body) still gets through the second step."""
    settings.ACCOUNTS = {**settings.ACCOUNTS, "LOGIN_FAILURE_LIMIT": 3}
    secret, _ = enrolled
    signed_in = second_step(api_client, first_step(device_id="a"), mfa_clock.code(secret))
    trust = signed_in.json()["device"]["trust_token"]
    for _ in range(3):
        wrong = {"username": user.username, "password": "guess", "device_id": "x"}
        APIClient().post(TOKEN_URL, wrong, format="json")
    body = {"username": user.username, "password": password, "device_id": "b"}
    untrusted = api_client.post(TOKEN_URL, body, format="json")
    assert (untrusted.status_code, untrusted.json().get("code")) == (429, "too_many_attempts")
    token = first_step(device_id="a", device_trust_token=trust)
    mfa_clock.advance(30)
    response = second_step(api_client, token, mfa_clock.code(secret))
    assert response.status_code == 200, response.content
