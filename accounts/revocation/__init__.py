"""Revocation state: is this session, API key or profile still what the cache says?

The small interface every kind of cached state goes through (the engine is state.py, the
optional per-process fast path process_view.py, behind it):

- `register(Kind(prefix, load, timeout, recent_revocations))`: a package declares its
  kind at import (accounts.devices.session_state, accounts.apikeys.keys,
  accounts.users.profiles); this package imports none of them.
- `read_through(kind, ident)`: the state from this process's view, else the shared cache,
  else the database (one query), filling both; zero queries and, with the view, zero
  Redis round trips on a warm read.
- `remember(kind, ident, value)`: fill the entry of a row just written, after commit.
- `mark_revoked(kind, {ident: revoked value})`: write revocations through (cache and
  every process's view) before the revoking call returns.
- `forget(kind, idents)`: drop entries everywhere (a changed profile, new rights).
- `repair()`: replay recent revocations of every kind into the cache after a cache failure
  or data loss (run by the engine itself, in a background thread, before it trusts the
  cache again).
- `cache_available()` / `cache_unavailable()`: the process's circuit breaker over the
  cache, for every module that calls the cache (a hung Redis costs one timeout per
  ACCOUNTS["CACHE_BREAKER_SECONDS"], not one per call).

Redis failure never fails open: reads go to the database until the cache is repaired.
"""

from accounts.revocation.state import (
    Kind,
    cache_available,
    cache_unavailable,
    due_once_a_while,
    forget,
    mark_revoked,
    read_through,
    register,
    remember,
    repair,
)

__all__ = [
    "Kind",
    "cache_available",
    "cache_unavailable",
    "due_once_a_while",
    "forget",
    "mark_revoked",
    "read_through",
    "register",
    "remember",
    "repair",
]
