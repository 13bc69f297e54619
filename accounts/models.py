"""The kit's models: users, their device sessions, the audit trail and API keys."""

import uuid
from datetime import timedelta
from typing import ClassVar

from django.conf import settings
from django.contrib.auth.models import AbstractUser, UserManager
from django.contrib.sessions.base_session import AbstractBaseSession
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import Value
from django.db.models.functions import Lower, Upper
from django.db.models.lookups import Exact
from django.utils import timezone

from accounts.apikeys.scopes import validate_scopes
from accounts.conf import kit_settings


class KitUserManager(UserManager["User"]):
    def get_by_natural_key(self, username):
        """Resolve a sign-in name: a username or an e-mail address, in any case.

        Both sides go through LOWER(), the expression of the case-insensitive unique
        constraints below, so at most one user matches (`iexact`, UPPER() on PostgreSQL,
        could match two names that LOWER() tells apart, e.g. with a dotless i) and the
        constraint's index finds it: one indexed query for a known or an unknown name.
        """
        if "@" in username:
            return self.exclude(email="").get(Exact(Lower("email"), Lower(Value(username))))
        return self.get(Exact(Lower(self.model.USERNAME_FIELD), Lower(Value(username))))

    def create_superuser(self, username, email=None, password=None, **extra_fields):
        """Refuse a username or address taken in another case with the constraint's message
        (`manage.py createsuperuser` prints it) instead of an IntegrityError traceback."""
        self.model(username=username, email=self.normalize_email(email)).validate_constraints()
        return super().create_superuser(username, email, password, **extra_fields)


class User(AbstractUser):
    """A person who signs in. E-mail addresses are unique whatever their case."""

    email = models.EmailField("email address", blank=True)
    # Mixed into the browser-session auth hash: bumping it ends every Django session of
    # the user ("sign out everywhere") without touching the password.
    sessions_version = models.PositiveIntegerField(default=0, editable=False)
    # Bumped when the user's rights (staff, superuser, groups, permissions) change, so
    # access tokens carrying older claims are refused as stale.
    rights_version = models.PositiveIntegerField(default=0, editable=False)
    # Set when the user deleted their account (deactivated then); its personal data is
    # erased ACCOUNTS_DELETION_GRACE_DAYS later (accounts.users.deletion).
    deletion_requested_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects: ClassVar[KitUserManager] = KitUserManager()

    class Meta:
        # The admin's filters at a million users (docs/performance.md): each small set
        # walked in the list's order. Trigram indexes for its search: migration 0009
        # (PostgreSQL only).
        indexes = [
            models.Index(
                fields=["username"], condition=models.Q(is_staff=True), name="user_staff_idx"
            ),
            models.Index(
                fields=["username"],
                condition=models.Q(is_superuser=True),
                name="user_superuser_idx",
            ),
            models.Index(
                fields=["username"], condition=models.Q(is_active=False), name="user_inactive_idx"
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                Lower("email"),
                condition=~models.Q(email=""),
                name="accounts_user_email_ci_unique",
                violation_error_message="A user with that e-mail address already exists.",
            ),
            # People type names in any case: two accounts whose usernames differ only in
            # case would be confusable, and a race of two sign-ups could create them.
            models.UniqueConstraint(
                Lower("username"),
                name="accounts_user_username_ci_unique",
                violation_error_message="A user with that username already exists.",
            ),
        ]

    # Counters that only move through F() updates (accounts.devices: sessions, rights).
    COUNTER_FIELDS = ("sessions_version", "rights_version")

    def save(self, *args, **kwargs):
        """Never writes the counters back: a user object loaded before a bump (sign out
        everywhere, a change of rights) must not undo it by saving an older value.

        A save that writes the password is one transaction with what a new password
        ends (accounts.users.password_changes): both happen or neither."""
        if not self._state.adding and kwargs.get("update_fields") is None:
            kwargs["update_fields"] = [
                field.name
                for field in self._meta.concrete_fields
                if not field.primary_key and field.name not in self.COUNTER_FIELDS
            ]
        if self._state.adding or "password" not in kwargs["update_fields"]:
            super().save(*args, **kwargs)
            return
        with transaction.atomic(using=kwargs.get("using")):
            super().save(*args, **kwargs)

    def check_password(self, raw_password):
        """Django's check. The hash upgrade it may save (the same password under a newer
        hasher or more iterations) is not a new password: while it runs, the hash being
        checked is what a save means (accounts.users.signals.note_password_change)."""
        self._kit_hash_checked = self.password
        try:
            return super().check_password(raw_password)
        finally:
            del self._kit_hash_checked

    async def acheck_password(self, raw_password):
        """See check_password."""
        self._kit_hash_checked = self.password
        try:
            return await super().acheck_password(raw_password)
        finally:
            del self._kit_hash_checked

    def get_session_auth_hash(self):
        """The password hash plus `sessions_version`, so either change ends sessions."""
        return self._session_auth_hash(secret=None)

    def get_session_auth_fallback_hash(self):
        """The same hash under each of SECRET_KEY_FALLBACKS, so a SECRET_KEY rotation keeps
        browser sessions (Django's own fallback hash leaves out `sessions_version`: it
        would match no session, and every browser would be signed out)."""
        for secret in settings.SECRET_KEY_FALLBACKS:
            yield self._session_auth_hash(secret=secret)

    def _session_auth_hash(self, *, secret):
        from django.utils.crypto import salted_hmac

        return salted_hmac(
            "accounts.User.get_session_auth_hash",
            f"{self.password}:{self.sessions_version}",
            secret=secret,
            algorithm="sha256",
        ).hexdigest()


