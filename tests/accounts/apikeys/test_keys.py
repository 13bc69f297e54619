"""The API-key service: issuing, hashing, authenticating, revoking, caching, auditing."""

import hashlib
import hmac
import re
import string
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django.utils.crypto import get_random_string

from accounts.apikeys import keys as api_keys
from accounts.apikeys.keys import (
    KEY_REGEX,
    ApiKeyThrottledError,
    InvalidApiKeyError,
    authenticate_api_key,
    create_api_key,
    revoke_api_key,
)
from accounts.apikeys.scopes import declared_scopes, validate_scopes
from accounts.models import ApiKey, AuthEvent
from accounts.revocation import state as session_state

pytestmark = pytest.mark.django_db


def _events(kind):
    return list(AuthEvent.objects.filter(kind=kind))


def _expire(api_key):
    ApiKey.objects.filter(pk=api_key.pk).update(expires_at=timezone.now() - timedelta(seconds=1))


def test_a_new_key_has_the_scannable_format_and_only_its_hmac_is_stored(
    make_api_key, user, settings
):
    api_key, raw_key = make_api_key(scopes=["users:read", "sessions:revoke"], owner=user)

    assert re.fullmatch(KEY_REGEX, raw_key)
    assert raw_key.startswith(f"kit_{api_key.prefix}_")
    row = ApiKey.objects.values().get(pk=api_key.pk)
    assert raw_key not in str(row)
    assert raw_key.rsplit("_", 1)[1] not in str(row)
    expected = hmac.new(
        settings.API_KEY_HASH_SECRET.encode(), raw_key.encode(), hashlib.sha256
    ).hexdigest()
    assert row["hashed_secret"] == expected
    assert row["scopes"] == ["users:read", "sessions:revoke"]


def test_creation_is_audited_with_the_prefix_and_never_the_secret(make_api_key, user):
    api_key, raw_key = make_api_key(owner=user)

    [event] = _events("api_key_created")
    assert event.detail == {
        "prefix": api_key.prefix,
        "name": "billing worker",
        "scopes": ["users:read"],
    }
    assert event.username == user.username
    assert raw_key not in str(event.__dict__)


def test_two_keys_never_share_a_prefix_or_secret(make_api_key):
    (first, first_raw), (second, second_raw) = make_api_key(), make_api_key()
    assert first.prefix != second.prefix
    assert first_raw != second_raw


@pytest.mark.parametrize(
    ("scopes", "message"),
    [
        (["users:read", "users:write"], "Unknown scope(s): users:write"),
        ([], "This field cannot be blank."),
        (["users:read", "users:read"], "A scope is listed twice."),
    ],
)
def test_bad_scopes_are_refused_and_nothing_is_written(scopes, message):
    with pytest.raises(ValidationError) as excinfo:
        create_api_key(name="x", scopes=scopes)
    assert message in str(excinfo.value)
    assert not ApiKey.objects.exists()
    assert not AuthEvent.objects.exists()


def test_an_expiry_in_the_past_is_refused_at_creation():
    with pytest.raises(ValidationError, match="future"):
        create_api_key(
            name="x", scopes=["users:read"], expires_at=timezone.now() - timedelta(minutes=1)
        )
    assert not ApiKey.objects.exists()


def test_a_product_declares_its_own_scopes_in_settings(settings):
    settings.API_KEY_EXTRA_SCOPES = {"orders:read": "Read orders"}
    assert "orders:read" in declared_scopes()
    assert "users:read" in declared_scopes()
    validate_scopes(["orders:read"])
    _api_key, raw_key = create_api_key(name="shop", scopes=["orders:read"])
    assert authenticate_api_key(raw_key).scopes == ["orders:read"]


def test_authenticate_returns_the_key_with_its_scopes(make_api_key, user):
    api_key, raw_key = make_api_key(scopes=["tokens:introspect"], owner=user)

    found = authenticate_api_key(raw_key)

    assert found.pk == api_key.pk
    assert (found.name, found.prefix, found.scopes) == (
        "billing worker",
        api_key.prefix,
        ["tokens:introspect"],
    )
    assert found.owner_id == user.pk


@pytest.mark.parametrize(
    "raw_key",
    ["", "kit_", "Bearer abc", "kit_ABCDEFGH_" + "a" * 40, "kit_abcdefgh_" + "a" * 39, "kit_é"],
)
def test_a_malformed_key_is_invalid(raw_key):
    with pytest.raises(InvalidApiKeyError):
        authenticate_api_key(raw_key)


def test_an_unknown_prefix_is_refused_and_audited(make_api_key):
    with pytest.raises(InvalidApiKeyError):
        authenticate_api_key("kit_zzzzzzzz_" + "A" * 40)
    [event] = _events("api_key_refused")
    assert event.detail == {"prefix": "zzzzzzzz", "reason": "unknown_prefix"}


