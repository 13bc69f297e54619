"""Time every admin changelist, filter, search and change page, and the API paths, on the
database DATABASE_URL names, in-process through Django's test client signed in as a
superuser: the scale report of docs/performance.md.

    DATABASE_URL=postgres://.../kit_scale python bench/admin_scale.py --label after

Each page is requested once to warm up, then REPEAT times and the median kept; a page
slower than SLOW seconds on its first request is not repeated (that one time is reported). Writes
bench/out/admin-scale-<label>.json and prints a table.
"""

import argparse
import json
import os
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DEBUG", "true")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402
from django.utils import timezone  # noqa: E402

from accounts.models import ApiKey, AuthEvent, DeviceSession, Lockout, User  # noqa: E402

REPEAT = 5
SLOW = 5.0
ADMIN = "scale-bench-admin"


def _sample():
    """Real values to search and filter for, read by primary key (cheap at any size)."""
    heavy = (
        DeviceSession.objects.order_by()
        .values("user_id")
        .filter(user_id__in=User.objects.order_by("pk").values("pk")[:20])
        .first()["user_id"]
    )
    some_user = User.objects.filter(pk__gte=User.objects.order_by("-pk").first().pk // 2).first()
    event = AuthEvent.objects.filter(pk__gte=12345, session_id__isnull=False).first()
    key = ApiKey.objects.order_by("pk")[5]
    lockout = Lockout.objects.order_by("pk")[5]
    return heavy, some_user, event, key, lockout


def pages():
    heavy, some_user, event, key, lockout = _sample()
    week_ago = (timezone.now() - timedelta(days=7)).date().isoformat()
    tomorrow = (timezone.now() + timedelta(days=1)).date().isoformat()
    name = some_user.username
    u, s, a, k, lo = (
        "/admin/accounts/user/",
        "/admin/accounts/devicesession/",
        "/admin/accounts/authevent/",
        "/admin/accounts/apikey/",
        "/admin/accounts/lockout/",
    )
    return [
        ("users: list", u),
        ("users: search a username", f"{u}?q={name}"),
        ("users: search part of an e-mail", f"{u}?q={some_user.email.split('@')[0][-6:]}"),
        ("users: filter staff", f"{u}?is_staff__exact=1"),
        ("users: filter inactive", f"{u}?is_active__exact=0"),
        ("users: filter superuser", f"{u}?is_superuser__exact=1"),
        ("users: change page of a heavy user", f"{u}{heavy}/change/"),
        ("sessions: list (opens on active)", s),
        ("sessions: all", f"{s}?status=all"),
        ("sessions: active", f"{s}?status=active"),
        ("sessions: revoked", f"{s}?status=revoked"),
        ("sessions: expired", f"{s}?status=expired"),
        ("sessions: reason admin", f"{s}?status=all&revoke_reason__exact=admin"),
        ("sessions: search a username", f"{s}?status=all&q={name}"),
        ("sessions: one user's", f"{s}?status=all&user__id__exact={heavy}"),
        ("audit: list", a),
        ("audit: kind login_failed", f"{a}?kind__exact=login_failed"),
        ("audit: past 7 days", f"{a}?created_at__gte={week_ago}&created_at__lt={tomorrow}"),
        ("audit: one user's", f"{a}?user__id__exact={some_user.pk}"),
        ("audit: search a username", f"{a}?q={name}"),
        ("audit: search an address", f"{a}?q={event.ip_address}"),
        ("audit: search a session id", f"{a}?q={event.session_id}"),
        ("API keys: list", k),
        ("API keys: active", f"{k}?status=active"),
        ("API keys: revoked", f"{k}?status=revoked"),
        ("API keys: search a prefix", f"{k}?q={key.prefix}"),
        ("API keys: search a name", f"{k}?q={key.name.replace(' ', '+')}"),
        ("lockouts: list", lo),
        ("lockouts: kind account", f"{lo}?kind__exact=account"),
        ("lockouts: search a value", f"{lo}?q={lockout.value}"),
    ]


def timed(client, url):
    started = time.perf_counter()
    response = client.get(url)  # warm: the first request of a page pays imports, caches
    elapsed = time.perf_counter() - started
    if response.status_code != 200 or elapsed > SLOW:
        return {"status": response.status_code, "seconds": elapsed, "runs": 1}
    times = []
    for _ in range(REPEAT):
        started = time.perf_counter()
        response = client.get(url)
        elapsed = time.perf_counter() - started
        times.append(elapsed)
        if response.status_code != 200:
            return {"status": response.status_code, "seconds": elapsed, "runs": len(times)}
    return {
        "status": 200,
        "seconds": statistics.median(times),
        "runs": len(times),
        "bytes": len(response.content),
    }


def api_paths():
    """label -> call() for the API paths: a user of the generated data with a password
    set here (the preset's users have none) and an API key made here."""
    from rest_framework.test import APIClient

    from accounts.apikeys.keys import create_api_key

    user = User.objects.filter(username__startswith="u", is_active=True).order_by("pk")[7]
    user.set_password("scale-bench-password")
    user.save(update_fields=["password"])
    _, raw_key = create_api_key(name="scale bench", scopes=["tokens:introspect", "users:read"])
    client = APIClient()
    state = {}

    def sign_in():
        body = {"username": user.username, "password": "scale-bench-password"}
        response = client.post("/api/v1/auth/token/", {**body, "device_id": "bench"}, "json")
        state.update(response.json())
        return response

    def refresh():
        body = {"refresh": state["refresh"], "device_id": "bench"}
        response = client.post("/api/v1/auth/token/refresh/", body, "json")
        state.update(response.json())
        return response

    def bearer():
        return {"HTTP_AUTHORIZATION": f"Bearer {state['access']}"}

    sign_in()
    return [
        ("API: sign-in (Argon2)", sign_in),
        ("API: refresh", refresh),
        ("API: /me/", lambda: client.get("/api/v1/me/", **bearer())),
        ("API: /devices/", lambda: client.get("/api/v1/devices/", **bearer())),
        (
            "API: ping (API key)",
            lambda: client.get("/api/v1/service/ping/", HTTP_X_API_KEY=raw_key),
        ),
        (
            "API: introspect",
            lambda: client.post(
                "/api/v1/service/introspect/",
                {"token": state["access"]},
                "json",
                HTTP_X_API_KEY=raw_key,
            ),
        ),
    ]


def timed_call(call):
    call()  # warm
    times = []
    for _ in range(REPEAT):
        started = time.perf_counter()
        response = call()
        times.append(time.perf_counter() - started)
    return {"status": response.status_code, "seconds": statistics.median(times), "runs": REPEAT}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--label", default="run")
    parser.add_argument("--only", default="", help="comma-separated label prefixes")
    args = parser.parse_args()
    setup_test_environment()
    admin, _ = User.objects.get_or_create(
        username=ADMIN, defaults={"is_staff": True, "is_superuser": True}
    )
    client = Client()
    client.force_login(admin)
    with connection.cursor() as cursor:
        cursor.execute("SET statement_timeout = '60s'")
    sizes = {m.__name__: m.objects.order_by().count() for m in (User, DeviceSession, AuthEvent)}
    results = {}
    for label, url in pages():
        if args.only and not any(label.startswith(p) for p in args.only.split(",")):
            continue
        results[label] = {"url": url, **timed(client, url)}
        r = results[label]
        print(f"{label:40} {r['seconds'] * 1000:9.0f} ms  {r['status']}  {r.get('bytes', 0):>9} B")
    for label, call in api_paths():
        if args.only and not any(label.startswith(p) for p in args.only.split(",")):
            continue
        results[label] = timed_call(call)
        r = results[label]
        print(f"{label:40} {r['seconds'] * 1000:9.0f} ms  {r['status']}")
    out = ROOT / "bench" / "out"
    out.mkdir(exist_ok=True)
    (out / f"admin-scale-{args.label}.json").write_text(
        json.dumps({"sizes": sizes, "pages": results}, indent=2)
    )


if __name__ == "__main__":
    main()
