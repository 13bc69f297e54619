"""`make bench`: the kit under gunicorn, loaded by wrk, every endpoint against one baseline.

Starts the kit with production settings on a free port of 127.0.0.1 (SQLite in a temp dir
and the local-memory cache, or PostgreSQL and Redis when DATABASE_URL / REDIS_URL are
set; the database is `<name>_bench`, dropped and created afresh, never the dev one), then
drives each endpoint with wrk from a separate process. Endpoints run interleaved (A B C ...
A B C ...) for BENCH_ROUNDS rounds of BENCH_SECONDS each after a short warm-up; the medians
go to results.json and results.png (results-sqlite.* for SQLite and local memory), ratios
are against the no-auth baseline of the same run.
An endpoint the kit does not have (yet) is reported "not available", not skipped silently.

Environment: BENCH_ROUNDS (5), BENCH_SECONDS (3), BENCH_WARMUP (1), BENCH_WORKERS (2),
BENCH_CONNECTIONS (4), BENCH_RESULTS_DIR (bench/), BENCH_REDIS_URL (default REDIS_URL),
BENCH_ONLY (comma-separated endpoint keys to measure; the baseline always runs).
"""

import http.client
import json
import os
import platform
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = ROOT / "bench"
OUT_DIR = BENCH_DIR / "out"
WRK_SCRIPT = BENCH_DIR / "wrk.lua"
# A documentation address (RFC 5737) as the locked-out client, so that locking it out
# leaves the other bench clients (127.0.0.1) alone.
LOCKED_OUT_CLIENT = "198.51.100.7"


def _int_env(name, default):
    return int(os.environ.get(name) or default)


ROUNDS = _int_env("BENCH_ROUNDS", 5)
SECONDS = _int_env("BENCH_SECONDS", 3)
WARMUP = _int_env("BENCH_WARMUP", 1)
WORKERS = _int_env("BENCH_WORKERS", 2)
CONNECTIONS = _int_env("BENCH_CONNECTIONS", 4)
RESULTS_DIR = Path(os.environ.get("BENCH_RESULTS_DIR") or BENCH_DIR)
ONLY = {key for key in os.environ.get("BENCH_ONLY", "").split(",") if key}
LOGIN_FAILURE_LIMIT = _int_env("ACCOUNTS_LOGIN_FAILURE_LIMIT", 5)


class EndpointMissingError(Exception):
    """The kit has no such endpoint (yet): reported, not measured."""


class EndpointBrokenError(Exception):
    """The endpoint exists but does not answer as the contract says: reported as an error."""


