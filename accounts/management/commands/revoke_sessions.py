"""manage.py revoke_sessions USERNAME: sign a user out of every device and browser."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from accounts.devices import sessions
from accounts.models import DeviceSession


class Command(BaseCommand):
    help = "Revoke every device session of a user (and end their browser sessions)."

    def add_arguments(self, parser):
        parser.add_argument("username")

    def handle(self, *args, username, **options):
        user_model = get_user_model()
        try:
            user = user_model.objects.get_by_natural_key(username)
        except user_model.DoesNotExist as exc:
            raise CommandError(f"No user named {username!r}.") from exc
        count = sessions.revoke_all_sessions(
            user, reason=DeviceSession.RevokeReason.ADMIN, actor="manage.py revoke_sessions"
        )
        self.stdout.write(f"Revoked {count} device session(s) of {user.get_username()}.")
