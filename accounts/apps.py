from django.apps import AppConfig
from django.db import connections
from django.db.models.signals import post_migrate, pre_migrate


def _statement_timeout(using, statement):
    connection = connections[using]
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(statement)


def _migrate_without_statement_timeout(sender, using, **kwargs):
    """`migrate` may build indexes on big tables for minutes: DATABASE_STATEMENT_TIMEOUT
    bounds the web's statements, not a migration's (DATABASE_LOCK_TIMEOUT still holds, so
    a migration waiting on a busy table fails instead of queueing every request)."""
    _statement_timeout(using, "SET statement_timeout = 0")


def _statement_timeout_back(sender, using, **kwargs):
    _statement_timeout(using, "RESET statement_timeout")  # the connection's own setting


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts"

    def ready(self):
        # Connect the signal receivers: API keys (owner deleted), lockouts (sign-in failed
        # or succeeded), device sessions (user deactivated or deleted, password changed).
        # Register the system checks (signing keys).
        # Every kind of revocation state (API keys, device sessions, profiles) registers
        # before any request: a repair replays the kinds it knows, then all trust the cache.
        from accounts import checks  # noqa: F401
        from accounts.apikeys import keys  # noqa: F401
        from accounts.devices import rights, session_state  # noqa: F401
        from accounts.users import profiles, signals

        signals.connect()
        pre_migrate.connect(
            _migrate_without_statement_timeout, dispatch_uid="kit-migrate-statement-timeout"
        )
        post_migrate.connect(_statement_timeout_back, dispatch_uid="kit-migrated-statement-timeout")
        # A saved or deleted user drops its cached /me profile everywhere.
        profiles.connect()
        # Rights changes (staff, superuser, groups, permissions) make access tokens stale.
        rights.connect()
        # The browser and address of each browser session, kept at sign-in.
        from accounts.web import session_store  # noqa: F401
