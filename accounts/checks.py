"""System checks run at start-up (runserver, migrate, check): the JWT keys load, and the
database is one the kit supports."""

from django.core.checks import Error, Tags, register
from django.core.exceptions import ImproperlyConfigured
from django.db import connection

from accounts.jwt_keys import load_key_config


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
    """Refresh is one `UPDATE ... RETURNING` (accounts.sessions): PostgreSQL, or SQLite from
    3.35 on (the SQLite of some older systems is older). Known without connecting."""
    if connection.vendor == "postgresql":
        return []
    found = connection.vendor
    if found == "sqlite":
        if connection.Database.sqlite_version_info >= (3, 35):
            return []
        found = f"SQLite {connection.Database.sqlite_version}"
    return [
        Error(
            f"The kit supports PostgreSQL and SQLite 3.35 or later, not {found}: "
            "refresh is one UPDATE ... RETURNING.",
            id="accounts.E002",
        )
    ]
