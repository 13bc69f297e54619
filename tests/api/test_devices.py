"""GET /api/v1/devices/, DELETE /api/v1/devices/{id}/, and what one request costs."""

import uuid

import pytest
from django.core.cache import cache
from django.test.utils import override_settings

from accounts.models import DeviceSession
from accounts.revocation.state import cache_is_shared

DEVICES_URL = "/api/v1/devices/"
ME_URL = "/api/v1/me/"

pytestmark = pytest.mark.django_db


def test_device_list(sign_in, api_client, bearer, make_user):
    a = sign_in(device_id="a", device_name="Phone").json()
    b = sign_in(device_id="b", device_name="Tablet").json()
    sign_in(device_id="old")
    sign_in(device_id="old")  # the first "old" session is replaced: not listed
    sign_in(username=make_user().username)  # another user's: not listed
    response = api_client.get(DEVICES_URL, **bearer(a["access"]))
    assert response.status_code == 200
    body = response.json()
    assert [d["device_id"] for d in body] == ["old", "b", "a"]
    mine = {d["id"]: d for d in body}
    assert mine[a["device"]["id"]]["current"] is True
    assert mine[b["device"]["id"]]["current"] is False
    assert set(body[0]) == {
        "id",
        "device_id",
        "name",
        "created_at",
        "last_used_at",
        "ip_address",
        "current",
    }
    assert mine[b["device"]["id"]]["name"] == "Tablet"
    assert mine[b["device"]["id"]]["ip_address"] == "127.0.0.1"


def test_revoke_one_device(sign_in, api_client, bearer):
    a = sign_in(device_id="a").json()
    b = sign_in(device_id="b").json()
    url = f"{DEVICES_URL}{b['device']['id']}/"
    response = api_client.delete(url, **bearer(a["access"]))
    assert response.status_code == 204
    assert DeviceSession.objects.get(pk=b["device"]["id"]).revoke_reason == "user"
    assert api_client.get(ME_URL, **bearer(b["access"])).json()["code"] == "session_revoked"
    # Already revoked: 404.
    response = api_client.delete(url, **bearer(a["access"]))
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_cannot_revoke_another_users_device(sign_in, api_client, bearer, make_user):
    mine = sign_in(device_id="a").json()
    theirs = sign_in(device_id="a", username=make_user().username).json()
    url = f"{DEVICES_URL}{theirs['device']['id']}/"
    response = api_client.delete(url, **bearer(mine["access"]))
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    assert DeviceSession.objects.get(pk=theirs["device"]["id"]).revoked_at is None
    response = api_client.delete(f"{DEVICES_URL}{uuid.uuid4()}/", **bearer(mine["access"]))
    assert response.status_code == 404


def test_revoke_own_current_device(sign_in, api_client, bearer, refresh):
    a = sign_in(device_id="a").json()
    b = sign_in(device_id="b").json()
    response = api_client.delete(f"{DEVICES_URL}{a['device']['id']}/", **bearer(a["access"]))
    assert (response.status_code, response.content) == (204, b"")
    after = api_client.get(DEVICES_URL, **bearer(a["access"]))
    assert (after.status_code, after.json()["code"]) == (401, "session_revoked")
    assert refresh(a["refresh"], device_id="a").json()["code"] == "session_revoked"
    assert DeviceSession.objects.get(pk=a["device"]["id"]).revoke_reason == "user"
    # The user's other device is still signed in and no longer lists the revoked one.
    listed = api_client.get(DEVICES_URL, **bearer(b["access"])).json()
    assert [device["id"] for device in listed] == [b["device"]["id"]]


def test_devices_need_authentication(api_client):
    response = api_client.get(DEVICES_URL)
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def test_device_route_methods(sign_in, api_client, bearer):
    a = sign_in().json()
    response = api_client.post(DEVICES_URL, **bearer(a["access"]))
    assert response.status_code == 405
    assert response.json()["code"] == "method_not_allowed"


# --- what one authenticated request costs ------------------------------------------------


@pytest.fixture
def claims_only_view(settings):
    """A route that reads only the claims (id, username, is_staff), like most app views."""
    settings.ROOT_URLCONF = "tests.api.urls_claims_only"


def test_query_count_per_request(
    sign_in,
    api_client,
    bearer,
    django_assert_num_queries,
    django_capture_on_commit_callbacks,
    claims_only_view,
):
    with django_capture_on_commit_callbacks(execute=True):  # as after a real commit
        access = sign_in().json()["access"]
    # Redis: the state check is one cache get, no query. Local memory (per process): the
    # state check reads the row, one query.
    expected = 0 if cache_is_shared() else 1
    with django_assert_num_queries(expected):
        response = api_client.get("/claims/", **bearer(access))
    assert response.json()["username"]
    # /me also loads the user row.
    with django_assert_num_queries(expected + 1):
        assert api_client.get(ME_URL, **bearer(access)).status_code == 200


def test_last_used_at_written_at_most_once_a_minute(
    sign_in,
    api_client,
    bearer,
    django_assert_num_queries,
    django_capture_on_commit_callbacks,
    claims_only_view,
):
    with django_capture_on_commit_callbacks(execute=True):
        access = sign_in().json()["access"]
    session = DeviceSession.objects.get()
    state_queries = 0 if cache_is_shared() else 1
    cache.delete(f"devsess:touched:{session.pk}")  # as if a minute had passed
    with django_assert_num_queries(state_queries + 1):  # + the UPDATE of last_used_at
        api_client.get("/claims/", **bearer(access))
    after = DeviceSession.objects.get().last_used_at
    assert after > session.last_used_at
    with django_assert_num_queries(state_queries):
        api_client.get("/claims/", **bearer(access))
    assert DeviceSession.objects.get().last_used_at == after


@override_settings(CACHES={"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}})
def test_per_process_cache_reads_the_row(sign_in, api_client, bearer, django_assert_num_queries):
    access = sign_in().json()["access"]
    with django_assert_num_queries(2):  # the state, the user for /me
        api_client.get(ME_URL, **bearer(access))
