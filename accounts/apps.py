from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts"

    def ready(self):
        # Connects the signal receivers of the API-key service.
        from accounts import api_keys  # noqa: F401
