from django.apps import AppConfig


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
        # A saved or deleted user drops its cached /me profile everywhere.
        profiles.connect()
        # Rights changes (staff, superuser, groups, permissions) make access tokens stale.
        rights.connect()
        # The browser and address of each browser session, kept at sign-in.
        from accounts.web import session_store  # noqa: F401
