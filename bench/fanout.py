"""`make bench-fanout`: what a revocation costs as the fleet of processes grows (issue 21).

Starts N lightweight subscribers: forked copies of this process that do nothing but run
the per-process view (accounts.revocation.process_view), so the protocol's cost is
measured apart from N gunicorn workers' CPU contention on a small machine. Then, on the
PostgreSQL database and Redis of DATABASE_URL and REDIS_URL (migrated here), times in this
process: the protocol alone (`process_view.invalidate` of one key), a revocation
(`revoke_session` of one signed-in device, commit and write-through
included) and a logout-all (`revoke_all_sessions` of 5 devices), medians of
FANOUT_ROUNDS; and the frozen case: one subscriber that holds a place among the members is
stopped (SIGSTOP) and revocations run back to back for 3 leases: the first one's latency,
the slowest after one lease, the median after one lease. Writes bench/fanout.json.

    make bench-fanout [FANOUT_SIZES=2,10,100,1000] [FANOUT_ROUNDS=20] [FANOUT_LABEL=after]
"""

import json
import logging
import os
import signal
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("ACCOUNTS_LOCAL_VIEW", "true")
os.environ.setdefault("ACCOUNTS_MAX_DEVICES", "0")

import django

django.setup()

import redis  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connections  # noqa: E402
from django.test import RequestFactory  # noqa: E402

from accounts.conf import kit_settings  # noqa: E402
from accounts.devices import sessions  # noqa: E402
from accounts.models import User  # noqa: E402
from accounts.revocation import process_view  # noqa: E402

logging.getLogger("accounts.security.audit").setLevel(logging.WARNING)  # one line a sign-in
OUT = Path(__file__).resolve().parent / "fanout.json"
SIZES = [int(n) for n in os.environ.get("FANOUT_SIZES", "2,10,100,1000").split(",")]
ROUNDS = int(os.environ.get("FANOUT_ROUNDS", "20"))
LABEL = os.environ.get("FANOUT_LABEL", "run")
FROZEN_SIZE = int(os.environ.get("FANOUT_FROZEN_SIZE", "10"))
READY_TIMEOUT = 120.0


def _spawn(count):
    """Fork `count` subscribers: -> [(pid, member id)], each running until killed."""
    connections.close_all()
    # No thread of this process may hold a lock while it forks (the child would inherit it
    # held): its own subscriber stops first and restarts after.
    process_view.stop()
    children = []
    for _ in range(count):
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(read_end)
            # The default action ends the process whichever thread the signal reaches.
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            process_view.messages_seen()  # starts the subscriber thread
            os.write(write_end, process_view._current().member.encode())
            while True:
                time.sleep(3600)  # the subscriber thread works; SIGTERM ends the process
        os.close(write_end)
        children.append((pid, read_end))
    process_view.messages_seen()
    return [(pid, os.read(fd, 64).decode()) for pid, fd in children]


def _stop(children):
    for pid, _ in children:
        os.kill(pid, signal.SIGCONT)
        os.kill(pid, signal.SIGTERM)
    for pid, _ in children:
        os.waitpid(pid, 0)
    admin = process_view._publisher()
    admin.delete(process_view._names()["members"])


def _members():
    return process_view._publisher().zcard(process_view._names()["members"])


def _wait_for_members(expected):
    """Until `expected` processes hold a lease (every one, or the cap, whichever is less)."""
    deadline = time.monotonic() + READY_TIMEOUT
    while _members() < expected:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)  # poll interval of a bounded wait
    return True


def _request():
    return RequestFactory().post("/api/v1/auth/token/", REMOTE_ADDR="127.0.0.1")


def _timed(call):
    started = time.perf_counter()
    call()
    return (time.perf_counter() - started) * 1000


def _revoke_once(user):
    session, _ = sessions.sign_in(request=_request(), user=user, device_id="bench-phone")
    return _timed(lambda: sessions.revoke_session(session, reason="admin"))


def _logout_all_once(user):
    for device in range(5):
        sessions.sign_in(request=_request(), user=user, device_id=f"bench-{device}")
    return _timed(lambda: sessions.revoke_all_sessions(user, reason="logout_all"))


def _frozen_case(user, children):
    """SIGSTOP one subscriber holding a place; revocations back to back for 3 leases."""
    live = set(process_view._publisher().zrange(process_view._names()["members"], 0, -1))
    pid = next(pid for pid, member in children if member.encode() in live)
    os.kill(pid, signal.SIGSTOP)
    frozen_at = time.monotonic()
    samples = []
    while time.monotonic() - frozen_at < 3 * process_view.LEASE:
        started = time.monotonic() - frozen_at
        samples.append((started, _revoke_once(user)))
    os.kill(pid, signal.SIGCONT)
    after = [ms for started, ms in samples if started >= process_view.LEASE]
    return {
        "first_ms": round(samples[0][1], 1),
        "max_after_one_lease_ms": round(max(after), 1) if after else None,
        "median_after_one_lease_ms": round(statistics.median(after), 1) if after else None,
        "revocations": len(samples),
    }


def main():
    call_command("migrate", verbosity=0)
    user, _ = User.objects.get_or_create(username="bench-fanout")
    new_protocol = hasattr(process_view, "_PUBLISH_SCRIPT")
    cap = kit_settings.LOCAL_VIEW_MAX_PROCESSES if new_protocol else None
    results = {"label": LABEL, "lease_s": process_view.LEASE, "cap": cap, "sizes": []}
    process_view.messages_seen()
    for size in SIZES:
        try:
            children = _spawn(size)
        except (OSError, MemoryError) as error:
            results["stopped"] = f"N={size}: {error}"
            print(results["stopped"], flush=True)
            break
        expected = size + 1 if cap is None else min(size + 1, cap)
        ready = _wait_for_members(expected)
        row = {"n": size, "members": _members(), "ready": ready}
        _revoke_once(user)  # warm
        row["revoke_ms"] = round(statistics.median(_revoke_once(user) for _ in range(ROUNDS)), 1)
        row["logout_all_ms"] = round(
            statistics.median(_logout_all_once(user) for _ in range(ROUNDS)), 1
        )
        publish = [_timed(lambda: process_view.invalidate(["bench:x"])) for _ in range(ROUNDS)]
        row["invalidate_ms"] = round(statistics.median(publish), 1)
        if size == FROZEN_SIZE:
            row["frozen"] = _frozen_case(user, children)
        print(json.dumps(row), flush=True)
        results["sizes"].append(row)
        _stop(children)
    previous = json.loads(OUT.read_text()) if OUT.exists() else {}
    previous[LABEL] = results
    OUT.write_text(json.dumps(previous, indent=2) + "\n")


if __name__ == "__main__":
    try:
        main()
    except redis.RedisError as error:
        sys.exit(f"Redis: {error}")
