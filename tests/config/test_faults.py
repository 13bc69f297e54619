"""Outages answered fast (issue 18, items 5 and 6): the kit in production mode (gunicorn,
gthread workers, the database pool) against a PostgreSQL and a Redis of the test's own,
which it stops and pauses, measuring what a client sees.

- PostgreSQL stopped (`pg_ctl stop -m fast`): every API route answers 503
  `service_unavailable` JSON within 2 s, /healthz 503 within 1 s; after `pg_ctl start`
  the kit serves again within 2 s.
- Redis hung (SIGSTOP: connections accepted by the kernel, never answered): after the
  first timeout of each process, /me's median stays under 100 ms, a revoke returns within
  2 s, the revoked token is refused throughout and after, and no false "did not
  acknowledge" error is logged.

The figures go to docs/performance.md ("Outages"). Needs initdb/pg_ctl (PostgreSQL's
server binaries) and redis-server on this machine; CI requires it (KIT_REQUIRE_SERVICES
names `faults`).
"""

# ruff: noqa: S310 - every URL here is http://127.0.0.1:<port> built by this module

import json
import os
import pwd
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from django.conf import settings

from tests.conftest import postgres_server_binaries
from tests.factories import DEFAULT_PASSWORD

pytestmark = [pytest.mark.faults, pytest.mark.timeout(120)]

BASE_DIR = Path(settings.BASE_DIR)
READY = 30.0  # seconds for a server to start
SECRET = "fault-test-secret-key-" + "x" * 40
ADA = ["--username", "ada", "--email", "ada@example.com"]


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait(condition, what, bound=READY):
    deadline = time.monotonic() + bound
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)  # poll interval of a bounded wait
    raise RuntimeError(f"{what}: not ready after {bound} s")


def _accepts(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
        return True
    except OSError:
        return False


def call(base, method, path, body=None, token=None):
    """(status, JSON body or None, seconds) of one request."""
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(base + path, data=data, headers=headers, method=method)
    started = time.monotonic()
    try:
        with urllib.request.urlopen(request, timeout=15) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, raw = error.code, error.read()
    took = time.monotonic() - started
    try:
        return status, json.loads(raw) if raw else None, took
    except ValueError:
        return status, raw[:200], took  # not JSON: the assertion shows it


class Postgres:
    """A throwaway cluster: initdb in a temp dir, on a free port, trust auth. As root (a
    container), the server runs as the `postgres` user, as PostgreSQL insists."""

    def __init__(self):
        self.bin = postgres_server_binaries()
        self.root = Path(tempfile.mkdtemp(prefix="kit-faults-"))
        self.as_user = []
        if os.geteuid() == 0:
            owner = pwd.getpwnam("postgres")
            os.chown(self.root, owner.pw_uid, owner.pw_gid)
            self.as_user = ["runuser", "-u", "postgres", "--"]
        self.data, self.port = self.root / "pgdata", _free_port()
        self.log = self.root / "postgres.log"
        self._run("initdb", "-D", self.data, "-U", "postgres", "--auth=trust", "-E", "UTF8")
        self.options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"

    def _run(self, program, *args):
        subprocess.run([*self.as_user, self.bin / program, *args], check=True, capture_output=True)

    def start(self):
        self._run("pg_ctl", "-D", self.data, "-o", self.options, "-l", self.log, "-w", "start")

    def stop(self):
        self._run("pg_ctl", "-D", self.data, "-m", "fast", "-w", "stop")

    def remove(self):
        shutil.rmtree(self.root, ignore_errors=True)

    @property
    def url(self):
        return f"postgres://postgres@127.0.0.1:{self.port}/kit"


@pytest.fixture(scope="module")
def kit(tmp_path_factory):
    """The kit under gunicorn (2 workers x 4 threads, production settings) on its own
    PostgreSQL and Redis: (base URL, Postgres, redis-server process, gunicorn log)."""
    root = tmp_path_factory.mktemp("faults")
    postgres = Postgres()
    postgres.start()
    redis_port = _free_port()
    redis = subprocess.Popen(
        ["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1", "--save", ""],
        stdout=subprocess.DEVNULL,
    )
    gunicorn = None
    try:
        server = ["-h", "127.0.0.1", "-p", str(postgres.port), "-U", "postgres"]
        subprocess.run(
            [postgres.bin / "createdb", *server, "kit"],
            check=True,
            capture_output=True,
        )
        _wait(lambda: _accepts(redis_port), "redis-server")
        port = _free_port()
        env = {
            **os.environ,
            "DATABASE_URL": postgres.url,
            "REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
            "CACHE_URL": "",
            "CACHE_KEY_PREFIX": "faults",
            "DEBUG": "false",
            "SECURE_SSL_REDIRECT": "false",
            "ALLOWED_HOSTS": "127.0.0.1",
            "SECRET_KEY": SECRET,
            "HOST": "127.0.0.1",
            "PORT": str(port),
            "WEB_CONCURRENCY": "2",
            "DJANGO_SUPERUSER_PASSWORD": DEFAULT_PASSWORD,
        }
        # The timeouts are the defaults under test: none is set here.
        for name in (
            "DATABASE_POOL_TIMEOUT",
            "DATABASE_CONNECT_TIMEOUT",
            "DATABASE_POOL_RECONNECT_TIMEOUT",
            "ACCOUNTS_CACHE_BREAKER_SECONDS",
            "GUNICORN_THREADS",
            "GUNICORN_TIMEOUT",
        ):
            env.pop(name, None)
        manage = [sys.executable, "manage.py"]
        subprocess.run([*manage, "migrate", "-v0"], cwd=BASE_DIR, env=env, check=True)
        subprocess.run(
            [*manage, "createsuperuser", "--noinput", *ADA],
            cwd=BASE_DIR,
            env=env,
            check=True,
            capture_output=True,
        )
        log = root / "gunicorn.log"
        with log.open("w") as out:
            gunicorn = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "config.wsgi"],
                cwd=BASE_DIR,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        base = f"http://127.0.0.1:{port}"
        _wait(lambda: _accepts(port) and call(base, "GET", "/healthz")[0] == 200, "gunicorn")
        yield base, postgres, redis, log
    finally:
        if gunicorn is not None:
            gunicorn.terminate()
            gunicorn.wait(15)
        os.kill(redis.pid, signal.SIGCONT)
        redis.terminate()
        redis.wait(10)
        postgres.stop()
        postgres.remove()


