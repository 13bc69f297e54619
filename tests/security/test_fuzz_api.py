"""Schemathesis against /api/schema/: every operation, with a real Bearer token and a real
API key, finds no 5xx and no response that breaks the schema.

The WSGI application is called in-process (no server, no port) inside the test's
database transaction. Each call gets a fresh device session, so a fuzzed logout or
"revoke sessions" cannot starve the calls after it of a live token.

Two passes:
- `make test`: FUZZ_EXAMPLES (20) examples per operation from a fixed seed (the same
  inputs every run: a quick check that cannot be flaky).
- FUZZ_RANDOM=1 (CI's PostgreSQL step, with FUZZ_EXAMPLES=50): a new seed each run, so
  each run explores new inputs, plus a stateful run that follows the links schemathesis
  infers between operations (sign in -> refresh, list devices -> delete one) for
  FUZZ_SCENARIOS scenarios. A failure names its seed; replay it with
  FUZZ_RANDOM=1 FUZZ_SEED=<seed>.
"""

import os
import secrets

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase, seed, settings

from accounts.apikeys.scopes import SCOPES
from accounts.devices import sessions

FUZZ_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "20"))
FUZZ_RANDOM = os.environ.get("FUZZ_RANDOM", "") == "1"
FUZZ_SEED = int(os.environ.get("FUZZ_SEED") or secrets.randbits(32))
FUZZ_SCENARIOS = int(os.environ.get("FUZZ_SCENARIOS", "50"))
REPLAY = f"fuzz seed {FUZZ_SEED}: replay with FUZZ_RANDOM=1 FUZZ_SEED={FUZZ_SEED}"
# The randomized pass is one test item for all operations: past pytest-timeout's 120 s
# per test on a slow runner, so it gets a bound of its own (a hang still fails).
RANDOM_PASS_TIMEOUT = pytest.mark.timeout(480 if FUZZ_RANDOM else 120)

# Routes that refuse some schema-valid bodies by rule, which a schema cannot express (the
# right old password, a password the validators accept, a reset link that is valid, a
# free username): for them "schema-valid but refused" is not a finding.
SEMANTIC_CHECKS = {
    ("POST", "/api/v1/auth/password/change/"),
    ("POST", "/api/v1/auth/password/reset/confirm/"),
    ("POST", "/api/v1/auth/signup/"),
    # A right second-factor code (and, to confirm, a pending secret; to renew, a factor).
    ("POST", "/api/v1/mfa/totp/confirm/"),
    ("DELETE", "/api/v1/mfa/totp/"),
    ("POST", "/api/v1/mfa/recovery-codes/"),
    # The right password (and code) of the account to delete.
    ("DELETE", "/api/v1/me/"),
    # A key from a verification e-mail; the right password to change the address.
    ("POST", "/api/v1/auth/email/verify/"),
    ("POST", "/api/v1/me/email/"),
}

# Each request commits, as in production: in one test-wide transaction, PostgreSQL keeps
# every version of the user row that the per-case sign-ins lock and update, and the
# deferred foreign-key checks at the end walk them all (minutes at 100 examples).
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def api_schema(transactional_db):
    from config.wsgi import application

    # Like Django's test client: the end of a request must not close the connection that
    # holds the test's transaction (PostgreSQL would lose it).
    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    loaded = schemathesis.openapi.from_wsgi("/api/schema/", application)
    # A NUL character is refused by every text field (400), which JSON Schema cannot say.
    loaded.config.generation.update(allow_x00=False)
    if FUZZ_RANDOM:
        loaded.config.seed = FUZZ_SEED
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


def _excluded_checks(case):
    if (case.method, case.path) in SEMANTIC_CHECKS:
        return [schemathesis.checks.positive_data_acceptance]
    return []


def _with_seed(error):
    """The failure, naming the seed that found it (a random run is replayed by it)."""
    if FUZZ_RANDOM:
        error.add_note(REPLAY)
    return error


@RANDOM_PASS_TIMEOUT
@schema.parametrize()
@settings(
    max_examples=FUZZ_EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=not FUZZ_RANDOM,
    database=None,
    print_blob=True,
)
def test_api_conforms_to_its_schema_and_never_answers_5xx(case, credentials):
    try:
        case.call_and_validate(headers=credentials(case), excluded_checks=_excluded_checks(case))
    except BaseException as error:  # schemathesis' FailureGroup is a BaseExceptionGroup
        raise _with_seed(error) from None


@RANDOM_PASS_TIMEOUT
@pytest.mark.skipif(not FUZZ_RANDOM, reason="the randomized pass (FUZZ_RANDOM=1, CI)")
def test_sequences_of_calls_along_the_schema_links_never_answer_5xx(api_schema, credentials):
    """Stateful: scenarios of calls where one answer feeds the next (a sign-in's tokens
    and device into a refresh, a listed device into its DELETE)."""

    @api_schema.auth(refresh_interval=None)
    class RealCredentials:
        """A fresh Bearer token (or the API key) for every call, as the per-operation test
        sends; declared as the schema's auth so the checks know it is real."""

        def get(self, case, ctx):
            return credentials(case)

        def set(self, case, data, ctx):
            case.headers = {**(case.headers or {}), **data}

    class Scenarios(api_schema.as_state_machine()):
        def validate_response(self, response, case, **kwargs):
            case.validate_response(response, excluded_checks=_excluded_checks(case))

    try:
        seed(FUZZ_SEED)(Scenarios).run(
            settings=settings(
                max_examples=FUZZ_SCENARIOS,
                stateful_step_count=6,
                phases=[Phase.generate, Phase.shrink],
                deadline=None,
                suppress_health_check=list(HealthCheck),
                database=None,
                print_blob=True,
            )
        )
    except BaseException as error:  # schemathesis' FailureGroup is a BaseExceptionGroup
        raise _with_seed(error) from None
