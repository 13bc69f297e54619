"""Django's PostgreSQL backend, whose connection pool checks connections without a round
trip while they are in steady use.

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
"""

import select
import time
import weakref

from django.db.backends.postgresql import base
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


class DatabaseWrapper(base.DatabaseWrapper):
    """Builds the pool as Django's backend does, with `check_pooled_connection` as its
    check when CONN_HEALTH_CHECKS is on (Django would pass psycopg's own)."""

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