# ---------------------------------------------------------------------------------------
# The server
# ---------------------------------------------------------------------------------------
def ensure_wrk():
    if shutil.which("wrk"):
        return
    print("wrk is missing: installing it from Debian (apt-get install -y wrk) ...")
    if shutil.which("apt-get") and os.geteuid() == 0:
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=False)
    if not shutil.which("wrk"):
        sys.exit("make bench needs wrk: run `sudo apt-get install -y wrk` and try again.")


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def bench_database(temp_dir):
    """(DATABASE_URL of the bench, description): a fresh `<name>_bench` on PostgreSQL."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        return f"sqlite:///{temp_dir}/bench.sqlite3", "sqlite " + _sqlite_version()
    import psycopg
    from psycopg import sql

    parts = urlsplit(url)
    name = parts.path.lstrip("/") + "_bench"
    admin_url = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin_url, autocommit=True) as admin:
        identifier = sql.Identifier(name)
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(identifier))
        admin.execute(sql.SQL("CREATE DATABASE {}").format(identifier))
        server_version = admin.execute("SHOW server_version").fetchone()[0]
    return urlunsplit(parts._replace(path="/" + name)), f"postgresql {server_version} ({name})"


def _sqlite_version():
    import sqlite3

    return sqlite3.sqlite_version


def bench_cache():
    """(REDIS_URL of the bench or "", description)."""
    url = os.environ.get("BENCH_REDIS_URL") or os.environ.get("REDIS_URL", "")
    if not url:
        return "", "local memory (one per worker process)"
    import redis

    redis_version = redis.Redis.from_url(url).info("server")["redis_version"]
    return url, f"redis {redis_version}"


def server_environment(database_url, redis_url, password):
    env = dict(os.environ)
    env.pop("CACHE_URL", None)
    env.update(
        {
            "DEBUG": "false",
            "SECURE_SSL_REDIRECT": "false",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "ALLOWED_HOSTS": "127.0.0.1",
            "DATABASE_URL": database_url,
            # Set, even empty, so that a developer's .env cannot swap in another cache.
            "REDIS_URL": redis_url,
            "CACHE_URL": "",
            # A key prefix per run: nothing of an earlier run (or of development) is read.
            "CACHE_KEY_PREFIX": f"kit-bench-{secrets.token_hex(4)}",
            # The locked-out client is told apart by X-Forwarded-For from 127.0.0.1.
            "TRUSTED_PROXIES": "127.0.0.1",
            "KIT_BENCH_ROUTES": "1",
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "LOG_LEVEL": "WARNING",
            "BENCH_PASSWORD": password,
        }
    )
    if CONNECTIONS + 1 > 5:  # each refresh connection is one device of one user
        env["ACCOUNTS_MAX_DEVICES"] = str(CONNECTIONS + 1)
    return env


def manage(env, *args):
    subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True)


def prepare_data(env):
    command = [sys.executable, "-m", "bench.prepare"]
    completed = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    if completed.returncode:
        sys.exit(f"bench.prepare failed:\n{completed.stderr}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


def start_gunicorn(env, port, log_path):
    log = open(log_path, "w")  # noqa: SIM115 - closed with the server
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "config.wsgi",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(WORKERS),
        "--worker-class",
        "sync",
        "--log-level",
        "warning",
    ]
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=log), log


def wait_for_health(server, client, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            sys.exit(f"gunicorn exited with {server.returncode}: see {OUT_DIR / 'gunicorn.log'}")
        try:
            status, body = client.call("GET", "/healthz")
            if status == 200:
                return body
        except OSError:
            pass
        time.sleep(0.1)
    sys.exit(f"/healthz did not answer 200 within {timeout} s: see {OUT_DIR / 'gunicorn.log'}")


class Client:
    """One HTTP request at a time to the bench server (setup and probes, not load)."""

    def __init__(self, port):
        self.port = port

    def call(self, method, path, body=None, headers=None):
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            payload = json.dumps(body) if body is not None else None
            all_headers = {"Content-Type": "application/json", **(headers or {})}
            connection.request(method, path, body=payload, headers=all_headers)
            response = connection.getresponse()
            text = response.read().decode()
        finally:
            connection.close()
        try:
            return response.status, json.loads(text)
        except ValueError:
            return response.status, text


# ---------------------------------------------------------------------------------------
# Credentials: fresh for every run, so that rotated chains never start from a used token
# ---------------------------------------------------------------------------------------
@dataclass
class Load:
    """What one wrk run sends: headers, and per connection a refresh token and device id."""

    headers: dict = field(default_factory=dict)
    variables: list = field(default_factory=list)


class Credentials:
    def __init__(self, client, password, api_key, api_key_missing):
        self.client = client
        self.password = password
        self.api_key = api_key
        self.api_key_missing = api_key_missing

    def _post(self, path, body, headers=None):
        status, answer = self.client.call("POST", path, body, headers)
        if status == 404:
            raise EndpointMissingError(f"POST {path} is not routed (404)")
        return status, answer

    def stock_pair(self, username):
        status, answer = self._post(
            "/bench/stock/token/", {"username": username, "password": self.password}
        )
        if status != 200:
            raise EndpointBrokenError(f"stock sign-in answered {status}: {str(answer)[:200]}")
        return answer["access"], answer["refresh"]

    def kit_pair(self, username, device_id):
        status, answer = self._post(
            "/api/v1/auth/token/",
            {"username": username, "password": self.password, "device_id": device_id},
        )
        if status != 200:
            raise EndpointBrokenError(f"kit sign-in answered {status}: {str(answer)[:200]}")
        return answer["access"], answer["refresh"]

    def kit_bearer(self):
        return Load(headers={"Authorization": "Bearer " + self.kit_pair("bench", "bench-get")[0]})

    def stock_bearer(self):
        return Load(headers={"Authorization": "Bearer " + self.stock_pair("bench")[0]})

    def api_key_header(self):
        if not self.api_key:
            raise EndpointMissingError(self.api_key_missing)
        return Load(headers={"X-API-Key": self.api_key})

    def stock_refresh_chains(self):
        tokens = [self.stock_pair("bench-refresh")[1] for _ in range(CONNECTIONS)]
        return Load(variables=[f"{token} -" for token in tokens])

    def kit_refresh_chains(self):
        variables = []
        for index in range(CONNECTIONS):
            device = f"bench-refresh-{index}"
            variables.append(f"{self.kit_pair('bench-refresh', device)[1]} {device}")
        return Load(variables=variables)

    def signin_devices(self):
        return Load(variables=[f"- bench-signin-{index}" for index in range(CONNECTIONS)])

    def locked_out_client(self):
        """Locks out bench-locked from LOCKED_OUT_CLIENT (if not already) by failed sign-ins."""
        headers = {"X-Forwarded-For": LOCKED_OUT_CLIENT}
        right = {"username": "bench-locked", "password": self.password, "device_id": "locked"}
        wrong = {**right, "password": self.password + "-wrong"}
        # A right password before the lockout clears the failures, so the probe sends only
        # wrong ones until the right one is refused. With the local-memory cache every
        # worker counts its own failures: go on until several answers in a row are 429, so
        # whichever worker wrk reaches is locked.
        attempts, in_a_row = (LOGIN_FAILURE_LIMIT + 2) * WORKERS * 2, 0
        for _ in range(attempts):
            status, _ = self._post("/api/v1/auth/token/", wrong, headers)
            if status != 429:
                in_a_row = 0
                continue
            status, _ = self._post("/api/v1/auth/token/", right, headers)
            in_a_row = in_a_row + 1 if status == 429 else 0
            if in_a_row >= 2 * WORKERS:
                return Load(headers=headers)
        raise EndpointBrokenError(f"no steady 429 after {attempts} sign-in attempts")


# ---------------------------------------------------------------------------------------
# The endpoints, in the order of each round
# ---------------------------------------------------------------------------------------
@dataclass
class Endpoint:
    key: str
    label: str
    method: str
    path: str
    credentials: str | None = None  # name of a Credentials method returning a Load
    body: str | None = None
    expect: int = 200
    rotate: bool = False
    group: str = "kit"
    state: str = "pending"  # ok, not available, error
    reason: str = ""
    rounds: list = field(default_factory=list)


def endpoints(password):
    signin = json.dumps({"username": "bench-signin", "password": password, "device_id": "$DEVICE"})
    locked = json.dumps({"username": "bench-locked", "password": password, "device_id": "locked"})
    return [
        Endpoint("baseline", "DRF, no authentication", "GET", "/bench/noauth/", group="baseline"),
        Endpoint(
            "baseline_bearer", "DRF, no authentication, a Bearer header sent", "GET",
            "/bench/noauth/", "kit_bearer", group="baseline",
        ),
        Endpoint(
            "stock_jwt", "simplejwt JWTAuthentication", "GET", "/bench/jwt/",
            "stock_bearer", group="stock",
        ),
        Endpoint(
            "stock_stateless", "simplejwt JWTStatelessUserAuthentication", "GET",
            "/bench/jwt-stateless/", "stock_bearer", group="stock",
        ),
        Endpoint("kit_claims", "kit Bearer, claims only", "GET", "/bench/claims/", "kit_bearer"),
        Endpoint("kit_me", "kit /api/v1/me/", "GET", "/api/v1/me/", "kit_bearer"),
        Endpoint(
            "kit_ping", "kit API-key ping", "GET", "/api/v1/service/ping/", "api_key_header"
        ),
        Endpoint(
            "stock_refresh_rotate", "simplejwt refresh, rotate+blacklist", "POST",
            "/bench/stock/refresh/rotate/", "stock_refresh_chains",
            body='{"refresh": "$REFRESH"}', rotate=True, group="stock",
        ),
        Endpoint(
            "stock_refresh", "simplejwt refresh, no rotation", "POST", "/bench/stock/refresh/",
            "stock_refresh_chains", body='{"refresh": "$REFRESH"}', group="stock",
        ),
        Endpoint(
            "kit_refresh", "kit refresh (rotation, reuse detection)", "POST",
            "/api/v1/auth/token/refresh/", "kit_refresh_chains",
            body='{"refresh": "$REFRESH", "device_id": "$DEVICE"}', rotate=True,
        ),
        Endpoint(
            "kit_signin", "kit sign-in (Argon2)", "POST", "/api/v1/auth/token/",
            "signin_devices", body=signin,
        ),
        Endpoint(
            "kit_signin_locked", "kit sign-in, locked-out client", "POST",
            "/api/v1/auth/token/", "locked_out_client", body=locked, expect=429,
        ),
    ]  # fmt: skip


def load_for(endpoint, credentials):
    return getattr(credentials, endpoint.credentials)() if endpoint.credentials else Load()


def _substitute(text, variables):
    refresh, device = variables[0].split(" ") if variables else ("", "")
    return text.replace("$REFRESH", refresh).replace("$DEVICE", device)


def probe(endpoint, credentials, client):
    """One request as wrk will send it (and, for a rotating refresh, proof that reusing the
    old token is refused), so a broken or missing endpoint is reported, not measured."""
    load = load_for(endpoint, credentials)
    body = json.loads(_substitute(endpoint.body, load.variables)) if endpoint.body else None
    status, answer = client.call(endpoint.method, endpoint.path, body, load.headers)
    if status == 404:
        raise EndpointMissingError(f"{endpoint.method} {endpoint.path} is not routed (404)")
    if status != endpoint.expect:
        expected = f"answered {status}, expected {endpoint.expect}"
        raise EndpointBrokenError(f"{expected}: {str(answer)[:200]}")
    if endpoint.rotate:
        if not isinstance(answer, dict) or "refresh" not in answer:
            raise EndpointBrokenError("a rotating refresh returned no new refresh token")
        status, answer = client.call(endpoint.method, endpoint.path, body, load.headers)
        if status != 401:
            raise EndpointBrokenError(f"a reused refresh token answered {status}, not 401")


def run_wrk(endpoint, load, seconds, port):
    spec_path = OUT_DIR / f"{endpoint.key}.spec"
    lines = [
        f"method {endpoint.method}",
        f"path {endpoint.path}",
        f"expect {endpoint.expect}",
        f"rotate {int(endpoint.rotate)}",
    ]
    headers = {**load.headers}
    if endpoint.body:
        headers["Content-Type"] = "application/json"
        lines.append(f"body {endpoint.body}")
    lines += [f"header {name}: {value}" for name, value in headers.items()]
    lines += [f"var {variables}" for variables in load.variables]
    spec_path.write_text("\n".join(lines) + "\n")
    command = [
        "wrk", f"-t{CONNECTIONS}", f"-c{CONNECTIONS}", f"-d{seconds}s", "--timeout", "10s",
        "-s", str(WRK_SCRIPT), f"http://127.0.0.1:{port}", "--", str(spec_path),
    ]  # fmt: skip
    completed = subprocess.run(command, capture_output=True, text=True, check=False)
    match = re.search(r"^BENCH_RESULT (.*)$", completed.stdout, re.MULTILINE)
    if not match:
        output = f"{completed.stdout[-300:]} {completed.stderr[-300:]}"
        raise EndpointBrokenError(f"wrk failed: {output}")
    raw = json.loads(match.group(1))
    return {
        "rps": round(raw["requests"] / (raw["duration_us"] / 1e6), 1),
        "p50_ms": round(raw["p50_us"] / 1000, 2),
        "p99_ms": round(raw["p99_us"] / 1000, 2),
        "requests": raw["requests"],
        "unexpected_status": raw["unexpected"],
        "socket_errors": raw["socket_errors"],
    }


def measure(all_endpoints, credentials, client, port):
    for endpoint in all_endpoints:
        if ONLY and endpoint.key not in ONLY | {"baseline"}:
            endpoint.state, endpoint.reason = "not measured", "not in BENCH_ONLY"
            continue
        try:
            probe(endpoint, credentials, client)
            run_wrk(endpoint, load_for(endpoint, credentials), WARMUP, port)
            endpoint.state = "ok"
        except EndpointMissingError as reason:
            endpoint.state, endpoint.reason = "not available", str(reason)
        except EndpointBrokenError as reason:
            endpoint.state, endpoint.reason = "error", str(reason)
        print(f"  {endpoint.label}: {endpoint.state} {endpoint.reason}".rstrip())
    baseline, *others = [endpoint for endpoint in all_endpoints if endpoint.state == "ok"]
    for round_number in range(1, ROUNDS + 1):
        # Each endpoint runs between two baseline runs: its ratio is taken against their
        # mean, so a machine that speeds up or slows down over a round (a neighbour on the
        # host, the clock) moves both sides of the ratio alike.
        before = _run_round(baseline, credentials, port, round_number)
        for endpoint in others:
            result = _run_round(endpoint, credentials, port, round_number)
            after = _run_round(baseline, credentials, port, round_number)
            if result and before and after:
                result["adjacent_baseline_rps"] = round((before["rps"] + after["rps"]) / 2, 1)
            before = after


def _run_round(endpoint, credentials, port, round_number):
    """One measured run of `endpoint` (appended to its rounds), or None if it failed."""
    if endpoint.state != "ok":
        return None
    try:
        result = run_wrk(endpoint, load_for(endpoint, credentials), SECONDS, port)
    except (EndpointMissingError, EndpointBrokenError) as reason:
        endpoint.state, endpoint.reason = "error", str(reason)
        return None
    endpoint.rounds.append(result)
    if result["unexpected_status"] or result["socket_errors"]:
        endpoint.state = "error"
        endpoint.reason = (
            f"{result['unexpected_status']} unexpected statuses, "
            f"{result['socket_errors']} socket errors in round {round_number}"
        )
    print(
        f"round {round_number}/{ROUNDS} {endpoint.label}: {result['rps']} req/s, "
        f"p50 {result['p50_ms']} ms, p99 {result['p99_ms']} ms"
    )
    return result


# ---------------------------------------------------------------------------------------
# Results
# ---------------------------------------------------------------------------------------
# (endpoint, reference, minimum ratio): what the kit holds on public APIs only (issue 14,
# item 4); the claims-only route against stock simplejwt as before.
TARGETS = [
    ("kit_claims", "baseline", 0.9),
    ("kit_claims", "stock_jwt", 2.0),
    ("kit_claims", "stock_stateless", 1.0),
    ("kit_me", "baseline", 0.85),
    ("kit_ping", "baseline", 0.85),
    ("kit_refresh", "stock_refresh_rotate", 2.5),
]


def summarize(endpoint):
    summary = {
        "key": endpoint.key,
        "label": endpoint.label,
        "request": f"{endpoint.method} {endpoint.path}",
        "state": endpoint.state,
        "reason": endpoint.reason,
        "rounds": endpoint.rounds,
    }
    if endpoint.rounds:
        summary["median_rps"] = statistics.median(r["rps"] for r in endpoint.rounds)
        summary["p50_ms"] = statistics.median(r["p50_ms"] for r in endpoint.rounds)
        summary["p99_ms"] = statistics.median(r["p99_ms"] for r in endpoint.rounds)
        if endpoint.key == "baseline":
            summary["round_ratios"] = [1.0] * len(endpoint.rounds)
        else:
            # Each round against the baseline runs on either side of it.
            summary["round_ratios"] = [
                round(r["rps"] / r["adjacent_baseline_rps"], 3)
                for r in endpoint.rounds
                if "adjacent_baseline_rps" in r
            ]
        if summary["round_ratios"]:
            summary["ratio_to_baseline"] = round(statistics.median(summary["round_ratios"]), 3)
    return summary


def relative_ratio(mine, theirs):
    """`mine` against `theirs`, round by round (each against its own adjacent baseline
    runs), then the median: how many times the reference's throughput `mine` reaches."""
    per_round = [a / b for a, b in zip(mine["round_ratios"], theirs["round_ratios"], strict=False)]
    return round(statistics.median(per_round), 3)


