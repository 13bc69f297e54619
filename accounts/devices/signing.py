"""The kit's JWT token backend: simplejwt's TokenBackend interface, with key rotation.

simplejwt verifies with one key; this backend signs with JWT_SIGNING_KEY (writing its
`kid` header: JWT_KEY_ID, or for RS*/ES* the key's RFC 7638 thumbprint) and verifies with
the key the token's `kid` names, among the current key and JWT_OLD_VERIFYING_KEYS, so keys
rotate without signing anyone out.

It is strict on the way in: only JWT_ALGORITHM is accepted (no `none`, no HS/RS
confusion); the key comes from the `kid` alone (`jku`, `x5u`, `jwk` headers are never
read); `exp`, `iat`, `jti` and a string `sub` are required, and `iss`/`aud` when set;
`exp`, `iat` and `nbf` must be JSON numbers between 0 and MAX_NUMERIC_DATE (a correctly
signed `exp` of 1e300 or 2**64 would overflow datetime conversions downstream); the clock
leeway is LEEWAY_SECONDS. Any failure raises simplejwt's TokenBackendError
(TokenBackendExpiredToken for an expired token), never another exception.

Every decode verifies in full; accounts.devices.tokens.decode_access remembers the access tokens
it has verified (per backend, so new keys start with nothing remembered).

With JWT_ENCRYPT the signed token is wrapped in a JWE (`dir` + `A256GCM`, joserfc) so
clients cannot read the claims; only encrypted tokens are then accepted.

Wiring: token classes return `get_token_backend()`; `KitTokenBackendMixin` does that.
"""

import base64
import json
from datetime import timedelta
from typing import Any

import jwt
from django.core.serializers.json import DjangoJSONEncoder
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils.translation import gettext_lazy as _
from joserfc import jwe
from joserfc.errors import JoseError
from joserfc.jwk import GuestProtocol, OctKey
from jwt.utils import base64url_encode
from rest_framework_simplejwt.exceptions import TokenBackendError, TokenBackendExpiredToken

from accounts.devices.keys import KeyConfig, load_key_config

# Seconds of clock difference forgiven on exp, nbf and iat (servers' clocks drift a bit).
LEEWAY_SECONDS = 5
# Longer tokens are refused before any parsing (a JWT of the kit is well under 2 KB).
MAX_TOKEN_LENGTH = 16 * 1024
MAX_HEADER_LENGTH = 1024
REQUIRED_CLAIMS = ("exp", "iat", "jti", "sub")
# The NumericDate claims, and their largest value: 9999-12-31T23:59:59Z, the last second
# a datetime holds.
NUMERIC_DATE_CLAIMS = ("exp", "iat", "nbf")
MAX_NUMERIC_DATE = 253402300799
JWE_ALGORITHMS = ("dir", "A256GCM")

_INVALID = _("Token is invalid")


