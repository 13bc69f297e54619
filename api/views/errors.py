"""Django-level 400/403/404/500 pages: JSON under /api/, the HTML templates elsewhere.

`bad_request` answers what Django refuses before (or outside) a view: a Host outside
ALLOWED_HOSTS and any other SuspiciousOperation is 400 `bad_request`, a body over a
DATA_UPLOAD_MAX_* limit 413 `payload_too_large` (a big form posted to an HTML page too).
Its HTML pages are rendered without the request (no context processor reads a Host
Django just refused) and with the branding only.

`server_error` also answers failures raised outside DRF's views (a middleware, the session
store): it runs inside Django's `except` block, so it sees the exception. A database that
cannot be reached is then 503 `service_unavailable` on /api/ and /healthz, as DRF's
exception handler (api/exceptions.py) answers it inside the views.
"""

import sys

from django.db import InterfaceError, OperationalError
from django.http import HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.utils.translation import gettext_lazy as _
from django.views import defaults
from rest_framework import exceptions

from accounts.conf import kit_settings
from api.exceptions import PayloadTooLarge, ServiceUnavailable, refusal_for

_DATABASE_DOWN = (OperationalError, InterfaceError)


def _is_api(request):
    return request.path.startswith("/api/")


def _page(template_name, status):
    context = {"site_name": kit_settings.SITE_NAME}
    return HttpResponse(render_to_string(template_name, context), status=status)


def bad_request(request, exception):
    refusal = refusal_for(exception)
    if _is_api(request):
        body = {"code": refusal.default_code, "detail": str(refusal.default_detail)}
        return JsonResponse(body, status=refusal.status_code)
    template_name = "413.html" if refusal is PayloadTooLarge else "400.html"
    return _page(template_name, refusal.status_code)


def permission_denied(request, exception):
    if _is_api(request):
        denied = exceptions.PermissionDenied
        body = {"code": denied.default_code, "detail": str(denied.default_detail)}
        return JsonResponse(body, status=denied.status_code)
    return _page("403.html", 403)


def page_not_found(request, exception):
    if _is_api(request):
        return JsonResponse({"code": "not_found", "detail": str(_("Not found."))}, status=404)
    return defaults.page_not_found(request, exception)  # templates/404.html


def server_error(request):
    database_down = isinstance(sys.exc_info()[1], _DATABASE_DOWN)
    if database_down and request.path == "/healthz":
        return JsonResponse({"status": "error", "database": "error"}, status=503)
    if database_down and _is_api(request):
        body = {
            "code": ServiceUnavailable.default_code,
            "detail": str(ServiceUnavailable.default_detail),
        }
        return JsonResponse(body, status=503)
    if _is_api(request):
        return JsonResponse(
            {"code": "server_error", "detail": str(_("Something went wrong on our side."))},
            status=500,
        )
    return _page("500.html", 500)
