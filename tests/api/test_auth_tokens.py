"""POST /auth/token/, /auth/token/refresh/, /auth/token/verify/, /auth/logout/,
/auth/logout-all/ and GET /me/: the contract's statuses and codes."""

from datetime import timedelta

import jwt
import pytest
from django.conf import settings
from django.db import connection
from django.db.models import F
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import AuthEvent, DeviceSession
from accounts.security.device_trust import trust_token_read

TOKEN_URL = "/api/v1/auth/token/"
REFRESH_URL = "/api/v1/auth/token/refresh/"
VERIFY_URL = "/api/v1/auth/token/verify/"
LOGOUT_URL = "/api/v1/auth/logout/"
LOGOUT_ALL_URL = "/api/v1/auth/logout-all/"
ME_URL = "/api/v1/me/"

pytestmark = pytest.mark.django_db


def claims(token):
    return jwt.decode(token, options={"verify_signature": False})


def forge(payload):
    return jwt.encode(payload, settings.SIMPLE_JWT["SIGNING_KEY"], algorithm="HS256")


# --- sign-in ----------------------------------------------------------------------------


def test_sign_in_returns_pair_and_device(sign_in, user):
    body = sign_in(device_name="Ada's phone").json()
    assert set(body) == {
        "access",
        "refresh",
        "token_type",
        "access_expires_in",
        "refresh_expires_in",
        "device",
    }
    assert body["token_type"] == "Bearer"
    assert body["access_expires_in"] == 300
    assert body["refresh_expires_in"] == 2592000
    session = DeviceSession.objects.get()
    trust_token = body["device"].pop("trust_token")
    assert body["device"] == {"id": str(session.pk), "device_id": "phone-1", "name": "Ada's phone"}
    assert trust_token_read(token=trust_token).vouches_for(user)
    access, refresh = claims(body["access"]), claims(body["refresh"])
    assert access["token_type"] == "access"
    assert access["sub"] == str(user.pk)
    assert access["sid"] == str(session.pk)
    assert access["username"] == user.username
    assert access["is_staff"] is False
    assert access["rv"] == 0
    assert {"exp", "iat", "jti"} <= set(access)
    assert refresh["token_type"] == "refresh"
    assert refresh["sid"] == str(session.pk)
    assert refresh["jti"] == session.refresh_jti
    assert set(refresh) == {"token_type", "exp", "iat", "jti", "sub", "sid"}
    user.refresh_from_db()
    assert user.last_login is not None
    event = AuthEvent.objects.get(kind=AuthEvent.Kind.LOGIN_SUCCEEDED)
    assert event.user == user
    assert event.session_id == session.pk


def test_sign_in_with_email_and_generated_device_id(sign_in, user):
    body = sign_in(device_id=None, username=user.email.upper()).json()
    assert len(body["device"]["device_id"]) == 32
    assert DeviceSession.objects.get().device_id == body["device"]["device_id"]


def test_default_device_name_from_user_agent(api_client, user, password):
    response = api_client.post(
        TOKEN_URL,
        {"username": user.username, "password": password},
        format="json",
        HTTP_USER_AGENT="Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
    )
    assert response.json()["device"]["name"] == "Firefox on Linux"


@pytest.mark.parametrize("case", ["unknown", "wrong_password", "inactive"])
def test_invalid_credentials_one_answer(api_client, make_user, password, case):
    make_user(username="ada", is_active=case != "inactive")
    username = "nobody" if case == "unknown" else "ada"
    secret = "wrong" if case == "wrong_password" else password
    response = api_client.post(TOKEN_URL, {"username": username, "password": secret}, format="json")
    assert response.status_code == 401
    assert response.json() == {
        "code": "invalid_credentials",
        "detail": "Unable to sign in with these credentials.",
    }
    assert not DeviceSession.objects.exists()
    event = AuthEvent.objects.get(kind=AuthEvent.Kind.LOGIN_FAILED)
    assert event.username == username
    assert event.user is None
    assert secret not in str(event.detail)