def session_max_age() -> timedelta:
    """ACCOUNTS_SESSION_MAX_AGE: the absolute cap on a device session's life, whatever its
    refreshes (read at each use: lowering it ends older sessions)."""
    return timedelta(seconds=kit_settings.SESSION_MAX_AGE)


def password_amr() -> list[str]:
    """The `amr` of a password sign-in (and of the sessions opened before `amr` existed)."""
    return ["pwd"]


class DeviceSession(models.Model):
    """One signed-in device of one user; every JWT pair belongs to exactly one.

    The row is the source of truth; the cache holds a copy of its state that every
    revocation writes through (accounts.revocation.state). A session is active while it is
    not revoked, its current refresh token has not expired and it is younger than
    ACCOUNTS_SESSION_MAX_AGE (`refresh_expires_at` is capped at `created_at` + the max age
    of its last sign-in or refresh; a lowered max age ends older sessions at once).
    """

    class RevokeReason(models.TextChoices):
        LOGOUT = "logout", "Signed out"
        LOGOUT_ALL = "logout_all", "Signed out everywhere"
        USER = "user", "Revoked by the user"
        ADMIN = "admin", "Revoked by an administrator"
        SERVICE = "service", "Revoked by a service"
        PASSWORD_CHANGED = "password_changed", "Password changed"
        PASSWORD_RESET = "password_reset", "Password reset"
        USER_DEACTIVATED = "user_deactivated", "User deactivated"
        USER_DELETED = "user_deleted", "User deleted"
        REFRESH_REUSED = "refresh_reused", "Refresh token reused"
        DEVICE_LIMIT = "device_limit", "Evicted by the device limit"
        REPLACED = "replaced", "Replaced by a new sign-in on the device"
        MFA_RESET = "mfa_reset", "Second factors reset by an administrator"
        MFA_ENROLLED = "mfa_enrolled", "Signed out when a first second factor was added"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="device_sessions"
    )
    device_id = models.CharField(max_length=128)
    name = models.CharField(max_length=100, blank=True)
    user_agent = models.CharField(max_length=512, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(default=timezone.now)
    # The `jti` of the one refresh token that may be exchanged next, and the one before it
    # (for reuse detection and the optional grace window).
    refresh_jti = models.CharField(max_length=64)
    previous_refresh_jti = models.CharField(max_length=64, blank=True)
    rotated_at = models.DateTimeField(null=True, blank=True)
    refresh_expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoke_reason = models.CharField(max_length=32, choices=RevokeReason.choices, blank=True)
    # How the user signed in (RFC 8176 method references): the access tokens' `amr`, kept
    # by every refresh of the session.
    amr = models.JSONField(default=password_amr)

    class Meta:
        ordering = ["-last_used_at"]
        indexes = [
            models.Index(fields=["user", "revoked_at"], name="devsess_user_revoked_idx"),
            models.Index(fields=["revoked_at"], name="devsess_revoked_idx"),
            # The admin list (docs/performance.md): its order, its "active" and "expired"
            # filters (unrevoked rows only), its reason filter, its device-id search.
            models.Index(fields=["-last_used_at"], name="devsess_last_used_idx"),
            models.Index(
                fields=["-last_used_at"],
                condition=models.Q(revoked_at__isnull=True),
                name="devsess_unrevoked_used_idx",
            ),
            models.Index(
                fields=["refresh_expires_at"],
                condition=models.Q(revoked_at__isnull=True),
                name="devsess_unrevoked_expiry_idx",
            ),
            models.Index(fields=["revoke_reason", "-last_used_at"], name="devsess_reason_used_idx"),
            models.Index(fields=["device_id"], name="devsess_device_idx"),
        ]
        constraints = [
            # One live session per device of a user; a new sign-in replaces the old one.
            models.UniqueConstraint(
                fields=["user", "device_id"],
                condition=models.Q(revoked_at__isnull=True),
                name="devsess_one_live_per_device",
            )
        ]

    def __str__(self):
        return f"{self.name or self.device_id} ({self.user_id})"

    @property
    def is_active(self):
        now = timezone.now()
        return (
            self.revoked_at is None
            and self.refresh_expires_at > now
            and self.created_at > now - session_max_age()
        )

    @staticmethod
    def active_q(now) -> models.Q:
        """The rows active at `now`, as `is_active` says: not revoked, refresh token not
        expired, younger than the current ACCOUNTS_SESSION_MAX_AGE (which may have been
        lowered since `refresh_expires_at` was capped)."""
        return models.Q(
            revoked_at__isnull=True,
            refresh_expires_at__gt=now,
            created_at__gt=now - session_max_age(),
        )


class AuthEvent(models.Model):
    """Append-only audit trail of sign-ins, refreshes, revocations and API-key use.

    Never holds a token, a key or a password: only who, what, when, from where.
    """

    class Kind(models.TextChoices):
        LOGIN_SUCCEEDED = "login_succeeded", "Sign-in succeeded"
        LOGIN_FAILED = "login_failed", "Sign-in failed"
        LOGIN_LOCKED_OUT = "login_locked_out", "Sign-in refused: locked out"
        LOCKOUT_CLEARED = "lockout_cleared", "Lockout cleared by an administrator"
        REFRESH_REUSED = "refresh_reused", "Refresh token reuse detected"
        DEVICE_MISMATCH = "device_mismatch", "Refresh from another device"
        DEVICE_LIMIT_REACHED = "device_limit_reached", "Device limit reached"
        SESSION_REVOKED = "session_revoked", "Device session revoked"
        LOGOUT = "logout", "Signed out"
        PASSWORD_CHANGED = "password_changed", "Password changed"
        PASSWORD_RESET = "password_reset", "Password reset"
        API_KEY_CREATED = "api_key_created", "API key created"
        API_KEY_REVOKED = "api_key_revoked", "API key revoked"
        API_KEY_REFUSED = "api_key_refused", "API key refused"
        MFA_FAILED = "mfa_failed", "Second factor refused"
        MFA_FACTOR_ADDED = "mfa_factor_added", "Second factor added"
        MFA_FACTOR_REMOVED = "mfa_factor_removed", "Second factor removed"
        MFA_RECOVERY_CODE_USED = "mfa_recovery_code_used", "Recovery code used"
        MFA_RECOVERY_CODES_RENEWED = "mfa_recovery_codes_renewed", "Recovery codes renewed"
        MFA_RESET = "mfa_reset", "Second factors reset by an administrator"
        ACCOUNT_DELETION_REQUESTED = "account_deletion_requested", "Account deletion requested"
        ACCOUNT_ERASED = "account_erased", "Account's personal data erased"
        SOCIAL_SIGN_IN_REFUSED = "social_sign_in_refused", "Social sign-in refused"
        SOCIAL_ACCOUNT_LINKED = "social_account_linked", "Social sign-in linked to an account"
        SOCIAL_ACCOUNT_CREATED = "social_account_created", "Account created by a social sign-in"
        LOGIN_EMAIL_UNVERIFIED = "login_email_unverified", "Sign-in refused: e-mail unverified"
        EMAIL_VERIFIED = "email_verified", "E-mail address verified"
        EMAIL_CHANGE_REQUESTED = "email_change_requested", "E-mail change requested"
        EMAIL_CHANGED = "email_changed", "E-mail address changed (new one verified)"

    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    kind = models.CharField(max_length=32, choices=Kind.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="auth_events",
        db_index=False,  # audit_user_created_idx leads with it
    )
    # The name as typed or as it was then: kept when the user is deleted.
    username = models.CharField(max_length=254, blank=True)
    # Who caused it when that is not the user (an administrator, a service key).
    actor = models.CharField(max_length=254, blank=True)
    session_id = models.UUIDField(null=True, blank=True, db_index=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=512, blank=True)
    # Small structured facts (a revoke reason, a key prefix); never a secret.
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at"]
        # The admin at 20M rows (docs/performance.md): a kind's or a user's newest events,
        # and its exact-match search (a name or an actor in any case, an address).
        indexes = [
            models.Index(fields=["kind", "-created_at"], name="audit_kind_created_idx"),
            models.Index(fields=["user", "-created_at"], name="audit_user_created_idx"),
            models.Index(Upper("username"), name="audit_username_upper_idx"),
            models.Index(
                Upper("actor"), condition=~models.Q(actor=""), name="audit_actor_upper_idx"
            ),
            models.Index(fields=["ip_address"], name="audit_ip_idx"),
        ]

    def __str__(self):
        return f"{self.created_at:%Y-%m-%d %H:%M:%S} {self.kind} {self.username}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ValueError("Audit events are append-only.")
        super().save(*args, **kwargs)


class ApiKey(models.Model):
    """A credential another service sends as `kit_<prefix>_<secret>`.

    Only `prefix` (public: shown in the admin and logs) and an HMAC-SHA256 of the whole key
    are stored; the key itself is shown once, at creation. Revocation is final. The owner
    is the person accountable for the key, not an identity the key acts as: requests made
    with it are never authenticated as the owner. Deleting the owner revokes their keys
    (the rows stay, owner emptied, for the audit trail).
    """

    name = models.CharField(max_length=100, help_text="What uses it, e.g. “billing worker”.")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="api_keys",
        help_text="The person accountable for this key (optional).",
    )
    prefix = models.CharField(max_length=16, unique=True, editable=False)
    hashed_secret = models.CharField(max_length=64, editable=False)
    scopes = models.JSONField(default=list, validators=[validate_scopes])
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    expires_at = models.DateTimeField(
        null=True, blank=True, help_text="Empty: the key does not expire."
    )
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Written at most once a minute per key, not on every request.
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at"]
        # The admin list's order and its status filter (docs/performance.md); trigram index
        # on the name for its search: migration 0009 (PostgreSQL only).
        indexes = [
            models.Index(fields=["-created_at"], name="apikey_created_idx"),
            models.Index(
                fields=["-created_at"],
                condition=models.Q(revoked_at__isnull=True),
                name="apikey_unrevoked_created_idx",
            ),
            models.Index(
                fields=["-created_at"],
                condition=models.Q(revoked_at__isnull=False),
                name="apikey_revoked_created_idx",
            ),
        ]
        verbose_name = "API key"
        verbose_name_plural = "API keys"

    def __str__(self):
        return f"{self.name} ({self.prefix})"

    def clean(self):
        if self._state.adding and self.expires_at is not None and self.expires_at <= timezone.now():
            raise ValidationError({"expires_at": "Choose a time in the future."})

    @property
    def status(self):
        """ "revoked", "expired" or "active"."""
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= timezone.now():
            return "expired"
        return "active"