def verdicts(summaries, password_hashing):
    by_key = {summary["key"]: summary for summary in summaries}
    results = []
    for key, reference, minimum in TARGETS:
        mine, theirs = by_key[key], by_key[reference]
        target = {"endpoint": key, "reference": reference, "minimum_ratio": minimum}
        if "ratio_to_baseline" not in mine or "ratio_to_baseline" not in theirs:
            missing = mine if "ratio_to_baseline" not in mine else theirs
            target.update(ratio=None, verdict="n/a", why=f"{missing['key']}: {missing['state']}")
        else:
            ratio = relative_ratio(mine, theirs)
            broken = [s["key"] for s in (mine, theirs) if s["state"] != "ok"]
            passed = ratio >= minimum and not broken
            target.update(ratio=ratio, verdict="PASS" if passed else "FAIL")
            if broken:
                target["why"] = "errors during the run: " + ", ".join(broken)
        results.append(target)
    # Issue 7, item 4: a locked-out client is refused before the hasher runs, so its
    # median latency under the same load stays well under one Argon2 check.
    locked = by_key["kit_signin_locked"]
    check_ms = password_hashing["check_ms_median"]
    target = {
        "endpoint": "kit_signin_locked",
        "reference": f"half an Argon2 check ({check_ms / 2:.1f} ms)",
        "p50_ms": locked.get("p50_ms"),
    }
    if "p50_ms" in locked:
        passed = locked["p50_ms"] < check_ms / 2 and locked["state"] == "ok"
        target["verdict"] = "PASS" if passed else "FAIL"
    else:
        target.update(verdict="n/a", why=f"kit_signin_locked: {locked['state']}")
    results.append(target)
    return results


