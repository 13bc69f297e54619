"""SENTRY_DSN turns on Sentry with no personal data: settings initialise sentry-sdk only
when it is set, with PII, request bodies and local variables off, and an error raised in
a request that carried a password, tokens, a key and cookies reaches Sentry without any
of them. Run in a subprocess (sentry-sdk patches Django process-wide) whose transport
keeps the events in memory: nothing is sent."""

import json
import os
import subprocess
import sys

from django.conf import settings

FAKE_DSN = "https://0123456789abcdef@127.0.0.1:9/1"

_OPTIONS = """
import json, django, sentry_sdk
django.setup()
client = sentry_sdk.get_client()
print(json.dumps({"active": client.is_active(), **{k: client.options[k] for k in (
    "dsn", "send_default_pii", "max_request_body_size", "include_local_variables")}}))
"""

_ERROR = """
import json, sys, types, django, sentry_sdk
from sentry_sdk.transport import Transport

class Keep(Transport):
    sent = []
    def capture_envelope(self, envelope):
        Keep.sent.append(envelope.serialize().decode())

django.setup()
sentry_sdk.get_client().transport = Keep(sentry_sdk.get_client().options)
from django.test import Client, override_settings
from django.urls import path

def boom(request):
    raw_refresh = SECRETS["refresh"]  # a local variable that must not travel
    raise RuntimeError("boom " + str(len(raw_refresh)))

urls = types.ModuleType("boom_urls")
urls.urlpatterns = [path("boom/", boom)]
sys.modules["boom_urls"] = urls
SECRETS = json.loads(sys.stdin.read())  # not argv: Sentry reports sys.argv
STORAGES = {"staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
with override_settings(ROOT_URLCONF="boom_urls", STORAGES=STORAGES):  # no collectstatic here
    client = Client(raise_request_exception=False)
    client.cookies["sessionid"] = SECRETS["session"]
    response = client.post(
        "/boom/?token=" + SECRETS["query"],
        json.dumps({"password": SECRETS["password"], "refresh": SECRETS["refresh"]}),
        content_type="application/json",
        HTTP_AUTHORIZATION="Bearer " + SECRETS["access"],
        HTTP_X_API_KEY=SECRETS["key"],
    )
sentry_sdk.flush()
print(json.dumps({"status": response.status_code, "sent": Keep.sent}))
"""


def _run(script, stdin="", **env):
    base = {
        "PATH": os.environ["PATH"],
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "SECRET_KEY": "s" * 50,
        "ALLOWED_HOSTS": "testserver",
        "SECURE_SSL_REDIRECT": "false",
    }
    result = subprocess.run(
        [sys.executable, "-c", script],
        input=stdin,
        env={**base, **env},
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.splitlines()[-1])


def test_without_sentry_dsn_sentry_stays_off():
    assert _run(_OPTIONS)["active"] is False


def test_sentry_dsn_turns_sentry_on_with_pii_bodies_and_locals_off():
    assert _run(_OPTIONS, SENTRY_DSN=FAKE_DSN) == {
        "active": True,
        "dsn": FAKE_DSN,
        "send_default_pii": False,
        "max_request_body_size": "never",
        "include_local_variables": False,
    }


def test_an_error_reaches_sentry_without_the_requests_secrets():
    secrets = {
        "password": "correct-horse-battery-staple-42",
        "refresh": "eyJhbGciOiJIUzI1NiJ9.eyJyZWZyZXNoIjoxfQ.c2lnbmF0dXJlLXJlZnJlc2g",
        "access": "eyJhbGciOiJIUzI1NiJ9.eyJhY2Nlc3MiOjF9.c2lnbmF0dXJlLWFjY2Vzcw",
        "key": "kit_abcdefgh_" + "K" * 40,
        "session": "sessionsecret0123456789abcdefghij",
        "query": "querysecret0123456789",
    }
    result = _run(_ERROR, json.dumps(secrets), SENTRY_DSN=FAKE_DSN)
    assert result["status"] == 500
    sent = "\n".join(result["sent"])
    assert "RuntimeError" in sent  # the error did reach the transport
    assert sorted(name for name, value in secrets.items() if value in sent) == []
