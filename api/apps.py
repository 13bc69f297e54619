from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "api"
    verbose_name = "API"

    def ready(self):
        # Register the system check of permission classes (api.E001).
        from api import permissions  # noqa: F401
