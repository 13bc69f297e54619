"""Fixtures shared by every suite, and the rules for suites that need outside services.

Suites marked `postgres`, `redis`, `browser` or `clients` run only where that service (or
tool) exists. A user's `make test` skips them and says so in its summary; CI names them in
KIT_REQUIRE_SERVICES, which turns a missing service into an error so nothing silently
stops being tested.
"""

import os
import shutil
from pathlib import Path

import pytest
from django.conf import settings
from rest_framework.test import APIClient

from tests.factories import DEFAULT_PASSWORD, UserFactory

ROOT = Path(__file__).resolve().parents[1]
# Comma-separated markers that must run here (CI: "postgres,redis,browser").
REQUIRED_SUITES = {m for m in os.environ.get("KIT_REQUIRE_SERVICES", "").split(",") if m}
CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium")
# Headless Chromium on a closed network: no background traffic to hosts it cannot reach.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SERVICE_MARKERS = ("postgres", "redis", "browser", "clients", "faults")
# The client generators (`make test-clients` installs requirements-clients.txt there).
CLIENTS_VENV = Path(os.environ.get("KIT_CLIENTS_VENV", ROOT / ".venv" / "clients"))


def postgres_server_binaries() -> Path | None:
    """The directory of initdb and pg_ctl (Debian/Ubuntu keep them off the PATH)."""
    for candidate in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (candidate / "initdb").exists() and (candidate / "pg_ctl").exists():
            return candidate
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb and shutil.which("pg_ctl") else None


def _missing_service(marker_name):
    """Why a suite with this marker cannot run here, or None when it can."""
    if marker_name == "postgres" and "postgresql" not in settings.DATABASES["default"]["ENGINE"]:
        return "PostgreSQL suite: set DATABASE_URL=postgres://..."
    if marker_name == "redis" and "redis" not in settings.CACHES["default"]["BACKEND"].lower():
        return "Redis suite: set REDIS_URL=redis://..."
    if marker_name == "browser" and not CHROMIUM:
        return "browser suite: install Chromium (apt-get install chromium)"
    if marker_name == "clients" and not (CLIENTS_VENV / "bin" / "openapi-python-client").exists():
        return f"generated-client suite: run `make test-clients` (no generator in {CLIENTS_VENV})"
    if marker_name == "faults" and not (
        postgres_server_binaries() and shutil.which("redis-server")
    ):
        return "fault suite: install PostgreSQL's server binaries (initdb, pg_ctl) and redis-server"
    return None


_skipped_suites = set()


def pytest_collection_modifyitems(config, items):
    for marker in REQUIRED_SUITES:
        reason = _missing_service(marker)
        if reason:
            raise pytest.UsageError(f"KIT_REQUIRE_SERVICES names {marker}, but: {reason}")
    for item in items:
        for marker in SERVICE_MARKERS:
            reason = item.get_closest_marker(marker) and _missing_service(marker)
            if reason:
                _skipped_suites.add(reason)
                item.add_marker(pytest.mark.skip(reason=reason))


def pytest_terminal_summary(terminalreporter):
    if _skipped_suites:
        terminalreporter.section("suites skipped on this machine")
        for reason in sorted(_skipped_suites):
            terminalreporter.write_line(f"skipped: {reason}")


@pytest.fixture(autouse=True)
def _fast_password_hasher(settings):
    """MD5 first in tests so the suite stays fast; Argon2 stays available and tests of
    the hasher itself put it back first."""
    settings.PASSWORD_HASHERS = [
        "django.contrib.auth.hashers.MD5PasswordHasher",
        *settings.PASSWORD_HASHERS,
    ]


