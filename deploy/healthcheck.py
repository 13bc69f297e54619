"""The container's HEALTHCHECK: GET /healthz on this host, exit 0 when it answers 200.

Sends a Host header Django accepts (the first entry of ALLOWED_HOSTS), since the probe
connects to 127.0.0.1, which production settings rightly do not list.
"""

import os
import sys
import urllib.request


def probe_host():
    for entry in os.environ.get("ALLOWED_HOSTS", "").split(","):
        entry = entry.strip().lstrip(".")
        if entry and entry != "*":
            return entry
    return "localhost"


def main():
    url = f"http://127.0.0.1:{os.environ.get('PORT', '8000')}/healthz"
    request = urllib.request.Request(url, headers={"Host": probe_host()})
    try:
        with urllib.request.urlopen(request, timeout=4) as response:  # noqa: S310
            return 0 if response.status == 200 else 1
    except Exception as exc:
        print(f"healthcheck: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