def results_name(database_url, redis_url):
    """results (PostgreSQL + Redis, the production set-up), results-sqlite (the embedded
    default: SQLite + local memory), or results-<database>-<cache> for a mix."""
    postgres = not database_url.startswith("sqlite")
    if postgres and redis_url:
        return "results"
    if not postgres and not redis_url:
        return "results-sqlite"
    return f"results-{'postgresql' if postgres else 'sqlite'}-{'redis' if redis_url else 'locmem'}"


def database_connections(database):
    """How the server holds its database connections (config/settings.py)."""
    pool = os.environ.get("DATABASE_POOL", "true").lower() not in ("false", "0", "no", "off")
    if database.startswith("postgresql") and pool:
        return "psycopg pool per process (DATABASE_POOL)"
    checks = os.environ.get("CONN_HEALTH_CHECKS", "true")
    return f"CONN_MAX_AGE={os.environ.get('CONN_MAX_AGE', '60')}, CONN_HEALTH_CHECKS={checks}"


def machine_info(database, cache):
    cpu_model = "unknown"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        match = re.search(r"^model name\s*:\s*(.*)$", cpuinfo.read_text(), re.MULTILINE)
        cpu_model = match.group(1) if match else cpu_model
    wrk_version = subprocess.run(["wrk", "-v"], capture_output=True, text=True, check=False)
    return {
        "cpu_model": cpu_model,
        "cpu_cores": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "django": version("Django"),
        "djangorestframework": version("djangorestframework"),
        "djangorestframework_simplejwt": version("djangorestframework-simplejwt"),
        "gunicorn": version("gunicorn"),
        "wrk": (wrk_version.stdout or wrk_version.stderr).splitlines()[0],
        "database": database,
        "cache": cache,
        "gunicorn_workers": WORKERS,
        "worker_class": "sync",
        "database_connections": database_connections(database),
    }