def test_a_wrong_secret_with_a_valid_prefix_is_refused_and_audited_without_it(make_api_key):
    api_key, _raw_key = make_api_key()
    forged = f"kit_{api_key.prefix}_{'B' * 40}"

    with pytest.raises(InvalidApiKeyError):
        authenticate_api_key(forged)

    [event] = _events("api_key_refused")
    assert event.detail == {"prefix": api_key.prefix, "reason": "wrong_secret"}
    assert "B" * 40 not in str(event.__dict__)


def test_repeated_refusals_of_one_prefix_are_audited_once_a_minute(make_api_key):
    api_key, _ = make_api_key()
    for _ in range(3):
        with pytest.raises(InvalidApiKeyError):
            authenticate_api_key(f"kit_{api_key.prefix}_{'B' * 40}")
    assert len(_events("api_key_refused")) == 1


def _random_key():
    prefix = get_random_string(8, string.ascii_lowercase + string.digits)
    return f"kit_{prefix}_{get_random_string(40)}"


def _flood(count, address="198.51.100.7"):
    """`count` made-up keys from one client address -> the outcome of each."""
    request = RequestFactory().get("/", REMOTE_ADDR=address)
    outcomes = []
    for _ in range(count):
        try:
            authenticate_api_key(_random_key(), request=request)
        except ApiKeyThrottledError as exc:
            outcomes.append(f"throttled {exc.retry_after > 0}")
        except InvalidApiKeyError:
            outcomes.append("invalid")
    return outcomes


def test_a_flood_of_random_keys_writes_a_bounded_number_of_audit_rows(settings):
    """Each made-up key has a prefix of its own, so "one row per prefix a minute" alone
    would write one row per key: unknown prefixes are audited once a minute per address."""
    settings.ACCOUNTS = {**settings.ACCOUNTS, "API_KEY_FAILURE_RATE": "1000/minute"}
    assert _flood(200) == ["invalid"] * 200
    [event] = _events("api_key_refused")
    assert event.detail["reason"] == "unknown_prefix"
    assert event.ip_address == "198.51.100.7"


def test_a_client_sending_bad_keys_is_throttled_before_any_lookup(settings, make_api_key):
    settings.ACCOUNTS = {**settings.ACCOUNTS, "API_KEY_FAILURE_RATE": "20/minute"}
    _, raw_key = make_api_key()
    outcomes = _flood(200)
    assert outcomes == ["invalid"] * 20 + ["throttled True"] * 180
    assert len(_events("api_key_refused")) <= 2
    flooder = RequestFactory().get("/", REMOTE_ADDR="198.51.100.7")
    with CaptureQueriesContext(connection) as queries, pytest.raises(ApiKeyThrottledError):
        authenticate_api_key(_random_key(), request=flooder)
    assert len(queries) == 0
    # Malformed keys count too, and other addresses are not held back.
    with pytest.raises(ApiKeyThrottledError):
        authenticate_api_key("not a key", request=flooder)
    other = RequestFactory().get("/", REMOTE_ADDR="198.51.100.8")
    assert authenticate_api_key(raw_key, request=other)
    with pytest.raises(InvalidApiKeyError):
        authenticate_api_key(_random_key(), request=other)


def test_the_secret_is_compared_in_constant_time(make_api_key, mocker_compare_digest):
    api_key, raw_key = make_api_key()
    authenticate_api_key(raw_key)
    stored = ApiKey.objects.get(pk=api_key.pk).hashed_secret
    assert (api_keys.hash_api_key(raw_key), stored) in mocker_compare_digest


@pytest.fixture
def mocker_compare_digest(monkeypatch):
    calls = []
    real = hmac.compare_digest

    def spy(a, b):
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(api_keys.hmac, "compare_digest", spy)
    return calls


def test_the_hash_uses_api_key_hash_secret_not_secret_key(make_api_key, settings):
    api_key, raw_key = make_api_key()

    settings.SECRET_KEY = "a-rotated-secret-key-" + "y" * 40
    assert authenticate_api_key(raw_key).pk == api_key.pk

    settings.API_KEY_HASH_SECRET = "another-hash-secret"
    with pytest.raises(InvalidApiKeyError):
        authenticate_api_key(raw_key)


def test_revoke_is_final_audited_once_and_refused_after(make_api_key):
    api_key, raw_key = make_api_key()

    assert revoke_api_key(api_key, actor="alice") is True
    assert revoke_api_key(api_key, actor="alice") is False

    assert ApiKey.objects.get(pk=api_key.pk).status == "revoked"
    [event] = _events("api_key_revoked")
    assert (event.actor, event.detail["prefix"]) == ("alice", api_key.prefix)
    with pytest.raises(InvalidApiKeyError):
        authenticate_api_key(raw_key)
    assert _events("api_key_refused")[0].detail["reason"] == "revoked"


def test_an_expired_key_is_refused(make_api_key):
    api_key, raw_key = make_api_key(expires_at=timezone.now() + timedelta(days=1))
    _expire(api_key)
    with pytest.raises(InvalidApiKeyError):
        authenticate_api_key(raw_key)
    assert ApiKey.objects.get(pk=api_key.pk).status == "expired"


