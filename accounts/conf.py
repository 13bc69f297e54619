"""The kit's settings: `kit_settings.MAX_DEVICES` is `settings.ACCOUNTS["MAX_DEVICES"]`, or
its default below when the project leaves it out.

DRF's `APISettings` idiom without DRF: one object, read on every request, whose attributes
are plain instance attributes (no dict merge per call), rebuilt when `settings.ACCOUNTS`
changes (`override_settings`, pytest-django's `settings` fixture). A name that is not a
knob raises AttributeError; a key of `settings.ACCOUNTS` that is not a knob, or a value of
the wrong type, stops start-up (system check accounts.E004, accounts/checks.py): a typo
must not be ignored.

config/settings.py reads each knob from the environment with the same default
(tests/accounts/test_conf.py holds the two equal).
"""

from typing import Any

from django.conf import settings
from django.core.signals import setting_changed

DEFAULTS: dict[str, Any] = {
    # Name shown in page titles, the admin and e-mails.
    "SITE_NAME": "Kit",
    # Active device sessions a user may hold (0 = no limit).
    "MAX_DEVICES": 5,
    # At the limit: "reject" the new sign-in, or "evict_oldest" (least recently used).
    "DEVICE_LIMIT_POLICY": "reject",
    # Absolute cap on a device session's age in seconds, however often it refreshes.
    "SESSION_MAX_AGE": 7776000,
    # Seconds the refresh token exchanged just before the current one still gets a pair.
    "REFRESH_REUSE_GRACE_SECONDS": 0,
    # Days ended device sessions are kept before flush_expired_sessions.
    "SESSION_RETENTION_DAYS": 30,
    # Days audit events are kept before flush_expired_sessions.
    "AUDIT_RETENTION_DAYS": 365,
    # Days between a user's deletion of their account and the erasure of its personal data.
    "DELETION_GRACE_DAYS": 7,
    # Let anyone create an account (HTML and API sign-up).
    "ALLOW_SIGNUP": False,
    # Sign-in of an account whose address is unverified: "mandatory" refuses it (403
    # email_unverified), "optional" allows it, "none" sends no verification e-mail at all;
    # "" = "mandatory" when ALLOW_SIGNUP is on, else "optional" (accounts.users.verification).
    "EMAIL_VERIFICATION": "",
    # Link in password-reset e-mails ("" = the kit's own page).
    "PASSWORD_RESET_URL": "",
    # Backend of accounts.auth.login/logout when none is named: "session" or "jwt".
    "DEFAULT_AUTH_BACKEND": "session",
    # Dotted path of a function(user) -> dict of extra access-token claims, or None.
    "TOKEN_CLAIMS": None,
    # Failed sign-ins per account (and per trusted device) before a lockout.
    "LOGIN_FAILURE_LIMIT": 5,
    # Failed sign-ins per client address within LOCKOUT_SECONDS before it is locked.
    "ADDRESS_FAILURE_LIMIT": 50,
    # Length of a lockout, and of the window failures are counted in.
    "LOCKOUT_SECONDS": 900,
    # Password-reset requests per client address (`N/second|minute|hour|day`).
    "RESET_RATE": "5/hour",
    # Sign-ups per client address.
    "SIGNUP_RATE": "10/hour",
    # Failed API keys per client address before the service routes answer 429.
    "API_KEY_FAILURE_RATE": "20/minute",
    # Passkey sign-ins begun per client address (each writes a challenge row).
    "PASSKEY_SIGN_IN_RATE": "30/minute",
    # Seconds a process skips the cache (reading the database) after a cache error or
    # timeout, before it tries again (accounts/revocation/state.py).
    "CACHE_BREAKER_SECONDS": 5,
    # With Redis: the per-process revocation view (accounts/revocation/process_view.py).
    "LOCAL_VIEW": True,
    # Seconds an entry of that view lives.
    "LOCAL_VIEW_TTL": 10,
    # Processes (all instances together) that keep that view; the others read Redis.
    "LOCAL_VIEW_MAX_PROCESSES": 16,
    # Staff enrol a second factor before they reach /admin/ (config/settings.py: true
    # unless DEBUG).
    "MFA_REQUIRED_FOR_STAFF": True,
    # Seconds an `mfa_token` and a WebAuthn challenge stay valid.
    "MFA_TOKEN_SECONDS": 300,
    # The WebAuthn relying party id ("" = the request's host).
    "WEBAUTHN_RP_ID": "",
    # Origins whose passkey answers are accepted, comma-separated ("" = https:// + the
    # relying party id).
    "WEBAUTHN_ORIGINS": "",
    # OpenID Connect providers of social sign-in: a list of {"id", "name", "issuer",
    # "client_id", "client_secret"} (accounts.social.providers; checked by accounts.E005).
    "SOCIAL_PROVIDERS": [],
}

