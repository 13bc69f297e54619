"""GET /healthz: is the database reachable, is the cache reachable."""

import logging
import uuid

from django.core.cache import cache
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

logger = logging.getLogger(__name__)


def _database_ok():
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return True
    except Exception:
        logger.warning("healthz: database unreachable", exc_info=True)
        return False


def _cache_ok():
    probe = f"healthz:{uuid.uuid4().hex}"
    try:
        cache.set(probe, "1", timeout=5)
        ok = cache.get(probe) == "1"
        cache.delete(probe)
        return ok
    except Exception:
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