def git_commit():
    completed = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    )
    return completed.stdout.strip() or None


def print_report(summaries, targets):
    print(f"\n{'endpoint':<42} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'x base':>7}")
    for summary in summaries:
        if "median_rps" in summary:
            print(
                f"{summary['label']:<42} {summary['median_rps']:>9.1f} "
                f"{summary['p50_ms']:>8.2f} {summary['p99_ms']:>8.2f} "
                f"{summary.get('ratio_to_baseline', 0):>7.2f}"
                + ("" if summary["state"] == "ok" else f"  ERROR: {summary['reason']}")
            )
        else:
            print(f"{summary['label']:<42} {summary['state']}: {summary['reason']}")
    print("\nTargets (issue 7, items 2 and 4), from this run:")
    for target in targets:
        if "minimum_ratio" in target:
            measured = "-" if target["ratio"] is None else f"{target['ratio']:.2f}x"
            line = (
                f"{target['endpoint']} >= {target['minimum_ratio']}x {target['reference']}: "
                f"{measured}"
            )
        else:
            line = f"{target['endpoint']} p50 {target['p50_ms']} ms < {target['reference']}"
        why = f" ({target['why']})" if "why" in target else ""
        print(f"  {target['verdict']:<5} {line}{why}")


def draw_chart(summaries, machine, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    measured = [s for s in summaries if "median_rps" in s]
    colors = {"baseline": "#888888", "stock": "#e08a2c", "kit": "#2c6fbb"}
    groups = {e.key: e.group for e in endpoints("")}
    figure, axes = plt.subplots(figsize=(9, 0.45 * len(measured) + 1.6))
    labels = [s["label"] for s in measured]
    values = [s["median_rps"] for s in measured]
    bars = axes.barh(labels, values, color=[colors[groups[s["key"]]] for s in measured])
    for bar, summary in zip(bars, measured, strict=True):
        note = f" {summary.get('ratio_to_baseline', 0):.2f}x" + (
            "" if summary["state"] == "ok" else " (errors)"
        )
        axes.text(bar.get_width(), bar.get_y() + bar.get_height() / 2, note, va="center")
    axes.invert_yaxis()
    axes.set_xlabel("requests per second (median of rounds; x = ratio to the no-auth baseline)")
    axes.set_title(
        f"{machine['gunicorn_workers']} gunicorn sync workers, {machine['cpu_cores']} cores, "
        f"{machine['database'].split(' (')[0]}, {machine['cache'].split(' (')[0]}",
        fontsize=10,
    )
    axes.set_xlim(0, max(values) * 1.2)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


@dataclass
class ServedKit:
    port: int
    server: subprocess.Popen
    client: "Client"
    credentials: "Credentials"
    prepared: dict
    database: str
    cache: str
    database_url: str
    redis_url: str


@contextmanager
def serving_kit(password, prefix):
    """The kit under gunicorn on a free port of 127.0.0.1, on a database of its own
    (migrated, loaded by bench/prepare.py) and the bench's cache; stopped on exit."""
    with tempfile.TemporaryDirectory(prefix=prefix) as temp_dir:
        database_url, database = bench_database(temp_dir)
        redis_url, cache = bench_cache()
        env = server_environment(database_url, redis_url, password)
        manage(env, "migrate", "--noinput", "--verbosity", "0")
        prepared = prepare_data(env)
        port = free_port()
        server, log = start_gunicorn(env, port, OUT_DIR / "gunicorn.log")
        try:
            client = Client(port)
            wait_for_health(server, client)
            credentials = Credentials(
                client, password, prepared["api_key"], prepared["api_key_missing"]
            )
            yield ServedKit(
                port, server, client, credentials, prepared, database, cache, database_url,
                redis_url,
            )  # fmt: skip
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=30)
            log.close()


