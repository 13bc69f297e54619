"""A deactivated or deleted user's device sessions end at once (connected in apps.py).

Only saves and deletes through the ORM send these signals: a bulk `QuerySet.update(
is_active=False)` does not, so deactivate users one by one (the admin does).
"""

from django.db.models.signals import post_init, post_save, pre_delete

from accounts import sessions
from accounts.models import DeviceSession, User


def remember_active_flag(sender, instance, **kwargs):
    instance._kit_was_active = instance.__dict__.get("is_active")


def revoke_sessions_of_deactivated_user(sender, instance, created, **kwargs):
    if not created and instance._kit_was_active and not instance.is_active:
        sessions.revoke_all_sessions(instance, reason=DeviceSession.RevokeReason.USER_DEACTIVATED)
    instance._kit_was_active = instance.is_active


def revoke_sessions_of_deleted_user(sender, instance, **kwargs):
    sessions.revoke_sessions_of_deleted_user(instance)


def connect():
    post_init.connect(remember_active_flag, sender=User, dispatch_uid="kit-user-active-flag")
    post_save.connect(
        revoke_sessions_of_deactivated_user, sender=User, dispatch_uid="kit-user-deactivated"
    )
    pre_delete.connect(
        revoke_sessions_of_deleted_user, sender=User, dispatch_uid="kit-user-deleted"
    )
