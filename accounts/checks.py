"""System checks run at start-up (runserver, migrate, check): the kit's settings are known
knobs of the right type, the JWT keys load, and the database is one the kit supports."""

from django.conf import settings
from django.core.checks import Error, Tags, register
from django.core.exceptions import ImproperlyConfigured
from django.db import connection

from accounts import conf
from accounts.devices.keys import load_key_config


@register()
def check_kit_settings(app_configs=None, **kwargs):
    """accounts.E004: every key of settings.ACCOUNTS is a knob (accounts/conf.py), of the
    right type: a typo such as MAX_DEVICE stops start-up instead of being ignored."""
    return [
        Error(problem, hint="The knobs are in accounts/conf.py DEFAULTS.", id="accounts.E004")
        for problem in conf.problems(getattr(settings, "ACCOUNTS", {}))
    ]


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


@register()
def check_social_providers(app_configs=None, **kwargs):
    """accounts.E005: SOCIAL_PROVIDERS is a JSON list of providers, each with its keys
    (accounts.social.providers): bad JSON or a missing key stops start-up, and the message
    never echoes a client secret."""
    from accounts.social.providers import provider_problems

    return [
        Error(
            problem,
            hint='SOCIAL_PROVIDERS=[{"id": "google", "name": "Google", "issuer": '
            '"https://accounts.google.com", "client_id": "...", "client_secret": "..."}] '
            "(docs/social-sign-in.md).",
            id="accounts.E005",
        )
        for problem in provider_problems(conf.kit_settings.SOCIAL_PROVIDERS)
    ]
