"""manage.py generate_jwt_keys: a new RS*/ES* key pair for signing JWTs.

Writes `<kid>.private.pem` (mode 0600) and `<kid>.public.pem` into --out-dir and prints
the lines to put in the environment (stdout holds only those, so `>> .env` works).
"""

import os
import re
import secrets
from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from accounts.devices.keys import EC_ALGORITHMS, RSA_ALGORITHMS, generate_key_pair

KEY_ALGORITHMS = sorted(RSA_ALGORITHMS) + list(EC_ALGORITHMS)
# Safe in a file name and in a JWT_OLD_VERIFYING_KEYS entry (no "=", ",", "/").
KID_PATTERN = re.compile(r"[A-Za-z0-9._-]{1,64}")


class Command(BaseCommand):
    help = "Generate a JWT signing key pair (RS256, ES256, ...) and print the settings."
    # Runs while the current JWT settings may still be broken (e.g. keys not made yet).
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument("--algorithm", default="RS256", choices=KEY_ALGORITHMS)
        parser.add_argument("--out-dir", default="keys", help="directory (default: keys)")
        parser.add_argument("--kid", help="key id (default: <algorithm>-<date>-<random>)")

    def handle(self, *args, algorithm, out_dir, kid, **options):
        kid = kid or (f"{algorithm.lower()}-{datetime.now(UTC):%Y%m%d}-{secrets.token_hex(3)}")
        if not KID_PATTERN.fullmatch(kid):
            raise CommandError("--kid: 1-64 of A-Z a-z 0-9 '-' '_' '.' only.")
        directory = Path(out_dir)
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        private_path = directory / f"{kid}.private.pem"
        public_path = directory / f"{kid}.public.pem"
        for path in (private_path, public_path):
            if path.exists():
                raise CommandError(f"{path} exists; choose another --kid.")

        private_pem, public_pem = generate_key_pair(algorithm)
        _write(private_path, private_pem, mode=0o600)
        _write(public_path, public_pem, mode=0o644)

        self.stdout.write(
            f"JWT_ALGORITHM={algorithm}\n"
            f"JWT_SIGNING_KEY={_shown(private_path)}\n"
            f"JWT_VERIFYING_KEY={_shown(public_path)}\n"
            f"JWT_KEY_ID={kid}"
        )
        self.stderr.write(
            "Rotating? Keep the previous key verifying: "
            "JWT_OLD_VERIFYING_KEYS=<previous kid>=<previous public key file> "
            "(docs/signing-keys.md)."
        )


def _write(path, data, mode):
    """Create the file with its final mode at once (never readable by others, even briefly)."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(data)


def _shown(path):
    """The path as the settings will read it: relative to the project when inside it."""
    resolved = path.resolve()
    try:
        return str(resolved.relative_to(Path(settings.BASE_DIR).resolve()))
    except ValueError:
        return str(resolved)