def sign_in(base, device_id):
    body = {"username": "ada", "password": DEFAULT_PASSWORD, "device_id": device_id}
    status, answer, _ = call(base, "POST", "/api/v1/auth/token/", body)
    assert status == 200, answer
    return answer


def test_database_down_is_503_fast_and_serving_resumes_within_2_s(kit):
    base, postgres, _, _ = kit
    pair = sign_in(base, "phone-db")
    routes = [
        ("POST", "/api/v1/auth/token/", {"username": "ada", "password": "x", "device_id": "p"}),
        (
            "POST",
            "/api/v1/auth/token/refresh/",
            {"refresh": pair["refresh"], "device_id": "phone-db"},
        ),
        ("GET", "/api/v1/devices/", None),
        ("POST", "/api/v1/auth/logout-all/", None),
        ("GET", "/api/v1/me/", None),
    ]
    # Requests in parallel: each worker's pool holds several connections, all of which the
    # stop ends (the first request after the return must not spend its wait on them).
    with ThreadPoolExecutor(4) as parallel:
        statuses = list(
            parallel.map(
                lambda _: call(base, "GET", "/api/v1/devices/", token=pair["access"])[0],
                range(16),
            )
        )
    assert statuses == [200] * 16
    postgres.stop()
    try:
        for _ in range(2):  # each of the two workers, probably
            status, body, took = call(base, "GET", "/healthz")
            print(f"database down: GET /healthz {status} in {took:.3f} s")
            assert (status, body["database"]) == (503, "error")
            assert took < 1.0, f"/healthz took {took:.2f} s"
        for method, path, body in routes:
            status, answer, took = call(base, method, path, body, token=pair["access"])
            print(f"database down: {method} {path} {status} in {took:.3f} s")
            assert took < 2.0, f"{method} {path} took {took:.2f} s"
            if path == "/api/v1/me/" and status == 200:
                continue  # answered from the cache alone: no database needed
            assert (status, answer["code"]) == (503, "service_unavailable"), (path, answer)
        # Traffic on every worker during the outage, as an instance under load has: each
        # worker's pool then drops its dead connections (a worker that served nothing
        # during it may fail its first request after the return: docs/performance.md).
        with ThreadPoolExecutor(8) as parallel:
            statuses = set(
                parallel.map(
                    lambda _: call(base, "GET", "/api/v1/devices/", token=pair["access"])[0],
                    range(8),
                )
            )
        assert statuses == {503}
    finally:
        postgres.start()
    back = time.monotonic()
    _wait(lambda: call(base, "GET", "/api/v1/me/", token=pair["access"])[0] == 200, "db", 10)
    # Both workers serve: a few requests in a row, all answered.
    for _ in range(4):
        status, _, _ = call(base, "GET", "/api/v1/devices/", token=pair["access"])
        assert status == 200
    print(f"database back: serving again after {time.monotonic() - back:.3f} s")
    assert time.monotonic() - back < 2.0, f"serving again after {time.monotonic() - back:.2f} s"


def test_a_hung_redis_costs_one_timeout_and_revocation_holds(kit):
    base, _, redis, log = kit
    keep = sign_in(base, "phone-keep")
    gone = sign_in(base, "phone-gone")
    os.kill(redis.pid, signal.SIGSTOP)
    try:
        # The first requests of each worker wait out the cache's socket timeout (1 s).
        for _ in range(4):
            status, _, took = call(base, "GET", "/api/v1/me/", token=keep["access"])
            print(f"redis hung: first GET /api/v1/me/ {status} in {took:.3f} s")
            assert status == 200
        times = []
        for _ in range(20):
            status, _, took = call(base, "GET", "/api/v1/me/", token=keep["access"])
            assert status == 200
            times.append(took)
        median = statistics.median(times)
        print(f"redis hung: GET /api/v1/me/ median {median * 1000:.1f} ms, max {max(times):.3f} s")
        assert median < 0.1, f"/me median {median * 1000:.0f} ms while Redis is hung"

        status, _, took = call(base, "POST", "/api/v1/auth/logout/", token=gone["access"])
        print(f"redis hung: POST /api/v1/auth/logout/ {status} in {took:.3f} s")
        assert status == 204
        assert took < 2.0, f"a revoke took {took:.2f} s while Redis is hung"
        for _ in range(4):
            status, answer, _ = call(base, "GET", "/api/v1/me/", token=gone["access"])
            assert (status, answer["code"]) == (401, "session_revoked")
    finally:
        os.kill(redis.pid, signal.SIGCONT)
    for _ in range(6):  # after Redis resumes (and each process repairs): still refused
        status, answer, _ = call(base, "GET", "/api/v1/me/", token=gone["access"])
        assert (status, answer["code"]) == (401, "session_revoked")
    errors = [line for line in log.read_text().splitlines() if "acknowledge" in line]
    assert errors == []
