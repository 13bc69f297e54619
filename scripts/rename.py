#!/usr/bin/env python3
"""Make the kit yours: `make rename NAME=acme [TITLE="Acme"]` (or `python3 scripts/rename.py
acme [--title Acme]`) renames, in place, what carries the kit's name:

- the visible name: the ACCOUNTS_SITE_NAME default (page titles, the admin, e-mails) and
  the API's title (OpenAPI, /api/docs/, the generated clients' package name);
- the API-key marker `kit_` that starts every key (accounts/apikeys/keys.py: the key's
  f-string, KEY_REGEX and the parsing pattern), wherever it is parsed, tested or
  documented; rename before the first key is issued (older keys stop parsing);
- the cache's key prefix (CACHE_KEY_PREFIX's default), the compose project, database and
  user names, and the package name in pyproject.toml.

The kit has no cookie of its own name (access_token, refresh_token, device_id,
device_trust, csrftoken, sessionid), so none changes. Prose ("the kit") is left for you.
Run it once, on a clean checkout, then `make test`. Stdlib only: no virtualenv needed.
"""

import argparse
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NAME = re.compile(r"[a-z][a-z0-9]{1,19}")
# `kit_` where it starts a key or a key pattern: before `{` (f-string), `<` (docs), `(` or
# `[` (regex), a quote or backtick (the bare marker), or 8 key characters and `_`; not
# inside a longer identifier (kit_settings, _kit_browser...).
MARKER = re.compile(r"(?:(?<=\\b)|(?<![A-Za-z0-9_\\]))kit_(?=[{<(\[\"'`é]|[A-Za-z0-9]{8}_)")
SOURCES = ("accounts", "api", "config", "tests", "docs", "scripts", "bench")


def _files():
    for top in SOURCES:
        yield from (p for p in (ROOT / top).rglob("*") if p.suffix in {".py", ".md", ".html"})
    yield from (ROOT / name for name in ("README.md", "SECURITY.md", "CONTRIBUTING.md"))


def _compose(text, name):
    """`kit` as a word on every line that is not a comment (project, database, user)."""
    return "".join(
        line if line.lstrip().startswith("#") else re.sub(r"\bkit\b", name, line)
        for line in text.splitlines(keepends=True)
    )


def renames(name, title):
    """(path, function(text) -> text) for every change."""
    literal = [
        (
            "config/settings.py",
            'env.str("ACCOUNTS_SITE_NAME", default="Kit")',
            f'env.str("ACCOUNTS_SITE_NAME", default="{title}")',
        ),
        ("config/settings.py", '"TITLE": "Kit API"', f'"TITLE": "{title} API"'),
        (
            "config/settings.py",
            'env.str("CACHE_KEY_PREFIX", default="kit")',
            f'env.str("CACHE_KEY_PREFIX", default="{name}")',
        ),
        ("config/settings.py", '"LOCATION": "kit"', f'"LOCATION": "{name}"'),
        ("accounts/conf.py", '"SITE_NAME": "Kit",', f'"SITE_NAME": "{title}",'),
        ("pyproject.toml", 'name = "kit"', f'name = "{name}"'),
        (".env.example", "# ACCOUNTS_SITE_NAME=Kit", f"# ACCOUNTS_SITE_NAME={title}"),
        (".env.example", "# CACHE_KEY_PREFIX=kit", f"# CACHE_KEY_PREFIX={name}"),
        (
            "docs/settings.md",
            "| `ACCOUNTS_SITE_NAME` | `Kit` |",
            f"| `ACCOUNTS_SITE_NAME` | `{title}` |",
        ),
        (
            "docs/settings.md",
            "| `CACHE_KEY_PREFIX` | `kit` |",
            f"| `CACHE_KEY_PREFIX` | `{name}` |",
        ),
        ("README.md", "| `ACCOUNTS_SITE_NAME` | `Kit` |", f"| `ACCOUNTS_SITE_NAME` | `{title}` |"),
    ]
    changes = [
        (path, lambda text, old=old, new=new: text.replace(old, new)) for path, old, new in literal
    ]
    for path in _files():
        relative = str(path.relative_to(ROOT))
        if relative == "scripts/rename.py" or relative.startswith("tests/scripts/"):
            continue
        changes.append((relative, lambda text: MARKER.sub(f"{name}_", text)))
        changes.append(
            (relative, lambda text: re.sub(r"\bkit_api_client\b", f"{name}_api_client", text))
        )
        if relative.startswith("tests/"):  # what the tests expect of the visible name
            changes.append(
                (
                    relative,
                    lambda text: re.sub(
                        r"\bKit (?=administration|admin</title>|API\b)", f"{title} ", text
                    ),
                )
            )
    for compose in ("docker-compose.yml", "compose.dev.yml"):
        changes.append((compose, lambda text: _compose(text, name)))
    return changes


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("name", help="lower case, 2-20 of a-z0-9, starting with a letter: acme")
    parser.add_argument("--title", help="the visible name (default: NAME capitalised)")
    args = parser.parse_args(argv)
    if not NAME.fullmatch(args.name) or args.name == "kit":
        parser.error(f"NAME must be 2-20 of a-z0-9 starting with a letter, not kit: {args.name!r}")
    title = args.title or args.name.capitalize()
    if not re.fullmatch(r"[\w .&'-]{1,40}", title) or '"' in title:
        parser.error(f"TITLE must be 1-40 letters, digits, spaces or .&'-: {title!r}")
    if 'default="Kit"' not in (ROOT / "config/settings.py").read_text():
        sys.exit("rename: this tree is already renamed (ACCOUNTS_SITE_NAME's default is not Kit).")
    touched = set()
    for relative, change in renames(args.name, title):
        path = ROOT / relative
        if not path.exists():
            continue
        before = path.read_text()
        after = change(before)
        if after != before:
            path.write_text(after)
            touched.add(relative)
    print(f"Renamed the kit to {title} ({args.name}_ API keys) in {len(touched)} files:")
    for relative in sorted(touched):
        print(f"  {relative}")
    print("Next: make test, then commit.")


if __name__ == "__main__":
    main()
