"""The admin: a key is shown once on the page answering the save, and nowhere else."""

import json
import logging
import re
from datetime import timedelta

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.messages import get_messages
from django.utils import timezone

from accounts.apikeys.keys import KEY_REGEX, revoke_api_key
from accounts.models import ApiKey, AuthEvent

pytestmark = pytest.mark.django_db

ADD = "/admin/accounts/apikey/add/"
LIST = "/admin/accounts/apikey/"
PING = "/api/v1/service/ping/"


@pytest.fixture
def admin_user(make_user):
    return make_user(username="operator", is_staff=True, is_superuser=True)


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    return client


def _add(admin_client, **data):
    form = {"name": "billing worker", "scopes": ["users:read"], "owner": "", **data}
    return admin_client.post(ADD, form)


def test_the_key_is_shown_once_on_the_saving_response_and_works(
    admin_client, admin_user, api_client
):
    scopes = ["users:read", "sessions:revoke"]
    response = _add(admin_client, owner=str(admin_user.pk), scopes=scopes)

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    raw_key = re.search(KEY_REGEX, response.content.decode())[0]
    api_key = ApiKey.objects.get()
    assert (api_key.name, api_key.owner, api_key.scopes) == (
        "billing worker",
        admin_user,
        ["users:read", "sessions:revoke"],
    )
    assert raw_key.startswith(f"kit_{api_key.prefix}_")
    assert api_client.get(PING, HTTP_X_API_KEY=raw_key).status_code == 200
    event = AuthEvent.objects.get(kind="api_key_created")
    assert (event.actor, event.detail["prefix"]) == ("operator", api_key.prefix)


def test_the_key_is_never_in_messages_session_cookies_logs_or_later_pages(admin_client, caplog):
    caplog.set_level(logging.DEBUG)

    response = _add(admin_client)
    raw_key = re.search(KEY_REGEX, response.content.decode())[0]
    secret = raw_key.rsplit("_", 1)[1]
    api_key = ApiKey.objects.get()

    assert [m.message for m in get_messages(response.wsgi_request)] == []
    session = admin_client.session
    assert secret not in json.dumps(dict(session.items()), default=str)
    assert secret not in str(admin_client.cookies)
    assert secret not in str(response.cookies)
    assert secret not in caplog.text
    assert secret not in str(list(LogEntry.objects.values()))
    assert secret not in str(list(AuthEvent.objects.values()))
    for page in (LIST, f"{LIST}{api_key.pk}/change/"):
        later = admin_client.get(page)
        assert later.status_code == 200
        assert secret not in later.content.decode()


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"scopes": ["users:read", "users:write"]}, "Select a valid choice"),
        ({"scopes": []}, "This field is required"),
        ({"name": ""}, "This field is required"),
        (
            {"expires_at_0": "2001-01-01", "expires_at_1": "00:00:00"},
            "Choose a time in the future.",
        ),
    ],
)
def test_bad_input_is_a_form_error_and_writes_nothing(admin_client, data, error):
    response = _add(admin_client, **data)
    assert response.status_code == 200
    assert error in response.content.decode()
    assert not re.search(KEY_REGEX, response.content.decode())
    assert not ApiKey.objects.exists()
    assert not AuthEvent.objects.exists()


def test_the_list_shows_prefix_scopes_owner_expiry_last_used_and_status(
    admin_client, make_api_key, admin_user
):
    api_key, _ = make_api_key(owner=admin_user, scopes=["users:read", "tokens:introspect"])
    response = admin_client.get(LIST)
    page = response.content.decode()
    for text in (api_key.prefix, "users:read, tokens:introspect", "operator", "active"):
        assert text in page
    for column in ("expires", "last used", "status"):
        assert column in page.lower()


def test_the_status_filter(admin_client, make_api_key):
    active, _ = make_api_key(name="active-key")
    expired, _ = make_api_key(name="expired-key", expires_at=timezone.now() + timedelta(days=1))
    ApiKey.objects.filter(pk=expired.pk).update(expires_at=timezone.now() - timedelta(days=1))
    revoked, _ = make_api_key(name="revoked-key")
    revoke_api_key(revoked)

    for status, name in [("active", active), ("expired", expired), ("revoked", revoked)]:
        page = admin_client.get(LIST, {"status": status}).content.decode()
        shown = {n for n in ("active-key", "expired-key", "revoked-key") if n in page}
        assert shown == {name.name}, status


def test_revoke_selected_keys_takes_effect_on_the_next_request_though_cached(
    admin_client, make_api_key, api_client, shared_key_cache, django_capture_on_commit_callbacks
):
    first, first_raw = make_api_key()
    second, second_raw = make_api_key()
    _, kept_raw = make_api_key()
    for raw in (first_raw, second_raw, kept_raw):
        assert api_client.get(PING, HTTP_X_API_KEY=raw).status_code == 200  # now cached

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            LIST,
            {"action": "revoke_selected", "_selected_action": [first.pk, second.pk]},
            follow=True,
        )

    assert "Revoked 2 API key(s)." in response.content.decode()
    for raw in (first_raw, second_raw):
        refused = api_client.get(PING, HTTP_X_API_KEY=raw)
        assert (refused.status_code, refused.json()["code"]) == (401, "api_key_invalid")
    assert api_client.get(PING, HTTP_X_API_KEY=kept_raw).status_code == 200
    assert AuthEvent.objects.filter(kind="api_key_revoked", actor="operator").count() == 2


def test_renaming_a_cached_key_shows_on_the_next_request(
    admin_client, make_api_key, api_client, shared_key_cache, django_capture_on_commit_callbacks
):
    api_key, raw_key = make_api_key(name="old name")
    api_client.get(PING, HTTP_X_API_KEY=raw_key)

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            f"{LIST}{api_key.pk}/change/", {"name": "new name", "owner": ""}
        )

    assert response.status_code == 302
    assert api_client.get(PING, HTTP_X_API_KEY=raw_key).json()["key"]["name"] == "new name"
    assert ApiKey.objects.get(pk=api_key.pk).scopes == ["users:read"]


def test_keys_are_revoked_never_deleted(admin_client, make_api_key):
    api_key, _ = make_api_key()
    assert admin_client.get(f"{LIST}{api_key.pk}/delete/").status_code == 403
    assert ApiKey.objects.filter(pk=api_key.pk).exists()
