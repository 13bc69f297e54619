"""Time accounts.devices.signing: encode and decode in microseconds, per algorithm.

    .venv/bin/python bench/jwt_signing.py

Keys are made in memory; nothing is written. Figures go in docs/signing-keys.md.
"""

import base64
import os
import secrets
import sys
import time
import timeit
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("SECRET_KEY", "bench-" + "x" * 60)

import django

django.setup()

from django.test import override_settings  # noqa: E402

from accounts.devices.keys import generate_key_pair  # noqa: E402
from accounts.devices.signing import get_token_backend  # noqa: E402

ROUNDS = 2000


def microseconds(function):
    best = min(timeit.repeat(function, number=ROUNDS, repeat=3))
    return best / ROUNDS * 1e6


def main():
    encryption_key = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()
    cases = [("HS256", {"JWT_SIGNING_KEY": "s" * 64}, False)]
    for algorithm in ("RS256", "ES256"):
        private_pem, _ = generate_key_pair(algorithm)
        cases.append((algorithm, {"JWT_SIGNING_KEY": private_pem.decode()}, False))
    cases.append(("HS256", {"JWT_SIGNING_KEY": "s" * 64}, True))
    print(f"{'algorithm':<14}{'encode µs':>12}{'decode µs':>12}")
    for algorithm, keys, encrypt in cases:
        overrides = {
            "JWT_ALGORITHM": algorithm,
            "JWT_KEY_ID": "bench",
            "JWT_ENCRYPT": encrypt,
            "JWT_ENCRYPTION_KEY": encryption_key,
            **keys,
        }
        with override_settings(**overrides):
            backend = get_token_backend()
            now = int(time.time())
            payload = {
                "token_type": "access",
                "sub": "12345",
                "sid": str(uuid.uuid4()),
                "exp": now + 300,
                "iat": now,
                "jti": uuid.uuid4().hex,
            }
            token = backend.encode(payload)
            encode = microseconds(lambda: backend.encode(payload))  # noqa: B023
            decode = microseconds(lambda: backend.decode(token))  # noqa: B023
        label = algorithm + (" + JWE" if encrypt else "")
        print(f"{label:<14}{encode:>12.0f}{decode:>12.0f}")


if __name__ == "__main__":
    main()
