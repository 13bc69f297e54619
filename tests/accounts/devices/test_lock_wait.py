"""A request that waits on a PostgreSQL row lock answers in bounded time (issue 19, item 4).

A sign-in locks its user's row (`select_for_update`, so concurrent sign-ins queue for the
device limit). Here another connection holds that lock in an open transaction, as a
stuck admin action or migration would; the sign-in must answer (503
`service_unavailable`, the contract's answer for a database it cannot use) within
LOCK_BOUND instead of waiting as long as the other transaction lives.

The bound is PostgreSQL's `lock_timeout` (DATABASE_LOCK_TIMEOUT, 2 s by default, set on
every connection by config/settings.py): without it the sign-in would wait until the lock
is released (the test releases it after LOCK_BOUND).
"""

import threading

import psycopg
import pytest
from django.contrib.auth import get_user_model
from django.db import connection, connections
from django.test import Client
from psycopg import sql

pytestmark = pytest.mark.postgres

TOKEN_URL = "/api/v1/auth/token/"
LOCK_BOUND = 5.0  # seconds


@pytest.fixture
def other_connection(transactional_db):
    """A plain psycopg connection to the test database, outside Django, rolled back and
    closed before the database is flushed."""
    params = connection.settings_dict
    other = psycopg.connect(
        dbname=params["NAME"],
        user=params["USER"],
        password=params["PASSWORD"] or None,
        host=params["HOST"],
        port=params["PORT"] or None,
    )
    yield other
    other.rollback()
    other.close()


def test_a_sign_in_waiting_on_a_row_lock_answers_in_bounded_time(user, password, other_connection):
    lock = sql.SQL("SELECT id FROM {} WHERE id = %s FOR UPDATE").format(
        sql.Identifier(get_user_model()._meta.db_table)
    )
    other_connection.execute(lock, [user.pk])
    answers = []

    def sign_in():
        try:
            response = Client(raise_request_exception=False).post(
                TOKEN_URL,
                {"username": user.username, "password": password, "device_id": "phone-1"},
                content_type="application/json",
            )
            answers.append(response)
        finally:
            connections.close_all()  # this thread's connection

    request = threading.Thread(target=sign_in, daemon=True)
    request.start()
    request.join(LOCK_BOUND)
    answered_in_time = not request.is_alive()
    other_connection.rollback()  # releases the lock: a waiting sign-in goes on
    request.join(LOCK_BOUND)

    assert answered_in_time, f"the sign-in waited on the row lock for over {LOCK_BOUND} s"
    response = answers[0]
    assert (response.status_code, response.json()["code"]) == (503, "service_unavailable")
