"""manage.py flush_expired_sessions at production size: batches of --batch-size rows, each
committed before the next (issue 18, item 3), and --max-seconds."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import AuthEvent

OLD = timedelta(days=400)  # past the default audit retention (365 days)


@pytest.fixture
def old_events(db):
    def _old_events(count):
        AuthEvent.objects.bulk_create(
            AuthEvent(kind=AuthEvent.Kind.LOGIN_FAILED, username=f"u{i}") for i in range(count)
        )
        AuthEvent.objects.update(created_at=timezone.now() - OLD)

    return _old_events


def _flush(*args):
    out = StringIO()
    call_command("flush_expired_sessions", *args, stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_each_delete_holds_at_most_one_batch(old_events):
    old_events(7)
    AuthEvent.objects.create(kind=AuthEvent.Kind.LOGIN_FAILED, username="recent")
    with CaptureQueriesContext(connection) as queries:
        output = _flush("--batch-size", "3")
    deletes = [q["sql"] for q in queries if q["sql"].startswith('DELETE FROM "accounts_authevent"')]
    assert len(deletes) == 3  # 3 + 3 + 1
    assert "7 audit event(s)" in output
    assert list(AuthEvent.objects.values_list("username", flat=True)) == ["recent"]


@pytest.mark.django_db(transaction=True)
def test_batches_are_committed_one_by_one(old_events):
    """A failure in the second batch leaves the first one deleted: each batch is its own
    transaction, not one long transaction over the whole table."""
    old_events(6)
    deletes = []

    def fail_second_delete(execute, sql, params, many, context):
        if sql.startswith('DELETE FROM "accounts_authevent"'):
            deletes.append(sql)
            if len(deletes) == 2:
                raise DatabaseError("the database went away")
        return execute(sql, params, many, context)

    with connection.execute_wrapper(fail_second_delete), pytest.raises(DatabaseError):
        _flush("--batch-size", "4")
    assert AuthEvent.objects.count() == 2


@pytest.mark.django_db
def test_max_seconds_stops_between_batches_and_the_next_run_continues(old_events):
    old_events(5)
    output = _flush("--batch-size", "2", "--max-seconds", "0")
    assert "Stopped at --max-seconds" in output
    assert AuthEvent.objects.count() == 5
    _flush("--batch-size", "2")
    assert AuthEvent.objects.count() == 0