@pytest.fixture(autouse=True)
def _static_files_without_manifest(settings):
    """The manifest exists only after collectstatic (the Docker build runs it)."""
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture(autouse=True)
def _clear_cache():
    from django.core.cache import cache

    from accounts.revocation import state as session_state

    cache.clear()
    session_state.cache_cleared()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def _cache_repair_inline(monkeypatch, settings):
    """The revocation cache's repair runs inside the request (in production a background
    thread runs it, whose own database connection cannot see a test's uncommitted rows),
    and the cache's circuit breaker closes at once, so a test's next request tries the
    cache again (tests/accounts/revocation/test_breaker.py tests the breaker)."""
    monkeypatch.setattr("accounts.revocation.state.repair_in_background", False)
    settings.ACCOUNTS = {**settings.ACCOUNTS, "CACHE_BREAKER_SECONDS": 0}


@pytest.fixture(autouse=True)
def _staff_gate_off(settings):
    """ACCOUNTS_MFA_REQUIRED_FOR_STAFF off (as under DEBUG): the suites that open /admin/
    sign staff in without a second factor. tests/accounts/web/test_staff_gate.py turns it
    on."""
    settings.ACCOUNTS = {**settings.ACCOUNTS, "MFA_REQUIRED_FOR_STAFF": False}


@pytest.fixture
def password():
    return DEFAULT_PASSWORD


@pytest.fixture
def user(db):
    return UserFactory()


@pytest.fixture
def make_user(db):
    return UserFactory


@pytest.fixture
def api_client():
    return APIClient()


@pytest.fixture
def superuser(make_user):
    return make_user(username="root", is_staff=True, is_superuser=True)


@pytest.fixture
def signed_in_browser(db):
    """signed_in_browser(user) -> a Django test client with its own browser session of
    `user`."""
    from django.test import Client

    def _browser(user):
        client = Client()
        client.force_login(user)
        return client

    return _browser


@pytest.fixture
def make_api_key(db):
    """make_api_key(scopes=[...], **fields) -> (ApiKey, raw_key)."""
    from accounts.apikeys.keys import create_api_key

    def make(*, name="billing worker", scopes=("users:read",), **fields):
        return create_api_key(name=name, scopes=list(scopes), **fields)

    return make


@pytest.fixture
def shared_key_cache(monkeypatch):
    """Cache API keys even on local memory: in one test process it behaves like the shared
    cache (Redis) of a deployment, so the cached path is tested on every run."""
    monkeypatch.setattr("accounts.revocation.state.cache_is_shared", lambda: True)


@pytest.fixture
def no_local_view(settings):
    """Without the per-process view (accounts.revocation.process_view): for tests that edit
    the shared cache entry itself, which a process with a view would not read again."""
    settings.ACCOUNTS = {**settings.ACCOUNTS, "LOCAL_VIEW": False}


@pytest.fixture
def queued_tasks(settings):
    """The production set-up (TASKS_BACKEND=database): tasks wait in the database for
    `manage.py db_worker`. Tests using it commit (django_db(transaction=True)): the worker
    opens and closes connections, which it cannot do inside the test's own transaction."""
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}


@pytest.fixture
def run_worker():
    """run_worker(): `manage.py db_worker --batch` works through every queued task once."""
    from io import StringIO

    from django.core.management import call_command

    def _run():
        call_command("db_worker", "--batch", "--no-startup-delay", "--no-reload", stdout=StringIO())

    return _run


TOKEN_URL = "/api/v1/auth/token/"
REFRESH_URL = "/api/v1/auth/token/refresh/"


@pytest.fixture
def sign_in(api_client, user, password):
    """POST /auth/token/ for `user` (or `username=`); returns the response."""

    def _sign_in(device_id="phone-1", username=None, expect=200, client=None, **extra):
        body = {"username": username or user.username, "password": password, **extra}
        if device_id is not None:
            body["device_id"] = device_id
        response = (client or api_client).post(TOKEN_URL, body, format="json")
        assert response.status_code == expect, response.content
        return response

    return _sign_in


@pytest.fixture
def bearer():
    """Headers for an access token: `client.get(url, **bearer(access))`."""

    def _bearer(access):
        return {"HTTP_AUTHORIZATION": f"Bearer {access}"}

    return _bearer


@pytest.fixture
def refresh(api_client):
    def _refresh(refresh_token, device_id="phone-1"):
        return api_client.post(
            REFRESH_URL, {"refresh": refresh_token, "device_id": device_id}, format="json"
        )

    return _refresh


