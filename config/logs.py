"""The kit's log format (settings.LOGGING)."""

import logging

# Django logs every request it refuses as suspicious on django.security.<exception name>.
SECURITY_LOGGER_PREFIX = "django.security."


class Formatter(logging.Formatter):
    """One line per refused request: Django logs a Host outside ALLOWED_HOSTS, a body over
    DATA_UPLOAD_MAX_*, a forged session... with its exception attached, and a scanner's
    probes then fill the log with stack traces of what is the client's doing, not a fault.
    The line keeps the logger (the kind of refusal) and Django's message (what was sent);
    every other record, a server error's traceback included, is formatted as usual."""

    def format(self, record):
        if record.exc_info and record.name.startswith(SECURITY_LOGGER_PREFIX):
            record = logging.makeLogRecord({**record.__dict__, "exc_info": None, "exc_text": None})
        return super().format(record)
