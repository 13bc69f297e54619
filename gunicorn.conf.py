"""gunicorn settings, read from the environment (the Dockerfile and docker-compose.yml
set them; the defaults suit one small container)."""

import ipaddress
import os

# HOST:PORT to listen on; 0.0.0.0 inside a container, where the port is published.
bind = f"{os.environ.get('HOST', '0.0.0.0')}:{os.environ.get('PORT', '8000')}"  # noqa: S104
# Worker processes: about 2 per core is a good start.
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
# Threads per worker (gthread workers when above 1): a request waiting on the database or
# the cache holds one thread, not the whole worker, so /healthz and requests that need
# neither still answer. At most DATABASE_POOL_MAX_SIZE, so no thread waits on the pool
# for a connection its siblings hold.
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
# Seconds a request may take before its worker is restarted: above the database bounds
# (DATABASE_POOL_TIMEOUT, DATABASE_CONNECT_TIMEOUT, DATABASE_STATEMENT_TIMEOUT), so an
# outage is a 503 from the kit, never a killed worker.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = timeout
# Keep-alive behind a proxy that reuses connections.
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", "5"))
# Heartbeat files in memory: a container's disk can stall and kill healthy workers.
_SHM = "/dev/shm"  # noqa: S108 (gunicorn heartbeat files, not data; private to the container)
worker_tmp_dir = _SHM if os.path.isdir(_SHM) else None
# Access log to stdout, error log to stderr: the container runtime collects both.
accesslog = "-"
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()

# Who may say the client used HTTPS: the proxies of TRUSTED_PROXIES (comma-separated
# addresses or CIDR ranges, as the app reads them), nobody when unset. gunicorn's own
# default trusts 127.0.0.1, so anything on the host could claim HTTPS.
forwarded_allow_ips = ",".join(
    str(ipaddress.ip_network(entry.strip(), strict=False))
    for entry in os.environ.get("TRUSTED_PROXIES", "").split(",")
    if entry.strip()
)
# Only the header the proxy must set (config/settings.py's SECURE_PROXY_SSL_HEADER): a proxy
# that sets X-Forwarded-Proto may pass a client's X-Forwarded-Ssl/-Protocol through.
secure_scheme_headers = {"X-FORWARDED-PROTO": "https"}
