"""Start-up from the environment, as an operator runs it: in a subprocess."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
REAL_SECRET = "kP3v9-real-looking-secret-Zq8wXy2nM4bR7tL1cH6dF0gJ5sA-uE3oI9pK2vN8"


def _manage(*args, env):
    base = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp")}
    # Only what the test names: no .env leaks in, because a real variable is set for
    # each setting read here.
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_check_deploy_prints_no_warning_in_production_mode():
    result = _manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        env={"DEBUG": "false", "SECRET_KEY": REAL_SECRET, "ALLOWED_HOSTS": "kit.example.com"},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "WARNING" not in result.stdout + result.stderr
    assert "System check identified no issues (1 silenced)." in result.stdout


def test_a_missing_secret_key_stops_start_up_with_one_line():
    result = _manage("check", env={"DEBUG": "false", "SECRET_KEY": ""})
    assert result.returncode == 1
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "SECRET_KEY is not set" in lines[0]
    assert "Set SECRET_KEY" in lines[0]


def test_development_mode_starts_without_a_secret_key():
    result = _manage("check", env={"DEBUG": "true", "SECRET_KEY": ""})
    assert result.returncode == 0, result.stderr
