"""OpenID Connect: a provider's discovery document and keys, and ID-token verification.

The discovery document (`<issuer>/.well-known/openid-configuration`, whose `issuer` must be
the configured one) and the key set (its `jwks_uri`) are kept in the cache (Redis in
production, so every worker shares them) for METADATA_TTL seconds. A token signed with a
key id the cached set lacks (the provider rotated its keys) makes the kit fetch the set
again, at most once every KID_REFETCH_SECONDS per provider and process and, through the
cache, across processes: forged key ids cannot make it hammer the provider.

An ID token is accepted only when (OpenID Connect Core 3.1.3.7):
- its `alg` is an asymmetric algorithm the document lists (never "none", never HS*: a
  provider's public key must not become an HMAC secret), and its signature verifies with
  the key of its `kid` (a token without `kid` only when the set holds a single key);
- `iss` is the issuer; `aud` holds the client id, and when it names several audiences,
  `azp` is the client id; `exp`, `iat` (and `nbf`) hold with LEEWAY seconds; `sub` is a
  non-empty string;
- `nonce` equals the one the kit (browser flow) or the app put in the request.
"""

import hashlib
import logging
import threading
import time
from typing import Any

import jwt
from django.core.cache import cache
from django.utils.crypto import constant_time_compare

from accounts.errors import SocialProviderUnavailable, SocialTokenInvalid
from accounts.social import http
from accounts.social.providers import Provider, url_allowed

logger = logging.getLogger(__name__)

# Seconds a discovery document and a key set stay cached.
METADATA_TTL = 3600
# Seconds a provider whose discovery document could not be fetched is answered "unavailable"
# without asking it again: a provider that is down or hangs costs one sign-in a timeout,
# not every sign-in (and every worker) while it stays down.
PROVIDER_DOWN_SECONDS = 30
# Seconds between two fetches of a key set for an unknown key id.
KID_REFETCH_SECONDS = 60
# Seconds of clock difference allowed on `exp`, `iat` and `nbf`.
LEEWAY = 60
# Longest ID token read (a real one is 1-2 KiB).
MAX_TOKEN_LENGTH = 16 * 1024
# Longest `sub` kept (allauth's SocialAccount.uid).
MAX_SUB_LENGTH = 191
# The signature algorithms an ID token may use, when the document lists them too.
ASYMMETRIC_ALGORITHMS = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
)
# What a document that lists none means (OpenID Connect Discovery: RS256 must be there).
DEFAULT_ALGORITHMS = ("RS256",)


def _refused(reason: str) -> SocialTokenInvalid:
    """An ID token refused, with the reason for the audit trail (never for the client:
    every refusal answers alike)."""
    return SocialTokenInvalid(reason=reason)


# --- the cache --------------------------------------------------------------------------


def _key(kind: str, provider: Provider) -> str:
    """A cache key per provider and issuer (a changed issuer never reads the old entry)."""
    digest = hashlib.sha256(f"{provider.id}\n{provider.issuer}".encode()).hexdigest()[:32]
    return f"social:{kind}:{digest}"


def _cache_get(key: str) -> Any:
    try:
        return cache.get(key)
    except Exception:  # a cache outage: fetch as on a miss
        logger.warning("social sign-in: cache read failed", exc_info=True)
        return None


def _cache_set(key: str, value: Any, ttl: int) -> None:
    try:
        cache.set(key, value, ttl)
    except Exception:
        logger.warning("social sign-in: cache write failed", exc_info=True)


# Per process: when this process last fetched a key set for an unknown kid (monotonic).
_refetched_at: dict[str, float] = {}
_refetch_lock = threading.Lock()


def _refetch_allowed(provider: Provider) -> bool:
    """One key-set fetch per KID_REFETCH_SECONDS for unknown key ids: this process's own
    clock first (no cache round trip for a flood), then the cache's atomic add (one fetch
    across every process). A cache outage leaves the per-process limit."""
    key = _key("jwks-refetch", provider)
    now = time.monotonic()
    with _refetch_lock:
        last = _refetched_at.get(key)
        if last is not None and now - last < KID_REFETCH_SECONDS:
            return False
        _refetched_at[key] = now
    try:
        return bool(cache.add(key, 1, KID_REFETCH_SECONDS))
    except Exception:
        return True


def refetch_limits_clear() -> None:
    """Forget this process's refetch times (tests)."""
    with _refetch_lock:
        _refetched_at.clear()


# --- discovery and keys -----------------------------------------------------------------


def discovery_url(provider: Provider) -> str:
    return provider.issuer.rstrip("/") + "/.well-known/openid-configuration"


def provider_metadata(provider: Provider) -> dict[str, Any]:
    """The provider's discovery document (cached). SocialProviderUnavailable when it cannot
    be fetched or is not a document of this issuer."""
    key = _key("discovery", provider)
    document = _cache_get(key)
    if isinstance(document, dict):
        return document
    down_key = _key("down", provider)
    if _cache_get(down_key):
        raise SocialProviderUnavailable()
    try:
        document = http.get_json(discovery_url(provider))
    except SocialProviderUnavailable:
        _cache_set(down_key, True, PROVIDER_DOWN_SECONDS)
        raise
    if not isinstance(document, dict) or document.get("issuer") != provider.issuer:
        logger.warning(
            "social sign-in: %s: the discovery document names another issuer", provider.id
        )
        raise SocialProviderUnavailable()
    jwks_uri = document.get("jwks_uri")
    if not isinstance(jwks_uri, str) or not url_allowed(jwks_uri):
        raise SocialProviderUnavailable()
    _cache_set(key, document, METADATA_TTL)
    return document


