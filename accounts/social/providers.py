"""The OpenID Connect providers of social sign-in: SOCIAL_PROVIDERS, read and checked.

SOCIAL_PROVIDERS (config/settings.py parses the environment's JSON) is a list of
{"id", "name", "issuer", "client_id", "client_secret"}. `provider_problems` says what is
wrong with it (system check accounts.E005 stops start-up on any problem, never echoing a
secret); the other functions read only a valid list.
"""

import json
import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from accounts.conf import kit_settings
from accounts.errors import SocialTokenInvalid

REQUIRED_KEYS = ("id", "name", "issuer", "client_id", "client_secret")
# The id appears in URLs (/api/v1/auth/social/<id>/, /accounts/social/<id>/...) and is
# the `provider` of allauth's SocialAccount rows: keep it short and plain.
ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,29}$")
# Plain http only for a provider on this machine (a development or test provider).
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


@dataclass(frozen=True)
class Provider:
    """One configured OpenID Connect provider."""

    id: str
    name: str
    issuer: str
    client_id: str
    client_secret: str = field(repr=False)


def url_allowed(url: str) -> bool:
    """An https URL, or http to this machine: what the kit fetches from or sends a browser
    to (issuer, discovery, keys, authorization and token endpoints)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    if not parts.hostname:
        return False
    return parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in LOOPBACK_HOSTS)


def _entry_problems(index: int, entry: object) -> list[str]:
    where = f"SOCIAL_PROVIDERS[{index}]"
    if not isinstance(entry, dict):
        return [f"{where} must be a JSON object, not {type(entry).__name__}"]
    found = [f"{where} lacks the key {key!r}" for key in REQUIRED_KEYS if key not in entry]
    found += [
        f"{where}[{key!r}] must be a string"
        for key in REQUIRED_KEYS
        if key in entry and not isinstance(entry[key], str)
    ]
    found += [f"{where} has an unknown key {key!r}" for key in entry if key not in REQUIRED_KEYS]
    if found:
        return found
    for key in ("name", "issuer", "client_id"):
        if not entry[key].strip():
            found.append(f"{where}[{key!r}] is empty")
    if not ID_PATTERN.match(entry["id"]):
        found.append(
            f"{where}['id'] must be 1-30 characters of a-z, 0-9, '-' and '_' (not {entry['id']!r})"
        )
    issuer = entry["issuer"]
    if issuer and not url_allowed(issuer):
        found.append(
            f"{where}['issuer'] must be an https URL (plain http only for 127.0.0.1 or "
            f"localhost), not {issuer!r}"
        )
    elif issuer and (urlsplit(issuer).query or urlsplit(issuer).fragment):
        found.append(f"{where}['issuer'] must have no query or fragment")
    return found


def provider_problems(value: object) -> list[str]:
    """Why SOCIAL_PROVIDERS is refused, one line per problem ([] when it is good). The
    messages name keys and positions, never a client secret."""
    if isinstance(value, str):
        try:
            json.loads(value)
        except json.JSONDecodeError as exc:
            return [
                f"SOCIAL_PROVIDERS is not valid JSON ({exc.msg} at line {exc.lineno} "
                f"column {exc.colno}): it must be a JSON list of "
                '{"id", "name", "issuer", "client_id", "client_secret"}'
            ]
        return ["SOCIAL_PROVIDERS must be a list (the environment's JSON, parsed)"]
    if not isinstance(value, list):
        return [f"SOCIAL_PROVIDERS must be a JSON list, not {type(value).__name__}"]
    found: list[str] = []
    seen: set[str] = set()
    for index, entry in enumerate(value):
        problems = _entry_problems(index, entry)
        found += problems
        if not problems and isinstance(entry, dict):
            if entry["id"] in seen:
                found.append(f"SOCIAL_PROVIDERS[{index}]['id'] {entry['id']!r} is a duplicate")
            seen.add(entry["id"])
    return found


def social_providers() -> list[Provider]:
    """The configured providers, in their order ([] when none, or when the setting is
    refused: start-up stops then, see accounts.E005)."""
    value = kit_settings.SOCIAL_PROVIDERS
    if not isinstance(value, list) or provider_problems(value):
        return []
    return [Provider(**{key: entry[key] for key in REQUIRED_KEYS}) for entry in value]


def provider_get(provider_id: object) -> Provider:
    """The provider with this id; SocialTokenInvalid for any other (one answer for a
    provider that does not exist and a token that fails)."""
    for provider in social_providers():
        if provider.id == provider_id:
            return provider
    raise SocialTokenInvalid()
