"""Django-level 404/500 pages: JSON under /api/, the HTML templates elsewhere.

`server_error` also answers failures raised outside DRF's views (a middleware, the session
store): it runs inside Django's `except` block, so it sees the exception. A database that
cannot be reached is then 503 `service_unavailable` on /api/ and /healthz, as DRF's
exception handler (api/exceptions.py) answers it inside the views.
"""

import sys

from django.db import InterfaceError, OperationalError
from django.http import JsonResponse
from django.views import defaults

from api.exceptions import ServiceUnavailable

_DATABASE_DOWN = (OperationalError, InterfaceError)


def _is_api(request):
    return request.path.startswith("/api/")


def page_not_found(request, exception):
    if _is_api(request):
        return JsonResponse({"code": "not_found", "detail": "Not found."}, status=404)
    return defaults.page_not_found(request, exception)


def server_error(request):
    database_down = isinstance(sys.exc_info()[1], _DATABASE_DOWN)
    if database_down and request.path == "/healthz":
        return JsonResponse({"status": "error", "database": "error"}, status=503)
    if database_down and _is_api(request):
        body = {
            "code": ServiceUnavailable.default_code,
            "detail": ServiceUnavailable.default_detail,
        }
        return JsonResponse(body, status=503)
    if _is_api(request):
        return JsonResponse(
            {"code": "server_error", "detail": "Something went wrong on our side."}, status=500
        )
    return defaults.server_error(request)
