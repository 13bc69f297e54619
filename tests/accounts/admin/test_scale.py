"""The admin at production size (issue 18, docs/performance.md): no changelist counts a
whole table, the user page lists live sessions only, searches are exact-match lookups, and
a bulk revocation is one statement however many rows are selected."""

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.admin import device_sessions as device_sessions_admin
from accounts.admin.audit import AuthEventAdmin
from accounts.admin.pagination import EstimatedCountPaginator
from accounts.models import AuthEvent, DeviceSession

SESSIONS_URL = "/admin/accounts/devicesession/"
AUDIT_URL = "/admin/accounts/authevent/"

pytestmark = pytest.mark.django_db


def _statements(queries, verb, table):
    pattern = re.compile(rf'^{verb}\b.*\b"?{table}"?', re.IGNORECASE | re.DOTALL)
    return [q["sql"] for q in queries if pattern.search(q["sql"])]


@pytest.mark.parametrize("url", [AUDIT_URL, SESSIONS_URL, "/admin/accounts/user/"])
def test_changelist_counts_at_most_a_bounded_number_of_rows(
    admin_client, monkeypatch, make_user, make_session, url
):
    monkeypatch.setattr(EstimatedCountPaginator, "EXACT_LIMIT", 3)
    owner = make_user()
    for _ in range(5):
        make_user()
        make_session(owner)
        AuthEvent.objects.create(kind=AuthEvent.Kind.LOGIN_FAILED, username="x")
    with CaptureQueriesContext(connection) as queries:
        response = admin_client.get(url)
    assert response.status_code == 200
    # No count at all (PostgreSQL's estimate is far above the limit) or a bounded one.
    for query in queries:
        if "COUNT(" in query["sql"].upper():
            assert "LIMIT 4" in query["sql"].upper(), query["sql"]
    assert re.search(rb"(about \d+|more than 3) ", response.content)


def test_pages_end_where_the_exact_count_ends(admin_client, monkeypatch):
    """Page n is an OFFSET of n rows: no page past the counted rows is served."""
    monkeypatch.setattr(EstimatedCountPaginator, "EXACT_LIMIT", 3)
    monkeypatch.setattr(AuthEventAdmin, "list_per_page", 2)
    AuthEvent.objects.bulk_create(
        AuthEvent(kind=AuthEvent.Kind.LOGIN_FAILED, username=f"u{i}") for i in range(5)
    )
    assert admin_client.get(AUDIT_URL, {"p": "2"}).status_code == 200
    # Django's answer to a page out of range: the first page, with ?e=1.
    response = admin_client.get(AUDIT_URL, {"p": "3"})
    assert response.status_code == 302
    assert response["Location"].endswith("?e=1")


def test_user_page_lists_live_sessions_only_with_a_link_to_all(
    admin_client, user, make_session, monkeypatch
):
    now = timezone.now()
    make_session(user, device_id="live-old", last_used_at=now - timedelta(hours=2))
    make_session(user, device_id="live-new", last_used_at=now)
    make_session(user, device_id="live-newest", last_used_at=now + timedelta(seconds=1))
    make_session(user, device_id="revoked-one", revoked_at=now, revoke_reason="logout")
    make_session(user, device_id="expired-one", refresh_expires_at=now - timedelta(seconds=1))
    monkeypatch.setattr(device_sessions_admin, "LIVE_SESSIONS_SHOWN", 2)

    page = admin_client.get(f"/admin/accounts/user/{user.pk}/change/").content.decode()

    assert "live-newest" in page
    assert "live-new" in page
    assert "live-old" not in page  # past the ones shown: one link away
    assert "revoked-one" not in page
    assert "expired-one" not in page
    assert f"{SESSIONS_URL}?user__id__exact={user.pk}" in page.replace("&amp;", "&")
    assert "3 live" in page


