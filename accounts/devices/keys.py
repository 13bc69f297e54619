"""The JWT key configuration, parsed and checked once from the JWT_* settings.

`load_key_config()` turns the strings of config/settings.py into ready key objects, so no
request ever parses a PEM. Every mistake an operator can make (unknown algorithm, missing
or unreadable key, a key of the wrong type or too short, a verifying key that does not
match the signing key, a duplicate `kid`, a bad encryption key) raises ImproperlyConfigured
with a one-line message naming the setting; the system check in accounts/checks.py shows it
at start-up.

Key values (JWT_SIGNING_KEY, JWT_VERIFYING_KEY, each JWT_OLD_VERIFYING_KEYS entry):
- HS*: the secret itself (at least as long as the hash: 32/48/64 bytes, RFC 7518 3.2).
- RS*/ES*: PEM text (beginning with "-----BEGIN"; newlines may be written as `\\n`) or
  the path of a PEM file (relative paths are taken from the project directory).
JWT_OLD_VERIFYING_KEYS entries are `kid=value`; `=value` (empty kid) names the key of
tokens issued without a `kid`.

Key ids: RS*/ES* tokens always carry a `kid`, and every key in the JWKS has one, because
JWKS clients (PyJWT's PyJWKClient, most gateways) pick the key by it. Without JWT_KEY_ID
the `kid` is the key's RFC 7638 thumbprint, and each public key is also accepted under its
thumbprint, so tokens signed before JWT_KEY_ID was set (or before a key became an old
one) keep verifying. HS* secrets get no derived `kid`: nothing verifies them through a
JWKS, and a token header would then carry a digest of the secret.
"""

import base64
import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, cast

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from joserfc.jwk import ECKey, RSAKey
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

HMAC_ALGORITHMS = {"HS256": 32, "HS384": 48, "HS512": 64}  # minimum key bytes
RSA_ALGORITHMS = {"RS256", "RS384", "RS512"}
EC_ALGORITHMS: dict[str, type[ec.EllipticCurve]] = {
    "ES256": ec.SECP256R1,
    "ES384": ec.SECP384R1,
    "ES512": ec.SECP521R1,
}
ALGORITHMS = (*HMAC_ALGORITHMS, *sorted(RSA_ALGORITHMS), *EC_ALGORITHMS)
MIN_RSA_BITS = 2048
ENCRYPTION_KEY_BYTES = 32  # A256GCM

PublicKey = rsa.RSAPublicKey | ec.EllipticCurvePublicKey
PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
# An HS* secret (bytes) or a parsed RS*/ES* key.
SigningKey = bytes | PrivateKey
VerifyingKey = bytes | PublicKey


@dataclass(frozen=True)
class KeyConfig:
    """Everything the token backend needs, with keys already parsed."""

    algorithm: str
    signing_key: SigningKey
    signing_kid: str | None
    verifying_key: VerifyingKey
    # kid -> verifying key of earlier (or upcoming) keys; None: tokens without a kid.
    old_verifying_keys: dict[str | None, VerifyingKey]
    issuer: str | None
    audience: str | None
    # JWE: kid -> 32-byte key, and the kid of the key that encrypts (None: JWE off).
    encryption_keys: dict[str, bytes] = field(default_factory=dict)
    encryption_kid: str | None = None

    @property
    def is_asymmetric(self) -> bool:
        return self.algorithm not in HMAC_ALGORITHMS

    def verifying_keys_by_kid(self) -> dict[str | None, VerifyingKey]:
        """kid -> key for every accepted kid; None maps to the key of kid-less tokens,
        the current key unless an old entry names one. RS*/ES* keys are also found by
        their thumbprint (the kid they were given while JWT_KEY_ID was unset)."""
        keys: dict[str | None, VerifyingKey] = {None: self.verifying_key}
        if self.is_asymmetric:
            for key in (self.verifying_key, *self.old_verifying_keys.values()):
                assert not isinstance(key, bytes)  # RS*/ES* keys are parsed keys
                keys[key_thumbprint(key)] = key
        if self.signing_kid:
            keys[self.signing_kid] = self.verifying_key
        keys.update(self.old_verifying_keys)
        return keys

    @cached_property
    def jwks(self) -> dict[str, list[dict[str, Any]]]:
        """The public JSON Web Key Set, current key first; empty for HS* (secrets)."""
        return _public_jwks(self) if self.is_asymmetric else {"keys": []}


