"""The documentation stays true to the code and stays readable.

Every setting read from the environment is in docs/settings.md and .env.example (and
docs/settings.md lists none that is no longer read); the README stays a short front door;
every relative link in the README and docs/ leads somewhere.
"""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README_MAX_LINES = 250
_LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def _settings_read_from_the_environment():
    names = set()
    for path in ("config/settings.py", "gunicorn.conf.py"):
        source = (ROOT / path).read_text()
        names |= set(re.findall(r"""env(?:\.\w+)?\(\s*["']([A-Z][A-Z0-9_]+)["']""", source))
        names |= set(re.findall(r"""os\.environ\.get\(\s*["']([A-Z][A-Z0-9_]+)["']""", source))
    return names


def _settings_in_the_docs():
    """The names in the first column of docs/settings.md's tables."""
    names = set()
    for line in (ROOT / "docs/settings.md").read_text().splitlines():
        first_cell = re.match(r"^\|([^|]+)\|", line)
        if first_cell:
            names |= set(re.findall(r"`([A-Z][A-Z0-9_]+)`", first_cell.group(1)))
    return names


def test_every_setting_read_is_in_docs_settings_and_env_example():
    names = _settings_read_from_the_environment()
    assert {"SECRET_KEY", "DATABASE_URL", "ACCOUNTS_ALLOW_SIGNUP", "WEB_CONCURRENCY"} <= names
    example = (ROOT / ".env.example").read_text()
    assert sorted(names - _settings_in_the_docs()) == []
    assert sorted(n for n in names if not re.search(rf"^# {n}=", example, re.M)) == []


def test_docs_settings_lists_only_settings_that_are_read():
    assert sorted(_settings_in_the_docs() - _settings_read_from_the_environment()) == []


def test_the_readme_is_short():
    lines = (ROOT / "README.md").read_text().splitlines()
    assert len(lines) <= README_MAX_LINES


def _anchors(markdown):
    """GitHub's heading anchors: lower case, punctuation dropped, spaces as hyphens."""
    anchors, seen = set(), {}
    in_code = False
    for line in markdown.splitlines():
        if line.startswith("```"):
            in_code = not in_code
        heading = None if in_code else re.match(r"^#{1,6} +(.+?) *#*$", line)
        if heading:
            slug = re.sub(r"[^\w\- ]", "", heading.group(1).lower()).replace(" ", "-")
            count = seen.get(slug, 0)
            seen[slug] = count + 1
            anchors.add(slug if count == 0 else f"{slug}-{count}")
    return anchors


def _relative_links(markdown):
    """Link targets outside code blocks and code spans, minus web and mail addresses."""
    text = re.sub(r"^```.*?^```", "", markdown, flags=re.M | re.S)
    text = re.sub(r"`[^`\n]*`", "", text)
    return [t for t in _LINK.findall(text) if not re.match(r"^[a-z][a-z0-9+.-]*:", t)]


def test_every_relative_link_in_the_readme_and_docs_resolves():
    documents = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    broken = []
    for document in documents:
        for target in _relative_links(document.read_text()):
            path, _, anchor = target.partition("#")
            linked = (document.parent / path).resolve() if path else document
            if not linked.exists():
                broken.append(f"{document.relative_to(ROOT)}: {target} (no such file)")
            elif anchor and linked.suffix == ".md" and anchor not in _anchors(linked.read_text()):
                broken.append(f"{document.relative_to(ROOT)}: {target} (no such heading)")
    assert broken == []
