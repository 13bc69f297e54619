"""X-Forwarded-Proto is believed only from TRUSTED_PROXIES, end to end: gunicorn with
gunicorn.conf.py in production mode, as an operator runs it. gunicorn decides the WSGI
scheme itself (its forwarded_allow_ips and secure_scheme_headers) before Django sees the
request, so the Django-side rules alone prove nothing."""

import http.client
import os
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

pytestmark = pytest.mark.multi_instance

ROOT = Path(__file__).resolve().parents[2]
PORT = 8816
PAGE = "/api/v1/auth/csrf/"  # no database, no static files: only the scheme matters
SECRET = "kP3v9-real-looking-secret-Zq8wXy2nM4bR7tL1cH6dF0gJ5sA-uE3oI9pK2vN8"
READY_TIMEOUT = 30.0

# Every way a client could claim HTTPS through a header.
CLAIMS = [
    [("X-Forwarded-Proto", "https")],
    [("x-forwarded-proto", "https")],
    [("X_Forwarded_Proto", "https")],
    [("X-Forwarded-Ssl", "on")],
    [("X-Forwarded-Protocol", "ssl")],
    [("X-Forwarded-Scheme", "https")],
    [("X-Scheme", "https")],
    [("Forwarded", "proto=https")],
    [("X-Forwarded-Proto", "https"), ("X-Forwarded-Ssl", "on"), ("Forwarded", "proto=https")],
]


def _get(headers=()):
    """(status, headers) of GET PAGE with exactly these request headers."""
    connection = http.client.HTTPConnection("127.0.0.1", PORT, timeout=10)
    try:
        connection.putrequest("GET", PAGE)
        for name, value in headers:
            connection.putheader(name, value)
        connection.endheaders()
        response = connection.getresponse()
        response.read()
        return response.status, {k.lower(): v for k, v in response.getheaders()}
    finally:
        connection.close()


@contextmanager
def gunicorn(tmp_path, **env):
    """gunicorn in production mode on 127.0.0.1:PORT with gunicorn.conf.py."""
    log = (tmp_path / "gunicorn.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "config.wsgi"],
        cwd=ROOT,
        env={
            "PATH": os.environ["PATH"],
            "HOME": os.environ.get("HOME", "/tmp"),
            "HOST": "127.0.0.1",
            "PORT": str(PORT),
            "WEB_CONCURRENCY": "1",
            "DEBUG": "false",
            "SECRET_KEY": SECRET,
            "ALLOWED_HOSTS": "127.0.0.1",
            "SECURE_SSL_REDIRECT": "true",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
            **env,
        },
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + READY_TIMEOUT
        while True:
            if process.poll() is not None:
                raise RuntimeError((tmp_path / "gunicorn.log").read_text())
            try:
                _get()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)  # poll interval while gunicorn starts, not a timing wait
        yield
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()


def test_from_an_untrusted_peer_no_header_makes_the_request_https(tmp_path):
    """No TRUSTED_PROXIES: the client on 127.0.0.1 is not a proxy, whatever it sends."""
    with gunicorn(tmp_path):
        for claim in CLAIMS:
            status, headers = _get(claim)
            assert (status, headers.get("location")) == (
                301,
                f"https://127.0.0.1:{PORT}{PAGE}",
            ), claim
            assert "strict-transport-security" not in headers, claim


def test_a_peer_outside_trusted_proxies_is_not_believed(tmp_path):
    with gunicorn(tmp_path, TRUSTED_PROXIES="192.0.2.0/24, 10.0.0.1/8"):
        for claim in CLAIMS:
            status, _ = _get(claim)
            assert status == 301, claim


def test_a_trusted_proxy_is_believed_for_x_forwarded_proto_only(tmp_path):
    with gunicorn(tmp_path, TRUSTED_PROXIES="10.0.0.0/8,127.0.0.1"):
        status, headers = _get([("X-Forwarded-Proto", "https")])
        assert status == 204
        assert headers["strict-transport-security"].startswith("max-age=")
        # The other spellings are not what the proxy is told to set: not believed.
        for claim in CLAIMS[3:8]:
            status, _ = _get(claim)
            assert status == 301, claim
        assert _get([("X-Forwarded-Proto", "http")])[0] == 301


@pytest.mark.parametrize(
    ("trusted", "header"), [("", "None"), ("10.0.0.1", "HTTP_X_FORWARDED_PROTO")]
)
def test_django_reads_the_proto_header_only_when_proxies_are_trusted(trusted, header):
    """Without TRUSTED_PROXIES, Django must not read the header at all, whichever server
    runs it (runserver, another WSGI server, a middleware order changed)."""
    result = subprocess.run(
        [
            sys.executable,
            "manage.py",
            "shell",
            "-c",
            "from django.conf import settings; "
            "print((settings.SECURE_PROXY_SSL_HEADER or [None])[0])",
        ],
        cwd=ROOT,
        env={
            "PATH": os.environ["PATH"],
            "HOME": os.environ.get("HOME", "/tmp"),
            "DEBUG": "false",
            "SECRET_KEY": SECRET,
            "ALLOWED_HOSTS": "127.0.0.1",
            "TRUSTED_PROXIES": trusted,
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == header
