"""Every setting read from the environment is documented where operators look."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _settings_read_from_the_environment():
    names = set()
    for path in ("config/settings.py", "gunicorn.conf.py"):
        source = (ROOT / path).read_text()
        names |= set(re.findall(r"""env(?:\.\w+)?\(\s*["']([A-Z][A-Z0-9_]+)["']""", source))
        names |= set(re.findall(r"""os\.environ\.get\(\s*["']([A-Z][A-Z0-9_]+)["']""", source))
    return names


def test_every_setting_is_in_the_readme_and_env_example():
    names = _settings_read_from_the_environment()
    assert {"SECRET_KEY", "DATABASE_URL", "ACCOUNTS_ALLOW_SIGNUP", "WEB_CONCURRENCY"} <= names
    readme = (ROOT / "README.md").read_text()
    example = (ROOT / ".env.example").read_text()
    assert sorted(n for n in names if f"`{n}`" not in readme) == []
    assert sorted(n for n in names if not re.search(rf"^# {n}=", example, re.M)) == []
