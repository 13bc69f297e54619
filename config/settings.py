"""Settings for the kit, read once from the environment (and an optional `.env` file).

Every knob is read here, once, with its default beside it. Secure by default: DEBUG is
off, a missing SECRET_KEY stops start-up outside DEBUG, and every API route is private
unless it says otherwise. The full list, with what each knob does, is in docs/settings.md.
"""

import json
import sys
from datetime import timedelta
from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()


def _json_or_text(raw: str) -> object:
    """A JSON setting parsed ([] when empty), or the text itself when it is not JSON (a
    system check then names the problem)."""
    if not raw.strip():
        return []
    try:
        return json.loads(raw)
    except ValueError:
        return raw


# An optional `.env` beside manage.py; real environment variables win over it.
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

# ---------------------------------------------------------------------------------------
# Core
# ---------------------------------------------------------------------------------------
# Development mode: tracebacks, plain-HTTP cookies, no SSL redirect. Never in production.
DEBUG = env.bool("DEBUG", default=False)

# Signs sessions, CSRF tokens, password-reset links and (with HS*) JWTs.
SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        # One line on stderr and exit status 1, not a traceback: say what to set.
        sys.exit(
            "ImproperlyConfigured: SECRET_KEY is not set. Set SECRET_KEY in the environment "
            "or .env (or DEBUG=true for local development)."
        )
    SECRET_KEY = "insecure-development-only-key-never-use-in-production-0123456789"  # noqa: S105
# Old keys that still verify (sessions, reset links) while SECRET_KEY is being rotated.
SECRET_KEY_FALLBACKS = env.list("SECRET_KEY_FALLBACKS", default=[])

# Host names this site answers to; in DEBUG the local ones are always allowed.
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=[])
if DEBUG:
    ALLOWED_HOSTS += ["localhost", "127.0.0.1", "[::1]", "testserver"]
# Origins (scheme://host[:port]) trusted for unsafe cross-origin requests with CSRF.
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# Proxy addresses or CIDR ranges whose X-Forwarded-For / X-Forwarded-Proto are believed.
TRUSTED_PROXIES = env.list("TRUSTED_PROXIES", default=[])

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

INSTALLED_APPS = [
    # Django
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    # Third party
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "corsheaders",
    # Django's tasks framework (backport) and its database backend, whose table must exist
    # whichever TASKS_BACKEND is chosen (so switching needs no new migration).
    "django_tasks",
    "django_tasks_db",
    # django-allauth: its account flows and its store of second factors (allauth.mfa's
    # Authenticator: TOTP, recovery codes, WebAuthn), shared by the pages and the API.
    "allauth",
    "allauth.account",
    "allauth.mfa",
    # Its store of social sign-in links (SocialAccount: provider + the provider's `sub` ->
    # user); the kit's own OpenID Connect code signs in (accounts/social), no allauth URL.
    "allauth.socialaccount",
    # The kit
    "accounts",
    "api",
]

# Bench-only (`make bench` sets KIT_BENCH_ROUTES=1, never a normal run): simplejwt's
# blacklist app for the stock rotate+blacklist refresh of bench/urls.py.
KIT_BENCH_ROUTES = env.bool("KIT_BENCH_ROUTES", default=False)
if KIT_BENCH_ROUTES:
    INSTALLED_APPS += ["rest_framework_simplejwt.token_blacklist"]

