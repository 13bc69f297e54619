"""`make rename NAME=acme`: on a copy of the tree, the visible name, the API-key marker,
the cache prefix and the compose names change, nothing key-shaped keeps `kit_`, and a
second run or a bad name is refused. (CI then runs the suite on such a copy: .ci/run.)"""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
_SKIP = shutil.ignore_patterns(
    ".git", ".venv", "staticfiles", "test-artifacts", "__pycache__", "db.sqlite3", "keys"
)


@pytest.fixture(scope="module")
def copy(tmp_path_factory):
    tree = tmp_path_factory.mktemp("rename") / "tree"
    shutil.copytree(ROOT, tree, ignore=_SKIP, symlinks=True)
    return tree


def _rename(tree, *args):
    return subprocess.run(
        ["make", "-s", "rename", *args], cwd=tree, capture_output=True, text=True, check=False
    )


@pytest.fixture(scope="module")
def renamed(copy):
    result = _rename(copy, "NAME=acme")
    assert result.returncode == 0, result.stderr
    return copy


def _read(tree, path):
    return (tree / path).read_text()


def test_the_visible_name_and_the_api_title(renamed):
    settings = _read(renamed, "config/settings.py")
    assert 'env.str("ACCOUNTS_SITE_NAME", default="Acme")' in settings
    assert '"TITLE": "Acme API"' in settings
    assert '"SITE_NAME": "Acme",' in _read(renamed, "accounts/conf.py")
    assert "| `ACCOUNTS_SITE_NAME` | `Acme` |" in _read(renamed, "docs/settings.md")


def test_the_api_key_marker_everywhere_a_key_is_made_parsed_or_documented(renamed):
    keys = _read(renamed, "accounts/apikeys/keys.py")
    assert 'raw_key = f"acme_{prefix}_{secret}"' in keys
    assert r'KEY_REGEX = r"\bacme_[a-z0-9]{8}_[A-Za-z0-9]{40}\b"' in keys
    assert 're.compile(r"acme_([a-z0-9]{8})_[A-Za-z0-9]{40}")' in keys
    assert r"`\bacme_[a-z0-9]{8}_[A-Za-z0-9]{40}\b`" in _read(renamed, "docs/services.md")
    sys.path.insert(0, str(renamed / "scripts"))
    try:
        import rename
    finally:
        sys.path.pop(0)
    left = [
        f"{path.relative_to(renamed)}: {line.strip()}"
        for path in renamed.rglob("*")
        if path.suffix in {".py", ".md", ".html", ".yml"}
        and path.name not in {"rename.py", "test_rename.py"}
        for line in path.read_text().splitlines()
        if rename.MARKER.search(line)
    ]
    assert left == []


def test_the_cache_prefix_compose_names_and_package(renamed):
    settings = _read(renamed, "config/settings.py")
    assert 'env.str("CACHE_KEY_PREFIX", default="acme")' in settings
    dev = _read(renamed, "compose.dev.yml")
    assert "name: acme-dev" in dev
    assert "postgres://acme:acme@db:5432/acme" in dev
    assert "POSTGRES_DB: acme" in _read(renamed, "docker-compose.yml")
    assert 'name = "acme"' in _read(renamed, "pyproject.toml")


def test_a_renamed_tree_is_not_renamed_twice(renamed):
    again = _rename(renamed, "NAME=other")
    assert again.returncode != 0
    assert "already renamed" in again.stderr


@pytest.fixture(scope="module")
def pristine(tmp_path_factory):
    tree = tmp_path_factory.mktemp("pristine") / "tree"
    shutil.copytree(ROOT, tree, ignore=_SKIP, symlinks=True)
    return tree


@pytest.mark.parametrize("name", ["", "Acme", "1acme", "ac-me", "kit", "a" * 21, "acme;rm"])
def test_a_bad_name_is_refused_and_changes_nothing(pristine, name):
    before = (pristine / "config/settings.py").read_text()
    result = _rename(pristine, f"NAME={name}")
    assert result.returncode != 0
    assert (pristine / "config/settings.py").read_text() == before


def test_the_script_itself_runs_without_django():
    result = subprocess.run(
        [sys.executable, "-S", str(ROOT / "scripts/rename.py"), "--help"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0
    assert "make rename NAME=acme" in result.stdout
