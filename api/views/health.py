"""GET /healthz: is the database reachable, is the cache reachable."""

import logging
import uuid

from django.core.cache import cache
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from accounts import revocation

logger = logging.getLogger(__name__)

# Seconds the probe waits for a pooled connection: a database that is down is reported
# well within a second, whatever DATABASE_POOL_TIMEOUT the API's requests wait.
POOL_WAIT = 0.5


def _database_ok():
    try:
        pool = getattr(connection, "pool", None)  # PostgreSQL with DATABASE_POOL
        if pool is not None:
            # The pool hands out a checked connection within POOL_WAIT, or the database
            # is down; then Django's own connection, from the same pool, is asked.
            pool.open()
            with pool.connection(timeout=POOL_WAIT):
                pass
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return True
    except Exception:
        logger.warning("healthz: database unreachable", exc_info=True)
        return False


def _cache_ok():
    if not revocation.cache_available():
        return False  # a cache call timed out or failed moments ago: not asked again yet
    probe = f"healthz:{uuid.uuid4().hex}"
    try:
        cache.set(probe, "1", timeout=5)
        ok = cache.get(probe) == "1"
        cache.delete(probe)
        return ok
    except Exception:
        revocation.cache_unavailable()
        logger.warning("healthz: cache unreachable", exc_info=True)
        return False


@never_cache
@require_GET
def healthz(request):
    """200 ok; 200 degraded without the cache (the kit serves from the database); 503
    without the database."""
    database = _database_ok()
    cache_state = _cache_ok()
    if not database:
        status, code = "error", 503
    elif not cache_state:
        status, code = "degraded", 200
    else:
        status, code = "ok", 200
    body = {
        "status": status,
        "database": "ok" if database else "error",
        "cache": "ok" if cache_state else "error",
    }
    return JsonResponse(body, status=code)