MIDDLEWARE = [
    # First: decides which proxy headers are believed before anything reads them.
    "accounts.security.client_ip.ClientIPMiddleware",
    # A request id for every log line and the X-Request-ID header (config/logs.py).
    "config.logs.RequestIDMiddleware",
    # Remembers the request being served: a password set in it names its actor and keeps
    # the caller's own session (accounts.users.password_changes).
    "accounts.users.password_changes.RequestMiddleware",
    # Before anything that can answer (CommonMiddleware), so API responses get CORS headers.
    "corsheaders.middleware.CorsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Django's session, auth and messages middleware, skipped for cookie-less API requests
    # (config/middleware.py): an app's Bearer request needs none of them.
    "config.middleware.SessionMiddleware",
    # The language of pages, e-mails and API `detail` texts, from Accept-Language (no
    # prefix in URLs): Django's LocaleMiddleware without the prefix work, after the
    # session, before CommonMiddleware (docs/translations.md).
    "config.middleware.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "config.middleware.AuthenticationMiddleware",
    # 429 + Retry-After for a sign-in the lockout refused, whichever view handled it.
    "accounts.security.lockout.LockoutMiddleware",
    "config.middleware.MessageMiddleware",
    # ACCOUNTS_MFA_REQUIRED_FOR_STAFF: staff without a second factor are sent from /admin/
    # to the account page's enrolment.
    "accounts.web.staff_gate.StaffMfaGateMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # django-allauth's request context (its flows read the request being served).
    "allauth.account.middleware.AccountMiddleware",
]
if DEBUG:
    # With DEBUG, Django answers an unknown URL with its technical HTML page (handler404
    # runs only without DEBUG): under /api/ the contract's JSON 404 instead.
    MIDDLEWARE.insert(0, "config.middleware.api_not_found_in_debug")

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "accounts.web.context_processors.branding",
            ],
        },
    },
]

# ---------------------------------------------------------------------------------------
# Database and cache
# ---------------------------------------------------------------------------------------
# SQLite file by default; postgres://user@host:5432/name for PostgreSQL (psycopg 3).
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
# Seconds a database connection is kept open between requests (0 = reconnect each time).
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
# A reused connection is checked before use: a persistent one with a `SELECT 1` before the
# first query of each request; a pooled one by psycopg_pool's own check (an empty query)
# each time it leaves the pool (docs/performance.md: one round trip per request that
# touches the database).
DATABASES["default"]["CONN_HEALTH_CHECKS"] = env.bool("CONN_HEALTH_CHECKS", default=True)
if "postgresql" in DATABASES["default"]["ENGINE"]:
    _options = DATABASES["default"].setdefault("OPTIONS", {})
    # Django's own psycopg connection pool per process (on by default) instead of a
    # persistent connection (CONN_MAX_AGE is then 0: Django refuses both).
    if env.bool("DATABASE_POOL", default=True):
        _options["pool"] = {
            "min_size": env.int("DATABASE_POOL_MIN_SIZE", default=1),
            "max_size": env.int("DATABASE_POOL_MAX_SIZE", default=4),
            # Seconds a request waits for a connection before it fails (503
            # service_unavailable): short, so a database outage is answered at once.
            "timeout": env.float("DATABASE_POOL_TIMEOUT", default=1.5),
            # Seconds the pool retries a failed connection in the background; then the
            # next request tries again at once, so the kit serves within a request of
            # the database's return instead of after a long backoff.
            "reconnect_timeout": env.float("DATABASE_POOL_RECONNECT_TIMEOUT", default=1.0),
        }
        DATABASES["default"]["CONN_MAX_AGE"] = 0
    # Seconds to wait for a new connection (libpq's connect_timeout; at least 2).
    _options["connect_timeout"] = env.int("DATABASE_CONNECT_TIMEOUT", default=2)
    # Server-side bounds (milliseconds, 0 = none): a statement waiting on a row lock
    # (a stuck transaction) or running away fails with 503 instead of holding the request
    # until gunicorn kills it. `migrate` lifts the statement bound for its run (accounts/apps.py).
    _options["options"] = (
        f"-c lock_timeout={env.int('DATABASE_LOCK_TIMEOUT', default=2000)}"
        f" -c statement_timeout={env.int('DATABASE_STATEMENT_TIMEOUT', default=10000)}"
    )
    # Server-side parameter binding (Django's `server_side_binding`), so psycopg prepares a
    # statement on a connection from its `prepare_threshold`-th run and PostgreSQL parses
    # and plans it once. Turn off behind PgBouncer < 1.21 in transaction mode.
    if env.bool("DATABASE_PREPARED_STATEMENTS", default=True):
        _options["server_side_binding"] = True
        _options["prepare_threshold"] = env.int("DATABASE_PREPARE_THRESHOLD", default=5)
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # IMMEDIATE takes the write lock when a transaction starts, so two writers queue
    # instead of one failing with "database is locked" half-way through.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"transaction_mode": "IMMEDIATE", "timeout": 20}
    )

