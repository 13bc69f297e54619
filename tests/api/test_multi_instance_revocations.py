"""Two gunicorn instances on PostgreSQL and Redis (the fixture of test_multi_instance.py):
every way of ending sessions made through one instance is refused on the other at once,
not only DELETE /devices/: logout-all, a password change, and a revocation made while
Redis is down, still refused once Redis is back (the stale "active" entries Redis kept
from before the outage are not trusted)."""

import contextlib
import socket
import threading

import pytest
from django.contrib.auth.hashers import make_password

from tests.api.test_multi_instance import _free_port, call
from tests.api.test_multi_instance import instances as instances  # the fixture
from tests.factories import DEFAULT_PASSWORD

pytestmark = [
    pytest.mark.multi_instance,
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.django_db(transaction=True),
]

TOKEN = "/api/v1/auth/token/"
REFRESH = "/api/v1/auth/token/refresh/"
ME = "/api/v1/me/"
NEW_PASSWORD = "a-new-passphrase-for-both-instances-57"


@pytest.fixture
def two_devices(make_user):
    """sign_in(a, b) -> (phone signed in through A, laptop through B), each token accepted
    (and its state cached as active) on both instances."""

    def sign_in(a, b):
        user = make_user()
        # The instances run the production hashers, not the tests' fast MD5.
        user.password = make_password(DEFAULT_PASSWORD, hasher="argon2")
        user.save(update_fields=["password"])
        body = {"username": user.username, "password": DEFAULT_PASSWORD}
        status, phone = call(a, "POST", TOKEN, {**body, "device_id": "phone"})
        assert status == 200, phone
        status, laptop = call(b, "POST", TOKEN, {**body, "device_id": "laptop"})
        assert status == 200, laptop
        for base in (a, b):
            for device in (phone, laptop):
                for _ in range(2):  # warm the instance's cache entry and its local view
                    assert call(base, "GET", ME, token=device["access"])[0] == 200
        return phone, laptop

    return sign_in


def _refused_everywhere(bases, device, device_id):
    """The device's access and refresh tokens are 401 session_revoked on every instance."""
    for base in bases:
        status, body = call(base, "GET", ME, token=device["access"])
        assert (status, body.get("code")) == (401, "session_revoked"), (base, body)
    status, body = call(
        bases[0], "POST", REFRESH, {"refresh": device["refresh"], "device_id": device_id}
    )
    assert (status, body.get("code")) == (401, "session_revoked"), body


def test_logout_all_through_b_is_refused_on_a(instances, two_devices):
    a, b = instances
    phone, laptop = two_devices(a, b)

    status, _ = call(b, "POST", "/api/v1/auth/logout-all/", token=laptop["access"])
    assert status == 204

    _refused_everywhere([a, b], phone, "phone")
    _refused_everywhere([a, b], laptop, "laptop")


def test_a_password_change_through_b_ends_the_other_devices_on_a(instances, two_devices):
    a, b = instances
    phone, laptop = two_devices(a, b)

    status, body = call(
        b,
        "POST",
        "/api/v1/auth/password/change/",
        {"old_password": DEFAULT_PASSWORD, "new_password": NEW_PASSWORD},
        token=laptop["access"],
    )
    assert status == 204, body

    _refused_everywhere([a, b], phone, "phone")
    # The device that changed it stays signed in, on both instances.
    for base in (a, b):
        assert call(base, "GET", ME, token=laptop["access"])[0] == 200


class RedisRelay:
    """A TCP relay in front of Redis that the test can cut (an outage: listener and every
    connection closed) and restore on the same port."""

    def __init__(self, target):
        self.target = target
        self.port = _free_port()
        self.sockets = []
        self.lock = threading.Lock()
        self.listener = None
        self.restore()

    def restore(self):
        self.listener = socket.create_server(("127.0.0.1", self.port))
        threading.Thread(target=self._accept, args=(self.listener,), daemon=True).start()

    def cut(self):
        listener, self.listener = self.listener, None
        with self.lock:
            open_sockets, self.sockets = [listener, *self.sockets], []
        for sock in open_sockets:
            _close(sock)

    def _accept(self, listener):
        while True:
            try:
                client, _ = listener.accept()
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                return
            with self.lock:
                self.sockets += [client, upstream]
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pipe(source, sink):
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            _close(source)
            _close(sink)


def _close(sock):
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)  # wakes a thread blocked in accept() or recv()
    sock.close()


@pytest.fixture
def redis_relay(settings):
    """The instances (started after this fixture) reach Redis through a relay the test cuts."""
    original = settings.CACHES
    location = original["default"]["LOCATION"]
    host_port, _, db = location.removeprefix("redis://").partition("/")
    host, _, port = host_port.partition(":")
    relay = RedisRelay((host, int(port or 6379)))
    settings.CACHES = {
        **settings.CACHES,
        "default": {
            **settings.CACHES["default"],
            "LOCATION": f"redis://127.0.0.1:{relay.port}/{db}",
        },
    }
    yield relay
    settings.CACHES = original  # before the relay goes: the cache is cleared after the test
    relay.cut()


def test_a_revocation_made_while_redis_is_down_holds_after_it_comes_back(
    redis_relay, instances, two_devices
):
    a, b = instances
    phone, laptop = two_devices(a, b)

    redis_relay.cut()
    status, body = call(
        b, "DELETE", f"/api/v1/devices/{phone['device']['id']}/", token=laptop["access"]
    )
    assert status == 204, body
    # During the outage every instance answers from the database.
    status, body = call(a, "GET", ME, token=phone["access"])
    assert (status, body.get("code")) == (401, "session_revoked")

    redis_relay.restore()

    # Redis still holds the phone's "active" entry from before the outage: not trusted.
    for _ in range(3):
        _refused_everywhere([a, b], phone, "phone")
    for base in (a, b):
        assert call(base, "GET", ME, token=laptop["access"])[0] == 200