def load_key_config() -> KeyConfig:
    """Build the KeyConfig from the current settings, or raise ImproperlyConfigured."""
    algorithm = settings.JWT_ALGORITHM
    if algorithm not in ALGORITHMS:
        raise ImproperlyConfigured(
            f"JWT_ALGORITHM={algorithm!r} is not supported; use one of {', '.join(ALGORITHMS)}."
        )
    signing_kid = settings.JWT_KEY_ID or None
    signing_key: SigningKey
    current_verifying_key: VerifyingKey
    if algorithm in HMAC_ALGORITHMS:
        name = "JWT_SIGNING_KEY" if settings.JWT_SIGNING_KEY else "SECRET_KEY (as JWT key)"
        signing_key = _hmac_key(name, settings.JWT_SIGNING_KEY or settings.SECRET_KEY, algorithm)
        current_verifying_key = signing_key
    else:
        signing_key, current_verifying_key = _asymmetric_key_pair(algorithm)
        signing_kid = signing_kid or key_thumbprint(current_verifying_key)

    old_verifying_keys: dict[str | None, VerifyingKey] = {}
    for kid, value in _old_key_entries(settings.JWT_OLD_VERIFYING_KEYS):
        name = f"JWT_OLD_VERIFYING_KEYS[{kid or '(no kid)'}]"
        if kid in old_verifying_keys or (kid is not None and kid == signing_kid):
            raise ImproperlyConfigured(f"{name}: this kid is given to two keys.")
        if kid is None and signing_kid is None:
            raise ImproperlyConfigured(
                f"{name}: tokens without a kid are verified by the current key while "
                "JWT_KEY_ID is unset; set JWT_KEY_ID first."
            )
        if algorithm in HMAC_ALGORITHMS:
            old_verifying_keys[kid] = _hmac_key(name, value, algorithm)
        else:
            old_verifying_keys[kid] = _public_key(name, value, algorithm)

    encryption_keys, encryption_kid = _encryption_keys()
    return KeyConfig(
        algorithm=algorithm,
        signing_key=signing_key,
        signing_kid=signing_kid,
        verifying_key=current_verifying_key,
        old_verifying_keys=old_verifying_keys,
        issuer=settings.JWT_ISSUER or None,
        audience=settings.JWT_AUDIENCE or None,
        encryption_keys=encryption_keys,
        encryption_kid=encryption_kid,
    )


def key_thumbprint(public_key: PublicKey) -> str:
    """The RFC 7638 JWK thumbprint of an RSA or EC public key (base64url SHA-256 of its
    canonical JWK): a `kid` that any party holding the key can compute."""
    if isinstance(public_key, rsa.RSAPublicKey):
        return RSAKey.import_key(public_key).thumbprint()
    return ECKey.import_key(public_key).thumbprint()


def generate_key_pair(algorithm: str) -> tuple[bytes, bytes]:
    """A new (private PEM, public PEM) pair for an RS*/ES* algorithm (RSA: 2048 bits)."""
    private_key: PrivateKey
    if algorithm in RSA_ALGORITHMS:
        private_key = rsa.generate_private_key(public_exponent=65537, key_size=MIN_RSA_BITS)
    elif algorithm in EC_ALGORITHMS:
        private_key = ec.generate_private_key(EC_ALGORITHMS[algorithm]())
    else:
        raise ValueError(f"{algorithm} has no key pair; use one of RS*/ES*.")
    private_pem = private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    public_pem = private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private_pem, public_pem


def _hmac_key(name: str, value: str, algorithm: str) -> bytes:
    key = value.encode()
    if key.lstrip().startswith(b"-----BEGIN"):
        raise ImproperlyConfigured(f"{name}: {algorithm} needs a secret, not a PEM key.")
    if len(key) < HMAC_ALGORITHMS[algorithm]:
        raise ImproperlyConfigured(
            f"{name}: {algorithm} needs a secret of at least "
            f"{HMAC_ALGORITHMS[algorithm]} bytes (it has {len(key)})."
        )
    return key


def _asymmetric_key_pair(algorithm: str) -> tuple[PrivateKey, PublicKey]:
    """The private signing key and its public key; JWT_VERIFYING_KEY must match if given."""
    if not settings.JWT_SIGNING_KEY:
        raise ImproperlyConfigured(
            f"JWT_SIGNING_KEY is not set: {algorithm} needs a private key "
            "(PEM text or file; `make keys` makes a pair)."
        )
    pem = _pem_bytes("JWT_SIGNING_KEY", settings.JWT_SIGNING_KEY)
    try:
        private_key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError) as exc:
        raise ImproperlyConfigured(
            f"JWT_SIGNING_KEY is not an unencrypted PEM private key ({exc})."
        ) from exc
    public_key = _check_key_type("JWT_SIGNING_KEY", private_key.public_key(), algorithm)
    if settings.JWT_VERIFYING_KEY:
        given = _public_key("JWT_VERIFYING_KEY", settings.JWT_VERIFYING_KEY, algorithm)
        if _spki(given) != _spki(public_key):
            raise ImproperlyConfigured(
                "JWT_VERIFYING_KEY is not the public key of JWT_SIGNING_KEY."
            )
    return cast(PrivateKey, private_key), public_key


