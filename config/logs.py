"""The kit's log format (settings.LOGGING): plain text, or JSON with LOG_FORMAT=json; each
line with the request's id, user and device session, secrets redacted."""

import logging
import re
import uuid
from contextvars import ContextVar

import pythonjsonlogger.json
from django.contrib.auth import SESSION_KEY
from django.utils.functional import SimpleLazyObject
from pythonjsonlogger.core import RESERVED_ATTRS

# Django logs every request it refuses as suspicious on django.security.<exception name>.
SECURITY_LOGGER_PREFIX = "django.security."


def _one_line_if_refused(record):
    """A request Django refused as suspicious (django.security.*) without its traceback:
    Django logs a Host outside ALLOWED_HOSTS, a body over DATA_UPLOAD_MAX_*, a forged
    session... with its exception attached, and a scanner's probes then fill the log with
    stack traces of what is the client's doing, not a fault. The line keeps the logger
    (the kind of refusal) and Django's message (what was sent); every other record, a
    server error's traceback included, is formatted as usual."""
    if record.exc_info and record.name.startswith(SECURITY_LOGGER_PREFIX):
        return logging.makeLogRecord({**record.__dict__, "exc_info": None, "exc_text": None})
    return record


class Formatter(logging.Formatter):
    """Plain text, one line per refused request, secrets redacted."""

    def format(self, record):
        return redact(super().format(_one_line_if_refused(record)))


# ---------------------------------------------------------------------------------------
# Request context: a request id on every line (and in the X-Request-ID response header),
# the user and the device session when known; secrets never.
# ---------------------------------------------------------------------------------------
_current: ContextVar[tuple[str, object] | None] = ContextVar("kit_log_request", default=None)

# An incoming X-Request-ID is kept only from a trusted proxy (ClientIPMiddleware drops it
# from anyone else) and only if it looks like an id: no spaces, quotes or newlines to
# forge log lines with, and not so long it bloats every one of them.
REQUEST_ID_HEADER = "X-Request-ID"
_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")

# Shapes of secrets a message could carry by mistake (a token in a URL, an exception or a
# DEBUG template line that repeats its input or context): access/refresh JWTs (JWS and
# JWE), API keys, Django's password-reset tokens (base-36 time, "-", 32 hex digits).
_SECRETS = (
    (re.compile(r"eyJ[\w-]*\.[\w-]*\.[\w-]*(?:\.[\w-]*\.[\w-]*)?"), "[token]"),
    (re.compile(r"\b[a-z][a-z0-9]*_[a-z0-9]{8}_[A-Za-z0-9]{40}\b"), "[api key]"),
    (re.compile(r"\b[0-9a-z]{1,13}-[0-9a-f]{32}\b"), "[token]"),
)


def redact(text: str) -> str:
    """`text` with every token-, key- or reset-link-shaped secret replaced."""
    for pattern, replacement in _SECRETS:
        text = pattern.sub(replacement, text)
    return text


class RequestIDMiddleware:
    """Gives each request an id (the trusted proxy's, else a new one), that every log line
    written while it is served carries and that the response returns in X-Request-ID."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.META.get("HTTP_X_REQUEST_ID", "")
        request_id = incoming if _SANE_REQUEST_ID.fullmatch(incoming) else uuid.uuid4().hex
        # Not reset afterwards: Django logs a 4xx/5xx after the middleware returns, and
        # the next request on this thread (or task) sets its own.
        _current.set((request_id, request))
        response = self.get_response(request)
        response[REQUEST_ID_HEADER] = request_id
        return response


# Set while the filter reads the session: a session that fails to decode logs a warning
# from inside its own load, which must not make the filter load it again (a recursion).
_reading_session: ContextVar[bool] = ContextVar("kit_log_reading_session", default=False)


def _user_id(request):
    """The signed-in user's id if it is known without a query: a user DRF authenticated,
    or the id in a browser session that has already been read."""
    user = request.__dict__.get("user")
    if user is not None and type(user) is not SimpleLazyObject:
        return user.pk if user.is_authenticated else None
    session = getattr(request, "session", None)
    if session is None or not session.accessed or _reading_session.get():
        return None
    reading = _reading_session.set(True)
    try:
        return session.get(SESSION_KEY)
    finally:
        _reading_session.reset(reading)


class RequestContextFilter(logging.Filter):
    """Adds `request_id`, `user_id`, `device_session_id` and `api_key` (a key's public
    prefix) to each record (None outside a request)."""

    def filter(self, record):
        current = _current.get()
        request_id, request = current if current is not None else (None, None)
        record.request_id = request_id
        record.user_id = record.device_session_id = record.api_key = None
        if request is not None:
            record.user_id = _user_id(request)
            auth = request.__dict__.get("auth")
            if callable(getattr(auth, "get", None)):  # a validated device access token
                record.device_session_id = auth.get("sid")
            record.api_key = getattr(auth, "prefix", None)
        return True


class JsonFormatter(pythonjsonlogger.json.JsonFormatter):
    """One JSON object a line (LOG_FORMAT=json), secrets redacted; the `request` object
    Django attaches to its request records is left out (its repr holds the query string)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("reserved_attrs", [*RESERVED_ATTRS, "request"])
        super().__init__(*args, **kwargs)

    def format(self, record):
        return redact(super().format(_one_line_if_refused(record)))