# Accepted types, where the default's own type is not the whole story.
_TYPES: dict[str, tuple[type, ...]] = {
    "TOKEN_CLAIMS": (str, type(None)),
    # Text when the environment's value is not JSON: accounts.E005 says why, without
    # echoing it (it holds client secrets).
    "SOCIAL_PROVIDERS": (list, str),
}
# Knobs whose value is never echoed in a message (client secrets).
_SECRET_VALUES = frozenset({"SOCIAL_PROVIDERS"})
# Knobs with a closed set of values.
_CHOICES: dict[str, tuple[str, ...]] = {
    "DEVICE_LIMIT_POLICY": ("reject", "evict_oldest"),
    "DEFAULT_AUTH_BACKEND": ("session", "jwt"),
    # "" = the default (accounts.users.verification.email_verification_mode).
    "EMAIL_VERIFICATION": ("mandatory", "optional", "none", ""),
}


class KitSettings:
    """`settings.ACCOUNTS` over DEFAULTS, as attributes. Loaded on first access and again
    after each change of `settings.ACCOUNTS`; a loaded knob is an instance attribute, so
    reading it costs what any attribute does."""

    # The knobs' types, for readers and mypy (annotations only: no class attribute, so a
    # first read still goes through __getattr__).
    SITE_NAME: str
    MAX_DEVICES: int
    DEVICE_LIMIT_POLICY: str
    SESSION_MAX_AGE: int
    REFRESH_REUSE_GRACE_SECONDS: int
    SESSION_RETENTION_DAYS: int
    AUDIT_RETENTION_DAYS: int
    DELETION_GRACE_DAYS: int
    ALLOW_SIGNUP: bool
    EMAIL_VERIFICATION: str
    PASSWORD_RESET_URL: str
    DEFAULT_AUTH_BACKEND: str
    TOKEN_CLAIMS: str | None
    LOGIN_FAILURE_LIMIT: int
    ADDRESS_FAILURE_LIMIT: int
    LOCKOUT_SECONDS: int
    RESET_RATE: str
    SIGNUP_RATE: str
    API_KEY_FAILURE_RATE: str
    PASSKEY_SIGN_IN_RATE: str
    CACHE_BREAKER_SECONDS: int
    LOCAL_VIEW: bool
    LOCAL_VIEW_TTL: int
    LOCAL_VIEW_MAX_PROCESSES: int
    MFA_REQUIRED_FOR_STAFF: bool
    MFA_TOKEN_SECONDS: int
    WEBAUTHN_RP_ID: str
    WEBAUTHN_ORIGINS: str
    SOCIAL_PROVIDERS: list | str  # text: not JSON (accounts.E005 refuses it)

    def __getattr__(self, name: str) -> Any:
        # Only reached when `name` is not (yet) an instance attribute.
        if name not in DEFAULTS:
            raise AttributeError(
                f"{name!r} is not a kit setting (settings.ACCOUNTS); the knobs are in "
                "accounts/conf.py DEFAULTS"
            )
        self.__dict__.update({**DEFAULTS, **getattr(settings, "ACCOUNTS", {})})
        return self.__dict__[name]

    def reload(self) -> None:
        """Forget the loaded values; the next access reads `settings.ACCOUNTS` again."""
        self.__dict__.clear()


kit_settings = KitSettings()


def _reload(*, setting: str, **kwargs: Any) -> None:
    if setting == "ACCOUNTS":
        kit_settings.reload()


setting_changed.connect(_reload)


def problems(accounts: object) -> list[str]:
    """Why `accounts` (a settings.ACCOUNTS dict) is refused, one line per problem."""
    if not isinstance(accounts, dict):
        return [f"settings.ACCOUNTS must be a dict, not {type(accounts).__name__}"]
    found: list[str] = []
    for key, value in accounts.items():
        if key not in DEFAULTS:
            found.append(
                f"settings.ACCOUNTS[{key!r}] is not a kit setting (known: {', '.join(DEFAULTS)})"
            )
            continue
        expected = _TYPES.get(key, (type(DEFAULTS[key]),))
        # bool is an int subclass: True for MAX_DEVICES is a mistake, not 1.
        wrong_bool = isinstance(value, bool) and bool not in expected
        if wrong_bool or not isinstance(value, expected):
            names = " or ".join(t.__name__ for t in expected)
            shown = "" if key in _SECRET_VALUES else f" ({value!r})"
            found.append(
                f"settings.ACCOUNTS[{key!r}] must be {names}, not {type(value).__name__}{shown}"
            )
        elif key in _CHOICES and value not in _CHOICES[key]:
            found.append(
                f"settings.ACCOUNTS[{key!r}] must be one of {', '.join(_CHOICES[key])}, "
                f"not {value!r}"
            )
    return found