def test_malformed_json_is_parse_error(api_client):
    response = api_client.post(TOKEN_URL, "{not json", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["code"] == "parse_error"


def test_missing_fields_are_invalid(api_client):
    response = api_client.post(TOKEN_URL, {}, format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    assert set(body["errors"]) == {"username", "password"}


@pytest.mark.parametrize("device_id", ["", "x" * 129, "has space", "emoji-😀", "semi;colon"])
def test_illegal_device_id_is_invalid_and_makes_no_session(sign_in, device_id):
    body = sign_in(device_id=device_id, expect=400).json()
    assert body["code"] == "invalid"
    assert "device_id" in body["errors"]
    assert not DeviceSession.objects.exists()


def test_device_id_edge_lengths_and_characters(sign_in):
    sign_in(device_id="A" * 128)
    sign_in(device_id="a.b_c:d-9")


def test_long_device_name_is_invalid(sign_in):
    body = sign_in(device_name="n" * 101, expect=400).json()
    assert "device_name" in body["errors"]


def test_same_device_replaces_session(sign_in):
    first = sign_in().json()
    second = sign_in().json()
    assert first["device"]["id"] != second["device"]["id"]
    old = DeviceSession.objects.get(pk=first["device"]["id"])
    assert old.revoke_reason == "replaced"
    assert DeviceSession.objects.filter(revoked_at__isnull=True).count() == 1


def test_replaced_session_tokens_are_refused(sign_in, api_client, bearer, refresh):
    first = sign_in().json()
    sign_in()
    response = api_client.get(ME_URL, **bearer(first["access"]))
    assert response.status_code == 401
    assert response.json()["code"] == "session_revoked"
    assert refresh(first["refresh"]).json()["code"] == "session_revoked"


# --- device limit -----------------------------------------------------------------------


@pytest.fixture
def limit_two(settings):
    settings.ACCOUNTS = {**settings.ACCOUNTS, "MAX_DEVICES": 2, "DEVICE_LIMIT_POLICY": "reject"}


def test_device_limit_reject(sign_in, limit_two):
    a = sign_in(device_id="a", device_name="A").json()
    b = sign_in(device_id="b", device_name="B").json()
    response = sign_in(device_id="c", expect=403)
    body = response.json()
    assert body["code"] == "device_limit_reached"
    assert [d["id"] for d in body["devices"]] == [b["device"]["id"], a["device"]["id"]]
    assert set(body["devices"][0]) == {"id", "name", "last_used_at"}
    assert body["devices"][0]["last_used_at"].endswith("Z")
    assert body["devices"][0]["name"] == "B"
    assert DeviceSession.objects.count() == 2
    assert AuthEvent.objects.filter(kind="device_limit_reached").count() == 1
    # Re-signing in on a known device is a replacement, not another device.
    sign_in(device_id="a")


def test_revoke_device_id_signs_out_lost_device_in_same_step(
    sign_in, limit_two, api_client, bearer
):
    lost = sign_in(device_id="a").json()
    sign_in(device_id="b")
    new = sign_in(device_id="c", revoke_device_id=lost["device"]["id"]).json()
    assert DeviceSession.objects.get(pk=lost["device"]["id"]).revoke_reason == "user"
    assert api_client.get(ME_URL, **bearer(lost["access"])).json()["code"] == "session_revoked"
    assert api_client.get(ME_URL, **bearer(new["access"])).status_code == 200


def test_revoke_device_id_of_another_user_is_invalid(sign_in, limit_two, make_user, password):
    other = make_user()
    theirs = sign_in(username=other.username).json()
    body = sign_in(device_id="c", revoke_device_id=theirs["device"]["id"], expect=400).json()
    assert "revoke_device_id" in body["errors"]
    assert DeviceSession.objects.get(pk=theirs["device"]["id"]).revoked_at is None
    assert DeviceSession.objects.filter(device_id="c").count() == 0


def test_device_limit_evict_oldest(sign_in, settings):
    settings.ACCOUNTS = {
        **settings.ACCOUNTS,
        "MAX_DEVICES": 2,
        "DEVICE_LIMIT_POLICY": "evict_oldest",
    }
    a = sign_in(device_id="a").json()
    b = sign_in(device_id="b").json()
    # "a" was used more recently than "b".
    DeviceSession.objects.filter(pk=a["device"]["id"]).update(last_used_at=timezone.now())
    sign_in(device_id="c")
    evicted = DeviceSession.objects.get(pk=b["device"]["id"])
    assert evicted.revoke_reason == "device_limit"
    assert DeviceSession.objects.filter(revoked_at__isnull=True).count() == 2


def test_expired_sessions_do_not_count(sign_in, limit_two):
    sign_in(device_id="a")
    sign_in(device_id="b")
    DeviceSession.objects.update(refresh_expires_at=timezone.now() - timedelta(seconds=1))
    c = sign_in(device_id="c").json()
    d = sign_in(device_id="d").json()
    # The limit still holds, counting only c and d: the expired a and b are neither
    # counted nor offered for revocation.
    body = sign_in(device_id="e", expect=403).json()
    assert body["code"] == "device_limit_reached"
    assert [device["id"] for device in body["devices"]] == [d["device"]["id"], c["device"]["id"]]


# --- refresh ----------------------------------------------------------------------------


def test_refresh_rotates(sign_in, refresh, api_client, bearer):
    first = sign_in().json()
    response = refresh(first["refresh"])
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {
        "access",
        "refresh",
        "token_type",
        "access_expires_in",
        "refresh_expires_in",
    }
    assert claims(body["refresh"])["sid"] == first["device"]["id"]
    assert body["refresh"] != first["refresh"]
    session = DeviceSession.objects.get()
    assert session.refresh_jti == claims(body["refresh"])["jti"]
    assert session.previous_refresh_jti == claims(first["refresh"])["jti"]
    assert api_client.get(ME_URL, **bearer(body["access"])).status_code == 200


def test_refresh_reuse_revokes_whole_session(sign_in, refresh, api_client, bearer):
    first = sign_in().json()
    second = refresh(first["refresh"]).json()
    response = refresh(first["refresh"])
    assert response.status_code == 401
    assert response.json()["code"] == "refresh_reused"
    assert DeviceSession.objects.get().revoke_reason == "refresh_reused"
    # The newest pair stops working too.
    assert api_client.get(ME_URL, **bearer(second["access"])).json()["code"] == "session_revoked"
    assert refresh(second["refresh"]).json()["code"] == "session_revoked"
    assert AuthEvent.objects.filter(kind="refresh_reused").count() == 1


def test_grace_window_answers_a_retry(sign_in, refresh, settings, api_client, bearer):
    settings.ACCOUNTS = {**settings.ACCOUNTS, "REFRESH_REUSE_GRACE_SECONDS": 30}
    first = sign_in().json()
    lost = refresh(first["refresh"]).json()
    retry = refresh(first["refresh"])
    assert retry.status_code == 200
    assert claims(retry.json()["refresh"])["sid"] == first["device"]["id"]
    assert DeviceSession.objects.get().revoked_at is None
    assert refresh(retry.json()["refresh"]).status_code == 200
    # Older than the previous token: reuse even inside the window.
    assert refresh(lost["refresh"]).json()["code"] == "refresh_reused"


def test_grace_window_expires(sign_in, refresh, settings):
    settings.ACCOUNTS = {**settings.ACCOUNTS, "REFRESH_REUSE_GRACE_SECONDS": 30}
    first = sign_in().json()
    refresh(first["refresh"])
    DeviceSession.objects.update(rotated_at=timezone.now() - timedelta(seconds=31))
    assert refresh(first["refresh"]).json()["code"] == "refresh_reused"


def test_refresh_from_another_device(sign_in, refresh):
    first = sign_in().json()
    response = refresh(first["refresh"], device_id="thief")
    assert response.status_code == 401
    assert response.json()["code"] == "device_mismatch"
    assert DeviceSession.objects.get().revoked_at is None
    assert AuthEvent.objects.filter(kind="device_mismatch").count() == 1
    assert refresh(first["refresh"]).status_code == 200


def test_refresh_of_revoked_session(sign_in, refresh, api_client, bearer):
    first = sign_in().json()
    api_client.post(LOGOUT_URL, **bearer(first["access"]))
    response = refresh(first["refresh"])
    assert response.status_code == 401
    assert response.json()["code"] == "session_revoked"


def test_refresh_keeps_absolute_cap(sign_in, refresh, settings):
    first = sign_in().json()
    session = DeviceSession.objects.get()
    cap = timedelta(seconds=settings.ACCOUNTS["SESSION_MAX_AGE"])
    DeviceSession.objects.update(created_at=session.created_at - cap + timedelta(seconds=100))
    body = refresh(first["refresh"]).json()
    assert 95 <= body["refresh_expires_in"] <= 100
    assert body["access_expires_in"] <= 100
    session.refresh_from_db()
    assert session.refresh_expires_at <= session.created_at + cap


def test_refresh_extends_full_lifetime(sign_in, refresh):
    first = sign_in().json()
    DeviceSession.objects.update(refresh_expires_at=timezone.now() + timedelta(days=1))
    body = refresh(first["refresh"]).json()
    assert body["refresh_expires_in"] >= 2592000 - 5


def test_refresh_after_session_max_age(sign_in, refresh, settings):
    """A session older than ACCOUNTS_SESSION_MAX_AGE is over, although its refresh token
    (30 days) is not: the session is aged by moving all its times back together."""
    max_age = 3600
    settings.ACCOUNTS = {**settings.ACCOUNTS, "SESSION_MAX_AGE": max_age}
    first = sign_in().json()
    older = timedelta(seconds=max_age + 1)
    DeviceSession.objects.update(
        created_at=F("created_at") - older,
        last_used_at=F("last_used_at") - older,
        refresh_expires_at=F("refresh_expires_at") - older,
    )
    response = refresh(first["refresh"])
    assert (response.status_code, response.json()["code"]) == (401, "session_revoked")
    assert claims(first["refresh"])["exp"] > timezone.now().timestamp()  # the token is not


def bad_tokens(good_access, good_refresh, user_id):
    now = int(timezone.now().timestamp())
    session_id = claims(good_refresh)["sid"]
    return {
        "garbage": "not-a-token",
        "truncated": good_refresh[:-10],
        "access_as_refresh": good_access,
        "expired": forge(
            {
                "token_type": "refresh",
                "exp": now - 10,
                "iat": now - 100,
                "jti": "x",
                "sub": str(user_id),
                "sid": session_id,
            }
        ),
        "other_key": jwt.encode(
            {**claims(good_refresh)}, "another-secret-key-" + "x" * 40, algorithm="HS256"
        ),
        "no_sid": forge({"token_type": "refresh", "exp": now + 99, "jti": "x", "sub": "1"}),
        "bad_sid": forge(
            {"token_type": "refresh", "exp": now + 99, "jti": "x", "sub": "1", "sid": "nope"}
        ),
        "bad_sub": forge(
            {"token_type": "refresh", "exp": now + 99, "jti": "x", "sub": "ab", "sid": session_id}
        ),
        "none_alg": jwt.encode(claims(good_refresh), None, algorithm="none"),
    }


def test_bad_refresh_tokens_are_token_invalid(sign_in, refresh, user):
    first = sign_in().json()
    for name, token in bad_tokens(first["access"], first["refresh"], user.pk).items():
        response = refresh(token)
        assert response.status_code == 401, name
        assert response.json()["code"] == "token_invalid", name
    assert DeviceSession.objects.get().revoked_at is None


def test_bad_bearer_tokens_are_token_invalid(sign_in, api_client, user):
    first = sign_in().json()
    tokens = bad_tokens(first["access"], first["refresh"], user.pk)
    tokens["refresh_as_access"] = first["refresh"]
    for name, token in tokens.items():
        if name == "access_as_refresh":
            continue
        response = api_client.get(ME_URL, HTTP_AUTHORIZATION=f"Bearer {token}")
        assert response.status_code == 401, name
        assert response.json()["code"] == "token_invalid", name
        assert response["WWW-Authenticate"].startswith("Bearer")
    response = api_client.get(ME_URL, HTTP_AUTHORIZATION="Bearer a b")
    assert response.json()["code"] == "token_invalid"


def test_refresh_missing_fields(api_client):
    body = api_client.post(REFRESH_URL, {}, format="json").json()
    assert body["code"] == "invalid"
    assert set(body["errors"]) == {"refresh", "device_id"}


# --- verify -----------------------------------------------------------------------------


def test_verify(sign_in, api_client, refresh):
    first = sign_in().json()
    for kind in ("access", "refresh"):
        response = api_client.post(VERIFY_URL, {"token": first[kind]}, format="json")
        assert response.status_code == 200
        assert response.json() == {"valid": True, "token_type": kind}
    assert api_client.post(VERIFY_URL, {"token": "x.y.z"}, format="json").status_code == 401
    # An exchanged refresh token is no longer valid (and verifying does not revoke).
    refresh(first["refresh"])
    response = api_client.post(VERIFY_URL, {"token": first["refresh"]}, format="json")
    assert response.json()["code"] == "token_invalid"
    assert DeviceSession.objects.get().revoked_at is None


def test_verify_counts_revocation(sign_in, api_client, bearer):
    first = sign_in().json()
    api_client.post(LOGOUT_URL, **bearer(first["access"]))
    for kind in ("access", "refresh"):
        response = api_client.post(VERIFY_URL, {"token": first[kind]}, format="json")
        assert response.status_code == 401
        assert response.json()["code"] == "session_revoked"


# --- logout -----------------------------------------------------------------------------


def test_logout_with_access_token(sign_in, api_client, bearer):
    first = sign_in().json()
    response = api_client.post(LOGOUT_URL, **bearer(first["access"]))
    assert response.status_code == 204
    assert DeviceSession.objects.get().revoke_reason == "logout"
    assert AuthEvent.objects.filter(kind="logout").count() == 1
    assert api_client.get(ME_URL, **bearer(first["access"])).json()["code"] == "session_revoked"


def test_logout_with_refresh_token_even_when_access_expired(sign_in, api_client):
    first = sign_in().json()
    response = api_client.post(
        LOGOUT_URL,
        {"refresh": first["refresh"]},
        format="json",
        HTTP_AUTHORIZATION="Bearer expired.or.garbage",
    )
    assert response.status_code == 204
    assert DeviceSession.objects.get().revoke_reason == "logout"
    # Already revoked: still 204.
    response = api_client.post(LOGOUT_URL, {"refresh": first["refresh"]}, format="json")
    assert response.status_code == 204


def test_logout_without_credentials(api_client):
    response = api_client.post(LOGOUT_URL, {}, format="json")
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"
    response = api_client.post(LOGOUT_URL, {"refresh": "garbage"}, format="json")
    assert response.json()["code"] == "token_invalid"


def test_logout_all(sign_in, api_client, bearer, user, client, password):
    client.force_login(user)
    a = sign_in(device_id="a").json()
    b = sign_in(device_id="b").json()
    response = api_client.post(LOGOUT_ALL_URL, **bearer(a["access"]))
    assert response.status_code == 204
    assert set(DeviceSession.objects.values_list("revoke_reason", flat=True)) == {"logout_all"}
    for pair in (a, b):
        assert api_client.get(ME_URL, **bearer(pair["access"])).status_code == 401
    # The browser session ended too.
    assert client.get("/accounts/").status_code == 302


def test_logout_all_from_browser_keeps_own_session(sign_in, user, client, api_client, bearer):
    a = sign_in(device_id="a").json()
    client.force_login(user)
    client.get("/accounts/")
    csrf = client.cookies["csrftoken"].value
    response = client.post(LOGOUT_ALL_URL, HTTP_X_CSRFTOKEN=csrf)
    assert response.status_code == 204
    assert api_client.get(ME_URL, **bearer(a["access"])).status_code == 401
    assert client.get("/accounts/").status_code == 200


def test_session_auth_unsafe_request_without_csrf(user):
    from rest_framework.test import APIClient

    client = APIClient(enforce_csrf_checks=True)
    client.force_login(user)
    response = client.post(LOGOUT_ALL_URL)
    assert response.status_code == 403
    assert response.json()["code"] == "csrf_failed"


# --- me and auth ------------------------------------------------------------------------


def test_me(sign_in, api_client, bearer, user):
    first = sign_in().json()
    response = api_client.get(ME_URL, **bearer(first["access"]))
    assert response.status_code == 200
    assert response.json() == {
        "id": user.pk,
        "username": user.username,
        "email": user.email,
        "first_name": "",
        "last_name": "",
        "is_staff": False,
    }


def test_me_without_credentials(api_client):
    response = api_client.get(ME_URL)
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_deactivated_user_is_signed_out(sign_in, api_client, bearer, refresh, user):
    first = sign_in().json()
    user.is_active = False
    user.save()
    assert api_client.get(ME_URL, **bearer(first["access"])).json()["code"] == "session_revoked"
    assert refresh(first["refresh"]).json()["code"] == "session_revoked"
    assert DeviceSession.objects.get().revoke_reason == "user_deactivated"


def test_deleted_user_is_signed_out(sign_in, api_client, bearer, refresh, user):
    first = sign_in().json()
    user.delete()
    assert api_client.get(ME_URL, **bearer(first["access"])).json()["code"] == "session_revoked"
    assert refresh(first["refresh"]).json()["code"] == "session_revoked"
    assert AuthEvent.objects.filter(kind="session_revoked", username=user.username).exists()


def test_rights_change_makes_old_access_tokens_stale(
    sign_in, api_client, bearer, refresh, user, shared_key_cache, django_capture_on_commit_callbacks
):
    """Only the save: the signal bumps the rights version and drops the cached session
    state (a shared cache holds it, warmed by a first request)."""
    first = sign_in().json()
    assert api_client.get(ME_URL, **bearer(first["access"])).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        user.is_staff = True
        user.save()
    response = api_client.get(ME_URL, **bearer(first["access"]))
    assert response.status_code == 401
    assert response.json()["code"] == "token_stale"
    fresh = refresh(first["refresh"]).json()
    assert claims(fresh["access"])["is_staff"] is True
    assert api_client.get(ME_URL, **bearer(fresh["access"])).status_code == 200


@pytest.mark.django_db
def test_token_route_locks_out_after_the_failure_limit(api_client, user, password, settings):
    settings.ACCOUNTS = {**settings.ACCOUNTS, "LOGIN_FAILURE_LIMIT": 3}
    for _ in range(3):
        response = api_client.post(
            "/api/v1/auth/token/", {"username": user.username, "password": "nope"}, format="json"
        )
        assert response.json()["code"] == "invalid_credentials"
    response = api_client.post(
        "/api/v1/auth/token/", {"username": user.username, "password": password}, format="json"
    )
    assert response.status_code == 429
    assert response.json()["code"] == "too_many_attempts"
    assert int(response["Retry-After"]) > 0
    assert not user.device_sessions.exists()


def test_refresh_is_two_statements(sign_in, refresh, api_client, bearer):
    """The session and its user read in one SELECT, then the rotation written by one
    conditional UPDATE (the savepoints are the test's own transaction)."""
    first = sign_in().json()
    with CaptureQueriesContext(connection) as queries:
        response = refresh(first["refresh"])
    statements = [q["sql"].split()[0].upper() for q in queries.captured_queries]
    assert [s for s in statements if s not in ("SAVEPOINT", "RELEASE")] == ["SELECT", "UPDATE"]
    assert response.status_code == 200
    second = response.json()
    assert api_client.get(ME_URL, **bearer(second["access"])).json()["username"]
    assert refresh(first["refresh"]).json()["code"] == "refresh_reused"


@pytest.mark.django_db
@pytest.mark.parametrize("username", [" ", "\t \u00a0"])
def test_a_blank_looking_username_is_a_failed_sign_in(api_client, username):
    """Any non-empty string is a valid body (the schema says so): one that trims to
    nothing is answered like an unknown user."""
    response = api_client.post(
        TOKEN_URL, {"username": username, "password": "whatever-it-is"}, format="json"
    )
    assert response.status_code == 401
    assert response.json()["code"] == "invalid_credentials"


@pytest.mark.django_db
def test_surrounding_spaces_around_a_username_are_ignored(api_client, user, password):
    response = api_client.post(
        TOKEN_URL, {"username": f" {user.username} ", "password": password}, format="json"
    )
    assert response.status_code == 200
