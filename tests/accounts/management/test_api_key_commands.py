"""create_api_key and revoke_api_key, as an operator runs them."""

import re
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from accounts.apikeys.keys import KEY_REGEX, authenticate_api_key
from accounts.models import ApiKey, AuthEvent

pytestmark = pytest.mark.django_db


def run(*args):
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_create_prints_the_key_alone_on_the_last_line(make_user):
    owner = make_user(username="alice")

    output = run(
        "create_api_key", "billing worker", "--scopes", "users:read, sessions:revoke",
        "--expires-in-days", "30", "--owner", "alice",
    )  # fmt: skip

    raw_key = output.rstrip("\n").splitlines()[-1]
    assert re.fullmatch(KEY_REGEX, raw_key)
    api_key = ApiKey.objects.get()
    assert authenticate_api_key(raw_key).pk == api_key.pk
    assert (api_key.name, api_key.owner, api_key.scopes) == (
        "billing worker",
        owner,
        ["users:read", "sessions:revoke"],
    )
    expected_expiry = timezone.now() + timedelta(days=30)
    assert abs(api_key.expires_at - expected_expiry) < timedelta(minutes=1)
    assert api_key.prefix in output.splitlines()[0]
    assert AuthEvent.objects.get(kind="api_key_created").actor == "manage.py create_api_key"


def test_create_without_expiry_or_owner():
    output = run("create_api_key", "worker", "--scopes", "tokens:introspect")
    api_key = ApiKey.objects.get()
    assert (api_key.owner, api_key.expires_at) == (None, None)
    assert "no expiry" in output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--scopes", "users:read,users:write"], "Unknown scope(s): users:write"),
        (["--scopes", ","], "cannot be blank"),
        (["--scopes", "users:read", "--owner", "nobody"], "No user 'nobody'."),
        (["--scopes", "users:read", "--expires-in-days", "0"], "at least 1"),
    ],
)
def test_create_errors_write_nothing(args, message):
    with pytest.raises(CommandError, match=re.escape(message)):
        run("create_api_key", "worker", *args)
    assert not ApiKey.objects.exists()
    assert not AuthEvent.objects.exists()


def test_revoke_by_prefix(make_api_key):
    api_key, _raw_key = make_api_key()

    output = run("revoke_api_key", api_key.prefix)

    assert f"Revoked API key 'billing worker' ({api_key.prefix})." in output
    assert ApiKey.objects.get(pk=api_key.pk).status == "revoked"
    assert AuthEvent.objects.get(kind="api_key_revoked").actor == "manage.py revoke_api_key"
    assert "already revoked" in run("revoke_api_key", api_key.prefix)
    assert AuthEvent.objects.filter(kind="api_key_revoked").count() == 1


def test_revoke_an_unknown_prefix_is_an_error(make_api_key):
    api_key, _ = make_api_key()
    with pytest.raises(CommandError, match="No API key with prefix 'zzzzzzzz'"):
        run("revoke_api_key", "zzzzzzzz")
    assert ApiKey.objects.get(pk=api_key.pk).status == "active"
