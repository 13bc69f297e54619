"""revoke_api_key PREFIX"""

from django.core.management.base import BaseCommand, CommandError

from accounts.apikeys.keys import revoke_api_key
from accounts.models import ApiKey


class Command(BaseCommand):
    help = "Revoke the API key with this prefix (the part after `kit_`); final."

    def add_arguments(self, parser):
        parser.add_argument("prefix")

    def handle(self, *args, prefix, **options):
        try:
            api_key = ApiKey.objects.select_related("owner").get(prefix=prefix)
        except ApiKey.DoesNotExist:
            raise CommandError(f"No API key with prefix {prefix!r}.") from None
        if revoke_api_key(api_key, actor="manage.py revoke_api_key"):
            self.stdout.write(f"Revoked API key {api_key.name!r} ({prefix}).")
        else:
            self.stdout.write(f"API key {api_key.name!r} ({prefix}) was already revoked.")