def _public_key(name: str, value: str, algorithm: str) -> PublicKey:
    """A public key from PEM text or file; a private key is accepted and reduced."""
    pem = _pem_bytes(name, value)
    try:
        key = serialization.load_pem_public_key(pem)
    except ValueError:
        try:
            key = serialization.load_pem_private_key(pem, password=None).public_key()
        except (ValueError, TypeError) as exc:
            raise ImproperlyConfigured(f"{name} is not a PEM public key ({exc}).") from exc
    return _check_key_type(name, key, algorithm)


def _pem_bytes(name: str, value: str) -> bytes:
    """PEM text (with real or `\\n`-escaped newlines) or the contents of a PEM file."""
    text = value.strip()
    if text.startswith("-----BEGIN"):
        return text.replace("\\n", "\n").encode()
    path = Path(text)
    if not path.is_absolute():
        path = Path(settings.BASE_DIR) / path
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ImproperlyConfigured(
            f"{name}: cannot read key file {path} ({exc.strerror or exc})."
        ) from exc


def _check_key_type(name: str, public_key: object, algorithm: str) -> PublicKey:
    """`public_key`, if it is a key of `algorithm`'s type and size."""
    if algorithm in RSA_ALGORITHMS:
        if not isinstance(public_key, rsa.RSAPublicKey):
            raise ImproperlyConfigured(f"{name}: {algorithm} needs an RSA key.")
        if public_key.key_size < MIN_RSA_BITS:
            raise ImproperlyConfigured(
                f"{name}: RSA key of {public_key.key_size} bits; at least {MIN_RSA_BITS}."
            )
    else:
        curve = EC_ALGORITHMS[algorithm]
        if not isinstance(public_key, ec.EllipticCurvePublicKey) or not isinstance(
            public_key.curve, curve
        ):
            raise ImproperlyConfigured(f"{name}: {algorithm} needs an EC key on {curve.name}.")
    return public_key


def _spki(public_key: PublicKey) -> bytes:
    return public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _old_key_entries(entries: Iterable[str]) -> Iterator[tuple[str | None, str]]:
    """(kid or None, value) pairs from `kid=value` entries."""
    for number, entry in enumerate(entries, start=1):
        kid, sep, value = entry.strip().partition("=")
        if not sep or not value.strip():
            # The entry itself is not shown: it may hold a secret.
            raise ImproperlyConfigured(f"JWT_OLD_VERIFYING_KEYS entry {number} is not `kid=key`.")
        yield kid.strip() or None, value


def _encryption_keys() -> tuple[dict[str, bytes], str | None]:
    """JWE keys from JWT_ENCRYPTION_KEY: base64url 32-byte keys, comma separated; the
    first encrypts, all decrypt (so the key can be rotated). Each key's `kid` in the JWE
    header is a short SHA-256 fingerprint of the key."""
    if not settings.JWT_ENCRYPT:
        return {}, None
    values = [v.strip() for v in settings.JWT_ENCRYPTION_KEY.split(",") if v.strip()]
    if not values:
        raise ImproperlyConfigured(
            "JWT_ENCRYPT is on but JWT_ENCRYPTION_KEY is not set (a base64url 32-byte key)."
        )
    keys: dict[str, bytes] = {}
    for value in values:
        try:
            key = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
        except ValueError as exc:
            raise ImproperlyConfigured("JWT_ENCRYPTION_KEY is not base64url.") from exc
        if len(key) != ENCRYPTION_KEY_BYTES:
            raise ImproperlyConfigured(
                f"JWT_ENCRYPTION_KEY must decode to {ENCRYPTION_KEY_BYTES} bytes "
                f"(one has {len(key)})."
            )
        kid = base64.urlsafe_b64encode(hashlib.sha256(key).digest()[:9]).decode()
        keys[kid] = key
    return keys, next(iter(keys))


def _public_jwks(config: KeyConfig) -> dict[str, list[dict[str, Any]]]:
    """The JWK Set of the verifying keys: current first, then the others."""
    keys = []
    for kid, key in [
        (config.signing_kid, config.verifying_key),
        *config.old_verifying_keys.items(),
    ]:
        assert not isinstance(key, bytes)  # RS*/ES*: parsed public keys
        if isinstance(key, rsa.RSAPublicKey):
            jwk = json.loads(RSAAlgorithm.to_jwk(key))
        else:
            jwk = json.loads(ECAlgorithm.to_jwk(key))
        jwk.update({"use": "sig", "alg": config.algorithm, "kid": kid or key_thumbprint(key)})
        keys.append(jwk)
    return {"keys": keys}
