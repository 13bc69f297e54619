"""manage.py fill_scale_data --preset small|quarter|1m: a PostgreSQL database at production
size, for the scale report and the query-plan checks (docs/performance.md).

Every row is made by the database itself (`INSERT ... SELECT ... FROM generate_series`),
in chunks of CHUNK rows committed one by one, so the 1m preset (1M users, 3M device
sessions, 20M audit events, 100k API keys) takes minutes, not hours. Rows are added to what
is there (names carry a run tag), never replacing anything; run it on a database of its
own, never on a production one.
"""

import time
import uuid

from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction

from accounts.models import ApiKey, AuthEvent, DeviceSession, Lockout, User

# users, device sessions, audit events, API keys, lockouts
PRESETS = {
    # CI: big enough that PostgreSQL's planner prefers the indexes (seconds to fill).
    "small": (20_000, 60_000, 300_000, 2_000, 2_000),
    "quarter": (250_000, 750_000, 5_000_000, 25_000, 10_000),
    "1m": (1_000_000, 3_000_000, 20_000_000, 100_000, 10_000),
}
CHUNK = 1_000_000
# Ten users hold 0.7% of the sessions each way (~2,100 each at the 1m preset): the heavy
# accounts (test rigs, shared logins) whose change page must stay light.
HEAVY_USERS = 10
HEAVY_EVERY = 140

_USERS = """
INSERT INTO accounts_user (id, password, last_login, is_superuser, username,
    first_name, last_name, email, is_staff, is_active, date_joined, sessions_version,
    rights_version)
SELECT %(base)s::bigint + i, '!scale', NULL, i %% 200000 = 0, 'u' || %(tag)s::text || '-' || i,
    (ARRAY['Ada','Alan','Grace','Linus','Margaret','Dennis','Barbara','Ken'])[1 + i %% 8],
    (ARRAY['Lovelace','Turing','Hopper','Torvalds','Hamilton','Ritchie','Liskov'])[1 + i %% 7],
    'u' || %(tag)s::text || '-' || i || '@mail' || (i %% 97) || '.example.com',
    i %% 2000 = 0, i %% 50 <> 0, now() - (i %% 1000) * interval '1 day', 0, 0
FROM generate_series(%(lo)s::int, %(hi)s::int) AS i
"""

# ~55% revoked, ~30% live, ~15% expired without being revoked; last use before now.
_SESSIONS = """
INSERT INTO accounts_devicesession (id, user_id, device_id, name, user_agent,
    ip_address, created_at, last_used_at, refresh_jti, previous_refresh_jti, rotated_at,
    refresh_expires_at, revoked_at, revoke_reason, amr)
SELECT md5(%(tag)s::text || '-s-' || i)::uuid, u, 'd' || %(tag)s::text || '-' || i,
    (ARRAY['Firefox on Linux','Chrome on Android','Safari on iPhone',
        'Edge on Windows'])[1 + i %% 4],
    'Mozilla/5.0 (scale ' || i %% 13 || ')',
    ('10.' || (i / 65536) %% 256 || '.' || (i / 256) %% 256 || '.' || i %% 256)::inet,
    used - interval '10 days', used, md5(%(tag)s::text || '-j-' || i), '', NULL,
    CASE WHEN i %% 20 < 17 THEN used + interval '30 days' ELSE used END,
    CASE WHEN i %% 20 < 11 THEN used + interval '1 hour' END,
    CASE WHEN i %% 20 < 11 THEN (ARRAY['logout','logout_all','user','admin','password_changed',
        'refresh_reused','device_limit','replaced'])[1 + i %% 8] ELSE '' END,
    '["pwd"]'::jsonb
FROM (
    SELECT i,
        CASE WHEN i %% %(heavy_every)s::int = 0
             THEN %(user_lo)s::bigint + (i / %(heavy_every)s::int) %% %(heavy_users)s::int
             ELSE %(user_lo)s::bigint + (i::bigint * 7919) %% %(users)s::bigint END AS u,
        now() - ((i::bigint * 104729) %% (365 * 86400)) * interval '1 second' AS used
    FROM generate_series(%(lo)s::int, %(hi)s::int) AS i
) AS s
"""

# One year of history, newest last (ids follow time as in a real trail).
_EVENTS = """
INSERT INTO accounts_authevent (created_at, kind, user_id, username, actor,
    session_id, ip_address, user_agent, detail)
SELECT now() - interval '365 days' + (i::float8 / %(events)s::bigint) * interval '365 days',
    (ARRAY['login_succeeded','login_succeeded','login_succeeded','login_failed',
        'login_failed','session_revoked','session_revoked','logout','refresh_reused',
        'login_locked_out','password_changed','api_key_refused','device_mismatch',
        'device_limit_reached','password_reset','api_key_created'])[1 + (i * 31) %% 16],
    CASE WHEN i %% 20 = 0 THEN NULL
        ELSE %(user_lo)s::bigint + (i::bigint * 7919) %% %(users)s::bigint END,
    'u' || %(tag)s::text || '-' || ((i::bigint * 7919) %% %(users)s::bigint + 1),
    CASE WHEN i %% 50 = 0 THEN 'admin' || i %% 5 ELSE '' END,
    CASE WHEN i %% 3 = 0 THEN md5(%(tag)s::text || '-s-' || i %% %(sessions)s::bigint)::uuid END,
    ('10.' || (i / 65536) %% 256 || '.' || (i / 256) %% 256 || '.' || i %% 256)::inet,
    'Mozilla/5.0 (scale ' || i %% 13 || ')', '{}'::jsonb
FROM generate_series(%(lo)s::int, %(hi)s::int) AS i
"""

