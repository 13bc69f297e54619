"""Every status, error code and header that docs/contract.md names for a route is declared
for it in /api/schema/ (issue 20, item 7), so a client generated from the schema knows
every answer the contract promises.

The contract is read as written: a route's text runs from its `METHOD /path` (a heading or
a bullet) to the next route, heading or bullet; a status is a 2xx-5xx number in it, a code
a backticked word the contract pairs with a status somewhere, belonging to the status
before it. The conventions (codes beside those per route) and the section-wide bullets
(cookie routes' CSRF, service routes' key errors) apply to their routes.
"""

import re
from pathlib import Path

import pytest

from api.openapi import codes_of

pytestmark = pytest.mark.django_db

CONTRACT = Path(__file__).resolve().parents[2] / "docs" / "contract.md"
TEXT = CONTRACT.read_text()

# Routes the contract names that /api/schema/ does not describe (not DRF routes).
NOT_API = {("GET", "/healthz"), ("GET", "/api/schema/"), ("GET", "/api/docs/")}
# Planned in the contract, not served yet (each is checked to be absent from the schema, so
# a route that starts being served must then be declared).
PLANNED_CODES: set[str] = set()
PLANNED_PREFIXES: tuple[str, ...] = ()

_ROUTE = re.compile(r"(?:^### |`)(GET|POST|PUT|PATCH|DELETE) (/[^\s`]*)`?", re.MULTILINE)
_STATUS = re.compile(r"(?<![\w./-])([245]\d\d)(?![\w-]|\.\d| s\b| chars| seconds| days)")
_SAME_AS = re.compile(r"the same (\d{3}) codes as\s+`(/[^`]+)`")
_PAIR = re.compile(r"\b([45]\d\d) `(\w+)`")


def _schema_path(path):
    return re.sub(r"\{[^}]+\}", "{}", path)


def _route_texts():
    """{(method, path): text} for each route the contract names."""
    found = {}
    mentions = list(_ROUTE.finditer(TEXT))
    for index, match in enumerate(mentions):
        start = match.start()
        heading = TEXT[start : start + 4] == "### "
        end = mentions[index + 1].start() if index + 1 < len(mentions) else len(TEXT)
        stops = [r"\n#"] if heading else [r"\n#", r"\n- ", r"\n\n"]
        for stop in stops:
            hit = re.search(stop, TEXT[match.end() : end])
            if hit:
                end = min(end, match.end() + hit.start())
        key = (match.group(1), match.group(2))
        found[key] = found.get(key, "") + " " + TEXT[match.end() : end]
    return found


def _section(title):
    match = re.search(rf"^## {re.escape(title)}.*?(?=^## )", TEXT, re.MULTILINE | re.DOTALL)
    assert match, title
    return match.group(0)


CODE_WORDS = {code for _, code in _PAIR.findall(TEXT)}


def _promises(text):
    """{status: {codes}} named in a route's text."""
    promised = {}
    status = None
    for token in re.finditer(rf"{_STATUS.pattern}|`(\w+)`", text):
        if token.group(1):
            status = token.group(1)
            promised.setdefault(status, set())
        elif status and status >= "400" and token.group(2) in CODE_WORDS:
            promised[status].add(token.group(2))
    for status, other in _SAME_AS.findall(text):
        # "the same 401 codes as `/auth/token/refresh/`": a route of the same method.
        (route,) = [r for r in ROUTES_NAMED if r[1].endswith(other)]
        promised.setdefault(status, set()).update(_promises(ROUTES_NAMED[route])[status])
    return promised


ROUTES = ROUTES_NAMED = _route_texts()


def _is_planned(method, path):
    return path.startswith(PLANNED_PREFIXES)


@pytest.fixture(scope="module")
def schema(django_db_blocker):
    from rest_framework.test import APIClient

    with django_db_blocker.unblock():
        response = APIClient().get("/api/schema/?format=json")
    assert response.status_code == 200
    return {
        (method.upper(), _schema_path(path)): operation
        for path, methods in response.json()["paths"].items()
        for method, operation in methods.items()
    }


