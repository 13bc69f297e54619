"""Schemathesis against /api/schema/: every operation, with a real Bearer token and a real
API key, finds no 5xx and no response that breaks the schema.

The WSGI application is called in-process (no server, no port) inside the test's
database transaction. Each call gets a fresh device session, so a fuzzed logout or
"revoke sessions" cannot starve the calls after it of a live token. Bounded to
FUZZ_EXAMPLES examples per operation so `make test` stays fast; raise it locally with
FUZZ_EXAMPLES=500 to fuzz harder.
"""

import os

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings

from accounts.apikeys.scopes import SCOPES
from accounts.devices import sessions

FUZZ_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "20"))

# Routes that refuse some schema-valid bodies by rule, which a schema cannot express (the
# right old password, a password the validators accept, a reset link that is valid, a
# free username): for them "schema-valid but refused" is not a finding.
SEMANTIC_CHECKS = {
    ("POST", "/api/v1/auth/password/change/"),
    ("POST", "/api/v1/auth/password/reset/confirm/"),
    ("POST", "/api/v1/auth/signup/"),
}

pytestmark = pytest.mark.django_db


@pytest.fixture
def api_schema(db):
    from config.wsgi import application

    # Like Django's test client: the end of a request must not close the connection that
    # holds the test's transaction (PostgreSQL would lose it).
    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    loaded = schemathesis.openapi.from_wsgi("/api/schema/", application)
    # A NUL character is refused by every text field (400), which JSON Schema cannot say.
    loaded.config.generation.update(allow_x00=False)
    yield loaded
    for signal in (request_started, request_finished):
        signal.connect(close_old_connections)


schema = schemathesis.pytest.from_fixture("api_schema")


@pytest.fixture
def credentials(user, make_api_key, settings):
    """Headers for a case: a fresh Bearer token, or an API key with every scope.

    The fuzzer sends hundreds of requests from one address: the per-address limits (tested
    on their own) would answer 429 to the checks that expect a 401."""
    settings.ACCOUNTS = {
        **settings.ACCOUNTS,
        "MAX_DEVICES": 0,
        "API_KEY_FAILURE_RATE": "100000/minute",
        "RESET_RATE": "100000/minute",
        "SIGNUP_RATE": "100000/minute",
    }
    _, raw_key = make_api_key(name="fuzzer", scopes=list(SCOPES))

    def headers_for(case):
        if case.path.startswith("/api/v1/service/"):
            return {"X-API-Key": raw_key}
        _, pair = sessions.sign_in(request=None, user=user, device_id="fuzzer")
        return {"Authorization": f"Bearer {pair.access}"}

    return headers_for


@schema.parametrize()
@settings(
    max_examples=FUZZ_EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_api_conforms_to_its_schema_and_never_answers_5xx(case, credentials):
    excluded = []
    if (case.method, case.path) in SEMANTIC_CHECKS:
        excluded.append(schemathesis.checks.positive_data_acceptance)
    case.call_and_validate(headers=credentials(case), excluded_checks=excluded)
