"""The logs an operator reads: a request id on every line and in X-Request-ID (a trusted
proxy's if sane, else a new one), the user and device session in JSON lines, and never a
password, token or key, in either format, across the flows that handle them."""

import io
import json
import logging
import re
import subprocess
import sys

import pytest
from django.conf import settings
from django.test import Client

from config.logs import RequestContextFilter

pytestmark = pytest.mark.django_db

PROXY = "10.0.0.5"


def _handler(name):
    options = {k: v for k, v in settings.LOGGING["formatters"][name].items() if k != "()"}
    factory = settings.LOGGING["formatters"][name]["()"]
    module, _, cls = factory.rpartition(".")
    formatter_class = getattr(sys.modules.get(module) or __import__(module, fromlist=[cls]), cls)
    if "format" in options:
        options["fmt"] = options.pop("format")
    handler = logging.StreamHandler(io.StringIO())
    handler.setFormatter(formatter_class(**options))
    handler.addFilter(RequestContextFilter())
    return handler


@pytest.fixture
def captured_logs():
    """Every record of the run, in both formats, as settings.LOGGING formats them."""
    handlers = {"plain": _handler("plain"), "json": _handler("json")}
    loggers = [logging.getLogger(), logging.getLogger("django")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.DEBUG)
        for handler in handlers.values():
            logger.addHandler(handler)
    yield {name: handler.stream for name, handler in handlers.items()}
    for logger, level in zip(loggers, levels, strict=True):
        logger.setLevel(level)
        for handler in handlers.values():
            logger.removeHandler(handler)


def _json_lines(stream):
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.startswith("{")]


# --- X-Request-ID -----------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/", "/api/v1/me/", "/no/such/page/", "/healthz"])
def test_every_response_carries_a_new_request_id(client, path):
    first, second = client.get(path)["X-Request-ID"], client.get(path)["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", first)
    assert first != second


def test_a_trusted_proxys_request_id_is_kept(settings):
    settings.TRUSTED_PROXIES = [PROXY]
    response = Client(REMOTE_ADDR=PROXY).get("/healthz", HTTP_X_REQUEST_ID="edge-7f3a.42")
    assert response["X-Request-ID"] == "edge-7f3a.42"


@pytest.mark.parametrize(
    ("peer", "incoming"),
    [
        ("203.0.113.9", "client-made-up"),  # not from the proxy
        (PROXY, "two words"),
        (PROXY, "forged\nline"),
        (PROXY, "x" * 129),
        (PROXY, '"quoted"'),
    ],
)
def test_any_other_request_id_is_replaced(settings, peer, incoming):
    settings.TRUSTED_PROXIES = [PROXY]
    response = Client(REMOTE_ADDR=peer).get("/healthz", HTTP_X_REQUEST_ID=incoming)
    assert re.fullmatch(r"[0-9a-f]{32}", response["X-Request-ID"])


def test_json_lines_carry_the_request_id_the_user_and_the_device_session(
    captured_logs, sign_in, api_client, bearer, user
):
    pair = sign_in().json()
    response = api_client.post("/api/v1/auth/logout/", **bearer(pair["access"]))
    assert response.status_code == 204
    lines = [
        line
        for line in _json_lines(captured_logs["json"])
        if line["request_id"] == response["X-Request-ID"]
    ]
    assert lines
    assert {(line["user_id"], line["device_session_id"]) for line in lines} == {
        (user.pk, pair["device"]["id"])
    }
    assert {"time", "level", "logger", "message"} <= set(lines[0])


def test_json_lines_name_the_api_key_by_its_prefix(captured_logs, api_client, make_api_key):
    api_key, raw_key = make_api_key(scopes=["users:read"])
    response = api_client.get("/api/v1/service/users/999999/", HTTP_X_API_KEY=raw_key)
    assert response.status_code == 404
    line = next(
        line
        for line in _json_lines(captured_logs["json"])
        if line["request_id"] == response["X-Request-ID"]
    )
    assert line["api_key"] == api_key.prefix