def test_the_contract_is_read_as_routes():
    """A reader that found nothing would pass everything."""
    assert len(ROUTES) >= 30
    refresh_codes = {
        "200": set(),
        "401": {"token_invalid", "device_mismatch", "refresh_reused", "session_revoked"},
    }
    assert _promises(ROUTES[("POST", "/api/v1/auth/token/refresh/")]) == refresh_codes
    assert _promises(ROUTES[("POST", "/api/v1/auth/cookie/refresh/")]) == {
        "401": refresh_codes["401"]
    }
    assert _promises(ROUTES[("GET", "/api/v1/auth/csrf/")]) == {"204": set()}
    assert {"payload_too_large", "insufficient_scope", "csrf_failed"} <= CODE_WORDS


@pytest.mark.parametrize(
    ("method", "path"), sorted(ROUTES), ids=[" ".join(r) for r in sorted(ROUTES)]
)
def test_each_status_and_code_the_contract_names_is_declared(schema, method, path):
    if (method, path) in NOT_API:
        return
    operation = schema.get((method, _schema_path(path)))
    if _is_planned(method, path):
        assert operation is None, f"{method} {path} is served: take it off the planned list"
        return
    assert operation is not None, f"{method} {path} is in the contract, not in the schema"
    responses = operation["responses"]
    for status, named in _promises(ROUTES[(method, path)]).items():
        codes = named - PLANNED_CODES
        if named and not codes:
            continue  # only planned answers under this status
        assert status in responses, (method, path, status)
        assert codes <= set(codes_of(responses[status])), (method, path, status, codes)
    text = ROUTES[(method, path)]
    if "Retry-After" in text:
        assert "Retry-After" in responses["429"]["headers"]
    if re.search(r"\b(sets?|deletes?)\b[^.;]*\bcookies?\b", text):
        success = next(s for s in responses if s.startswith("2"))
        assert "Set-Cookie" in responses[success].get("headers", {}), (method, path)


def test_the_conventions_hold_on_every_route(schema):
    """The codes 'beside those named per route' (the contract's Conventions)."""
    conventions = _section("Conventions")
    assert "405 `method_not_allowed`" in conventions
    assert "413 `payload_too_large`" in conventions
    assert "service_unavailable" in conventions
    for (method, path), operation in schema.items():
        responses = operation["responses"]
        assert "method_not_allowed" in codes_of(responses["405"]), (method, path)
        assert "bad_request" in codes_of(responses["400"]), (method, path)
        if "requestBody" in operation:
            assert "parse_error" in codes_of(responses["400"]), (method, path)
        if method in ("POST", "PUT", "PATCH"):
            assert "payload_too_large" in codes_of(responses["413"]), (method, path)
        if "security" in operation and "ApiKeyHeader" not in str(operation["security"]):
            # A private route: no credentials, a bad token, an ended session.
            unauthorized = set(codes_of(responses["401"]))
            assert {"not_authenticated", "token_invalid", "session_revoked"} <= unauthorized
        for status, response in responses.items():
            if status == "429":
                assert "Retry-After" in response["headers"], (method, path)
    no_database = {key for key, operation in schema.items() if "503" not in operation["responses"]}
    assert no_database <= {("GET", "/.well-known/jwks.json"), ("GET", "/api/v1/auth/csrf/")}


def test_cookie_routes_and_cookie_callers_declare_csrf_failed(schema):
    assert "403 `csrf_failed`" in _section("Cookie transport (browser apps)")
    for (method, path), operation in schema.items():
        cookie_caller = "AccessCookie" in str(operation.get("security", []))
        if path.startswith("/api/v1/auth/cookie/") or (cookie_caller and method != "GET"):
            assert "csrf_failed" in codes_of(operation["responses"]["403"]), (method, path)


def test_service_routes_declare_the_key_errors(schema):
    section = _section("Service routes (API keys)")
    assert "401 `api_key_missing`" in section
    assert "403 `insufficient_scope`" in section
    for (method, path), operation in schema.items():
        if not path.startswith("/api/v1/service/"):
            continue
        responses = operation["responses"]
        assert {"api_key_missing", "api_key_invalid"} <= set(codes_of(responses["401"]))
        text = ROUTES[(method, path.replace("{}", "{id}"))]
        if "scope `" in text:
            assert codes_of(responses["403"]) == ["insufficient_scope"], (method, path)
