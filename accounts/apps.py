from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts"

    def ready(self):
        # Connects the failed/successful sign-in receivers that count failures.
        from accounts import lockout  # noqa: F401
