"""Two gunicorn instances sharing PostgreSQL and Redis agree on a revocation at once."""

# ruff: noqa: S310 - every URL here is http://127.0.0.1:<port> built by this module

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.hashers import make_password

from accounts.revocation import process_view
from tests.factories import DEFAULT_PASSWORD

pytestmark = [
    pytest.mark.multi_instance,
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.django_db(transaction=True),
]

BASE_DIR = Path(settings.BASE_DIR)
READY_TIMEOUT = 30.0


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _test_database_url():
    db = settings.DATABASES["default"]
    user = db.get("USER") or "postgres"
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    host = db.get("HOST") or "127.0.0.1"
    port = db.get("PORT") or 5432
    return f"postgres://{user}{password}@{host}:{port}/{db['NAME']}"


def call(base, method, path, body=None, token=None):
    """(status, JSON body) of one request to an instance."""
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(base + path, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            raw = response.read()
            return response.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as error:
        raw = error.read()
        return error.code, json.loads(raw) if raw else None


def _wait_until_ready(base, process):
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {process.returncode}")
        try:
            with urllib.request.urlopen(base + "/healthz", timeout=1) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.1)  # poll interval, not a wait for timing
    raise RuntimeError(f"{base} not ready after {READY_TIMEOUT}s")


@pytest.fixture
def instances(tmp_path, request):
    """Two gunicorn processes (A, B) on free ports, on the test database and Redis (plus
    the requesting module's INSTANCE_ENV, if it has one)."""
    env = {
        **os.environ,
        "DATABASE_URL": _test_database_url(),
        "REDIS_URL": settings.CACHES["default"]["LOCATION"],
        "CACHE_URL": "",
        "CONN_MAX_AGE": "0",
        "DEBUG": "false",
        "SECURE_SSL_REDIRECT": "false",
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECRET_KEY": settings.SECRET_KEY,
        # Each instance keeps its per-process view (accounts.revocation.process_view): the
        # rounds below check that a revocation reaches it before the revoking call returns.
        "ACCOUNTS_LOCAL_VIEW": "true",
        "CACHE_KEY_PREFIX": settings.CACHES["default"].get("KEY_PREFIX", ""),
        **getattr(request.module, "INSTANCE_ENV", {}),
    }
    processes, bases = [], []
    try:
        for name in ("a", "b"):
            port = _free_port()
            log = (tmp_path / f"gunicorn-{name}.log").open("w")
            process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "gunicorn",
                    "config.wsgi",
                    "--bind",
                    f"127.0.0.1:{port}",
                    "--workers",
                    "1",
                ],
                cwd=BASE_DIR,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
            processes.append(process)
            bases.append(f"http://127.0.0.1:{port}")
        for base, process in zip(bases, processes, strict=True):
            _wait_until_ready(base, process)
        yield bases
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def test_revoke_through_one_instance_refused_on_both(instances, make_user):
    a, b = instances
    user = make_user()
    # The instances run the production hashers, not the tests' fast MD5.
    user.password = make_password(DEFAULT_PASSWORD, hasher="argon2")
    user.save(update_fields=["password"])
    sign_in = {"username": user.username, "password": DEFAULT_PASSWORD}

    status, phone = call(a, "POST", "/api/v1/auth/token/", {**sign_in, "device_id": "phone"})
    assert status == 200, phone
    status, laptop = call(b, "POST", "/api/v1/auth/token/", {**sign_in, "device_id": "laptop"})
    assert status == 200, laptop
    # Both instances accept the phone's token (and cache its state as active).
    for base in (a, b):
        assert call(base, "GET", "/api/v1/me/", token=phone["access"])[0] == 200

    status, _ = call(
        b, "DELETE", f"/api/v1/devices/{phone['device']['id']}/", token=laptop["access"]
    )
    assert status == 204

    for base in (a, b):
        status, body = call(base, "GET", "/api/v1/me/", token=phone["access"])
        assert (status, body.get("code")) == (401, "session_revoked"), base
        status, body = call(
            base,
            "POST",
            "/api/v1/auth/token/refresh/",
            {"refresh": phone["refresh"], "device_id": "phone"},
        )
        assert (status, body.get("code")) == (401, "session_revoked"), base
    # The revoking device itself is untouched.
    assert call(a, "GET", "/api/v1/me/", token=laptop["access"])[0] == 200


