"""No admin page and no API path needs a sequential scan of a big table (issue 18;
docs/performance.md, "Query plans in CI").

Method: the module fills PostgreSQL with `fill_scale_data --preset small` (inside one
transaction, rolled back at the end) and ANALYZEs it. Each page or path is requested once;
every statement it sends (sql and parameters, through Django's public
`connection.execute_wrapper`) is EXPLAINed with the planner's default settings
(enable_seqscan on). A plan with a `Seq Scan` over accounts_user, accounts_devicesession,
accounts_authevent or accounts_apikey is accepted only when it is bounded (below a `Limit`
the planner expects to reach within a quarter of the table: the same work at any size)
or when the planner merely preferred it on a table this small: EXPLAINed again with
`SET LOCAL enable_seqscan = off`, the statement must then have an index path (no Seq
Scan left over a big table). A statement no index can serve fails: that is what took
5-30 s per page at 1M/3M/20M rows. Limit of the method: an index path that walks a whole
index (a filter no index leads with) passes; the scale report measures those pages.
"""

import json
import uuid

import pytest
from django.core.management import call_command
from django.db import connection, transaction

from accounts.models import ApiKey, AuthEvent, DeviceSession, User

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

BIG_TABLES = {"accounts_user", "accounts_devicesession", "accounts_authevent", "accounts_apikey"}
# A Seq Scan below a Limit is bounded when the Limit costs at most this share of the scan.
BOUNDED_SHARE = 0.25


@pytest.fixture(scope="module")
def scale_data(django_db_setup, django_db_blocker):
    """The small preset, analyzed; rolled back after the module."""
    with django_db_blocker.unblock(), transaction.atomic():
        call_command("fill_scale_data", preset="small", stdout=open("/dev/null", "w"))  # noqa: SIM115
        yield
        transaction.set_rollback(True)


def _unbounded_seq_scans(plan, limit_cost=None):
    """Seq Scan nodes over a big table that no cheap Limit above them bounds."""
    found = []
    node_type = plan["Node Type"]
    if node_type == "Limit":
        limit_cost = plan["Total Cost"]
    if node_type == "Seq Scan" and plan.get("Relation Name") in BIG_TABLES:
        bounded = limit_cost is not None and limit_cost <= BOUNDED_SHARE * plan["Total Cost"]
        if not bounded:
            found.append(f"{plan['Relation Name']} (filter: {plan.get('Filter', '-')})")
    for child in plan.get("Plans", []):
        found += _unbounded_seq_scans(child, limit_cost)
    return found


def _plan(sql, params):
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
        plan = cursor.fetchone()[0]
    return (json.loads(plan) if isinstance(plan, str) else plan)[0]["Plan"]


@pytest.fixture
def plans_of():
    """plans_of(call) -> [(sql, unbounded seq scans)] for every statement `call()` sends."""

    def _plans_of(call):
        statements = []

        def record(execute, sql, params, many, context):
            if not many and sql.lstrip().upper().startswith(("SELECT", "UPDATE", "DELETE")):
                statements.append((sql, params))
            return execute(sql, params, many, context)

        with connection.execute_wrapper(record):
            call()
        found = []
        for sql, params in statements:
            if _unbounded_seq_scans(_plan(sql, params)):
                with transaction.atomic():
                    with connection.cursor() as cursor:
                        cursor.execute("SET LOCAL enable_seqscan = off")
                    scans = _unbounded_seq_scans(_plan(sql, params))
                if scans:
                    found.append((sql, scans))
        return found

    return _plans_of


def _samples():
    heavy = DeviceSession.objects.order_by("user_id").values_list("user_id", flat=True).first()
    some_user = User.objects.order_by("pk")[123]
    event = AuthEvent.objects.filter(session_id__isnull=False).order_by("pk")[50]
    key = ApiKey.objects.order_by("pk")[5]
    return heavy, some_user, event, key


