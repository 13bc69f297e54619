"""SOCIAL_PROVIDERS: parsed in config/settings.py, checked at start-up (accounts.E005)."""

import subprocess
import sys

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from accounts.checks import check_social_providers
from accounts.social.providers import provider_problems, social_providers
from tests.conftest import ROOT

GOOD = {
    "id": "google",
    "name": "Google",
    "issuer": "https://accounts.google.com",
    "client_id": "123.apps.googleusercontent.com",
    "client_secret": "s3cret-value",
}


def test_a_good_list_has_no_problem():
    assert provider_problems([GOOD, {**GOOD, "id": "work", "issuer": "http://127.0.0.1:9"}]) == []


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("[{", "SOCIAL_PROVIDERS is not valid JSON"),
        ({"id": "x"}, "must be a JSON list, not dict"),
        ([{k: v for k, v in GOOD.items() if k != "issuer"}], "lacks the key 'issuer'"),
        ([{**GOOD, "client_id": 7}], "['client_id'] must be a string"),
        ([{**GOOD, "scope": "x"}], "unknown key 'scope'"),
        ([{**GOOD, "id": "Google Inc"}], "['id'] must be 1-30 characters"),
        ([{**GOOD, "issuer": "http://accounts.example.com"}], "must be an https URL"),
        ([GOOD, GOOD], "is a duplicate"),
        (["google"], "must be a JSON object"),
    ],
)
def test_each_problem_is_named_without_the_secret(value, message):
    problems = provider_problems(value)

    assert any(message in p for p in problems), problems
    assert not any("s3cret" in p for p in problems)


def test_the_check_stops_start_up(settings):
    settings.ACCOUNTS = {**settings.ACCOUNTS, "SOCIAL_PROVIDERS": [{"id": "google"}]}

    errors = check_social_providers()

    assert {e.id for e in errors} == {"accounts.E005"}
    with pytest.raises(SystemCheckError, match="lacks the key 'client_secret'"):
        call_command("check")
    assert social_providers() == []


def test_bad_json_in_the_environment_stops_manage_py_with_a_clear_message():
    env = {
        "DEBUG": "true",
        "SOCIAL_PROVIDERS": '[{"id": "g", "client_secret": "s3cret-value"',
        "PATH": "/usr/bin:/bin",
    }
    run = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert run.returncode != 0
    assert "accounts.E005" in run.stderr
    assert "SOCIAL_PROVIDERS is not valid JSON" in run.stderr
    assert "s3cret" not in run.stderr + run.stdout


def test_a_wrong_type_is_named_without_echoing_it(settings):
    from accounts.conf import problems

    found = problems({"SOCIAL_PROVIDERS": {"client_secret": "s3cret-value"}})

    assert found
    assert not any("s3cret" in p for p in found)