ROUNDS = 30


def test_revoked_through_b_is_refused_by_a_at_once_every_round(instances, make_user):
    """30 rounds: A serves a device's token from its warm view, B revokes the device, and
    A's very next request is refused (A's view was emptied before B's call returned)."""
    a, b = instances
    user = make_user()
    user.password = make_password(DEFAULT_PASSWORD, hasher="argon2")
    user.save(update_fields=["password"])
    sign_in = {"username": user.username, "password": DEFAULT_PASSWORD}
    status, laptop = call(b, "POST", "/api/v1/auth/token/", {**sign_in, "device_id": "laptop"})
    assert status == 200, laptop

    failures = []
    for round_number in range(ROUNDS):
        status, phone = call(
            a, "POST", "/api/v1/auth/token/", {**sign_in, "device_id": f"phone-{round_number}"}
        )
        assert status == 200, phone
        for _ in range(3):  # warm A's view (its subscriber starts with the first request)
            assert call(a, "GET", "/api/v1/me/", token=phone["access"])[0] == 200
        status, _ = call(
            b, "DELETE", f"/api/v1/devices/{phone['device']['id']}/", token=laptop["access"]
        )
        assert status == 204
        status, body = call(a, "GET", "/api/v1/me/", token=phone["access"])
        if (status, body.get("code")) != (401, "session_revoked"):
            failures.append((round_number, status, body))
    assert failures == []


def _worker_pid(base):
    """The pid of the gunicorn worker behind `base` (its master has one worker)."""
    port = base.rsplit(":", 1)[1]
    for status in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            cmdline = status.read_bytes().split(b"\0")
        except OSError:
            continue
        if b"gunicorn" in b" ".join(cmdline) and f"127.0.0.1:{port}".encode() in cmdline:
            master = status.parent.name
            children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
            return int(children[0])
    raise AssertionError(f"no gunicorn master for {base}")


def test_a_worker_frozen_during_a_revocation_refuses_the_token_when_it_wakes(instances, make_user):
    """Issue 21: the revocation waits for the frozen worker's lease at most, and the
    worker, woken, distrusts its view until it has caught up."""
    a, b = instances
    user = make_user()
    user.password = make_password(DEFAULT_PASSWORD, hasher="argon2")
    user.save(update_fields=["password"])
    sign_in = {"username": user.username, "password": DEFAULT_PASSWORD}
    status, laptop = call(b, "POST", "/api/v1/auth/token/", {**sign_in, "device_id": "laptop"})
    assert status == 200, laptop
    status, phone = call(a, "POST", "/api/v1/auth/token/", {**sign_in, "device_id": "phone"})
    assert status == 200, phone
    for base in (a, b, a, b):
        assert call(base, "GET", "/api/v1/me/", token=phone["access"])[0] == 200
    worker = _worker_pid(a)
    os.kill(worker, signal.SIGSTOP)
    try:
        started = time.monotonic()
        status, _ = call(
            b, "DELETE", f"/api/v1/devices/{phone['device']['id']}/", token=laptop["access"]
        )
        waited = time.monotonic() - started
        assert status == 204
    finally:
        os.kill(worker, signal.SIGCONT)
    # Waited for the frozen worker's lease at most (the revoker's own deadline is longer).
    assert waited < process_view.LEASE + process_view.LEASE_MARGIN, waited
    status, body = call(a, "GET", "/api/v1/me/", token=phone["access"])
    assert (status, body.get("code")) == (401, "session_revoked")