# CACHE_URL (any django-environ cache URL) or REDIS_URL; local memory otherwise.
_cache_url = env.str("CACHE_URL", default="") or env.str("REDIS_URL", default="")
if _cache_url.startswith(("redis://", "rediss://", "unix://")):
    # Django's own Redis backend (django-environ would pick django-redis).
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": _cache_url,
            # The bench (make bench) gives each run a prefix of its own.
            "KEY_PREFIX": env.str("CACHE_KEY_PREFIX", default="kit"),
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
elif _cache_url:
    CACHES = {"default": env.cache_url_config(_cache_url)}
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "kit",
        }
    }

# ---------------------------------------------------------------------------------------
# Users, passwords and browser sessions
# ---------------------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
# ModelBackend behind the brute-force lockout: a locked-out sign-in is refused before any
# password hasher runs. Signs in with a username or an e-mail (get_by_natural_key). A
# backend added here must come after it, or it escapes the lockout.
AUTHENTICATION_BACKENDS = ["accounts.security.lockout.LockoutModelBackend"]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "accounts:account"
LOGOUT_REDIRECT_URL = "accounts:login"

# Argon2 first; older PBKDF2 hashes still verify and are upgraded at the next sign-in.
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Django's database sessions with a user column, so the account page lists a user's
# browsers (accounts/web/session_store.py).
SESSION_ENGINE = "accounts.web.session_store"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
# Browser-session lifetime in seconds (two weeks, Django's default).
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=1209600)

# ---------------------------------------------------------------------------------------
# HTTPS and security headers
# ---------------------------------------------------------------------------------------
# Redirect plain HTTP to HTTPS (never /healthz, so probes work on plain HTTP).
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
# Behind a TLS-terminating proxy: believe X-Forwarded-Proto (the proxy must set it), and
# only when TRUSTED_PROXIES names the proxy (ClientIPMiddleware drops the header from any
# other peer; gunicorn.conf.py trusts the same list). Otherwise the server's scheme counts.
if TRUSTED_PROXIES:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Seconds browsers remember to use HTTPS only (HSTS); 0 turns it off.
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
# Preloading is a per-domain commitment that is slow to undo, so it stays opt-in and its
# reminder (security.W021) is silenced: `check --deploy` then prints no warning.
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
SILENCED_SYSTEM_CHECKS = ["security.W021"]
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
X_FRAME_OPTIONS = "DENY"

# Content-Security-Policy (django-csp) on every response: no inline script anywhere, no
# framing, no plugins. The API docs need no exception (the split Swagger view serves its
# script as a file and our template moves its style to a file); Swagger UI's stylesheet
# draws its icons as data: SVG images, hence img-src data:.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "frame-ancestors": ["'none'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
    }
}

# CORS (django-cors-headers) for /api/ only, closed by default (the bench routes of `make
# bench` are measured as API routes, so they take it too). Listed origins
# (scheme://host[:port]) may send credentials (cookies); for unsafe cookie requests they
# must also be in CSRF_TRUSTED_ORIGINS and send X-CSRFToken (allowed by default).
CORS_ALLOWED_ORIGINS = env.list("CORS_ALLOWED_ORIGINS", default=[])
CORS_URLS_REGEX = r"^/(api|bench)/.*$"
CORS_ALLOW_CREDENTIALS = True

