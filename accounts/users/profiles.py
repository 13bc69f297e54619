"""The `/me` fields of a user, cached like session state: a warm `/me` makes no query.

Read through accounts.revocation (this process's view, then Redis, then the database);
every save or delete of a user drops the entry everywhere (write-through, as revocations
do), and so does a change of rights (accounts.devices.rights). A bulk `QuerySet.update()` sends no
signal: its profiles refresh within PROFILE_TIMEOUT, or call `forget_profiles(ids)`.
With a per-process cache (local memory) the profile is read from the database.
"""

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, Literal

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db.models import Model
from django.db.models.signals import post_delete, post_save

from accounts import revocation

if TYPE_CHECKING:
    from accounts.models import User

PROFILE_FIELDS = ("id", "username", "email", "first_name", "last_name", "is_staff")
# What a user edits of their own profile (the address changes through its verification).
EDITABLE_FIELDS = ("first_name", "last_name")
# Seconds a cached profile lives (bounds what a change without a signal leaves stale).
PROFILE_TIMEOUT = 60


def _load(user_id: Any) -> dict[str, Any] | Literal[False]:
    """The profile from the database (one query), or False when there is no such user."""
    return get_user_model().objects.filter(pk=user_id).values(*PROFILE_FIELDS).first() or False


# Entries `profile:<user id>`; nothing to replay in a repair (a change only forgets).
PROFILES = revocation.register(
    revocation.Kind(prefix="profile", load=_load, timeout=lambda value: PROFILE_TIMEOUT)
)


def get_profile(user_id: Any) -> dict[str, Any] | None:
    """The `/me` fields of this user as a dict, or None when the user does not exist."""
    return revocation.read_through(PROFILES, user_id) or None


def profile_update(*, user: "User", changes: Mapping[str, str]) -> None:
    """Set the EDITABLE_FIELDS of `user` found in `changes` (other keys are ignored).
    ValidationError {field: [...]} (the model's rules, such as the length) and nothing
    saved when a value is refused."""
    fields = [name for name in EDITABLE_FIELDS if name in changes]
    for name in fields:
        setattr(user, name, changes[name])
    others = [field.name for field in user._meta.fields if field.name not in fields]
    try:
        user.full_clean(exclude=others, validate_unique=False, validate_constraints=False)
    except ValidationError:
        user.refresh_from_db(fields=fields)
        raise
    if fields:
        user.save(update_fields=fields)  # the save's signal drops the cached profile


def forget_profiles(user_ids: Iterable[Any]) -> None:
    """Drop these users' cached profiles now and, after commit, on every process."""
    revocation.forget(PROFILES, user_ids)


def _user_changed(
    sender: type[Model],
    instance: Model,
    update_fields: Iterable[str] | None = None,
    **kwargs: Any,
) -> None:
    # A save of other fields only (a sign-in's last_login, a logout-all's sessions_version)
    # leaves the profile as it was: no write-through, so no revocation message either.
    if update_fields is not None and not set(update_fields) & set(PROFILE_FIELDS):
        return
    forget_profiles([instance.pk])


def connect() -> None:
    user_model = get_user_model()
    post_save.connect(_user_changed, sender=user_model, dispatch_uid="kit-profile-saved")
    post_delete.connect(_user_changed, sender=user_model, dispatch_uid="kit-profile-deleted")