def test_revoke_selected_is_one_statement_whatever_the_selection(
    admin_client, make_user, make_session, django_capture_on_commit_callbacks
):
    def revoke(count):
        ids = [str(make_session(make_user()).pk) for _ in range(count)]
        with (
            CaptureQueriesContext(connection) as queries,
            django_capture_on_commit_callbacks(execute=True),
        ):
            response = admin_client.post(
                SESSIONS_URL, {"action": "revoke_selected", "_selected_action": ids}
            )
        assert response.status_code == 302
        assert DeviceSession.objects.filter(pk__in=ids, revoke_reason="admin").count() == count
        assert AuthEvent.objects.filter(session_id__in=ids, actor="admin").count() == count
        return queries

    few, many = revoke(2), revoke(12)
    assert len(_statements(many, "UPDATE", "accounts_devicesession")) == 1
    assert len(_statements(many, "INSERT", "accounts_authevent")) == 1
    assert len(many) == len(few)


def test_revoke_all_sessions_of_selected_users_is_one_statement(
    admin_client, make_user, make_session, django_capture_on_commit_callbacks
):
    def revoke(count):
        users = [make_user() for _ in range(count)]
        for user in users:
            make_session(user)
            make_session(user)
        ids = [user.pk for user in users]
        with (
            CaptureQueriesContext(connection) as queries,
            django_capture_on_commit_callbacks(execute=True),
        ):
            response = admin_client.post(
                "/admin/accounts/user/", {"action": "revoke_all_sessions", "_selected_action": ids}
            )
        assert response.status_code == 302
        live = DeviceSession.objects.filter(user_id__in=ids, revoked_at__isnull=True)
        assert not live.exists()
        assert AuthEvent.objects.filter(user_id__in=ids, actor="admin").count() == 2 * count
        return queries

    few, many = revoke(2), revoke(7)
    assert len(_statements(many, "UPDATE", "accounts_user")) == 1
    assert len(_statements(many, "UPDATE", "accounts_devicesession")) == 1
    assert len(_statements(many, "INSERT", "accounts_authevent")) == 1
    assert len(many) == len(few)


def test_audit_search_matches_exact_values_through_their_index(admin_client, user):
    event = AuthEvent.objects.create(
        kind=AuthEvent.Kind.LOGIN_FAILED,
        user=user,
        username=user.username,
        ip_address="203.0.113.7",
        session_id="0b7e4c1a-3b1f-4c59-9d2e-2f4a1b6c8d90",
    )
    other = AuthEvent.objects.create(kind=AuthEvent.Kind.LOGIN_FAILED, username="someone-else")
    for term in (user.username.upper(), "203.0.113.7", str(event.session_id)):
        response = admin_client.get(AUDIT_URL, {"q": term})
        assert response.status_code == 200
        listed = {e.pk for e in response.context["cl"].result_list}
        assert listed == {event.pk}, term
    # Part of a name is no match (no substring scan of the whole trail); nothing fails.
    response = admin_client.get(AUDIT_URL, {"q": user.username[:3]})
    assert response.status_code == 200
    assert other.pk not in {e.pk for e in response.context["cl"].result_list}
    assert admin_client.get(AUDIT_URL, {"q": "999.1.1.1 'x"}).status_code == 200


def test_audit_list_has_a_date_filter_not_a_date_hierarchy(admin_client):
    AuthEvent.objects.create(kind=AuthEvent.Kind.LOGIN_FAILED, username="x")
    with CaptureQueriesContext(connection) as queries:
        response = admin_client.get(AUDIT_URL)
    assert response.status_code == 200
    assert not any("DISTINCT" in q["sql"].upper() for q in queries)
    assert b"created_at__gte=" in response.content


def test_session_search_by_user_in_any_case_or_by_device(admin_client, make_user, make_session):
    alice = make_user(username="Alice", email="alice@example.com")
    mine = make_session(alice, device_id="tablet-7")
    theirs = make_session(make_user(username="alicebob"), device_id="phone-9")
    for term in ("alice", "ALICE@example.com", "tablet-7"):
        response = admin_client.get(SESSIONS_URL, {"q": term})
        assert {s.pk for s in response.context["cl"].result_list} == {mine.pk}, term
    response = admin_client.get(SESSIONS_URL, {"q": "phone-9"})
    assert {s.pk for s in response.context["cl"].result_list} == {theirs.pk}