# ---------------------------------------------------------------------------------------
# E-mail
# ---------------------------------------------------------------------------------------
# consolemail:// prints mails to the console; smtp+tls://user:pass@host:587 sends them.
_email = env.email_url("EMAIL_URL", default="consolemail://")
EMAIL_BACKEND = _email["EMAIL_BACKEND"]
EMAIL_HOST = _email["EMAIL_HOST"] or "localhost"
EMAIL_PORT = _email["EMAIL_PORT"] or 25
EMAIL_HOST_USER = _email["EMAIL_HOST_USER"] or ""
EMAIL_HOST_PASSWORD = _email["EMAIL_HOST_PASSWORD"] or ""
EMAIL_USE_TLS = _email.get("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = _email.get("EMAIL_USE_SSL", False)
# Seconds the SMTP backend waits for the mail server (to connect, then for each reply)
# before it gives up: the db_worker's task fails instead of hanging on a server that
# accepts and never answers. Requests never wait on it (e-mail goes through the queue).
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)
# filemail:///absolute/dir writes each e-mail to a file there (django-environ's scheme,
# which drops the path's leading slash: the URL's path is absolute).
_email_file_path = (_email.get("EMAIL_FILE_PATH") or "").lstrip("/")
EMAIL_FILE_PATH = f"/{_email_file_path}" if _email_file_path else None
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="webmaster@localhost")

# ---------------------------------------------------------------------------------------
# Work after the response (e-mail): Django's tasks framework (the django-tasks backport)
# ---------------------------------------------------------------------------------------
# "immediate" runs each task inside the request (development); "database" queues it in a
# table that `python manage.py db_worker` works through (production: run one or more).
TASKS_BACKEND = env.str("TASKS_BACKEND", default="immediate" if DEBUG else "database")
_TASK_BACKENDS = {
    "immediate": "django_tasks.backends.immediate.ImmediateBackend",
    "database": "django_tasks_db.DatabaseBackend",
}
if TASKS_BACKEND not in _TASK_BACKENDS:
    sys.exit(f"ImproperlyConfigured: TASKS_BACKEND must be one of {', '.join(_TASK_BACKENDS)}.")
TASKS = {"default": {"BACKEND": _TASK_BACKENDS[TASKS_BACKEND]}}

# ---------------------------------------------------------------------------------------
# Static files, time, language
# ---------------------------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
# The language when the browser asks for none of LANGUAGES (docs/translations.md: how to
# add one); catalogues in locale/<code>/LC_MESSAGES/.
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("fr", "Français")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# ---------------------------------------------------------------------------------------
# REST API
# ---------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    # Private by default: a route that should be public says so with AllowAny.
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "api.authentication.BearerAuthentication",
        # The access_token cookie of browser apps (+ CSRF); Bearer wins when both are sent.
        "api.authentication.CookieAuthentication",
        "api.authentication.SessionAuthentication",
    ],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # DRF's JSON parser with a nesting limit (deep JSON is a 400, never a RecursionError).
    "DEFAULT_PARSER_CLASSES": ["api.parsers.JSONParser"],
    "EXCEPTION_HANDLER": "api.exceptions.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Kit API",
    "DESCRIPTION": "Authentication for browsers, mobile apps and services.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # Error schemas, the conventional statuses and headers, operation ids (api/openapi.py).
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "api.openapi.postprocess_schema",
    ],
}

# ---------------------------------------------------------------------------------------
# Tokens (JWT)
# ---------------------------------------------------------------------------------------
# Tokens are signed and verified by accounts/devices/signing.py from these settings, checked
# at start-up (system check accounts.E001). Formats and rotation: docs/signing-keys.md.
# HS256/384/512, RS256/384/512 or ES256/384/512; only this algorithm is ever accepted.
JWT_ALGORITHM = env.str("JWT_ALGORITHM", default="HS256")
# RS*/ES*: PEM text (newlines may be written `\n`) or a PEM file path (relative to this
# project); the verifying (public) key is derived from the private one when unset.
# HS*: the secret itself, at least 32/48/64 bytes; defaults to SECRET_KEY.
JWT_SIGNING_KEY = env.str("JWT_SIGNING_KEY", default="")
JWT_VERIFYING_KEY = env.str("JWT_VERIFYING_KEY", default="")
# The `kid` header of tokens signed with JWT_SIGNING_KEY (`make keys` prints one); unset:
# RS*/ES* tokens carry the key's RFC 7638 thumbprint, HS* tokens no kid.
JWT_KEY_ID = env.str("JWT_KEY_ID", default="")
# Other keys still accepted, picked by the token's kid: comma-separated `kid=key` entries
# (key as above: PEM text or path; HS*: the old secret); `=key` for tokens without a kid.
JWT_OLD_VERIFYING_KEYS = env.list("JWT_OLD_VERIFYING_KEYS", default=[])
# `iss` and `aud` claims written into tokens and required on the way in, when set.
JWT_ISSUER = env.str("JWT_ISSUER", default="") or None
JWT_AUDIENCE = env.str("JWT_AUDIENCE", default="") or None
# Lifetimes in seconds.
JWT_ACCESS_TOKEN_LIFETIME = env.int("JWT_ACCESS_TOKEN_LIFETIME", default=300)
JWT_REFRESH_TOKEN_LIFETIME = env.int("JWT_REFRESH_TOKEN_LIFETIME", default=2592000)
# Refuse an access token used from another client address than it was issued to.
JWT_BIND_IP = env.bool("JWT_BIND_IP", default=False)
# Encrypt tokens (JWE dir + A256GCM) so clients cannot read the claims. The key: 32
# random bytes in base64url (`python -c "import secrets; print(secrets.token_urlsafe(32))"`);
# several comma separated while rotating it: the first encrypts, all decrypt.
JWT_ENCRYPT = env.bool("JWT_ENCRYPT", default=False)
JWT_ENCRYPTION_KEY = env.str("JWT_ENCRYPTION_KEY", default="")

