"""allauth.mfa's adapter for the kit: the TOTP secret and the recovery-code seed that
allauth stores in `Authenticator.data` are encrypted (AES-256-GCM), so a leaked database
or backup does not hand out second factors.

The key is derived from SECRET_KEY (HKDF-SHA256 with the kit's own label, so it is not the
key of any other use of SECRET_KEY); a value written under a key of SECRET_KEY_FALLBACKS
still decrypts while SECRET_KEY is rotated. Rotating without the old key in the fallbacks
voids every enrolled TOTP and recovery code (the users recover through an admin reset).
"""

import base64
import os

from allauth.mfa import app_settings
from allauth.mfa.adapter import DefaultMFAAdapter
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

from accounts.conf import kit_settings

# The prefix of every encrypted value: names the format so a later one can be told apart.
PREFIX = "kit1:"
_INFO = b"accounts.mfa secrets v1"
_NONCE_BYTES = 12


def _key(secret: str) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO).derive(secret.encode())


class MfaSecretError(ValueError):
    """A stored second-factor secret that no current or fallback key decrypts."""


def secret_encrypt(text: str) -> str:
    """`text` encrypted under SECRET_KEY: "kit1:" + base64url(nonce + ciphertext + tag)."""
    nonce = os.urandom(_NONCE_BYTES)
    sealed = AESGCM(_key(settings.SECRET_KEY)).encrypt(nonce, text.encode(), None)
    return PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode("ascii")


def secret_decrypt(encrypted: str) -> str:
    """The text of secret_encrypt's output, trying SECRET_KEY then SECRET_KEY_FALLBACKS;
    MfaSecretError when none opens it (a tampered value or a key rotated away)."""
    if not encrypted.startswith(PREFIX):
        raise MfaSecretError("Not an encrypted second-factor secret.")
    try:
        raw = base64.urlsafe_b64decode(encrypted[len(PREFIX) :].encode("ascii"))
    except ValueError:
        raise MfaSecretError("Malformed second-factor secret.") from None
    nonce, sealed = raw[:_NONCE_BYTES], raw[_NONCE_BYTES:]
    if len(nonce) != _NONCE_BYTES:
        raise MfaSecretError("Malformed second-factor secret.")
    for secret in (settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS):
        try:
            return AESGCM(_key(secret)).decrypt(nonce, sealed, None).decode()
        except InvalidTag:
            continue
    raise MfaSecretError("No current or fallback SECRET_KEY decrypts this secret.")


class KitMfaAdapter(DefaultMFAAdapter):
    """allauth.mfa's hooks, encrypting what allauth stores (settings.MFA_ADAPTER)."""

    def get_totp_issuer(self) -> str:
        """MFA_TOTP_ISSUER, else the kit's ACCOUNTS_SITE_NAME (allauth's default reads the
        current request's host, which an API call or a task may not have)."""
        return app_settings.TOTP_ISSUER or kit_settings.SITE_NAME

    def encrypt(self, text: str) -> str:
        return secret_encrypt(text)

    def decrypt(self, encrypted_text: str) -> str:
        return secret_decrypt(encrypted_text)