_KEYS = """
INSERT INTO accounts_apikey (name, owner_id, prefix, hashed_secret, scopes,
    created_at, expires_at, revoked_at, last_used_at)
SELECT 'service ' || i,
    CASE WHEN i %% 4 = 0 THEN NULL ELSE %(user_lo)s::bigint + i %% %(users)s::bigint END,
    substr(md5(%(tag)s::text || '-k-' || i), 1, 16), md5(%(tag)s::text || '-h-' || i), '[]'::jsonb,
    now() - (i %% 700) * interval '1 day',
    CASE WHEN i %% 3 = 0 THEN now() + (i %% 400 - 100) * interval '1 day' END,
    CASE WHEN i %% 5 = 0 THEN now() - (i %% 90) * interval '1 day' END,
    CASE WHEN i %% 2 = 0 THEN now() - (i %% 30) * interval '1 day' END
FROM generate_series(%(lo)s::int, %(hi)s::int) AS i
"""

# Mostly ended lockouts (rows stay until the next lockout of the same key), a few current.
_LOCKOUTS = """
INSERT INTO accounts_lockout (kind, value, failures, locked_at, locked_until)
SELECT (ARRAY['account','address','device'])[1 + i %% 3], %(tag)s::text || '-' || i, 10,
    now() - (i %% 1000) * interval '1 hour',
    now() - (i %% 1000) * interval '1 hour' + interval '15 minutes'
FROM generate_series(%(lo)s::int, %(hi)s::int) AS i
"""


class Command(BaseCommand):
    help = (
        "Fill a PostgreSQL database with generated users, device sessions, audit events, "
        "API keys and lockouts (presets: small for CI, quarter, 1m). Adds rows; never on "
        "a production database."
    )

    def add_arguments(self, parser):
        parser.add_argument("--preset", choices=sorted(PRESETS), default="small")

    def handle(self, *args, preset, **options):
        if connection.vendor != "postgresql":
            raise CommandError("fill_scale_data needs PostgreSQL (DATABASE_URL=postgres://...).")
        users, sessions, events, keys, lockouts = PRESETS[preset]
        tag = uuid.uuid4().hex[:6]
        with connection.cursor() as cursor:
            cursor.execute("SELECT COALESCE(MAX(id), 0) FROM accounts_user")
            base = cursor.fetchone()[0]
        params = {
            "tag": tag,
            "base": base,
            "user_lo": base + 1,
            "users": users,
            "sessions": sessions,
            "events": events,
            "heavy_every": HEAVY_EVERY,
            "heavy_users": HEAVY_USERS,
        }
        started = time.monotonic()
        for model, sql, count in (
            (User, _USERS, users),
            (DeviceSession, _SESSIONS, sessions),
            (AuthEvent, _EVENTS, events),
            (ApiKey, _KEYS, keys),
            (Lockout, _LOCKOUTS, lockouts),
        ):
            self._fill(model, sql, count, params)
        self._sync_user_sequence()
        self._analyze()
        self.stdout.write(
            f"Filled preset {preset} (tag {tag}): {users} users, {sessions} device sessions, "
            f"{events} audit events, {keys} API keys, {lockouts} lockouts in "
            f"{time.monotonic() - started:.0f} s."
        )

    def _fill(self, model, sql, count, params):
        for lo in range(1, count + 1, CHUNK):
            hi = min(lo + CHUNK - 1, count)
            chunk_started = time.monotonic()
            with transaction.atomic(), connection.cursor() as cursor:
                # Generated rows: losing the last commits on a crash costs nothing; a
                # chunk runs for a minute, past the kit's DATABASE_STATEMENT_TIMEOUT.
                cursor.execute("SET LOCAL synchronous_commit = off")
                cursor.execute("SET LOCAL statement_timeout = 0")
                cursor.execute(sql, {**params, "lo": lo, "hi": hi})
            self.stdout.write(
                f"  {model._meta.db_table}: rows {lo}-{hi} in "
                f"{time.monotonic() - chunk_started:.1f} s"
            )

    def _sync_user_sequence(self):
        """Users were given explicit ids: move the id sequence past them."""
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT setval(pg_get_serial_sequence('accounts_user', 'id'), "
                "(SELECT MAX(id) FROM accounts_user))"
            )

    def _analyze(self):
        """Fresh statistics, so the planner sees the new size at once. VACUUM (the
        visibility map for index-only scans) cannot run inside a transaction (tests)."""
        verb = "ANALYZE" if connection.in_atomic_block else "VACUUM (ANALYZE)"
        with connection.cursor() as cursor:
            cursor.execute("SET statement_timeout = 0")
            for model in (User, DeviceSession, AuthEvent, ApiKey, Lockout):
                cursor.execute(f"{verb} {model._meta.db_table}")
            cursor.execute("RESET statement_timeout")
