"""Profile N in-process requests to one path with pyinstrument (`make profile`).

    python bench/profile.py /api/v1/me/ --auth kit --requests 500

Runs the Django test client against a throwaway SQLite database (or `<name>_bench` on
PostgreSQL when DATABASE_URL is set, as `make bench` does) with the bench routes on, and
writes an HTML call tree and a text list of the hottest functions to bench/out/.
`--auth`: none, stock (simplejwt Bearer), kit (the kit's Bearer, from its sign-in) or
apikey (from create_api_key). Wall-clock profile: time the process waits for a CPU on a
busy machine shows as profile.py's own time.
"""

import argparse
import io
import os
import re
import secrets
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT_DIR = ROOT / "bench" / "out"


def _configure(temp_dir):
    sys.path.insert(0, str(ROOT))
    from bench.run import bench_cache, bench_database

    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DEBUG": "false",
            "SECURE_SSL_REDIRECT": "false",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "ALLOWED_HOSTS": "testserver",
            "KIT_BENCH_ROUTES": "1",
            "LOG_LEVEL": "WARNING",
            "DATABASE_URL": bench_database(temp_dir)[0],
            "REDIS_URL": bench_cache()[0],
            "CACHE_URL": "",
            "CACHE_KEY_PREFIX": f"kit-profile-{secrets.token_hex(4)}",
        }
    )
    import django

    django.setup()


def _headers(auth, client, password):
    """The request headers of the chosen authentication, from a real sign-in or key."""
    from django.core.management import call_command
    from rest_framework_simplejwt.tokens import RefreshToken

    from accounts.models import User

    user = User.objects.create_user("profile", "profile@bench.invalid", password)
    if auth == "stock":
        return {"HTTP_AUTHORIZATION": f"Bearer {RefreshToken.for_user(user).access_token}"}
    if auth == "kit":
        response = client.post(
            "/api/v1/auth/token/",
            {"username": "profile", "password": password, "device_id": "profile"},
            content_type="application/json",
        )
        if response.status_code != 200:
            sys.exit(f"kit sign-in answered {response.status_code}: {response.content[:200]}")
        return {"HTTP_AUTHORIZATION": f"Bearer {response.json()['access']}"}
    if auth == "apikey":
        out = io.StringIO()
        call_command("create_api_key", "profile", "--scopes", "tokens:introspect", stdout=out)
        return {"HTTP_X_API_KEY": out.getvalue().strip().splitlines()[-1]}
    return {}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", help="e.g. /api/v1/me/ or /bench/claims/")
    parser.add_argument("--auth", choices=["none", "stock", "kit", "apikey"], default="none")
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--method", default="GET")
    parser.add_argument("--body", help="JSON body of a POST")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="kit-profile-") as temp_dir:
        _configure(temp_dir)
        from django.core.management import call_command
        from django.test import Client
        from pyinstrument import Profiler

        call_command("migrate", verbosity=0)
        client = Client()
        headers = _headers(args.auth, client, secrets.token_urlsafe(16))

        def send():
            if args.method.upper() == "GET":
                return client.get(args.path, **headers)
            return client.generic(
                args.method.upper(), args.path, args.body or "", "application/json", **headers
            )

        first = send()  # warm: imports, connection, caches
        print(f"{args.method} {args.path}: {first.status_code} {first.content[:120]!r}")
        profiler = Profiler(interval=0.0005)
        with profiler:
            for _ in range(args.requests):
                send()
    OUT_DIR.mkdir(exist_ok=True)
    slug = re.sub(r"[^a-z0-9]+", "-", args.path.lower()).strip("-") or "root"
    html_path = OUT_DIR / f"profile-{slug}-{args.auth}.html"
    text_path = html_path.with_suffix(".txt")
    html_path.write_text(profiler.output_html())
    # The call tree is in the HTML; the text lists functions by their own time, hottest first.
    text_path.write_text(profiler.output_text(unicode=True, show_all=True, flat=True))
    tree_path = html_path.with_suffix(".tree.txt")
    tree_path.write_text(profiler.output_text(unicode=True, show_all=False))
    seconds = profiler.last_session.duration
    rate = args.requests / seconds
    print(f"{args.requests} requests in {seconds:.2f} s ({rate:.0f}/s in-process, profiled)")
    print(f"written: {html_path}, {text_path}, {tree_path}")


if __name__ == "__main__":
    main()