class KitTokenBackend:
    """Signs and verifies JWTs with a parsed KeyConfig (see accounts.devices.keys)."""

    def __init__(self, config: KeyConfig) -> None:
        self.config = config
        self.algorithm = config.algorithm
        self.leeway = LEEWAY_SECONDS
        self._keys_by_kid = config.verifying_keys_by_kid()
        self._headers = {"kid": config.signing_kid} if config.signing_kid else None
        self._required = [*REQUIRED_CLAIMS]
        self._required += ["iss"] if config.issuer else []
        self._required += ["aud"] if config.audience else []
        self._jwt = jwt.PyJWT()
        # Signing, prepared once: PyJWT's encode re-checks the key on every call (for an
        # HMAC secret it tries it as DER, PEM, SSH and JSON), which cost more than the
        # signature itself. The same algorithm object signs, over the same header bytes.
        self._signer = jwt.get_algorithm_by_name(self.algorithm)
        self._signing_key = self._signer.prepare_key(config.signing_key)
        header = {"typ": "JWT", "alg": self.algorithm, **(self._headers or {})}
        self._header_segment = base64url_encode(
            json.dumps(header, separators=(",", ":"), sort_keys=True).encode()
        )
        if config.encryption_kid:
            # keyed by str | None: a token without a kid looks up None, a KeyError (refused)
            self._jwe_keys: dict[str | None, OctKey] = {
                kid: OctKey.import_key(key) for kid, key in config.encryption_keys.items()
            }
            self._jwe_registry = jwe.JWERegistry(algorithms=list(JWE_ALGORITHMS))

    def get_leeway(self) -> timedelta:
        return timedelta(seconds=LEEWAY_SECONDS)

    def encode(self, payload: dict[str, Any]) -> str:
        """The signed (and, with JWT_ENCRYPT, encrypted) token of a payload dict: a JWS
        compact serialization byte for byte as `jwt.encode` writes it (sorted header, compact
        JSON), signed by PyJWT's algorithm with the key prepared once."""
        claims = payload.copy()
        if self.config.audience:
            claims["aud"] = self.config.audience
        if self.config.issuer:
            claims["iss"] = self.config.issuer
        body = json.dumps(claims, separators=(",", ":"), cls=DjangoJSONEncoder).encode()
        signing_input = self._header_segment + b"." + base64url_encode(body)
        signature = self._signer.sign(signing_input, self._signing_key)
        token = (signing_input + b"." + base64url_encode(signature)).decode("ascii")
        if self.config.encryption_kid:
            token = self._encrypt(token)
        return token

    def decode(self, token: str | bytes, verify: bool = True) -> dict[str, Any]:
        """The payload of a valid token, or TokenBackendError.

        verify=False (simplejwt's "read a token already trusted") still decrypts and
        refuses malformed tokens and other algorithms, but skips signature and times."""
        return self._decode_text(self._as_text(token), verify=verify)

    def _decode_text(self, text: str, *, verify: bool) -> dict[str, Any]:
        if self.config.encryption_kid:
            text = self._decrypt(text)
        header = _unverified_header(text)
        kid = header.get("kid")
        key = self._keys_by_kid.get(kid) if kid is None or isinstance(kid, str) else None
        if header.get("alg") != self.algorithm or key is None:
            raise TokenBackendError(_INVALID)
        try:
            payload = self._jwt.decode(
                text,
                key,
                algorithms=[self.algorithm],
                audience=self.config.audience,
                issuer=self.config.issuer,
                leeway=LEEWAY_SECONDS,
                options={"verify_signature": verify, "require": self._required},
            )
        except jwt.ExpiredSignatureError as exc:
            raise TokenBackendExpiredToken(_("Token is expired")) from exc
        except (jwt.PyJWTError, ValueError, TypeError) as exc:
            # PyJWT wraps its errors in PyJWTError; the others guard the promise that
            # nothing but TokenBackendError ever leaves this method.
            raise TokenBackendError(_INVALID) from exc
        if not all(
            _is_numeric_date(payload[name]) for name in NUMERIC_DATE_CLAIMS if name in payload
        ):
            raise TokenBackendError(_INVALID)
        return payload

    @staticmethod
    def _as_text(token: object) -> str:
        if isinstance(token, bytes):
            try:
                token = token.decode("ascii")
            except UnicodeDecodeError as exc:
                raise TokenBackendError(_INVALID) from exc
        if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_LENGTH:
            raise TokenBackendError(_INVALID)
        return token

    def _encrypt(self, signed: str) -> str:
        header = {"alg": "dir", "enc": "A256GCM", "cty": "JWT", "kid": self.config.encryption_kid}
        key = self._jwe_keys[self.config.encryption_kid]
        return jwe.encrypt_compact(header, signed, key, registry=self._jwe_registry)

    def _decrypt(self, text: str) -> str:
        if text.count(".") != 4:
            raise TokenBackendError(_INVALID)
        try:
            message = jwe.decrypt_compact(text, self._jwe_key_for, registry=self._jwe_registry)
            if message.plaintext is None:
                raise ValueError("no plaintext")
            return message.plaintext.decode("ascii")
        except (JoseError, ValueError, TypeError, KeyError) as exc:
            raise TokenBackendError(_INVALID) from exc

    def _jwe_key_for(self, message: GuestProtocol) -> OctKey:
        """The JWE key named by the header's kid; KeyError (refused) when unknown."""
        kid: str | None = message.headers().get("kid")
        return self._jwe_keys[kid]


def _is_numeric_date(value: object) -> bool:
    """A NumericDate (RFC 7519: a JSON number of seconds) that every datetime conversion
    takes: PyJWT also accepts strings and numbers past year 9999."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return 0 <= value <= MAX_NUMERIC_DATE  # False for NaN and infinities too


def _unverified_header(text: str) -> dict[str, Any]:
    """The header dict, read only to pick the key: PyJWT then parses the whole token
    strictly (once; its parser is the slow part of a decode) and checks the signature."""
    segment = text.partition(".")[0]
    if len(segment) > MAX_HEADER_LENGTH:
        raise TokenBackendError(_INVALID)
    try:
        header = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    except (ValueError, RecursionError) as exc:
        raise TokenBackendError(_INVALID) from exc
    if not isinstance(header, dict):
        raise TokenBackendError(_INVALID)
    return header


_backend: KitTokenBackend | None = None


def get_token_backend() -> KitTokenBackend:
    """The process-wide backend, built from settings on first use (then cached)."""
    global _backend
    if _backend is None:
        _backend = KitTokenBackend(load_key_config())
    return _backend


@receiver(setting_changed)
def _reset_token_backend(*, setting: str, **kwargs: Any) -> None:
    """override_settings (tests) and any runtime change of the keys rebuild the backend."""
    global _backend
    if setting.startswith("JWT_") or setting in {"SECRET_KEY", "BASE_DIR"}:
        _backend = None


class KitTokenBackendMixin:
    """Put first in a simplejwt Token subclass to sign and verify with the kit's keys."""

    # Any: simplejwt types this as its TokenBackend, whose interface (encode, decode,
    # get_leeway) KitTokenBackend has without being a subclass.
    def get_token_backend(self) -> Any:
        return get_token_backend()