# --- no secrets -------------------------------------------------------------------------


def _reset_link(mail):
    return re.search(r"https?://[^/\s]+(/accounts/reset/\S+/)", mail.body).group(1)


def test_no_password_token_or_key_reaches_the_logs(
    captured_logs, user, password, api_client, make_api_key, mailoutbox, settings
):
    """The flows that carry secrets, some of them badly (a token in a URL, a wrong key),
    plus the line runserver writes for a password-reset link."""
    secrets = {password}
    pair = api_client.post(
        "/api/v1/auth/token/",
        {"username": user.username, "password": password, "device_id": "phone-1"},
        format="json",
    ).json()
    secrets |= {pair["access"], pair["refresh"], pair["device"]["trust_token"]}
    fresh = api_client.post(
        "/api/v1/auth/token/refresh/",
        {"refresh": pair["refresh"], "device_id": "phone-1"},
        format="json",
    ).json()
    secrets |= {fresh["access"], fresh["refresh"]}
    # Reuse of a spent refresh token, and a client that puts its token in a URL.
    api_client.post(
        "/api/v1/auth/token/refresh/",
        {"refresh": pair["refresh"], "device_id": "phone-1"},
        format="json",
    )
    api_client.get(f"/api/v1/{fresh['access']}/")
    api_client.get("/api/v1/me/", HTTP_AUTHORIZATION=f"Bearer {fresh['access']}x")
    # Browser: cookie login, a wrong password, the HTML login.
    browser = Client()
    browser.get("/api/v1/auth/csrf/")
    browser.post(
        "/api/v1/auth/cookie/login/",
        {"username": user.username, "password": password},
        content_type="application/json",
        HTTP_X_CSRFTOKEN=browser.cookies["csrftoken"].value,
    )
    secrets |= {browser.cookies["access_token"].value, browser.cookies["refresh_token"].value}
    Client().post("/accounts/login/", {"username": user.username, "password": password + "!"})
    Client().post("/accounts/login/", {"username": user.username, "password": password})
    # API keys: a good one, a forged one with its prefix, an unknown one.
    _, raw_key = make_api_key(scopes=["users:read"])
    forged = f"{raw_key[:-40]}{'B' * 40}"
    secrets |= {raw_key, raw_key[-40:], forged}
    for key in (raw_key, forged, "kit_zzzzzzzz_" + "A" * 40):
        api_client.get("/api/v1/service/ping/", HTTP_X_API_KEY=key)
    # Password reset: the link's token, the new password, and runserver's access line.
    Client().post("/accounts/password_reset/", {"email": user.email})
    link = _reset_link(mailoutbox[0])
    token = link.rstrip("/").rsplit("/", 1)[1]
    secrets.add(token)
    reset = Client()
    set_url = reset.get(link, follow=True).redirect_chain[-1][0]
    new_password = "an0ther-Correct-horse"
    reset.post(set_url, {"new_password1": new_password, "new_password2": new_password})
    secrets.add(new_password)
    logging.getLogger("django.server").info('"%s" %s %s', f"GET {link} HTTP/1.1", 302, 0)

    for name, stream in captured_logs.items():
        text = stream.getvalue()
        assert len(text.splitlines()) > 10, name  # the run did log
        leaked = sorted(secret for secret in secrets if secret in text)
        assert leaked == [], f"{name} log leaks {leaked}"
    assert "[token]" in captured_logs["json"].getvalue()


def test_an_unknown_log_format_stops_start_up():
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        env={"DJANGO_SETTINGS_MODULE": "config.settings", "DEBUG": "true", "LOG_FORMAT": "xml"},
        capture_output=True,
        text=True,
        cwd=settings.BASE_DIR,
    )
    assert result.returncode == 1
    assert "LOG_FORMAT must be plain or json" in result.stderr
