"""A change of rights makes earlier access tokens stale (401 `token_stale`).

Access tokens carry `rv`, the user's rights_version when they were issued, and claims that
grant rights (is_staff, is_superuser, the TOKEN_CLAIMS ones). accounts.devices.sessions.check_access
refuses a token whose `rv` is not the cached rights_version of its device session. This
module bumps rights_version (an F() update: concurrent bumps never get lost) when:

- a user's is_staff or is_superuser changes (saved through the ORM);
- a user's groups or user_permissions change (m2m_changed, from either side);
- a group's permissions change (every user of the group), or a group is deleted;

and drops the cached session state of those users (session_state.forget_user_sessions,
now and again after commit), so the next request reads the new version. A refresh then
issues a token with the new claims.

A bulk `QuerySet.update(is_staff=...)` sends no signal: call `rights_changed(user_ids)`
after it. `User.save` never writes rights_version back, so a user object loaded before a
bump cannot lower it again.
"""

from collections.abc import Iterable
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db.models import F, Model
from django.db.models.signals import m2m_changed, post_init, post_save, pre_delete

from accounts.devices import session_state
from accounts.users import profiles

RIGHTS_FLAGS = ("is_staff", "is_superuser")
_ADD_REMOVE = ("post_add", "post_remove")


def rights_changed(user_ids: Iterable[Any]) -> None:
    """Bump the rights_version of these users and forget their cached session state."""
    ids = {pk for pk in user_ids if pk is not None}
    if not ids:
        return
    user_model = get_user_model()
    user_model.objects.filter(pk__in=ids).update(rights_version=F("rights_version") + 1)
    for pk in ids:
        session_state.forget_user_sessions(pk)
    profiles.forget_profiles(ids)  # /me shows is_staff


def _users_of_groups(group_ids: Iterable[int]) -> list[Any]:
    return list(
        get_user_model()
        .objects.filter(groups__in=list(group_ids))
        .values_list("pk", flat=True)
        .distinct()
    )


# --- the user's own flags ---------------------------------------------------------------
# The receivers keep their marks on the instance (`_kit_...`): `instance` is Any.


def _remember_flags(sender: type[Model], instance: Any, **kwargs: Any) -> None:
    instance._kit_rights_flags = tuple(instance.__dict__.get(f) for f in RIGHTS_FLAGS)


def _flags_saved(
    sender: type[Model],
    instance: Any,
    created: bool,
    raw: bool = False,
    update_fields: Iterable[str] | None = None,
    **kwargs: Any,
) -> None:
    before = getattr(instance, "_kit_rights_flags", (None, None))
    after = tuple(getattr(instance, f) for f in RIGHTS_FLAGS)
    saved = update_fields is None or set(RIGHTS_FLAGS) & set(update_fields)
    if not created and not raw and saved and before != after and None not in before:
        rights_changed([instance.pk])
        instance.refresh_from_db(fields=["rights_version"])
    instance._kit_rights_flags = after


# --- memberships and permissions --------------------------------------------------------


def _user_m2m_changed(
    sender: type[Model],
    instance: Any,
    action: str,
    reverse: bool,
    pk_set: set[Any] | None,
    **kwargs: Any,
) -> None:
    """user.groups / user.user_permissions, or group.user_set / permission.user_set."""
    if action in _ADD_REMOVE and not pk_set:
        return  # nothing was added or removed
    if not reverse:
        if action in (*_ADD_REMOVE, "post_clear"):
            rights_changed([instance.pk])
            instance.refresh_from_db(fields=["rights_version"])
        return
    if action == "pre_clear":
        # The members are gone after the clear: note them now.
        instance._kit_cleared_users = list(
            sender._default_manager.filter(**{_other_side(sender): instance.pk}).values_list(
                _user_side(sender), flat=True
            )
        )
    elif action == "post_clear":
        rights_changed(getattr(instance, "_kit_cleared_users", []))
    elif action in _ADD_REMOVE:
        rights_changed(pk_set or [])


def _user_side(through: type[Model]) -> str:
    return _fk_to(through, get_user_model())


def _other_side(through: type[Model]) -> str:
    return next(
        f.attname
        for f in through._meta.concrete_fields
        if f.is_relation and f.related_model is not get_user_model()
    )


def _fk_to(through: type[Model], model: type[Model]) -> str:
    fields = through._meta.concrete_fields
    return next(f.attname for f in fields if f.is_relation and f.related_model is model)


def _group_permissions_changed(
    sender: type[Model],
    instance: Any,
    action: str,
    reverse: bool,
    pk_set: set[int] | None,
    **kwargs: Any,
) -> None:
    """group.permissions (instance: a group) or permission.group_set (pk_set: groups)."""
    if action not in (*_ADD_REMOVE, "pre_clear", "post_clear"):
        return
    if action in _ADD_REMOVE and not pk_set:
        return
    if not reverse:
        if action != "pre_clear":
            rights_changed(_users_of_groups([instance.pk]))
        return
    if action == "pre_clear":
        instance._kit_cleared_groups = list(
            sender._default_manager.filter(permission_id=instance.pk).values_list(
                "group_id", flat=True
            )
        )
    elif action == "post_clear":
        rights_changed(_users_of_groups(getattr(instance, "_kit_cleared_groups", [])))
    else:
        rights_changed(_users_of_groups(pk_set or []))


def _group_deleted(sender: type[Group], instance: Group, **kwargs: Any) -> None:
    rights_changed(_users_of_groups([instance.pk]))


def connect() -> None:
    user_model = get_user_model()
    post_init.connect(_remember_flags, sender=user_model, dispatch_uid="kit-rights-flags")
    post_save.connect(_flags_saved, sender=user_model, dispatch_uid="kit-rights-saved")
    for through in (user_model.groups.through, user_model.user_permissions.through):
        m2m_changed.connect(_user_m2m_changed, sender=through, dispatch_uid=f"kit-rights-{through}")
    m2m_changed.connect(
        _group_permissions_changed,
        sender=Group.permissions.through,
        dispatch_uid="kit-rights-group-perms",
    )
    pre_delete.connect(_group_deleted, sender=Group, dispatch_uid="kit-rights-group-deleted")


__all__ = ["RIGHTS_FLAGS", "connect", "rights_changed"]
