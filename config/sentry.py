"""Error tracking with Sentry when SENTRY_DSN is set (config/settings.py): no personal
data and no secrets leave the process.

`send_default_pii=False` keeps out the user's id, e-mail and address, cookies and the
Authorization/X-API-Key headers; request bodies are never sent (they hold passwords and
refresh tokens, whose field names Sentry's scrubber does not all know); nor are the local
variables of stack frames (`raw_key`, `raw_refresh`...).
"""


def sentry_options(*, dsn: str, environment: str) -> dict:
    """The keyword arguments of `sentry_sdk.init` for this project."""
    return {
        "dsn": dsn,
        "environment": environment,
        "send_default_pii": False,
        "max_request_body_size": "never",
        "include_local_variables": False,
        # Errors only; performance tracing is a product's own choice.
        "traces_sample_rate": 0.0,
    }
