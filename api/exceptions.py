"""One error shape for the whole API: {"code": ..., "detail": ...} plus named extras.

Views and authentication classes raise DRF exceptions with a `code`, and the rules
(accounts) raise their domain errors (accounts.errors), whose status is decided here, in
DOMAIN_STATUS, and nowhere else; their field errors are Django's ValidationError. This
handler turns every one of them (and Django's own 404/403, and a database that cannot be
reached) into the contract's body. Codes are stable: clients branch on them. What Django
refuses itself (SuspiciousOperation, BadRequest: a Host outside ALLOWED_HOSTS, a body over
its limits), in a view or before one, is left to Django, which logs it and answers with
handler400 (api/views/errors.py) in the same shape, from PayloadTooLarge and
RequestRefused here.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import InterfaceError, OperationalError
from django.http import Http404
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions, status
from rest_framework.response import Response

from accounts import errors as domain


class ServiceUnavailable(exceptions.APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = _("The service is temporarily unavailable; try again shortly.")
    default_code = "service_unavailable"


class PayloadTooLarge(exceptions.APIException):
    """413: a body over one of Django's DATA_UPLOAD_MAX_* limits."""

    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = _("The request body is too large.")
    default_code = "payload_too_large"


class RequestRefused(exceptions.APIException):
    """400 `bad_request`: a request Django refuses (a Host outside ALLOWED_HOSTS, any
    other SuspiciousOperation or BadRequest)."""

    status_code = status.HTTP_400_BAD_REQUEST
    default_detail = _("The request was refused.")
    default_code = "bad_request"


# Django's limits on a body (DATA_UPLOAD_MAX_MEMORY_SIZE, _NUMBER_FIELDS, _NUMBER_FILES).
BODY_LIMIT_ERRORS = (RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent)


def refusal_for(exc: Exception) -> type[exceptions.APIException]:
    """The APIException class answering a request Django refused with `exc`."""
    return PayloadTooLarge if isinstance(exc, BODY_LIMIT_ERRORS) else RequestRefused


# The status of each domain error, by its exact class (a new error needs its line here:
# tests/api/test_domain_errors.py fails otherwise). Code, detail, extra fields and
# `retry_after` (sent as Retry-After) come from the error itself.
DOMAIN_STATUS: dict[type[domain.AccountsError], int] = {
    domain.InvalidCredentials: status.HTTP_401_UNAUTHORIZED,
    domain.LockedOut: status.HTTP_429_TOO_MANY_REQUESTS,
    domain.TokenInvalid: status.HTTP_401_UNAUTHORIZED,
    domain.SessionRevoked: status.HTTP_401_UNAUTHORIZED,
    domain.TokenStale: status.HTTP_401_UNAUTHORIZED,
    domain.DeviceLimitReached: status.HTTP_403_FORBIDDEN,
    domain.RefreshReused: status.HTTP_401_UNAUTHORIZED,
    domain.DeviceMismatch: status.HTTP_401_UNAUTHORIZED,
    domain.Throttled: status.HTTP_429_TOO_MANY_REQUESTS,
    domain.NotFound: status.HTTP_404_NOT_FOUND,
    domain.ApiKeyInvalid: status.HTTP_401_UNAUTHORIZED,
    domain.ApiKeyThrottled: status.HTTP_429_TOO_MANY_REQUESTS,
    domain.PasskeyInvalid: status.HTTP_401_UNAUTHORIZED,
    domain.EmailUnverified: status.HTTP_403_FORBIDDEN,
    domain.SocialTokenInvalid: status.HTTP_401_UNAUTHORIZED,
    domain.SocialProviderUnavailable: status.HTTP_503_SERVICE_UNAVAILABLE,
    domain.MfaRequired: status.HTTP_401_UNAUTHORIZED,
    domain.MfaInvalid: status.HTTP_401_UNAUTHORIZED,
    domain.MfaTokenInvalid: status.HTTP_401_UNAUTHORIZED,
    domain.MfaStepUpRequired: status.HTTP_403_FORBIDDEN,
}


def api_exception(error: domain.AccountsError) -> exceptions.APIException:
    """The DRF exception that answers a domain error: its DOMAIN_STATUS, its code and
    detail, its extras beside them, and Retry-After from its `retry_after`. A 401 is an
    AuthenticationFailed, so DRF treats it as any refused credential."""
    status_code = DOMAIN_STATUS[type(error)]
    exc: exceptions.APIException
    if status_code == status.HTTP_401_UNAUTHORIZED:
        exc = exceptions.AuthenticationFailed(error.detail, code=error.code)
    else:
        exc = exceptions.APIException(error.detail, code=error.code)
        exc.status_code = status_code
    # The kit's own attributes on DRF's exception, read back by exception_handler.
    exc.extras = error.extras  # type: ignore[attr-defined]
    exc.retry_after = getattr(error, "retry_after", None)  # type: ignore[attr-defined]
    return exc


@contextmanager
def as_api_exceptions() -> Iterator[None]:
    """Domain errors raised inside become their DRF exceptions (for authentication
    classes, which DRF expects to raise its own)."""
    try:
        yield
    except domain.AccountsError as error:
        raise api_exception(error) from error


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


def api_error(code: str, detail: object, status_code: int, **extra: Any) -> Response:
    """A response in the contract's error shape (for views that answer without raising)."""
    return Response({"code": code, "detail": str(detail), **extra}, status=status_code)


def _code_of(exc: exceptions.APIException) -> str:
    for exc_class, code in _CODE_BY_EXCEPTION:
        if isinstance(exc, exc_class):
            return code
    codes = exc.get_codes()
    if isinstance(codes, str):
        return codes
    return exc.default_code


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, domain.AccountsError):
        exc = api_exception(exc)
        view, request = context.get("view"), context.get("request")
        if isinstance(exc, exceptions.AuthenticationFailed) and view is not None:
            # What DRF's APIView.handle_exception adds to its own 401s.
            exc.auth_header = view.get_authenticate_header(request)  # type: ignore[attr-defined]
    elif isinstance(exc, DjangoValidationError):
        # A rule's field errors: {field: [messages]}.
        exc = exceptions.ValidationError(
            exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        )
    elif isinstance(exc, (OperationalError, InterfaceError)):
        exc = ServiceUnavailable()
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()

    # Imported here: rest_framework.views loads DEFAULT_AUTHENTICATION_CLASSES, and
    # api.authentication imports this module.
    from rest_framework.views import exception_handler as drf_exception_handler

    response = drf_exception_handler(exc, context)
    if response is None or not isinstance(exc, exceptions.APIException):
        return response  # DRF answers its APIExceptions only (the others converted above)

    if isinstance(exc, exceptions.ValidationError):
        errors = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
        response.data = {"code": "invalid", "detail": str(_("Invalid input.")), "errors": errors}
        return response

    if isinstance(exc, (exceptions.NotAuthenticated, exceptions.AuthenticationFailed)):
        # DRF answers 403 when the first authentication class has no WWW-Authenticate
        # scheme; a missing or bad credential is a 401 in the contract whatever the class.
        response.status_code = status.HTTP_401_UNAUTHORIZED

    retry_after = getattr(exc, "retry_after", None)
    if retry_after is not None:
        response["Retry-After"] = str(retry_after)

    detail: object = exc.detail
    extra = getattr(exc, "extras", {})
    if isinstance(detail, dict):
        # An exception raised with a dict carries the contract's extra fields.
        extra = {k: v for k, v in detail.items() if k not in ("code", "detail")}
        detail = detail.get("detail", exc.default_detail)
    response.data = {"code": _code_of(exc), "detail": str(detail), **extra}
    return response
