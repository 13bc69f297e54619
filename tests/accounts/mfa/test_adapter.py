"""The TOTP secret and recovery seed are stored encrypted, and survive a key rotation
with the old key in SECRET_KEY_FALLBACKS."""

import base64

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret

from accounts.mfa.adapter import MfaSecretError, secret_decrypt, secret_encrypt

pytestmark = pytest.mark.django_db


def test_allauth_stores_the_totp_secret_encrypted(user):
    secret = generate_totp_secret()
    TOTP.activate(user, secret)
    stored = Authenticator.objects.get(user=user, type=Authenticator.Type.TOTP).data["secret"]
    assert secret not in stored
    assert stored.startswith("kit1:")
    assert secret_decrypt(stored) == secret


def test_two_encryptions_differ_and_both_decrypt():
    one, two = secret_encrypt("JBSWY3DPEHPK3PXP"), secret_encrypt("JBSWY3DPEHPK3PXP")
    assert one != two
    assert secret_decrypt(one) == secret_decrypt(two) == "JBSWY3DPEHPK3PXP"


def test_a_rotated_key_decrypts_through_the_fallbacks(settings):
    old = secret_encrypt("JBSWY3DPEHPK3PXP")
    settings.SECRET_KEY_FALLBACKS = [settings.SECRET_KEY]
    settings.SECRET_KEY = "a-new-secret-key-for-the-rotation-0123456789abcdef"
    assert secret_decrypt(old) == "JBSWY3DPEHPK3PXP"
    settings.SECRET_KEY_FALLBACKS = []
    with pytest.raises(MfaSecretError):
        secret_decrypt(old)


@pytest.mark.parametrize("value", ["JBSWY3DPEHPK3PXP", "kit1:", "kit1:!!!", "kit1:AAAA"])
def test_plaintext_malformed_or_tampered_values_are_refused(value):
    with pytest.raises(MfaSecretError):
        secret_decrypt(value)


@pytest.mark.parametrize("index", [0, 12, -1])  # the nonce, the ciphertext, the tag
def test_a_flipped_bit_is_refused(index):
    raw = bytearray(base64.urlsafe_b64decode(secret_encrypt("JBSWY3DPEHPK3PXP")[5:]))
    raw[index] ^= 1
    with pytest.raises(MfaSecretError):
        secret_decrypt("kit1:" + base64.urlsafe_b64encode(bytes(raw)).decode())
