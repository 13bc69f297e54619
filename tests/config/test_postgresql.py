"""config/postgresql: the pool's health check and the prepared cursor, against a real
PostgreSQL server."""

import select
import types

import psycopg
import pytest
from django.conf import settings
from django.db import connections
from django.test.utils import CaptureQueriesContext
from psycopg_pool import ConnectionPool

from config.postgresql import base as database

pytestmark = pytest.mark.postgres


def _conninfo():
    db = settings.DATABASES["default"]
    return psycopg.conninfo.make_conninfo(
        dbname="postgres", user=db["USER"], host=db["HOST"], port=db["PORT"] or 5432
    )


@pytest.fixture
def make_pool():
    pools = []

    def make(check):
        pool = ConnectionPool(_conninfo(), min_size=1, max_size=1, check=check, open=True)
        pool.wait()
        pools.append(pool)
        return pool

    yield make
    for pool in pools:
        pool.close()


@pytest.fixture
def full_checks(monkeypatch):
    """The connections that got psycopg's round-trip check."""
    checked = []
    real_check = ConnectionPool.check_connection

    def spy(connection):
        checked.append(connection)
        real_check(connection)

    monkeypatch.setattr(database.ConnectionPool, "check_connection", staticmethod(spy))
    return checked


@pytest.fixture
def clock(monkeypatch):
    fake = types.SimpleNamespace(now=1000.0)
    monkeypatch.setattr(database, "time", types.SimpleNamespace(monotonic=lambda: fake.now))
    return fake


def _backend_pid(pool):
    with pool.connection() as connection:
        return connection.info.backend_pid


def _end_session_on_the_server(pool, pid):
    """pg_terminate_backend(pid), then wait until the pooled connection has heard of it."""
    with psycopg.connect(_conninfo(), autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", [pid])
    idle = pool._pool[0]
    assert select.select([idle.fileno()], [], [], 10)[0], "the server never closed the session"


def test_a_connection_in_steady_use_gets_no_round_trip(make_pool, full_checks, clock):
    pool = make_pool(database.check_pooled_connection)
    first = _backend_pid(pool)
    clock.now += database.BUSY_WINDOW_SECONDS / 2
    second = _backend_pid(pool)
    assert first == second
    assert len(full_checks) == 1  # only the first hand-out: it had never been checked


def test_a_connection_idle_past_the_window_is_checked_with_a_round_trip(
    make_pool, full_checks, clock
):
    pool = make_pool(database.check_pooled_connection)
    _backend_pid(pool)
    clock.now += database.BUSY_WINDOW_SECONDS * 2
    _backend_pid(pool)
    assert len(full_checks) == 2


def test_a_session_the_server_ended_is_replaced_within_the_window(make_pool, clock):
    pool = make_pool(database.check_pooled_connection)
    dead_pid = _backend_pid(pool)
    _end_session_on_the_server(pool, dead_pid)
    with pool.connection() as connection:  # still inside the busy window
        assert connection.execute("SELECT 1").fetchone() == (1,)
        assert connection.info.backend_pid != dead_pid


def test_without_a_check_the_same_dead_session_fails_its_first_query(make_pool):
    """The scenario above really breaks a pooled connection."""
    pool = make_pool(None)
    _end_session_on_the_server(pool, _backend_pid(pool))
    with pytest.raises(psycopg.OperationalError), pool.connection() as connection:
        connection.execute("SELECT 1")


@pytest.mark.django_db
def test_the_kits_pool_uses_this_check():
    default = connections["default"]
    if not default.settings_dict["OPTIONS"].get("pool"):
        pytest.skip("DATABASE_POOL is off in this run")
    default.ensure_connection()
    assert isinstance(default, database.DatabaseWrapper)
    assert default.pool._check is database.check_pooled_connection


@pytest.mark.django_db
def test_a_refresh_runs_its_rotation_as_a_prepared_statement(sign_in, refresh):
    """The kit's hand-written rotation is prepared once on the connection and executed
    from there (PostgreSQL parses and plans it once); the ORM's queries of the sign-in are
    not prepared, and the query log still shows the rotation's SQL."""
    tokens = sign_in().json()
    with CaptureQueriesContext(connections["default"]) as queries:
        for _ in range(2):
            response = refresh(tokens["refresh"])
            assert response.status_code == 200
            tokens = response.json()
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT statement, generic_plans + custom_plans FROM pg_prepared_statements")
        prepared = cursor.fetchall()
    assert len(prepared) == 1
    statement, executions = prepared[0]
    assert statement.startswith('UPDATE "accounts_devicesession" SET')
    assert executions == 2
    logged = [query["sql"] for query in queries.captured_queries]
    assert [sql.split()[0] for sql in logged] == ["UPDATE", "UPDATE"]
