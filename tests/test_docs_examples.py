"""The shell examples of the README and the guides run as printed, so they cannot rot.

A block marked `<!-- runnable -->` (the line before its ```sh fence) is run by bash, the
blocks of one document in one shell (so variables carry over, as for a reader), against
the kit served as `make run` serves it (`make migrate`, then runserver through `make
manage`, without autoreload so an edit elsewhere cannot drop a request) on a free port
with a fresh SQLite database. The only change to the text is the port. Each block must
exit 0; every `"code": "..."` its output shows must be announced in one of its comments,
and every announced one must show; the HTTP statuses that `-w '%{http_code}\\n'` prints
must be the ones its comments announce (`# 204`), in order.
"""

import os
import re
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# The README first (it makes the examples' user), then the guides; mobile.md last, as its
# device-limit example fills the user's device slots.
DOCUMENTS = [
    "README.md",
    "docs/browser-apps.md",
    "docs/services.md",
    "docs/mfa.md",
    "docs/mobile.md",
]
_BLOCK = re.compile(r"^<!-- runnable -->\n```sh\n(.*?)^```", re.M | re.S)
_CODE = re.compile(r'"code": ?"(\w+)"')
_STATUS_COMMENT = re.compile(r"#\s*(\d{3})\s*$")
# A status printed by -w '%{http_code}\n': alone on its line, or after a JSON body that
# curl printed without a newline.
_STATUS_PRINTED = re.compile(r"(?:^|(?<=[}\]]))(\d{3})$", re.M)
_SEPARATOR = "=====r8-block-end====="

pytestmark = pytest.mark.skipif(
    not (shutil.which("curl") and shutil.which("jq") and shutil.which("make")),
    reason="the examples need curl, jq and make",
)


def runnable_blocks(document):
    return _BLOCK.findall((ROOT / document).read_text())


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def live_kit(tmp_path_factory):
    """The kit served in a directory that looks like a fresh clone (the checkout's entries
    linked in, so the examples' files land in the temp dir), its SQLite database there."""
    workdir = tmp_path_factory.mktemp("clone")
    for entry in ROOT.iterdir():
        if entry.name not in {"db.sqlite3", ".env", "keys"}:
            (workdir / entry.name).symlink_to(entry)
    port = _free_port()
    env = {
        "PATH": os.environ["PATH"],
        "HOME": os.environ.get("HOME", str(workdir)),
        "LANG": "C.UTF-8",
        "DATABASE_URL": f"sqlite:///{workdir / 'db.sqlite3'}",
    }
    subprocess.run(["make", "migrate"], cwd=workdir, env=env, check=True, capture_output=True)
    server = subprocess.Popen(
        ["make", "manage", f"ARGS=runserver --noreload 127.0.0.1:{port}"],
        cwd=workdir,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1):
                break
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                _stop(server)
                pytest.fail(f"the kit did not serve: {server.stderr.read().decode()[-2000:]}")
            time.sleep(0.2)
    yield workdir, port, env
    _stop(server)


def _stop(server):
    """End make and the runserver under it (their own process group)."""
    if server.poll() is None:
        os.killpg(server.pid, signal.SIGTERM)
    server.wait(timeout=10)


def _expected(block):
    comments = [line[line.index("#") :] for line in block.splitlines() if "#" in line]
    codes = set(_CODE.findall("\n".join(comments)))
    statuses = [m.group(1) for line in block.splitlines() if (m := _STATUS_COMMENT.search(line))]
    return codes, statuses


def test_every_document_with_examples_is_covered():
    marked = {
        str(path.relative_to(ROOT))
        for path in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
        if "<!-- runnable -->" in path.read_text()
    }
    assert marked == set(DOCUMENTS)
    assert all(runnable_blocks(document) for document in DOCUMENTS)


@pytest.mark.parametrize("document", DOCUMENTS)
def test_the_examples_run_as_printed(live_kit, document):
    workdir, port, env = live_kit
    blocks = runnable_blocks(document)
    script = "set -eo pipefail\n" + "".join(
        f"{block}\nprintf '\\n%s\\n' {_SEPARATOR}\n" for block in blocks
    )
    script = script.replace("127.0.0.1:8000", f"127.0.0.1:{port}")
    result = subprocess.run(
        ["bash", "-c", script], cwd=workdir, env=env, capture_output=True, text=True, timeout=120
    )
    outputs = result.stdout.split(_SEPARATOR + "\n")
    assert result.returncode == 0, f"{document}: {result.stderr[-2000:]}\n{result.stdout[-2000:]}"
    assert len(outputs) == len(blocks) + 1
    for block, output in zip(blocks, outputs, strict=False):
        codes, statuses = _expected(block)
        assert set(_CODE.findall(output)) == codes, f"{document}:\n{block}\n--- printed:\n{output}"
        assert _STATUS_PRINTED.findall(output) == statuses, f"{document}:\n{block}\n{output}"