def hold_bench_lock():
    """One bench at a time on this checkout: two runs would drop each other's database
    and load the same cores. The lock goes with the process."""
    import fcntl

    handle = open(OUT_DIR / "bench.lock", "w")  # noqa: SIM115 - held until exit
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        sys.exit("another `make bench` (or bench/scale.py) is running here; wait for it")
    return handle


def main():
    ensure_wrk()
    OUT_DIR.mkdir(exist_ok=True)
    _lock = hold_bench_lock()
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    password = secrets.token_urlsafe(16)
    with serving_kit(password, "kit-bench-") as kit:
        print(
            f"bench: {kit.database}, cache {kit.cache}, {WORKERS} workers, "
            f"{CONNECTIONS} connections"
        )
        all_endpoints = endpoints(password)
        print(f"probing and warming up ({WARMUP} s each):")
        measure(all_endpoints, kit.credentials, kit.client, kit.port)
    prepared, database, cache = kit.prepared, kit.database, kit.cache
    baseline_rounds = all_endpoints[0].rounds
    summaries = [summarize(endpoint) for endpoint in all_endpoints]
    targets = verdicts(summaries, prepared["password_hashing"])
    machine = machine_info(database, cache)
    results = {
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "git_commit": git_commit(),
        "machine": machine,
        "settings": {
            "rounds": ROUNDS,
            "seconds_per_round": SECONDS,
            "warmup_seconds": WARMUP,
            "connections": CONNECTIONS,
            "wrk_threads": CONNECTIONS,
            "ratio": (
                "median over rounds of: req/s of the endpoint / mean req/s of the baseline "
                "runs just before and just after it"
            ),
        },
        "password_hashing": prepared["password_hashing"],
        "endpoints": summaries,
        "targets": targets,
    }
    name = results_name(kit.database_url, kit.redis_url)
    (RESULTS_DIR / f"{name}.json").write_text(json.dumps(results, indent=2) + "\n")
    print_report(summaries, targets)
    hashing = prepared["password_hashing"]
    print(
        f"\nArgon2 (time_cost={hashing['time_cost']}, memory_cost={hashing['memory_cost_kib']}"
        f" KiB, parallelism={hashing['parallelism']}): {hashing['hash_ms_median']} ms per hash,"
        f" {hashing['check_ms_median']} ms per check (median of {hashing['samples']})"
    )
    if baseline_rounds:
        draw_chart(summaries, machine, RESULTS_DIR / f"{name}.png")
    print(f"written: {RESULTS_DIR / name}.json, {RESULTS_DIR / name}.png")


if __name__ == "__main__":
    main()
