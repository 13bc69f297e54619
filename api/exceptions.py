"""One error shape for the whole API: {"code": ..., "detail": ...} plus named extras.

Views and authentication classes raise DRF exceptions with a `code`; this handler turns
every one of them (and Django's own 404/403, and a database that cannot be reached) into
the contract's body. Codes are stable: clients branch on them. What Django refuses itself
(SuspiciousOperation, BadRequest: a Host outside ALLOWED_HOSTS, a body over its limits),
in a view or before one, is left to Django, which logs it and answers with handler400
(api/views/errors.py) in the same shape, from PayloadTooLarge and RequestRefused here.
"""

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.db import InterfaceError, OperationalError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler


class ServiceUnavailable(exceptions.APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = "The service is temporarily unavailable; try again shortly."
    default_code = "service_unavailable"


class PayloadTooLarge(exceptions.APIException):
    """413: a body over one of Django's DATA_UPLOAD_MAX_* limits."""

    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is too large."
    default_code = "payload_too_large"


class RequestRefused(exceptions.APIException):
    """400 `bad_request`: a request Django refuses (a Host outside ALLOWED_HOSTS, any
    other SuspiciousOperation or BadRequest)."""

    status_code = status.HTTP_400_BAD_REQUEST
    default_detail = "The request was refused."
    default_code = "bad_request"


# Django's limits on a body (DATA_UPLOAD_MAX_MEMORY_SIZE, _NUMBER_FIELDS, _NUMBER_FILES).
BODY_LIMIT_ERRORS = (RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent)


def refusal_for(exc):
    """The APIException class answering a request Django refused with `exc`."""
    return PayloadTooLarge if isinstance(exc, BODY_LIMIT_ERRORS) else RequestRefused


class TooManyAttempts(exceptions.APIException):
    """429 `too_many_attempts`: a sign-in path locked out by repeated failures."""

    status_code = status.HTTP_429_TOO_MANY_REQUESTS
    default_detail = "Too many failed sign-in attempts; try again later."
    default_code = "too_many_attempts"

    def __init__(self, retry_after, detail=None):
        super().__init__(detail)
        self.retry_after = retry_after


# DRF's own codes, renamed where the contract names them differently.
_CODE_BY_EXCEPTION = [
    (exceptions.ParseError, "parse_error"),
    (exceptions.NotAuthenticated, "not_authenticated"),
    (exceptions.NotFound, "not_found"),
    (exceptions.MethodNotAllowed, "method_not_allowed"),
    (exceptions.Throttled, "throttled"),
    (exceptions.UnsupportedMediaType, "unsupported_media_type"),
    (exceptions.NotAcceptable, "not_acceptable"),
]


def api_error(code, detail, status_code, **extra):
    """A response in the contract's error shape (for views that answer without raising)."""
    return Response({"code": code, "detail": str(detail), **extra}, status=status_code)


def _code_of(exc):
    for exc_class, code in _CODE_BY_EXCEPTION:
        if isinstance(exc, exc_class):
            return code
    codes = exc.get_codes()
    if isinstance(codes, str):
        return codes
    return exc.default_code


def exception_handler(exc, context):
    if isinstance(exc, (OperationalError, InterfaceError)):
        exc = ServiceUnavailable()
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()

    response = drf_exception_handler(exc, context)
    if response is None:
        return None

    if isinstance(exc, exceptions.ValidationError):
        errors = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
        response.data = {"code": "invalid", "detail": "Invalid input.", "errors": errors}
        return response

    if isinstance(exc, (exceptions.NotAuthenticated, exceptions.AuthenticationFailed)):
        # DRF answers 403 when the first authentication class has no WWW-Authenticate
        # scheme; a missing or bad credential is a 401 in the contract whatever the class.
        response.status_code = status.HTTP_401_UNAUTHORIZED

    if getattr(exc, "retry_after", None) is not None:
        response["Retry-After"] = str(exc.retry_after)

    detail = exc.detail
    extra = {}
    if isinstance(detail, dict):
        # An exception raised with a dict carries the contract's extra fields.
        extra = {k: v for k, v in detail.items() if k not in ("code", "detail")}
        detail = detail.get("detail", exc.default_detail)
    response.data = {"code": _code_of(exc), "detail": str(detail), **extra}
    return response
