"""manage.py erase_deleted_accounts: erase the personal data of accounts deleted by their
users more than ACCOUNTS_DELETION_GRACE_DAYS ago (accounts.users.deletion)."""

from django.core.management.base import BaseCommand

from accounts.users.deletion import accounts_erase_deleted


class Command(BaseCommand):
    help = (
        "Erase the personal data of accounts deleted more than ACCOUNTS_DELETION_GRACE_DAYS "
        "ago (also run by flush_expired_sessions). Safe to run from cron."
    )

    def handle(self, *args, **options):
        erased = accounts_erase_deleted()
        self.stdout.write(f"Erased {erased} deleted account(s).")
