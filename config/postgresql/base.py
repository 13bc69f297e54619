"""Django's PostgreSQL backend, whose connection pool checks connections without a round
trip while they are in steady use, and which offers a cursor that prepares its statements.

psycopg_pool's own check (`ConnectionPool.check_connection`, what Django installs when
CONN_HEALTH_CHECKS is on) sends an empty query every time a connection leaves the pool:
one more round trip on every request that touches the database, the largest single cost
of a token refresh (README "Performance"). `check_pooled_connection` keeps that check for
the cases it is there for and skips it for a connection in steady use, as HikariCP's
"alive bypass window" does:

- a server that restarts or ends the session (a restart, pg_terminate_backend, an
  idle-session timeout) sends its goodbye or closes the socket, so an idle connection
  with anything to read gets the full check, and fails it;
- a connection not handed out in the last `BUSY_WINDOW_SECONDS` gets the full check too,
  for a peer that vanished without a word;
- otherwise it is handed out as is. Should its peer have vanished without a word within
  that second, the query that finds out fails (a 500 for that request), as it would with
  Django's persistent connections, and the pool replaces the connection.

`prepared_cursor` is for the kit's own hand-written hot statements (accounts.rows): it
binds parameters server-side, so psycopg prepares each statement on the connection the
first time it runs (with the `prepare_threshold` the settings give) and PostgreSQL skips
parsing and planning it from then on: most of the database's work in a token refresh. The
ORM keeps Django's client-side binding, which never prepares.
"""

import select
import time
import weakref

from django.db.backends.postgresql import base, operations
from psycopg import errors
from psycopg_pool import ConnectionPool

# A connection handed out this recently, with nothing waiting on its socket, is not
# checked with a round trip (HikariCP's default window is 0.5 s).
BUSY_WINDOW_SECONDS = 1.0

_handed_out_at = weakref.WeakKeyDictionary()


def check_pooled_connection(connection):
    """psycopg_pool's `check` callback: raise if `connection` cannot be used."""
    now = time.monotonic()
    last = _handed_out_at.get(connection)
    _handed_out_at[connection] = now
    waiting = select.poll()  # not select.select(): no limit on the descriptor's number
    waiting.register(connection.fileno(), select.POLLIN)
    quiet = not waiting.poll(0)
    if quiet and last is not None and now - last < BUSY_WINDOW_SECONDS:
        return
    ConnectionPool.check_connection(connection)


class DatabaseOperations(operations.DatabaseOperations):
    def last_executed_query(self, cursor, sql, params):
        """The SQL a prepared cursor ran, for query logs and query counts: its statement's
        text is not kept on the cursor, so it is composed as Django does when every
        cursor binds server-side (`server_side_binding`)."""
        if isinstance(cursor, base.ServerBindingCursor):
            try:
                return self.compose_sql(sql, params)
            except errors.DataError:
                return None
        return super().last_executed_query(cursor, sql, params)


class DatabaseWrapper(base.DatabaseWrapper):
    """Builds the pool as Django's backend does, with `check_pooled_connection` as its
    check when CONN_HEALTH_CHECKS is on (Django would pass psycopg's own), and offers
    `prepared_cursor`."""

    ops_class = DatabaseOperations

    def prepared_cursor(self):
        """A Django cursor (query logging and error wrapping included) whose statements
        psycopg prepares on this connection: server-side binding, a prepared statement
        once `prepare_threshold` executions are reached (never when it is None)."""
        self.close_if_health_check_failed()
        self.ensure_connection()
        with self.wrap_database_errors:
            cursor = base.ServerBindingCursor(self.connection)
            # As Django's create_cursor: read timestamps in the connection's time zone.
            loader = self.connection.adapters.get_loader(base.TIMESTAMPTZ_OID, base.Format.TEXT)
            if self.timezone != loader.timezone:
                base.register_tzloader(self.timezone, cursor)
            return self._prepare_cursor(cursor)

    @property
    def pool(self):
        pool_options = self.settings_dict["OPTIONS"].get("pool")
        persistent = self.settings_dict.get("CONN_MAX_AGE", 0) != 0  # Django refuses it
        if self.alias not in self._connection_pools and pool_options and not persistent:
            connect_kwargs = {**self.get_connection_params(), "autocommit": True}
            checks = self.settings_dict["CONN_HEALTH_CHECKS"]
            pool = ConnectionPool(
                kwargs=connect_kwargs,
                open=False,
                configure=self._configure_connection,
                check=check_pooled_connection if checks else None,
                **({} if pool_options is True else pool_options),
            )
            self._connection_pools.setdefault(self.alias, pool)
        return super().pool
