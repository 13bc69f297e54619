"""The kit's user model."""

from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from django.db.models.functions import Lower


class KitUserManager(UserManager):
    def get_by_natural_key(self, username):
        """Resolve a sign-in name: a username, or an e-mail address (any case)."""
        if "@" in username:
            return self.get(email__iexact=username)
        return self.get(**{self.model.USERNAME_FIELD: username})


class User(AbstractUser):
    """A person who signs in. E-mail addresses are unique whatever their case."""

    email = models.EmailField("email address", blank=True)
    # Mixed into the browser-session auth hash: bumping it ends every Django session of
    # the user ("sign out everywhere") without touching the password.
    sessions_version = models.PositiveIntegerField(default=0, editable=False)
    # Bumped when the user's rights (staff, superuser, groups, permissions) change, so
    # access tokens carrying older claims are refused as stale.
    rights_version = models.PositiveIntegerField(default=0, editable=False)

    objects = KitUserManager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                Lower("email"),
                condition=~models.Q(email=""),
                name="accounts_user_email_ci_unique",
                violation_error_message="A user with that e-mail address already exists.",
            )
        ]

    def get_session_auth_hash(self):
        """The password hash plus `sessions_version`, so either change ends sessions."""
        from django.utils.crypto import salted_hmac

        return salted_hmac(
            "accounts.User.get_session_auth_hash",
            f"{self.password}:{self.sessions_version}",
            algorithm="sha256",
        ).hexdigest()