ADMIN_PAGES = [
    ("users", "/admin/accounts/user/", {}),
    ("users search", "/admin/accounts/user/", {"q": "{name}"}),
    ("users staff", "/admin/accounts/user/", {"is_staff__exact": "1"}),
    ("users inactive", "/admin/accounts/user/", {"is_active__exact": "0"}),
    ("users superuser", "/admin/accounts/user/", {"is_superuser__exact": "1"}),
    ("user page", "/admin/accounts/user/{heavy}/change/", {}),
    ("sessions", "/admin/accounts/devicesession/", {}),
    ("sessions all", "/admin/accounts/devicesession/", {"status": "all"}),
    ("sessions revoked", "/admin/accounts/devicesession/", {"status": "revoked"}),
    ("sessions expired", "/admin/accounts/devicesession/", {"status": "expired"}),
    ("sessions reason", "/admin/accounts/devicesession/", {"revoke_reason__exact": "admin"}),
    ("sessions search", "/admin/accounts/devicesession/", {"q": "{name}", "status": "all"}),
    ("sessions of a user", "/admin/accounts/devicesession/", {"user__id__exact": "{heavy}"}),
    ("audit", "/admin/accounts/authevent/", {}),
    ("audit kind", "/admin/accounts/authevent/", {"kind__exact": "login_failed"}),
    ("audit of a user", "/admin/accounts/authevent/", {"user__id__exact": "{user_id}"}),
    ("audit search name", "/admin/accounts/authevent/", {"q": "{name}"}),
    ("audit search address", "/admin/accounts/authevent/", {"q": "{ip}"}),
    ("audit search session", "/admin/accounts/authevent/", {"q": "{sid}"}),
    ("API keys", "/admin/accounts/apikey/", {}),
    ("API keys active", "/admin/accounts/apikey/", {"status": "active"}),
    ("API keys revoked", "/admin/accounts/apikey/", {"status": "revoked"}),
    ("API keys search", "/admin/accounts/apikey/", {"q": "{prefix}"}),
    ("lockouts", "/admin/accounts/lockout/", {}),
]


@pytest.mark.parametrize(("label", "url", "query"), ADMIN_PAGES, ids=[p[0] for p in ADMIN_PAGES])
def test_admin_page_plans_no_full_scan(scale_data, admin_client, plans_of, label, url, query):
    heavy, some_user, event, key = _samples()
    values = {
        "heavy": heavy,
        "name": some_user.username,
        "user_id": some_user.pk,
        "ip": event.ip_address,
        "sid": event.session_id,
        "prefix": key.prefix,
    }
    url = url.format(**values)
    query = {name: value.format(**values) for name, value in query.items()}

    def request():
        assert admin_client.get(url, query).status_code == 200

    assert plans_of(request) == []


def test_api_paths_plan_no_full_scan(
    scale_data, user, sign_in, refresh, api_client, bearer, make_api_key, plans_of
):
    _, raw_key = make_api_key(scopes=["tokens:introspect", "users:read"])
    device = f"plan-{uuid.uuid4().hex[:8]}"
    pair = {}

    def paths():
        pair.update(sign_in(device_id=device).json())
        rotated = refresh(pair["refresh"], device_id=device)
        assert rotated.status_code == 200
        pair.update(rotated.json())
        assert api_client.get("/api/v1/me/", **bearer(pair["access"])).status_code == 200
        assert api_client.get("/api/v1/devices/", **bearer(pair["access"])).status_code == 200
        ping = api_client.get("/api/v1/service/ping/", HTTP_X_API_KEY=raw_key)
        assert ping.status_code == 200
        introspect = api_client.post(
            "/api/v1/service/introspect/",
            {"token": pair["access"]},
            format="json",
            HTTP_X_API_KEY=raw_key,
        )
        assert introspect.status_code == 200
        logout = api_client.post("/api/v1/auth/logout/", **bearer(pair["access"]))
        assert logout.status_code == 204

    assert plans_of(paths) == []
