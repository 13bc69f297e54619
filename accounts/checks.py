"""System checks run at start-up (runserver, migrate, check): the JWT keys load, and the
database is one the kit supports."""

from django.core.checks import Error, Tags, register
from django.core.exceptions import ImproperlyConfigured
from django.db import connection

from accounts.devices.keys import load_key_config


@register(Tags.security)
def check_jwt_keys(app_configs=None, **kwargs):
    """Parse every JWT key now, so a bad key stops start-up instead of a request."""
    try:
        load_key_config()
    except ImproperlyConfigured as exc:
        return [Error(str(exc), id="accounts.E001")]
    return []


@register(Tags.compatibility)
def check_database_supported(app_configs=None, **kwargs):
    """PostgreSQL or SQLite: the databases the kit's suite runs on. Known without
    connecting."""
    if connection.vendor in ("postgresql", "sqlite"):
        return []
    return [
        Error(
            f"The kit supports PostgreSQL and SQLite, not {connection.vendor}.",
            id="accounts.E002",
        )
    ]