# simplejwt's own knobs. Its key entries serve only simplejwt's stock token classes; the
# kit's token classes sign with accounts.devices.signing (KitTokenBackendMixin) instead.
SIMPLE_JWT = {
    "ALGORITHM": JWT_ALGORITHM,
    "SIGNING_KEY": JWT_SIGNING_KEY or SECRET_KEY,
    "VERIFYING_KEY": JWT_VERIFYING_KEY or None,
    "ISSUER": JWT_ISSUER,
    "AUDIENCE": JWT_AUDIENCE,
    "ACCESS_TOKEN_LIFETIME": timedelta(seconds=JWT_ACCESS_TOKEN_LIFETIME),
    "REFRESH_TOKEN_LIFETIME": timedelta(seconds=JWT_REFRESH_TOKEN_LIFETIME),
    "USER_ID_FIELD": "id",
    "USER_ID_CLAIM": "sub",
    "TOKEN_TYPE_CLAIM": "token_type",
    "JTI_CLAIM": "jti",
    "AUTH_HEADER_TYPES": ("Bearer",),
    "UPDATE_LAST_LOGIN": False,
    "ROTATE_REFRESH_TOKENS": True,
}

# ---------------------------------------------------------------------------------------
# The kit's own knobs
# ---------------------------------------------------------------------------------------
# Read in code as accounts.conf.kit_settings.<KNOB>; a key left out takes its default from
# accounts/conf.py DEFAULTS (tests/accounts/test_conf.py holds the defaults here equal to
# those), an unknown key or a wrong type stops start-up (check accounts.E004).
ACCOUNTS = {
    # Name shown in page titles, the admin and e-mails.
    "SITE_NAME": env.str("ACCOUNTS_SITE_NAME", default="Kit"),
    # Active device sessions a user may hold (0 = no limit).
    "MAX_DEVICES": env.int("ACCOUNTS_MAX_DEVICES", default=5),
    # At the limit: "reject" the new sign-in, or "evict_oldest" (least recently used).
    "DEVICE_LIMIT_POLICY": env.str("ACCOUNTS_DEVICE_LIMIT_POLICY", default="reject"),
    # Absolute cap on a device session's age in seconds, however often it refreshes.
    "SESSION_MAX_AGE": env.int("ACCOUNTS_SESSION_MAX_AGE", default=7776000),
    # Seconds during which the refresh token exchanged just before the current one still
    # gets a fresh pair (apps that retry after a lost response); 0 = reuse always revokes.
    "REFRESH_REUSE_GRACE_SECONDS": env.int("ACCOUNTS_REFRESH_REUSE_GRACE_SECONDS", default=0),
    # Days ended device sessions and audit events are kept before flush_expired_sessions.
    "SESSION_RETENTION_DAYS": env.int("ACCOUNTS_SESSION_RETENTION_DAYS", default=30),
    "AUDIT_RETENTION_DAYS": env.int("ACCOUNTS_AUDIT_RETENTION_DAYS", default=365),
    "DELETION_GRACE_DAYS": env.int("ACCOUNTS_DELETION_GRACE_DAYS", default=7),
    # Let anyone create an account (HTML and API sign-up).
    "ALLOW_SIGNUP": env.bool("ACCOUNTS_ALLOW_SIGNUP", default=False),
    # "mandatory" (unverified addresses cannot sign in), "optional" or "none"; unset =
    # "mandatory" when sign-up is on, else "optional" (docs/email-verification.md).
    "EMAIL_VERIFICATION": env.str("ACCOUNTS_EMAIL_VERIFICATION", default=""),
    # Link in password-reset e-mails, for apps with their own reset screen, e.g.
    # "https://app.example.com/reset/{uid}/{token}"; empty = the kit's own HTML page.
    "PASSWORD_RESET_URL": env.str("ACCOUNTS_PASSWORD_RESET_URL", default=""),
    # Backend of accounts.auth.login/logout when none is named: "session" or "jwt".
    "DEFAULT_AUTH_BACKEND": env.str("ACCOUNTS_DEFAULT_AUTH_BACKEND", default="session"),
    # Dotted path of a function(user) -> dict of extra access-token claims.
    "TOKEN_CLAIMS": env.str("ACCOUNTS_TOKEN_CLAIMS", default="") or None,
    # Failed sign-ins per account (and per trusted device) before a lockout, and its length.
    "LOGIN_FAILURE_LIMIT": env.int("ACCOUNTS_LOGIN_FAILURE_LIMIT", default=5),
    # Failed sign-ins per client address within LOCKOUT_SECONDS before it is locked: higher,
    # as one address may be a whole office or a carrier's NAT (accounts/security/lockout.py).
    "ADDRESS_FAILURE_LIMIT": env.int("ACCOUNTS_ADDRESS_FAILURE_LIMIT", default=50),
    "LOCKOUT_SECONDS": env.int("ACCOUNTS_LOCKOUT_SECONDS", default=900),
    # Requests per client address (`N/second|minute|hour|day`), one counter per flow shared
    # by the HTML page and the API route: password-reset requests, sign-ups, and failed
    # API keys (past it the service routes answer 429 before looking a key up).
    "RESET_RATE": env.str("ACCOUNTS_RESET_RATE", default="5/hour"),
    "SIGNUP_RATE": env.str("ACCOUNTS_SIGNUP_RATE", default="10/hour"),
    "API_KEY_FAILURE_RATE": env.str("ACCOUNTS_API_KEY_FAILURE_RATE", default="20/minute"),
    # Passkey sign-ins begun per client address (the public begin route writes a row each).
    "PASSKEY_SIGN_IN_RATE": env.str("ACCOUNTS_PASSKEY_SIGN_IN_RATE", default="30/minute"),
    # After a cache error or timeout (a Redis down or hung), each process skips the cache
    # for this many seconds, reading the database (never failing open), then tries again.
    "CACHE_BREAKER_SECONDS": env.int("ACCOUNTS_CACHE_BREAKER_SECONDS", default=5),
    # With a Redis cache: keep session and API-key state in each process, kept current by
    # Redis pub/sub, so a warm check makes no round trip; revocations wait for every
    # process to drop it (accounts/revocation/process_view.py). Entries live LOCAL_VIEW_TTL seconds.
    "LOCAL_VIEW": env.bool("ACCOUNTS_LOCAL_VIEW", default=True),
    "LOCAL_VIEW_TTL": env.int("ACCOUNTS_LOCAL_VIEW_TTL", default=10),
    # At most this many processes (all instances together) keep that view, so a revocation
    # waits for at most this many acknowledgements; the others read Redis (docs/scaling.md).
    "LOCAL_VIEW_MAX_PROCESSES": env.int("ACCOUNTS_LOCAL_VIEW_MAX_PROCESSES", default=16),
    # Staff enrol a second factor before they reach /admin/ (accounts/mfa).
    "MFA_REQUIRED_FOR_STAFF": env.bool("ACCOUNTS_MFA_REQUIRED_FOR_STAFF", default=not DEBUG),
    # Seconds an `mfa_token` (between the password and the second factor) and a WebAuthn
    # challenge stay valid.
    "MFA_TOKEN_SECONDS": env.int("ACCOUNTS_MFA_TOKEN_SECONDS", default=300),
    # The WebAuthn relying party ("" = the request's host) and the origins whose passkey
    # answers are accepted, comma-separated ("" = https:// + that host).
    "WEBAUTHN_RP_ID": env.str("WEBAUTHN_RP_ID", default=""),
    "WEBAUTHN_ORIGINS": env.str("WEBAUTHN_ORIGINS", default=""),
    # OpenID Connect providers for social sign-in: a JSON list of {"id", "name", "issuer",
    # "client_id", "client_secret"} (docs/social-sign-in.md). Text that is not JSON is kept
    # as it is, so that check accounts.E005 says what is wrong (never echoing the secrets).
    "SOCIAL_PROVIDERS": _json_or_text(env.str("SOCIAL_PROVIDERS", default="")),
}

