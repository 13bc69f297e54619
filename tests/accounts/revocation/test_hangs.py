"""A Redis that hangs (issue 19, item 4): every cache call gives up after the configured
socket timeout, and requests answer in bounded time (degraded /healthz, /me from the
database, a revocation that holds), never stall.

Two hangs: a port that accepts connections and never answers (a listening socket nobody
reads), and a real Redis of this test's own, paused with SIGSTOP. The shared Redis is
never touched. The bounds are loose on purpose (a busy machine must not fail them): they
tell "answers" from "hangs", while issue 18 owns how fast an answer must be.
"""

import signal
import socket
import subprocess
import time

import pytest
import redis
from django.core.cache import cache

from accounts.devices import sessions
from accounts.models import DeviceSession
from accounts.revocation import process_view

pytestmark = [pytest.mark.redis, pytest.mark.django_db]

ME_URL = "/api/v1/me/"
REQUEST_BOUND = 10.0  # seconds: a request that needs the hung cache answers within this


def _free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def point_cache_at(settings):
    """point_cache_at(port): the cache (same options: its socket timeouts) at
    127.0.0.1:port from now until the test ends, the local view restarted on it."""
    reachable = settings.CACHES

    def _point(port):
        process_view.stop()
        default = reachable["default"]
        location = f"redis://127.0.0.1:{port}/0"
        settings.CACHES = {**reachable, "default": {**default, "LOCATION": location}}

    yield _point
    process_view.stop()
    settings.CACHES = reachable


@pytest.fixture
def socket_timeout(settings):
    """The configured timeout of one cache call (config/settings.py)."""
    return settings.CACHES["default"]["OPTIONS"]["socket_timeout"]


@pytest.fixture
def hung_port():
    """A port that accepts connections (the kernel completes them) and never answers."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)
        yield listener.getsockname()[1]


@pytest.fixture
def own_redis(tmp_path, wait_for):
    """A redis-server of this test's own on a free port: -> (port, process). Resumed and
    stopped at the end, whatever the test did to it."""
    port = _free_port()
    server = subprocess.Popen(
        [
            *("redis-server", "--port", str(port), "--bind", "127.0.0.1"),
            *("--save", "", "--appendonly", "no", "--dir", str(tmp_path)),
        ],
        stdout=subprocess.DEVNULL,
    )
    probe = redis.Redis(port=port, socket_timeout=1, socket_connect_timeout=1)

    def _ready():
        try:
            return probe.ping()
        except redis.ConnectionError:
            return False

    try:
        wait_for(_ready)
        yield port, server
    finally:
        probe.close()
        server.send_signal(signal.SIGCONT)
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=10)


def timed(call):
    """(result, seconds) of call()."""
    started = time.monotonic()
    result = call()
    return result, time.monotonic() - started


def assert_a_cache_call_gives_up(socket_timeout):
    started = time.monotonic()
    with pytest.raises(redis.RedisError):
        cache.get("any-key")
    waited = time.monotonic() - started
    # The configured socket timeout bounds it (plus scheduling), no retry loop behind it.
    assert waited < socket_timeout + 1.0, waited


def assert_requests_answer_from_the_database(api_client, bearer, access):
    health, seconds = timed(lambda: api_client.get("/healthz"))
    assert seconds < REQUEST_BOUND, seconds
    assert health.json() == {"status": "degraded", "database": "ok", "cache": "error"}
    me, seconds = timed(lambda: api_client.get(ME_URL, **bearer(access)))
    assert seconds < REQUEST_BOUND, seconds
    assert me.status_code == 200


def test_a_port_that_accepts_and_never_answers(
    sign_in, api_client, bearer, hung_port, point_cache_at, socket_timeout
):
    access = sign_in().json()["access"]
    point_cache_at(hung_port)

    assert_a_cache_call_gives_up(socket_timeout)
    assert_requests_answer_from_the_database(api_client, bearer, access)


def test_a_paused_redis(
    sign_in,
    api_client,
    bearer,
    own_redis,
    point_cache_at,
    socket_timeout,
    django_capture_on_commit_callbacks,
):
    port, server = own_redis
    point_cache_at(port)
    with django_capture_on_commit_callbacks(execute=True):
        access = sign_in().json()["access"]
        lost = sign_in(device_id="lost-phone").json()["access"]
    # Warm: both sessions cached as active in this Redis.
    assert api_client.get(ME_URL, **bearer(access)).status_code == 200
    assert api_client.get(ME_URL, **bearer(lost)).status_code == 200

    server.send_signal(signal.SIGSTOP)
    try:
        assert_a_cache_call_gives_up(socket_timeout)
        assert_requests_answer_from_the_database(api_client, bearer, access)
        # A revocation made meanwhile returns in bounded time and holds.
        session = DeviceSession.objects.get(device_id="lost-phone")
        with django_capture_on_commit_callbacks(execute=True):
            revoked, seconds = timed(lambda: sessions.revoke_session(session, reason="admin"))
        assert revoked is True
        assert seconds < REQUEST_BOUND, seconds
        response = api_client.get(ME_URL, **bearer(lost))
        assert (response.status_code, response.json()["code"]) == (401, "session_revoked")
    finally:
        server.send_signal(signal.SIGCONT)

    # Resumed: the revoked session stays refused, the other works, the cache serves again.
    response = api_client.get(ME_URL, **bearer(lost))
    assert (response.status_code, response.json()["code"]) == (401, "session_revoked")
    assert api_client.get(ME_URL, **bearer(access)).status_code == 200
    assert api_client.get("/healthz").json()["status"] == "ok"
