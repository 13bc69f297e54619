"""The cost of a password check at sign-in: Django's Argon2 parameters and time per hash.

`python -m bench.hashing` prints it; `make bench` writes it into results.json.
"""

import json
import statistics
import time


def argon2_cost(samples=10):
    """Argon2PasswordHasher's parameters, and the median time of `samples` hashes and checks."""
    from django.contrib.auth.hashers import Argon2PasswordHasher

    hasher = Argon2PasswordHasher()
    password = "correct horse battery staple"  # noqa: S105 - a measurement, not a secret
    hash_times, check_times = [], []
    encoded = hasher.encode(password, hasher.salt())
    for _ in range(samples):
        started = time.perf_counter()
        encoded = hasher.encode(password, hasher.salt())
        hash_times.append(time.perf_counter() - started)
        started = time.perf_counter()
        hasher.verify(password, encoded)
        check_times.append(time.perf_counter() - started)
    return {
        "hasher": "django.contrib.auth.hashers.Argon2PasswordHasher",
        "variant": "argon2id",
        "time_cost": hasher.time_cost,
        "memory_cost_kib": hasher.memory_cost,
        "parallelism": hasher.parallelism,
        "samples": samples,
        "hash_ms_median": round(statistics.median(hash_times) * 1000, 2),
        "check_ms_median": round(statistics.median(check_times) * 1000, 2),
    }


if __name__ == "__main__":
    import django

    django.setup()
    print(json.dumps(argon2_cost(), indent=2))
