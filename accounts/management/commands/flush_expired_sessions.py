"""manage.py flush_expired_sessions: prune ended device sessions and old audit events."""

from datetime import timedelta

from django.core.management.base import BaseCommand
from django.db.models import Q
from django.utils import timezone

from accounts.conf import kit_settings
from accounts.models import AuthEvent, DeviceSession


class Command(BaseCommand):
    help = (
        "Delete device sessions that ended more than ACCOUNTS_SESSION_RETENTION_DAYS ago "
        "and audit events older than ACCOUNTS_AUDIT_RETENTION_DAYS. Safe to run from cron."
    )

    def handle(self, *args, **options):
        now = timezone.now()
        session_cutoff = now - timedelta(days=kit_settings.SESSION_RETENTION_DAYS)
        audit_cutoff = now - timedelta(days=kit_settings.AUDIT_RETENTION_DAYS)
        # Ended: revoked, or expired without being revoked, before the cut-off.
        sessions_deleted, _ = DeviceSession.objects.filter(
            Q(revoked_at__lt=session_cutoff)
            | Q(revoked_at__isnull=True, refresh_expires_at__lt=session_cutoff)
        ).delete()
        events_deleted, _ = AuthEvent.objects.filter(created_at__lt=audit_cutoff).delete()
        self.stdout.write(
            f"Deleted {sessions_deleted} ended device session(s) and "
            f"{events_deleted} audit event(s)."
        )
