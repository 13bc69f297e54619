"""The admin's device-session list opens on the active sessions only; the other statuses,
and all of them, are one click away; its actions still reach the rows they revoke."""

import pytest
from django.utils import timezone

from accounts.models import DeviceSession

pytestmark = pytest.mark.django_db

SESSIONS_URL = "/admin/accounts/devicesession/"


@pytest.fixture
def admin_client(client, make_user):
    client.force_login(make_user(username="chief", is_staff=True, is_superuser=True))
    return client


@pytest.fixture
def three_sessions(sign_in):
    for device_id in ("live-phone", "ended-tablet", "old-laptop"):
        sign_in(device_id=device_id)
    DeviceSession.objects.filter(device_id="ended-tablet").update(
        revoked_at=timezone.now(), revoke_reason="user"
    )
    DeviceSession.objects.filter(device_id="old-laptop").update(refresh_expires_at=timezone.now())


def _listed(response):
    return sorted(session.device_id for session in response.context["cl"].result_list)


def test_the_list_opens_on_active_sessions_only(admin_client, three_sessions):
    response = admin_client.get(SESSIONS_URL)
    assert _listed(response) == ["live-phone"]
    changelist = response.context["cl"]
    choices = changelist.filter_specs[0].choices(changelist)
    assert [c["display"] for c in choices if c["selected"]] == ["Active"]


@pytest.mark.parametrize(
    ("status", "listed"),
    [
        ("revoked", ["ended-tablet"]),
        ("expired", ["old-laptop"]),
        ("all", ["ended-tablet", "live-phone", "old-laptop"]),
    ],
)
def test_the_other_statuses_are_one_click_away(admin_client, three_sessions, status, listed):
    assert _listed(admin_client.get(SESSIONS_URL, {"status": status})) == listed


def test_deleting_selected_from_the_default_list_deletes_the_rows(admin_client, three_sessions):
    live = DeviceSession.objects.get(device_id="live-phone")
    data = {"action": "delete_selected", "_selected_action": [live.pk], "post": "yes"}
    assert admin_client.post(SESSIONS_URL, data).status_code == 302
    assert not DeviceSession.objects.filter(pk=live.pk).exists()