# ---------------------------------------------------------------------------------------
# JWT signing keys (accounts.devices.signing)
# ---------------------------------------------------------------------------------------
def _pem_pair(private_key):
    from cryptography.hazmat.primitives import serialization

    private_pem = private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public_pem = (
        private_key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private_pem, public_pem


def make_pem_key_pair(algorithm):
    """(private PEM, public PEM) text for an RS*/ES* algorithm, made with cryptography."""
    from cryptography.hazmat.primitives.asymmetric import ec, rsa

    if algorithm.startswith("RS"):
        return _pem_pair(rsa.generate_private_key(public_exponent=65537, key_size=2048))
    curve = {"ES256": ec.SECP256R1, "ES384": ec.SECP384R1, "ES512": ec.SECP521R1}[algorithm]
    return _pem_pair(ec.generate_private_key(curve()))


@pytest.fixture(scope="session")
def pem_keys():
    """Two key pairs per asymmetric algorithm ("current", "old"), made once per run."""
    keys = {}
    for family in (["RS256", "RS384", "RS512"], ["ES256"], ["ES384"], ["ES512"]):
        current, old = make_pem_key_pair(family[0]), make_pem_key_pair(family[0])
        for algorithm in family:
            keys[algorithm] = {"current": current, "old": old}
    return keys


@pytest.fixture
def jwt_config(settings):
    """configure(algorithm, **JWT_settings): sets every JWT_* setting at once (defaults
    for the rest); pytest-django restores them and the backend rebuilds after the test."""

    def configure(algorithm="HS256", **overrides):
        values = {
            "JWT_ALGORITHM": algorithm,
            "JWT_SIGNING_KEY": "",
            "JWT_VERIFYING_KEY": "",
            "JWT_KEY_ID": "",
            "JWT_OLD_VERIFYING_KEYS": [],
            "JWT_ISSUER": None,
            "JWT_AUDIENCE": None,
            "JWT_ENCRYPT": False,
            "JWT_ENCRYPTION_KEY": "",
        }
        for name, value in {**values, **overrides}.items():
            setattr(settings, name, value)
        from accounts.devices.signing import get_token_backend

        return get_token_backend()

    return configure


# ---------------------------------------------------------------------------------------
# Second factors (accounts/mfa)
# ---------------------------------------------------------------------------------------
class MfaClock:
    """The wall clock of the MFA tests: what django.utils.timezone.now (challenge expiry)
    and allauth's TOTP time steps read. It starts one second into a fresh 30-second step,
    so a test's codes stay in one step until it advances the clock."""

    PERIOD = 30

    def __init__(self) -> None:
        import time

        self.now = float(int(time.time()) // self.PERIOD * self.PERIOD + 1)

    def time(self) -> float:
        return self.now

    def datetime(self):
        from datetime import UTC, datetime

        return datetime.fromtimestamp(self.now, tz=UTC)

    def advance(self, seconds: float) -> None:
        self.now += seconds

    def step(self) -> int:
        return int(self.now) // self.PERIOD

    def code(self, secret: str, *, steps: int = 0) -> str:
        """The TOTP code of `secret` for the current step (+ `steps`)."""
        from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value

        return format_hotp_value(hotp_value(secret, self.step() + steps))


@pytest.fixture
def mfa_clock(monkeypatch):
    """A fake clock for expiries and TOTP steps: mfa_clock.advance(s), mfa_clock.code(secret)."""
    from types import SimpleNamespace

    clock = MfaClock()
    monkeypatch.setattr("django.utils.timezone.now", clock.datetime)
    monkeypatch.setattr("allauth.mfa.totp.internal.auth.time", SimpleNamespace(time=clock.time))
    return clock


@pytest.fixture
def mfa_client(db):
    """mfa_client(user, device_id=...) -> an APIClient with the Bearer token of a device
    session opened with a second factor (amr pwd, otp, mfa: as after /auth/token/mfa/),
    which changing the factors of an account that has one needs (step-up)."""

    def client(user, *, device_id="mfa-phone"):
        from accounts.devices.sessions import sign_in

        _, pair = sign_in(request=None, user=user, device_id=device_id, amr=("pwd", "otp", "mfa"))
        api = APIClient()
        api.credentials(HTTP_AUTHORIZATION=f"Bearer {pair.access}")
        return api

    return client


@pytest.fixture
def totp_enrol(db):
    """totp_enrol(user) -> (secret, recovery_codes): TOTP turned on for `user` in allauth's
    store (encrypted by the kit's adapter), with the recovery codes of a first factor."""

    def enrol(user):
        from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret

        from accounts.mfa.factors import recovery_codes_ensure

        secret = generate_totp_secret()
        TOTP.activate(user, secret)
        return secret, recovery_codes_ensure(user=user)

    return enrol


# ---------------------------------------------------------------------------------------
# Passkeys (accounts/mfa/passkeys.py), over HTTP with the software authenticator
# ---------------------------------------------------------------------------------------
PASSKEY_BEGIN_URL = "/api/v1/auth/passkey/begin/"
PASSKEY_SIGN_IN_URL = "/api/v1/auth/passkey/"
PASSKEYS_BEGIN_URL = "/api/v1/mfa/passkeys/begin/"
PASSKEYS_URL = "/api/v1/mfa/passkeys/"


@pytest.fixture
def authenticator():
    """A software passkey authenticator (tests/webauthn_authenticator.py)."""
    from tests.webauthn_authenticator import SoftwareAuthenticator

    return SoftwareAuthenticator()


@pytest.fixture
def passkey_enrol(db):
    """passkey_enrol(access, authenticator, name=..., expect=201, **knobs) -> the response
    of POST /mfa/passkeys/ for the user of `access`, after /mfa/passkeys/begin/; `knobs`
    go to authenticator.register (user_verified, origin, rp_id, reuse, ...)."""

    def enrol(access, authenticator, *, name="My phone", expect=201, **knobs):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
        begun = client.post(PASSKEYS_BEGIN_URL)
        assert begun.status_code == 200, begun.content
        credential = authenticator.register(begun.json()["options"], **knobs)
        response = client.post(
            PASSKEYS_URL, {"credential": credential, "name": name}, format="json"
        )
        assert response.status_code == expect, response.content
        return response

    return enrol


@pytest.fixture
def passkey_sign_in(db):
    """passkey_sign_in(authenticator, expect=200, device_id=..., **knobs) -> the response
    of POST /auth/passkey/ after /auth/passkey/begin/; `knobs` go to
    authenticator.sign_in (credential, user_verified, origin, rp_id, counter)."""

    def sign_in(authenticator, *, expect=200, device_id="phone-1", body=None, **knobs):
        client = APIClient()
        begun = client.post(PASSKEY_BEGIN_URL).json()
        credential = authenticator.sign_in(begun["options"], **knobs)
        response = client.post(
            PASSKEY_SIGN_IN_URL,
            {
                "challenge_token": begun["challenge_token"],
                "credential": credential,
                "device_id": device_id,
                **(body or {}),
            },
            format="json",
        )
        assert response.status_code == expect, response.content
        return response

    return sign_in


# ---------------------------------------------------------------------------------------
# Social sign-in (accounts/social): a stub OpenID Connect provider on 127.0.0.1
# ---------------------------------------------------------------------------------------
@pytest.fixture
def oidc_provider(settings):
    """A running stub provider (tests/oidc_provider.py), configured as SOCIAL_PROVIDERS'
    only entry, id "stub"; sign-up open so a first sign-in may make an account."""
    from accounts.social.oidc import refetch_limits_clear
    from tests.oidc_provider import StubProvider

    provider = StubProvider().start()
    settings.ACCOUNTS = {
        **settings.ACCOUNTS,
        "SOCIAL_PROVIDERS": [provider.settings_entry()],
        "ALLOW_SIGNUP": True,
    }
    refetch_limits_clear()
    yield provider
    provider.stop()
    refetch_limits_clear()
