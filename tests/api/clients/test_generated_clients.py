"""The clients app teams generate from /api/schema/ work without a workaround (issue 20,
docs/clients.md): the Python client of openapi-python-client, generated from the live
schema, passes `mypy --strict` together with a script of the mobile flow, and that script
runs against a live server; optionally the TypeScript types of openapi-typescript pass
`tsc --strict` with a small typed usage.

The generators live outside the test requirements (`make test-clients` installs
requirements-clients.txt into .venv/clients): without them the suite is skipped, and CI
names `clients` in KIT_REQUIRE_SERVICES so that a skip there is an error.
"""

import json
import os
import shutil
import subprocess
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import CLIENTS_VENV

pytestmark = [pytest.mark.clients, pytest.mark.django_db(transaction=True)]

HERE = Path(__file__).resolve().parent
PACKAGE = "kit_api_client"


def _run(*command, cwd, env=None, timeout=300):
    result = subprocess.run(
        command,
        cwd=cwd,
        env={**os.environ, "PATH": f"{CLIENTS_VENV / 'bin'}:{os.environ['PATH']}", **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert result.returncode == 0, f"{command}:\n{result.stdout}\n{result.stderr}"
    return result.stdout


@pytest.fixture(scope="module")
def live_schema(live_server, tmp_path_factory):
    """The schema as a client downloads it from the running server."""
    url = f"{live_server.url}/api/schema/?format=json"
    with urllib.request.urlopen(url) as response:  # noqa: S310 - the live server's http URL
        schema = json.load(response)
    path = tmp_path_factory.mktemp("schema") / "schema.json"
    path.write_text(json.dumps(schema))
    return path


@pytest.fixture(scope="module")
def python_client(live_schema, tmp_path_factory):
    """openapi-python-client's package from the live schema, as its README says to make it
    (its own ruff post-hooks included)."""
    tmp_path = tmp_path_factory.mktemp("python")
    out = tmp_path / "kit-api-client"
    _run(
        str(CLIENTS_VENV / "bin" / "openapi-python-client"),
        "generate",
        "--path",
        str(live_schema),
        "--output-path",
        str(out),
        cwd=tmp_path,
    )
    assert (out / PACKAGE / "client.py").exists()
    shutil.copy(HERE / "mobile_flow.py", out / "mobile_flow.py")
    return out


def test_the_python_client_and_the_mobile_flow_pass_mypy_strict(python_client):
    output = _run(
        str(CLIENTS_VENV / "bin" / "mypy"),
        "--strict",
        "--no-incremental",
        "mobile_flow.py",
        PACKAGE,
        cwd=python_client,
    )
    assert "Success: no issues found" in output


def test_the_mobile_flow_runs_through_the_python_client(
    python_client, live_server, make_user, password, make_api_key
):
    user = make_user()
    _, key = make_api_key(scopes=["users:read"])
    output = _run(
        str(CLIENTS_VENV / "bin" / "python"),
        "mobile_flow.py",
        live_server.url,
        user.username,
        password,
        key,
        cwd=python_client,
    )
    assert "reuse of the old refresh token: refresh_reused" in output
    assert "logout of the ended session (Bearer): 204" in output
    assert "introspect with a users:read key: insufficient_scope tokens:introspect" in output
    assert output.rstrip().endswith("mobile flow: ok")


# --- TypeScript (optional: by hand, or wherever node and the npm registry are) ---------

TYPESCRIPT_PACKAGES = ["openapi-typescript@7.13.0", "typescript@5.9.3"]
NODE_TOOLS = Path(os.environ.get("KIT_NODE_TOOLS", CLIENTS_VENV / "node"))


@pytest.mark.skipif(
    not shutil.which("npm") or not os.environ.get("KIT_TYPESCRIPT_CLIENT"),
    reason="TypeScript client: needs node/npm and KIT_TYPESCRIPT_CLIENT=1 (docs/clients.md)",
)
def test_the_typescript_types_pass_tsc_strict(live_schema, tmp_path):
    if not (NODE_TOOLS / "node_modules" / ".bin" / "tsc").exists():
        _run(
            "npm",
            "install",
            "--no-save",
            "--prefix",
            str(NODE_TOOLS),
            *TYPESCRIPT_PACKAGES,
            cwd=tmp_path,
        )
    bin_dir = NODE_TOOLS / "node_modules" / ".bin"
    _run(str(bin_dir / "openapi-typescript"), str(live_schema), "-o", "kit-api.d.ts", cwd=tmp_path)
    shutil.copy(HERE / "usage.ts", tmp_path / "usage.ts")
    _run(
        str(bin_dir / "tsc"),
        "--strict",
        "--noEmit",
        "--target",
        "es2022",
        "--lib",
        "es2022,dom",
        "usage.ts",
        cwd=tmp_path,
    )
