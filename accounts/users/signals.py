"""A deactivated or deleted user's device sessions end at once, and so do the sessions of
a user whose password changes (accounts.users.password_changes). A user whose address is
set by any path but its own verification (the admin, a staff script) loses the
verification links still out for other addresses (accounts.users.email_change
.email_changes_cancel): a stale link must not put back an address staff replaced.
Connected in apps.py.

Only saves and deletes through the ORM send these signals: a bulk `QuerySet.update(
is_active=False)` does not, so deactivate users one by one (the admin does).
"""

from collections.abc import Iterable
from typing import Any

from django.db.models.signals import post_init, post_save, pre_delete, pre_save

from accounts.devices import sessions
from accounts.models import DeviceSession, User
from accounts.users import password_changes
from accounts.users.email_change import email_changes_cancel

# The receivers keep their marks on the user (`_kit_...`): `instance` is Any.


def remember_active_flag(sender: type[User], instance: Any, **kwargs: Any) -> None:
    instance._kit_was_active = instance.__dict__.get("is_active")
    instance._kit_loaded_email = instance.__dict__.get("email")


def void_stale_links_on_email_change(
    sender: type[User], instance: Any, created: bool, **kwargs: Any
) -> None:
    """The address changed since the user was loaded: the pending rows of other addresses
    (a sign-up's old one, a change asked for before) go, and their links with them. When
    it was email_verify that set it, they are already gone."""
    loaded = getattr(instance, "_kit_loaded_email", None)
    current = instance.__dict__.get("email")
    instance._kit_loaded_email = current
    if created or loaded is None or current is None or loaded.lower() == current.lower():
        return
    email_changes_cancel(user=instance)


def revoke_sessions_of_deactivated_user(
    sender: type[User], instance: Any, created: bool, **kwargs: Any
) -> None:
    if not created and instance._kit_was_active and not instance.is_active:
        sessions.revoke_all_sessions(instance, reason=DeviceSession.RevokeReason.USER_DEACTIVATED)
    instance._kit_was_active = instance.is_active


def note_password_change(
    sender: type[User],
    instance: Any,
    raw: bool,
    using: str,
    update_fields: Iterable[str] | None,
    **kwargs: Any,
) -> None:
    """Whether this save writes a new password hash over an existing user's stored one.

    Compared with the stored hash, not with the one loaded: a user object loaded before
    another change, then refreshed, is not taken for a change. Not a change: a new user,
    a first password over none (""), and the hash upgrade of User.check_password (the
    hash it replaces is what the save means)."""
    instance._kit_password_changed = False
    writes_password = update_fields is None or "password" in update_fields
    if raw or instance._state.adding or not writes_password:
        return
    if "password" in instance.get_deferred_fields():
        return  # never loaded, so never set
    stored = (
        sender._default_manager.using(using)
        .filter(pk=instance.pk)
        .values_list("password", flat=True)
        .first()
    )
    meant = getattr(instance, "_kit_hash_checked", instance.password)
    instance._kit_password_changed = bool(stored) and stored != meant


def end_sessions_on_password_change(
    sender: type[User], instance: Any, created: bool, **kwargs: Any
) -> None:
    if getattr(instance, "_kit_password_changed", False):
        instance._kit_password_changed = False
        password_changes.sessions_end_on_password_change(user=instance)


def revoke_sessions_of_deleted_user(sender: type[User], instance: User, **kwargs: Any) -> None:
    sessions.revoke_sessions_of_deleted_user(instance)


def connect() -> None:
    post_init.connect(remember_active_flag, sender=User, dispatch_uid="kit-user-active-flag")
    post_save.connect(
        revoke_sessions_of_deactivated_user, sender=User, dispatch_uid="kit-user-deactivated"
    )
    pre_save.connect(note_password_change, sender=User, dispatch_uid="kit-user-password-set")
    post_save.connect(
        end_sessions_on_password_change, sender=User, dispatch_uid="kit-user-password-changed"
    )
    pre_delete.connect(
        revoke_sessions_of_deleted_user, sender=User, dispatch_uid="kit-user-deleted"
    )
    post_save.connect(
        void_stale_links_on_email_change, sender=User, dispatch_uid="kit-user-email-set"
    )
