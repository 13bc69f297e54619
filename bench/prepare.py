"""Bench data, run in the bench server's environment before it starts (by bench/run.py).

Creates the bench users with BENCH_PASSWORD, an API key when the kit has the
`create_api_key` command, measures Argon2, and prints one JSON object on its last line.
"""

import io
import json
import os

import django

BENCH_USERS = ("bench", "bench-refresh", "bench-signin", "bench-locked")


def _create_users(password):
    from django.contrib.auth import get_user_model

    for username in BENCH_USERS:
        user, _ = get_user_model().objects.get_or_create(
            username=username, defaults={"email": f"{username}@bench.invalid"}
        )
        user.set_password(password)
        user.save()


def _create_api_key():
    """The new key, or why there is none: (key, reason)."""
    from django.core.management import call_command, get_commands
    from django.core.management.base import CommandError

    if "create_api_key" not in get_commands():
        return None, "no create_api_key management command"
    out = io.StringIO()
    try:
        call_command("create_api_key", "bench", "--scopes", "tokens:introspect", stdout=out)
    except (CommandError, TypeError) as error:
        return None, f"create_api_key failed: {error}"
    lines = out.getvalue().strip().splitlines()
    return (lines[-1].strip(), None) if lines else (None, "create_api_key printed nothing")


def main():
    django.setup()
    from bench.hashing import argon2_cost

    _create_users(os.environ["BENCH_PASSWORD"])
    api_key, api_key_missing = _create_api_key()
    samples = int(os.environ.get("BENCH_HASH_SAMPLES", "10"))
    print(
        json.dumps(
            {
                "api_key": api_key,
                "api_key_missing": api_key_missing,
                "password_hashing": argon2_cost(samples),
            }
        )
    )


if __name__ == "__main__":
    main()
