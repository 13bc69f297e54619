"""Bad JSON bodies on every JSON route the URL resolver has (the routes of
tests/api/test_errors.py, which covers deep, oversize and form bodies): malformed JSON, a
body of the wrong JSON type, and each field of the request schema sent with a value of the
wrong type. Always a 4xx JSON `{"code", "detail"}` with a stable code, never a 500.

A view that reads no body answers every body alike (its answer to `{`); one that reads it
answers 400 `parse_error` to malformed JSON and 400 `invalid`, naming the field, to the
wrong shape."""

import json
import re

import pytest
from django.core.cache import cache
from django.test import Client

from tests.api.test_errors import API_BODY_ROUTES, _answer

pytestmark = pytest.mark.django_db

MALFORMED = {
    "cut short": '{"username": "a"',
    "trailing comma": '{"username": "a",}',
    "single quotes": "{'username': 'a'}",
    "bare word": "username",
    "two documents": "{} {}",
    "invalid UTF-8": b'{"username": "\xff\xfe"}',
}
WRONG_TYPE_BODIES = {
    "empty list": "[]",
    "list of objects": '[{"username": "a"}]',
    "string": '"username"',
    "number": "42",
    "null": "null",
    "true": "true",
}
# Values no field of another type takes: refused and named in `errors`.
NEVER_COERCED = [[], ["a"], {}, {"a": "b"}]
# Scalars DRF turns into a string or a UUID (documented DRF behaviour; tokens and secrets
# use StrictCharField, which refuses them): still a 400 `invalid`, never a 500.
SCALARS = [1, 1.5, True, "x"]


@pytest.fixture(autouse=True)
def _many_calls_allowed(settings):
    """Each call signs in a fresh device, and sign-up is a route to test too."""
    settings.ACCOUNTS = {
        **settings.ACCOUNTS,
        "MAX_DEVICES": 0,
        "ALLOW_SIGNUP": True,
        "RESET_RATE": "100000/minute",
        "SIGNUP_RATE": "100000/minute",
    }


def _error(response):
    """(status, code) of a 4xx JSON error in the contract's shape; fails on anything else."""
    status, code = _answer(response)
    assert 400 <= status < 500, (status, response.content[:300])
    body = response.json()
    assert isinstance(body, dict), body
    assert set(body) >= {"code", "detail"}, body
    return status, code


def _any_body_answer(call, method, url):
    """None for a view that reads its body (malformed JSON is its 400 `parse_error`), else
    its answer to any body."""
    answer = _answer(call(method, url, "{"))
    return None if answer == (400, "parse_error") else answer


@pytest.mark.parametrize(("method", "url"), API_BODY_ROUTES)
def test_malformed_json_is_a_parse_error(call, method, url):
    same_for_any_body = _any_body_answer(call, method, url)
    for body in MALFORMED.values():
        response = call(method, url, body)
        if same_for_any_body is None:
            assert _error(response) == (400, "parse_error"), body
        else:
            assert _answer(response) == same_for_any_body, body


@pytest.mark.parametrize(("method", "url"), API_BODY_ROUTES)
def test_json_that_is_not_an_object_is_invalid(call, method, url):
    """JSON, but not an object: the view's serializer refuses it as 400 `invalid`,
    nothing crashes on `.get` of a list."""
    same_for_any_body = _any_body_answer(call, method, url)
    for body in WRONG_TYPE_BODIES.values():
        response = call(method, url, body)
        if same_for_any_body is None:
            assert _error(response) == (400, "invalid"), body
        else:
            assert _answer(response) == same_for_any_body, body


@pytest.fixture(scope="module")
def request_schemas(django_db_blocker):
    """(method, schema path) -> the request body's properties and required names, read
    from the published OpenAPI schema."""
    with django_db_blocker.unblock():
        schema = Client().get("/api/schema/", {"format": "json"}).json()

    def resolve(node):
        while "$ref" in node:
            target = schema
            for part in node["$ref"].split("/")[1:]:
                target = target[part]
            node = target
        return node

    found = {}
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            content = operation.get("requestBody", {}).get("content", {})
            if "application/json" not in content:
                continue
            body = resolve(content["application/json"]["schema"])
            found[(method, path)] = {
                name: resolve(prop) for name, prop in body.get("properties", {}).items()
            }
    return found


def _schema_properties(request_schemas, method, url):
    for (schema_method, path), properties in request_schemas.items():
        pattern = re.sub(r"\\\{\w+\\\}", "[^/]+", re.escape(path))
        if schema_method == method and re.fullmatch(pattern, url):
            return properties
    return None


def _types_of(prop):
    """The JSON types a property takes (an enum without a type is a string)."""
    kinds = prop.get("type") or ("string" if "enum" in prop or "format" in prop else None)
    if kinds is None and "oneOf" in prop:
        return [t for option in prop["oneOf"] for t in _types_of(option)]
    return [kinds] if isinstance(kinds, str) else list(kinds or [])


@pytest.mark.parametrize(("method", "url"), API_BODY_ROUTES)
def test_each_field_of_the_wrong_type_is_invalid_and_named(call, request_schemas, method, url):
    """Every field of the route's request schema, one at a time, with every value of a
    type the schema does not allow: 400 `invalid` with that field in `errors`. A route
    that reads its body has its fields in the schema (else nothing would be checked)."""
    properties = _schema_properties(request_schemas, method, url)
    if _any_body_answer(call, method, url) is not None:
        assert not properties, "the schema documents a body the view does not read"
        return
    assert properties, "the view reads a body its schema does not document"
    failures = []
    for name, prop in properties.items():
        allowed = _types_of(prop)
        assert allowed, (name, prop)
        named = [v for v in NEVER_COERCED if not _fits(v, allowed)]
        if not prop.get("nullable"):
            named.append(None)
        scalars = [v for v in SCALARS if not _fits(v, allowed)]
        for value in named + scalars:
            cache.clear()  # the per-address throttle of the reset link counts each call
            response = call(method, url, json.dumps({name: value}))
            answer = _error(response)
            errors = response.json().get("errors", {})
            if answer != (400, "invalid") or (value in named and name not in errors):
                failures.append((name, value, answer, errors))
    assert failures == []


def _fits(value, kinds):
    checks = {
        "string": lambda v: isinstance(v, str),
        "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
        "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
        "boolean": lambda v: isinstance(v, bool),
        "array": lambda v: isinstance(v, list),
        "object": lambda v: isinstance(v, dict),
    }
    return any(checks[kind](value) for kind in kinds)
