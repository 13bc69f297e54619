"""accounts.revocation: device sessions, API keys and profiles register their kind with it;
it imports none of them, and a repair replays whatever the registered kinds name."""

import ast
from pathlib import Path

import pytest
from django.core.cache import cache

from accounts import revocation
from accounts.apikeys import keys as api_keys
from accounts.devices import session_state
from accounts.revocation import state
from accounts.users import profiles

REVOCATION = Path(revocation.__file__).parent
FORBIDDEN = ("accounts.devices", "accounts.apikeys", "accounts.users", "accounts.models", "api")


def _imported_modules(source):
    """Every module a source file imports, at the top or inside a function."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            yield node.module
            yield from (f"{node.module}.{alias.name}" for alias in node.names)


def test_sessions_api_keys_and_profiles_register_their_kind():
    assert set(state.registered()) == {
        session_state.SESSIONS,
        api_keys.API_KEYS,
        profiles.PROFILES,
    }
    assert [kind.prefix for kind in (session_state.SESSIONS, api_keys.API_KEYS)] == [
        "devsess",
        "apikey",
    ]


@pytest.mark.parametrize("path", sorted(REVOCATION.glob("*.py")), ids=lambda p: p.name)
def test_the_revocation_package_imports_no_kind(path):
    imported = set(_imported_modules(path.read_text()))
    assert not {m for m in imported if m.startswith(FORBIDDEN) or m == "accounts.models"}


@pytest.mark.django_db
def test_a_repair_replays_the_revocations_of_every_registered_kind(shared_key_cache, monkeypatch):
    """A kind the engine has never heard of: registering it is all a repair needs."""
    kind = state.Kind(
        prefix="test-kind",
        load=lambda ident: None,
        timeout=lambda value: 60,
        recent_revocations=lambda now: {"a": "revoked", "b": "revoked"},
    )
    monkeypatch.setitem(state._kinds, kind.prefix, kind)

    assert revocation.repair() is True

    assert cache.get_many([kind.key("a"), kind.key("b")]) == {
        "test-kind:a": "revoked",
        "test-kind:b": "revoked",
    }


@pytest.mark.django_db
def test_a_revocation_and_a_forget_reach_the_cache_of_a_kind(
    shared_key_cache, django_capture_on_commit_callbacks
):
    loads = []
    kind = state.Kind(
        prefix="test-kind", load=lambda ident: loads.append(ident) or "active", timeout=lambda v: 60
    )

    assert revocation.read_through(kind, "x") == "active"
    assert revocation.read_through(kind, "x") == "active"
    assert loads == ["x"]  # the second read came from the cache
    with django_capture_on_commit_callbacks(execute=True):
        revocation.mark_revoked(kind, {"x": "revoked"})
    assert revocation.read_through(kind, "x") == "revoked"
    revocation.forget(kind, ["x"])
    assert revocation.read_through(kind, "x") == "active"
    assert loads == ["x", "x"]
