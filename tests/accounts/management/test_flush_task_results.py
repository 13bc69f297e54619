"""flush_expired_sessions also prunes the task queue's finished rows (TASKS_BACKEND
database): each holds in its arguments the e-mail address it mailed (a sign-up, a
password reset for any address typed, an e-mail change's new address), which would
otherwise stay forever, past the erasure of a deleted account too."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

RESET_URL = "/api/v1/auth/password/reset/"


def _flush():
    out = StringIO()
    call_command("flush_expired_sessions", stdout=out)
    return out.getvalue()


def _addresses():
    return {
        row["kwargs"].get("email")
        for row in DBTaskResult.objects.values_list("args_kwargs", flat=True)
    }


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("queued_tasks")
def test_finished_mail_tasks_are_pruned_after_a_day_pending_ones_never(
    api_client, user, run_worker
):
    api_client.post(RESET_URL, {"email": "stranger@example.org"}, format="json")
    api_client.post(RESET_URL, {"email": user.email}, format="json")
    run_worker()
    api_client.post(RESET_URL, {"email": "pending@example.org"}, format="json")
    assert _addresses() == {"stranger@example.org", user.email, "pending@example.org"}

    _flush()
    assert len(_addresses()) == 3  # finished just now: kept for a day

    DBTaskResult.objects.exclude(finished_at=None).update(
        finished_at=timezone.now() - timedelta(days=1, minutes=1)
    )
    output = _flush()

    assert _addresses() == {"pending@example.org"}  # not run yet: never pruned
    assert "2 finished task(s)" in output
