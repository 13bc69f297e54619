"""`make profile-load`: where a loaded gunicorn worker spends its time, per endpoint.

    python bench/load_profile.py baseline,kit_claims,kit_ping --seconds 8

Starts the kit under gunicorn as `make bench` does (same settings, database and cache),
then for each endpoint drives it with wrk while py-spy samples every worker. Writes the
collapsed stacks to bench/out/load-<endpoint>.txt and prints, per endpoint, the share of
the workers' sampled time spent in each of the heaviest frames (time inside that frame and
everything it calls). Unlike `make profile` (pyinstrument, in-process, test client), this
sees gunicorn's socket work, the access log and the WSGI layer too. py-spy slows the
workers a little, so read shares here and req/s in `make bench`.
"""

import argparse
import collections
import secrets
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.run import (
    OUT_DIR,
    endpoints,
    ensure_wrk,
    hold_bench_lock,
    load_for,
    probe,
    run_wrk,
    serving_kit,
)

SAMPLES_PER_SECOND = 500
SHOWN_FRAMES = 25
# Frames on (nearly) every stack are the worker's own loop: not shown.
OUTER_LOOP_SHARE = 0.9


def record(endpoint, credentials, port, server, seconds):
    """Drive `endpoint` for `seconds` while py-spy samples each worker; the stacks' path."""
    # A fresh load per wrk run: a rotating refresh spends its chains' tokens.
    run_wrk(endpoint, load_for(endpoint, credentials), 1, port)  # warm-up
    workers = subprocess.run(
        ["pgrep", "-P", str(server.pid)], capture_output=True, text=True, check=True
    ).stdout.split()
    out = OUT_DIR / f"load-{endpoint.key}.txt"
    py_spy = str(Path(sys.executable).with_name("py-spy"))
    spies = [
        subprocess.Popen(
            [
                *(py_spy, "record", "--pid", worker, "--duration", str(seconds)),
                *("--rate", str(SAMPLES_PER_SECOND), "--format", "raw", "--nonblocking"),
                *("--output", f"{out}.{worker}"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for worker in workers
    ]
    result = run_wrk(endpoint, load_for(endpoint, credentials), seconds, port)
    for spy in spies:
        spy.wait()
    parts = [Path(f"{out}.{worker}") for worker in workers]
    out.write_text("".join(part.read_text() for part in parts if part.exists()))
    for part in parts:
        part.unlink(missing_ok=True)
    return out, result


def _frame_name(frame):
    """`function file.py:line` from py-spy's `function (path/file.py:line)`."""
    return frame.split(" (")[0] + " " + frame.rsplit("/", 1)[-1].rstrip(")")


def frame_shares(stacks_path):
    """{frame: share of samples with the frame on the stack}, and the sample count."""
    inclusive, total = collections.Counter(), 0
    for line in stacks_path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        samples = int(count)
        total += samples
        frames = {_frame_name(frame) for frame in stack.split(";")}
        for frame in frames:
            inclusive[frame] += samples
    return {frame: n / total for frame, n in inclusive.items()}, total


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("endpoints", help="keys of `make bench`, e.g. baseline,kit_claims")
    parser.add_argument("--seconds", type=int, default=8)
    args = parser.parse_args()
    ensure_wrk()
    OUT_DIR.mkdir(exist_ok=True)
    _lock = hold_bench_lock()
    password = secrets.token_urlsafe(16)
    by_key = {endpoint.key: endpoint for endpoint in endpoints(password)}
    unknown = [key for key in args.endpoints.split(",") if key not in by_key]
    if unknown:
        sys.exit(f"unknown endpoint(s) {', '.join(unknown)}; one of {', '.join(by_key)}")
    with serving_kit(password, "kit-load-profile-") as kit:
        for key in args.endpoints.split(","):
            endpoint = by_key[key]
            probe(endpoint, kit.credentials, kit.client)
            path, result = record(endpoint, kit.credentials, kit.port, kit.server, args.seconds)
            shares, total = frame_shares(path)
            print(
                f"\n{endpoint.label}: {result['rps']} req/s under py-spy, {total} samples ({path}),"
                f" {result['unexpected_status']} unexpected statuses"
            )
            inner = [item for item in shares.items() if item[1] < OUTER_LOOP_SHARE]
            heaviest = sorted(inner, key=lambda item: -item[1])[:SHOWN_FRAMES]
            for frame, share in heaviest:
                print(f"  {share * 100:5.1f}%  {frame}")


if __name__ == "__main__":
    main()