# django-allauth's second factors (allauth.mfa): the kit keeps device sessions, lockouts and
# the audit trail on top (accounts/mfa). TOTP as authenticator apps expect it: 6 digits,
# 30 s, SHA-1, no tolerance beyond the current step.
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes", "webauthn"]
MFA_PASSKEY_LOGIN_ENABLED = True
MFA_RECOVERY_CODE_COUNT = 10
MFA_TOTP_PERIOD = 30
MFA_TOTP_DIGITS = 6
MFA_TOTP_TOLERANCE = 0
# The TOTP secret and the recovery-code seed are stored encrypted (AES-GCM, a key derived
# from SECRET_KEY, SECRET_KEY_FALLBACKS tried on decrypt): accounts/mfa/adapter.py.
MFA_ADAPTER = "accounts.mfa.adapter.KitMfaAdapter"

# Secret of the API-key hashes, apart from SECRET_KEY so rotating that voids no key.
API_KEY_HASH_SECRET = env.str("API_KEY_HASH_SECRET", default="") or f"api-key:{SECRET_KEY}"
# A product's own API-key scopes beside the kit's (accounts/apikeys/scopes.py), e.g.
# {"orders:read": "Read orders"}; then `HasScope("orders:read")` on its service routes.
API_KEY_EXTRA_SCOPES: dict[str, str] = {}