def test_an_expired_key_is_refused_even_while_cached(make_api_key, shared_key_cache, no_local_view):
    api_key, raw_key = make_api_key(expires_at=timezone.now() + timedelta(days=1))
    authenticate_api_key(raw_key)
    cached = cache.get(f"apikey:{api_key.prefix}")
    cache.set(f"apikey:{api_key.prefix}", {**cached, "expires_at": timezone.now()})
    with pytest.raises(InvalidApiKeyError):
        authenticate_api_key(raw_key)


def test_revocation_reaches_a_cached_key_on_the_next_call(
    make_api_key, shared_key_cache, django_capture_on_commit_callbacks
):
    api_key, raw_key = make_api_key()
    authenticate_api_key(raw_key)
    assert cache.get(f"apikey:{api_key.prefix}")["revoked_at"] is None

    with django_capture_on_commit_callbacks(execute=True):
        revoke_api_key(ApiKey.objects.get(pk=api_key.pk))

    assert cache.get(f"apikey:{api_key.prefix}")["revoked_at"] is not None
    with pytest.raises(InvalidApiKeyError):
        authenticate_api_key(raw_key)


def test_a_stale_read_cannot_overwrite_a_revocation_in_the_cache(
    make_api_key, shared_key_cache, django_capture_on_commit_callbacks, monkeypatch
):
    """A request misses the cache and reads the row; the key is revoked before that request
    repopulates the cache. Its repopulation (cache.add) must leave the revocation in place."""
    _api_key, raw_key = make_api_key()
    read_row = api_keys._state_from_db

    def read_then_get_revoked(prefix):
        state = read_row(prefix)
        monkeypatch.setattr(api_keys, "_state_from_db", read_row)
        with django_capture_on_commit_callbacks(execute=True):
            revoke_api_key(ApiKey.objects.get(prefix=prefix))
        return state

    monkeypatch.setattr(api_keys, "_state_from_db", read_then_get_revoked)
    authenticate_api_key(raw_key)  # began before the revocation: still served

    with pytest.raises(InvalidApiKeyError):
        authenticate_api_key(raw_key)


class _BrokenCache:
    def __getattr__(self, name):
        def fail(*args, **kwargs):
            raise ConnectionError("cache down")

        return fail


def test_a_cache_outage_falls_back_to_the_database_and_never_fails_open(
    make_api_key, shared_key_cache, monkeypatch
):
    api_key, raw_key = make_api_key()
    revoked, revoked_raw = make_api_key()
    revoke_api_key(revoked)
    monkeypatch.setattr(api_keys, "cache", _BrokenCache())

    assert authenticate_api_key(raw_key).pk == api_key.pk
    with pytest.raises(InvalidApiKeyError):
        authenticate_api_key(revoked_raw)
    assert ApiKey.objects.get(pk=api_key.pk).last_used_at is not None


def test_last_used_is_written_at_most_once_a_minute(make_api_key):
    api_key, raw_key = make_api_key()

    authenticate_api_key(raw_key)
    first = ApiKey.objects.get(pk=api_key.pk).last_used_at
    assert first is not None

    authenticate_api_key(raw_key)
    # Even without the cache gate and the per-process clock (another worker), the UPDATE
    # is conditional.
    cache.clear()
    session_state.cache_cleared()
    authenticate_api_key(raw_key)
    assert ApiKey.objects.get(pk=api_key.pk).last_used_at == first

    ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=first - timedelta(seconds=61))
    cache.clear()
    session_state.cache_cleared()
    authenticate_api_key(raw_key)
    assert ApiKey.objects.get(pk=api_key.pk).last_used_at > first


def test_a_cached_key_costs_no_query(make_api_key, shared_key_cache):
    _, raw_key = make_api_key()
    authenticate_api_key(raw_key)  # caches the key, writes last_used_at
    with CaptureQueriesContext(connection) as queries:
        authenticate_api_key(raw_key)
    assert len(queries) == 0


def test_without_a_shared_cache_every_check_reads_the_row(make_api_key, settings):
    """Local memory is per process: caching there would let other workers accept a key
    revoked elsewhere, so keys are not cached and each check is one SELECT."""
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    _, raw_key = make_api_key()
    authenticate_api_key(raw_key)
    with CaptureQueriesContext(connection) as queries:
        authenticate_api_key(raw_key)
    assert len(queries) == 1
    assert cache.get(f"apikey:{raw_key[4:12]}") is None


def test_deleting_the_owner_revokes_their_keys_and_keeps_the_rows(
    make_api_key, make_user, shared_key_cache, django_capture_on_commit_callbacks
):
    owner = make_user()
    api_key, raw_key = make_api_key(owner=owner)
    other, other_raw = make_api_key()
    authenticate_api_key(raw_key)  # cached

    with django_capture_on_commit_callbacks(execute=True):
        owner.delete()

    row = ApiKey.objects.get(pk=api_key.pk)
    assert (row.owner_id, row.status) == (None, "revoked")
    with pytest.raises(InvalidApiKeyError):
        authenticate_api_key(raw_key)
    assert authenticate_api_key(other_raw).pk == other.pk
    [event] = _events("api_key_revoked")
    assert event.actor == f"owner deleted: {owner.username}"
