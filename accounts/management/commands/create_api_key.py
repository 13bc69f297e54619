"""create_api_key NAME --scopes a,b [--expires-in-days N] [--owner USERNAME]"""

from datetime import timedelta

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from accounts.apikeys.keys import create_api_key


class Command(BaseCommand):
    help = "Create an API key. The key is printed once, alone on the last line."

    def add_arguments(self, parser):
        parser.add_argument("name", help='What will use the key, e.g. "billing worker".')
        parser.add_argument(
            "--scopes", required=True, help="Comma-separated scopes, e.g. users:read"
        )
        parser.add_argument("--expires-in-days", type=int, help="Lifetime in days (default: none).")
        parser.add_argument("--owner", help="Username of the person accountable for the key.")

    def handle(self, *args, name, scopes, expires_in_days, owner, **options):
        owner_user = None
        if owner:
            try:
                owner_user = get_user_model().objects.get_by_natural_key(owner)
            except get_user_model().DoesNotExist:
                raise CommandError(f"No user {owner!r}.") from None
        if expires_in_days is not None and expires_in_days < 1:
            raise CommandError("--expires-in-days must be at least 1.")
        expires_at = timezone.now() + timedelta(days=expires_in_days) if expires_in_days else None
        try:
            api_key, raw_key = create_api_key(
                name=name,
                scopes=[s.strip() for s in scopes.split(",") if s.strip()],
                owner=owner_user,
                expires_at=expires_at,
                actor="manage.py create_api_key",
            )
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from None
        expiry = f"expires {api_key.expires_at:%Y-%m-%d %H:%M} UTC" if expires_at else "no expiry"
        self.stdout.write(
            f"Created API key {api_key.name!r}: prefix {api_key.prefix}, "
            f"scopes {', '.join(api_key.scopes)}, {expiry}."
        )
        self.stdout.write("Store it now: it is not shown again.")
        self.stdout.write(raw_key)