# ---------------------------------------------------------------------------------------
# Logging: to the console, where gunicorn and containers collect it.
# ---------------------------------------------------------------------------------------
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
# "plain" (text) or "json" (one JSON object a line, for a log collector). Both redact
# token-, key- and reset-link-shaped secrets; JSON lines carry request_id, user_id,
# device_session_id and api_key (a key's public prefix) when known (config/logs.py).
LOG_FORMAT = env.str("LOG_FORMAT", default="plain")
if LOG_FORMAT not in ("plain", "json"):
    sys.exit("ImproperlyConfigured: LOG_FORMAT must be plain or json.")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request": {"()": "config.logs.RequestContextFilter"}},
    # config.logs.Formatter: requests Django refuses (django.security.*) on one line.
    "formatters": {
        "plain": {
            "()": "config.logs.Formatter",
            "format": "%(asctime)s %(levelname)s %(name)s %(message)s",
        },
        "json": {
            "()": "config.logs.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s %(user_id)s "
            "%(device_session_id)s %(api_key)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["request"],
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {"django": {"handlers": ["console"], "level": LOG_LEVEL, "propagate": False}},
}

# ---------------------------------------------------------------------------------------
# Error tracking: Sentry when SENTRY_DSN is set, with no personal data (config/sentry.py).
# ---------------------------------------------------------------------------------------
SENTRY_DSN = env.str("SENTRY_DSN", default="")
if SENTRY_DSN:
    import sentry_sdk

    from config.sentry import sentry_options

    sentry_sdk.init(
        # SENTRY_ENVIRONMENT: the environment name events are filed under.
        **sentry_options(
            dsn=SENTRY_DSN, environment=env.str("SENTRY_ENVIRONMENT", default="production")
        )
    )