def cached_metadata(provider: Provider) -> dict[str, Any] | None:
    """The provider's discovery document if the cache holds it (never a fetch)."""
    document = _cache_get(_key("discovery", provider))
    return document if isinstance(document, dict) else None


def endpoint(document: dict[str, Any], name: str) -> str:
    """An endpoint URL of the document (`authorization_endpoint`, `token_endpoint`), or
    SocialProviderUnavailable when it has none that the kit may use."""
    url = document.get(name)
    if not isinstance(url, str) or not url_allowed(url):
        raise SocialProviderUnavailable()
    return url


def _fetch_keys(provider: Provider, document: dict[str, Any]) -> list[dict[str, Any]]:
    answer = http.get_json(document["jwks_uri"])
    keys = answer.get("keys") if isinstance(answer, dict) else None
    if not isinstance(keys, list):
        raise SocialProviderUnavailable()
    keys = [k for k in keys if isinstance(k, dict) and k.get("use", "sig") == "sig"]
    _cache_set(_key("jwks", provider), keys, METADATA_TTL)
    return keys


def _keys(provider: Provider, document: dict[str, Any]) -> tuple[list[dict[str, Any]], bool]:
    """(the key set, whether it was fetched just now)."""
    keys = _cache_get(_key("jwks", provider))
    if isinstance(keys, list):
        return keys, False
    return _fetch_keys(provider, document), True


def _matching(keys: list[dict[str, Any]], kid: object) -> list[dict[str, Any]]:
    if kid is None:
        return keys if len(keys) == 1 else []
    return [k for k in keys if k.get("kid") == kid]


def _signing_key(
    provider: Provider, document: dict[str, Any], *, kid: object, alg: str
) -> jwt.PyJWK:
    """The key of `kid` for `alg`, from the cached set or, for an unknown kid, a fresh one
    (rate-limited)."""
    keys, fresh = _keys(provider, document)
    found = _matching(keys, kid)
    if not found and not fresh and _refetch_allowed(provider):
        found = _matching(_fetch_keys(provider, document), kid)
    if len(found) != 1:
        raise _refused("unknown_key")
    jwk = found[0]
    if jwk.get("alg", alg) != alg:
        raise _refused("key_algorithm")
    try:
        return jwt.PyJWK(jwk, algorithm=alg)
    except (jwt.PyJWTError, ValueError, TypeError, KeyError):
        raise _refused("key_algorithm") from None


def allowed_algorithms(document: dict[str, Any]) -> frozenset[str]:
    listed = document.get("id_token_signing_alg_values_supported") or DEFAULT_ALGORITHMS
    if not isinstance(listed, list | tuple):
        listed = DEFAULT_ALGORITHMS
    return ASYMMETRIC_ALGORITHMS & {a for a in listed if isinstance(a, str)}


# --- ID tokens --------------------------------------------------------------------------

_REFUSALS: tuple[tuple[type[jwt.PyJWTError], str], ...] = (
    (jwt.ExpiredSignatureError, "expired"),
    (jwt.ImmatureSignatureError, "not_yet_valid"),
    (jwt.InvalidIssuerError, "issuer"),
    (jwt.InvalidAudienceError, "audience"),
    (jwt.MissingRequiredClaimError, "missing_claim"),
    (jwt.InvalidSignatureError, "signature"),
    (jwt.InvalidIssuedAtError, "issued_at"),
)


def id_token_verify(*, provider: Provider, id_token: object, nonce: str | None) -> dict[str, Any]:
    """The claims of a valid ID token of `provider` (see the module docstring), `nonce`
    required to match when given. SocialTokenInvalid (with its `reason`) otherwise;
    SocialProviderUnavailable when the provider's document or keys cannot be fetched."""
    if not isinstance(id_token, str) or not id_token or len(id_token) > MAX_TOKEN_LENGTH:
        raise _refused("malformed")
    try:
        header = jwt.get_unverified_header(id_token)
    except jwt.PyJWTError:
        raise _refused("malformed") from None
    alg = header.get("alg")
    document = provider_metadata(provider)
    if not isinstance(alg, str) or alg not in allowed_algorithms(document):
        raise _refused("algorithm")
    key = _signing_key(provider, document, kid=header.get("kid"), alg=alg)
    try:
        claims = jwt.decode(
            id_token,
            key=key,
            algorithms=[alg],
            audience=provider.client_id,
            issuer=provider.issuer,
            leeway=LEEWAY,
            options={"require": ["iss", "aud", "exp", "iat", "sub"]},
        )
    except jwt.PyJWTError as exc:
        reason = next((r for cls, r in _REFUSALS if isinstance(exc, cls)), "invalid")
        raise _refused(reason) from None
    audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
    if len(audiences) > 1 and claims.get("azp") != provider.client_id:
        raise _refused("authorized_party")
    sub = claims["sub"]
    if not isinstance(sub, str) or not sub or len(sub) > MAX_SUB_LENGTH:
        raise _refused("subject")
    if nonce is not None:
        sent = claims.get("nonce")
        if not isinstance(sent, str) or not constant_time_compare(sent, nonce):
            raise _refused("nonce")
    return claims
