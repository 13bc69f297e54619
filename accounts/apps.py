from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts"

    def ready(self):
        # Connect the signal receivers: API keys (owner deleted) and lockouts (sign-in
        # failed or succeeded).
        from accounts import api_keys, lockout  # noqa: F401
