"""`make bench-scale`: throughput of one and of two gunicorn instances of the kit.

Both instances share one PostgreSQL database and one Redis (DATABASE_URL and REDIS_URL
must be set: app instances hold no state of their own, and this shows it). Each instance
runs BENCH_WORKERS sync workers on its own port. For each endpoint and round: wrk against
instance A alone, then one wrk per instance at the same time (BENCH_CONNECTIONS each),
their req/s summed. Before measuring, a session is signed in on A, revoked on A and its
token checked on B (must be 401 at once). Writes bench/scaling.json.
"""

import json
import os
import secrets
import signal
import statistics
import sys
import tempfile
import threading
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.run import (
    OUT_DIR,
    RESULTS_DIR,
    ROUNDS,
    SECONDS,
    WORKERS,
    Client,
    Credentials,
    bench_cache,
    bench_database,
    endpoints,
    ensure_wrk,
    free_port,
    git_commit,
    hold_bench_lock,
    load_for,
    machine_info,
    manage,
    prepare_data,
    probe,
    run_wrk,
    server_environment,
    start_gunicorn,
    wait_for_health,
)

MEASURED = ("baseline", "kit_claims", "kit_ping")


def revocation_is_seen_across_instances(credentials, client_a, client_b):
    access = credentials.kit_pair("bench", "scale-check")[0]
    headers = {"Authorization": f"Bearer {access}"}
    before = client_b.call("GET", "/api/v1/me/", headers=headers)[0]
    client_a.call("POST", "/api/v1/auth/logout/", {}, headers)
    after = client_b.call("GET", "/api/v1/me/", headers=headers)
    return before == 200 and after[0] == 401 and after[1].get("code") == "session_revoked"


def measure_both(endpoint, credentials, port_a, port_b):
    results = {}

    def run(name, port):
        results[name] = run_wrk(endpoint, load_for(endpoint, credentials), SECONDS, port)

    threads = [threading.Thread(target=run, args=(n, p)) for n, p in (("a", port_a), ("b", port_b))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results["a"]["rps"] + results["b"]["rps"], results


def main():
    if not os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://")):
        sys.exit("bench/scale.py needs DATABASE_URL=postgres://... and REDIS_URL=redis://...")
    ensure_wrk()
    OUT_DIR.mkdir(exist_ok=True)
    _lock = hold_bench_lock()
    password = secrets.token_urlsafe(16)
    with tempfile.TemporaryDirectory(prefix="kit-scale-") as temp_dir:
        database_url, database = bench_database(temp_dir)
        redis_url, cache = bench_cache()
        if not redis_url:
            sys.exit("bench/scale.py needs REDIS_URL: instances share their cache")
        env = server_environment(database_url, redis_url, password)
        manage(env, "migrate", "--noinput", "--verbosity", "0")
        prepared = prepare_data(env)
        ports = free_port(), free_port()
        servers = [
            start_gunicorn(env, port, OUT_DIR / f"gunicorn-{name}.log")
            for name, port in zip("ab", ports, strict=True)
        ]
        try:
            clients = [Client(port) for port in ports]
            for (server, _), client in zip(servers, clients, strict=True):
                wait_for_health(server, client)
            credentials = Credentials(
                clients[0], password, prepared["api_key"], prepared["api_key_missing"]
            )
            revocation_ok = revocation_is_seen_across_instances(credentials, *clients)
            print(f"revoked on A, refused on B at once: {revocation_ok}")
            chosen = [e for e in endpoints(password) if e.key in MEASURED]
            summary = []
            for endpoint in chosen:
                probe(endpoint, credentials, clients[0])
                one, two = [], []
                for _ in range(ROUNDS):
                    load = load_for(endpoint, credentials)
                    one.append(run_wrk(endpoint, load, SECONDS, ports[0])["rps"])
                    two.append(measure_both(endpoint, credentials, *ports)[0])
                row = {
                    "key": endpoint.key,
                    "label": endpoint.label,
                    "one_instance_rps": statistics.median(one),
                    "two_instances_rps": round(statistics.median(two), 1),
                    "rounds_one": one,
                    "rounds_two": two,
                }
                row["scaling"] = round(row["two_instances_rps"] / row["one_instance_rps"], 2)
                summary.append(row)
                print(
                    f"{endpoint.label:<32} one {row['one_instance_rps']:>8.1f} req/s   "
                    f"two {row['two_instances_rps']:>8.1f} req/s   x{row['scaling']}"
                )
        finally:
            for server, log in servers:
                server.send_signal(signal.SIGTERM)
                server.wait(timeout=30)
                log.close()
    results = {
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "git_commit": git_commit(),
        "machine": machine_info(database, cache),
        "method": (
            f"{WORKERS} sync workers per instance; one wrk per instance at once, "
            f"{ROUNDS} rounds of {SECONDS} s, medians"
        ),
        "revoked_on_a_refused_on_b": revocation_ok,
        "endpoints": summary,
    }
    path = RESULTS_DIR / "scaling.json"
    path.write_text(json.dumps(results, indent=2) + "\n")
    print(f"written: {path}")


if __name__ == "__main__":
    main()
