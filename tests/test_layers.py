"""The layers of the code, checked by import-linter (pyproject's [tool.importlinter]) in
`make test` as in `make lint`: api/ (transport) above accounts/ (rules and models), and
accounts/ importing neither api nor rest_framework."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def _lint_imports(cwd, *contracts):
    """lint-imports with the kit's contracts (or those named), on the packages in `cwd`."""
    limit = [f"--contract={contract}" for contract in contracts]
    return subprocess.run(
        [LINT_IMPORTS, "--no-cache", "--no-logo", *limit, str(ROOT / "pyproject.toml")],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_kit_keeps_its_layers():
    result = _lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "accounts imports neither api nor rest_framework KEPT" in result.stdout
    assert " 0 broken" in result.stdout


def _project(path, accounts_source):
    path.mkdir()
    for package, source in (("accounts", accounts_source), ("api", ""), ("config", "")):
        (path / package).mkdir()
        (path / package / "__init__.py").write_text(source)
    return path


LAYER_CONTRACTS = ("layers", "rules-without-transport")


def test_rules_importing_drf_or_the_transport_break_the_contracts(tmp_path):
    """The layer contracts on a project whose accounts/ imports rest_framework, or api:
    broken (so the check above can fail). simplejwt stays allowed."""
    drf = _lint_imports(
        _project(tmp_path / "drf", "from rest_framework import status\n"), *LAYER_CONTRACTS
    )
    assert drf.returncode != 0
    assert "accounts is not allowed to import rest_framework" in drf.stdout

    transport = _lint_imports(
        _project(tmp_path / "api", "from api import exceptions\n"), *LAYER_CONTRACTS
    )
    assert transport.returncode != 0
    assert "accounts is not allowed to import api" in transport.stdout

    simplejwt = "from rest_framework_simplejwt.tokens import AccessToken\n"
    assert _lint_imports(_project(tmp_path / "jwt", simplejwt), *LAYER_CONTRACTS).returncode == 0
