"""Hangs fail, never stall (issue 19, item 4): pyproject's pytest options give every test
a time limit (pytest-timeout), so `make test` and CI, which both run pytest from the
repository root, end a hung test with a failure and go on."""

import os
import subprocess
import sys
import textwrap

HANGS = """
import socket


def test_waits_for_a_connection_that_never_comes():
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        listener.accept()


def test_after_the_hang():
    pass
"""


def test_every_test_has_a_time_limit(pytestconfig):
    assert 0 < float(pytestconfig.getini("timeout")) <= 120


def test_a_hung_test_fails_and_the_run_goes_on(tmp_path):
    (tmp_path / "test_hangs.py").write_text(textwrap.dedent(HANGS))
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "pytest_timeout", "-o", "timeout=1", "-q"],
        cwd=tmp_path,
        env={**os.environ, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"},  # only the one plugin
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert run.returncode == 1, run.stdout
    assert "Timeout (>1.0s)" in run.stdout
    assert "1 failed, 1 passed" in run.stdout
