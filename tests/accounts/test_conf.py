"""accounts.conf: the one accessor of the kit's settings, its defaults, and the start-up
check that refuses an unknown knob or a wrong type."""

import json
import os
import subprocess
import sys
import typing
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import override_settings

from accounts.conf import DEFAULTS, KitSettings, kit_settings

ROOT = Path(__file__).resolve().parents[2]


def test_a_knob_the_project_leaves_out_has_its_default(settings):
    settings.ACCOUNTS = {"SITE_NAME": "Acme"}
    assert kit_settings.SITE_NAME == "Acme"
    assert DEFAULTS["MAX_DEVICES"] == kit_settings.MAX_DEVICES
    assert kit_settings.TOKEN_CLAIMS is None


def test_the_settings_fixture_and_override_settings_are_seen_at_once(settings):
    assert settings.ACCOUNTS["MAX_DEVICES"] == kit_settings.MAX_DEVICES
    settings.ACCOUNTS = {**settings.ACCOUNTS, "MAX_DEVICES": 42}
    assert kit_settings.MAX_DEVICES == 42
    with override_settings(ACCOUNTS={**settings.ACCOUNTS, "MAX_DEVICES": 7}):
        assert kit_settings.MAX_DEVICES == 7
    assert kit_settings.MAX_DEVICES == 42


def test_a_device_limit_set_in_settings_is_what_sign_in_enforces(settings, sign_in):
    settings.ACCOUNTS = {**settings.ACCOUNTS, "MAX_DEVICES": 1}
    sign_in(device_id="phone-1")
    refused = sign_in(device_id="phone-2", expect=403)
    assert refused.json()["code"] == "device_limit_reached"


def test_a_name_that_is_not_a_knob_is_a_clear_error():
    with pytest.raises(AttributeError, match="'MAX_DEVICE' is not a kit setting"):
        _ = kit_settings.MAX_DEVICE


def test_each_knob_has_a_type_annotation_its_default_fits():
    """KitSettings annotates every knob (what mypy and readers see): none missing, none
    extra, and each default of the annotated type."""
    hints = typing.get_type_hints(KitSettings)
    assert set(hints) == set(DEFAULTS)
    for name, default in DEFAULTS.items():
        hint = hints[name]
        assert isinstance(default, typing.get_args(hint) or hint), name


@pytest.mark.parametrize(
    ("accounts", "message"),
    [
        ({"MAX_DEVICE": 3}, "['MAX_DEVICE'] is not a kit setting"),
        ({"MAX_DEVICES": "3"}, "'MAX_DEVICES'] must be int, not str"),
        ({"ALLOW_SIGNUP": "false"}, "'ALLOW_SIGNUP'] must be bool, not str"),
        ({"LOCKOUT_SECONDS": True}, "'LOCKOUT_SECONDS'] must be int, not bool"),
        ({"TOKEN_CLAIMS": 1}, "'TOKEN_CLAIMS'] must be str or NoneType"),
        ({"DEVICE_LIMIT_POLICY": "evict"}, "must be one of reject, evict_oldest"),
    ],
)
def test_an_unknown_knob_or_a_wrong_type_stops_start_up(settings, accounts, message):
    settings.ACCOUNTS = {**settings.ACCOUNTS, **accounts}
    with pytest.raises(SystemCheckError, match=r"accounts\.E004") as error:
        call_command("check")
    assert message in str(error.value)


def test_the_configured_settings_pass_the_check(settings):
    settings.ACCOUNTS = {
        **settings.ACCOUNTS,
        "TOKEN_CLAIMS": "tests.api.test_claims_permissions.claims",
    }
    call_command("check")


def test_config_settings_defaults_are_the_defaults():
    """config/settings.py reads each knob from the environment with its own readable
    default: with no ACCOUNTS_* variable (and no .env), it must be DEFAULTS, knob for knob."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ACCOUNTS_")}
    script = (
        "import json, environ\n"
        "environ.Env.read_env = classmethod(lambda cls, *a, **k: None)\n"
        "import config.settings as s\n"
        "print(json.dumps(s.ACCOUNTS))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env={**env, "SECRET_KEY": "x" * 50},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert json.loads(result.stdout) == DEFAULTS