class Lockout(models.Model):
    """An account or client address locked out by repeated failed sign-ins.

    Written once when a lockout starts (the failure counters themselves live in the cache,
    see accounts.security.lockout), so staff can list and clear lockouts in the admin.
    """

    class Kind(models.TextChoices):
        ACCOUNT = "account", "Account (normalised name)"
        ADDRESS = "address", "Client address"
        DEVICE = "device", "Trusted device (its trust token)"

    kind = models.CharField(max_length=16, choices=Kind.choices)
    # Account: the normalised username of the account (or the normalised name typed, when
    # it names nobody or differs from the username); address: the client address; device:
    # the id of a trust token (accounts.security.lockout, accounts.security.device_trust).
    value = models.CharField(max_length=254)
    failures = models.PositiveIntegerField()
    locked_at = models.DateTimeField(default=timezone.now)
    locked_until = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["-locked_until"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "value"], name="lockout_one_per_key")
        ]

    def __str__(self):
        return f"{self.kind} {self.value} until {self.locked_until:%Y-%m-%d %H:%M:%S}"


class BrowserSession(AbstractBaseSession):
    """A Django browser session with its user, so the account page can list a user's
    browsers (Django's own session table has no user column). Written by the session
    engine accounts.web.session_store (SESSION_ENGINE), which Django documents for this:
    "Extending database-backed session engines"."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.CASCADE, related_name="+"
    )
    user_agent = models.CharField(max_length=512, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    last_active_at = models.DateTimeField(auto_now=True)

    # Set on the rows of a user's browser list (accounts.web.session_store); not columns.
    name: str
    is_current: bool

    @classmethod
    def get_session_store_class(cls):
        from accounts.web.session_store import SessionStore

        return SessionStore


class MfaChallenge(models.Model):
    """A short-lived, single-use step of a multi-factor flow, named by a random token whose
    hash alone is stored: the `mfa_token` between a password and its second factor, a
    WebAuthn challenge (sign-in or registration), a TOTP secret waiting for its first code.

    Used once: the step that consumes it sets `used_at` with a conditional UPDATE
    (0 rows = already used or expired), so two workers cannot both take it.
    """

    class Kind(models.TextChoices):
        SIGN_IN = "sign_in", "Second factor of a sign-in"
        PASSKEY_SIGN_IN = "passkey_sign_in", "Passkey sign-in"
        PASSKEY_REGISTRATION = "passkey_registration", "Passkey registration"
        TOTP_SETUP = "totp_setup", "TOTP secret awaiting its first code"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(max_length=32, choices=Kind.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="mfa_challenges",
    )
    # SHA-256 of the token handed to the client; never the token itself.
    token_hash = models.CharField(max_length=64, unique=True)
    # The step's state: device fields of the first step, a WebAuthn state, an encrypted
    # pending secret. Never a password or a plaintext secret.
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(db_index=True)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["user", "kind"], name="mfachal_user_kind_idx")]

    def __str__(self):
        return f"{self.kind} ({self.user_id})"


class TotpCodeUse(models.Model):
    """A TOTP time step a user's code was accepted for: the unique pair refuses the same
    step twice, on every worker and instance (RFC 6238 section 5.2)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="totp_code_uses"
    )
    step = models.BigIntegerField()
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "step"], name="totpuse_one_per_step")
        ]

    def __str__(self):
        return f"{self.user_id}@{self.step}"
