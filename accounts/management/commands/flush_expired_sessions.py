"""manage.py flush_expired_sessions: prune ended device sessions, old audit events, the
spent rows of the second-factor flows and the task queue's finished rows; erase accounts
deleted past their grace."""

import time
from datetime import timedelta

from django.core.management.base import BaseCommand
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from accounts.conf import kit_settings
from accounts.models import AuthEvent, DeviceSession, MfaChallenge, TotpCodeUse
from accounts.users.deletion import accounts_erase_deleted

# Second-factor steps (MfaChallenge) expired, and TOTP time steps (TotpCodeUse) accepted,
# longer ago than this are deleted: a step that old is refused by its own check anyway.
MFA_ROWS_KEPT = timedelta(days=1)
# Finished tasks of the queue (TASKS_BACKEND database) are deleted this long after they
# ended: their arguments hold the e-mail address each one mailed (sign-up, reset for any
# address typed, an e-mail change's new address), personal data kept no longer than that
# (and so gone before a deleted account is erased). Tasks not run yet are never touched.
TASK_RESULTS_KEPT = timedelta(days=1)


class Command(BaseCommand):
    help = (
        "Delete device sessions that ended more than ACCOUNTS_SESSION_RETENTION_DAYS ago "
        "and audit events older than ACCOUNTS_AUDIT_RETENTION_DAYS, and second-factor steps "
        "and used TOTP steps older than a day, and tasks of the queue finished more than a "
        "day ago, in batches of "
        "--batch-size rows, one short transaction each (docs/operations.md); then "
        "erase_deleted_accounts. Safe to run from cron, also while the site serves; "
        "stopped early, the next run continues."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--batch-size",
            type=int,
            default=5000,
            help="Rows deleted per transaction (default 5000: well under a second each).",
        )
        parser.add_argument(
            "--max-seconds",
            type=float,
            default=None,
            help="Start no batch after this many seconds (default: run until done).",
        )

    def handle(self, *args, batch_size, max_seconds, **options):
        now = timezone.now()
        self.deadline = None if max_seconds is None else time.monotonic() + max_seconds
        self.batch_size = max(1, batch_size)
        session_cutoff = now - timedelta(days=kit_settings.SESSION_RETENTION_DAYS)
        audit_cutoff = now - timedelta(days=kit_settings.AUDIT_RETENTION_DAYS)
        # Ended: revoked, or expired without being revoked, before the cut-off.
        sessions_deleted, sessions_done = self._delete_in_batches(
            DeviceSession.objects.filter(
                Q(revoked_at__lt=session_cutoff)
                | Q(revoked_at__isnull=True, refresh_expires_at__lt=session_cutoff)
            )
        )
        events_deleted, events_done = self._delete_in_batches(
            AuthEvent.objects.filter(created_at__lt=audit_cutoff)
        )
        mfa_cutoff = now - MFA_ROWS_KEPT
        steps_deleted, steps_done = self._delete_in_batches(
            MfaChallenge.objects.filter(expires_at__lt=mfa_cutoff)
        )
        codes_deleted, codes_done = self._delete_in_batches(
            TotpCodeUse.objects.filter(created_at__lt=mfa_cutoff)
        )
        self.stdout.write(
            f"Deleted {sessions_deleted} ended device session(s) and "
            f"{events_deleted} audit event(s)."
        )
        tasks_deleted, tasks_done = self._delete_in_batches(
            DBTaskResult.objects.finished().filter(finished_at__lt=now - TASK_RESULTS_KEPT)
        )
        self.stdout.write(
            f"Deleted {steps_deleted} expired second-factor step(s) and "
            f"{codes_deleted} used TOTP step(s)."
        )
        self.stdout.write(f"Deleted {tasks_deleted} finished task(s) of the queue.")
        # Few rows (the accounts deleted in a day or so): no batches needed.
        erased = accounts_erase_deleted(now=now)
        self.stdout.write(f"Erased {erased} deleted account(s) (erase_deleted_accounts).")
        if not (sessions_done and events_done and steps_done and codes_done and tasks_done):
            self.stdout.write("Stopped at --max-seconds; the next run continues.")

    def _delete_in_batches(self, queryset):
        """Delete `queryset`'s rows batch by batch, each batch its own transaction (one
        SELECT of at most batch_size ids, one DELETE of them), so no lock or snapshot is
        held for long and autovacuum can reclaim the space meanwhile.
        -> (rows deleted, whether all are gone)."""
        model = queryset.model
        deleted = 0
        while self.deadline is None or time.monotonic() < self.deadline:
            with transaction.atomic():
                ids = list(queryset.order_by().values_list("pk", flat=True)[: self.batch_size])
                if not ids:
                    return deleted, True
                count, _ = model.objects.filter(pk__in=ids).delete()
            deleted += count
        return deleted, False
