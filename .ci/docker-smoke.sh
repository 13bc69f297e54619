#!/usr/bin/env bash
# The production image's steps without a Docker engine: lint the Dockerfile, then install
# requirements.txt into a throwaway venv, collectstatic with a build-only key, start
# gunicorn with gunicorn.conf.py (DEBUG=false) and probe it as the HEALTHCHECK does.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

make --no-print-directory .venv/.lint  # hadolint comes with the lint requirements
.venv/bin/hadolint Dockerfile
echo "hadolint: Dockerfile clean"

WORK=$(mktemp -d)
GUNICORN_PID=""
cleanup() {
  if [[ -n $GUNICORN_PID ]]; then kill "$GUNICORN_PID" 2>/dev/null || true; wait "$GUNICORN_PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

# The build context: tracked files (as in the working tree), minus .dockerignore's.
mkdir "$WORK/app"
git ls-files -z --cached --others --exclude-standard \
  | grep -zv -E '^(tests/|\.ci/|bench/out/|test-artifacts/)' \
  | (cd "$ROOT" && xargs -0 cp --parents -t "$WORK/app" 2>/dev/null || true)

python3.11 -m venv "$WORK/venv" 2>/dev/null || python3 -m venv "$WORK/venv"
"$WORK/venv/bin/pip" install --quiet --no-cache-dir --require-hashes -r "$WORK/app/requirements.txt"

cd "$WORK/app"
SECRET_KEY=build-only-not-a-secret DEBUG=false "$WORK/venv/bin/python" manage.py collectstatic --noinput >/dev/null
test -f staticfiles/staticfiles.json  # the manifest whitenoise serves from

PORT=$("$WORK/venv/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export PORT HOST=127.0.0.1 WEB_CONCURRENCY=2 DEBUG=false ALLOWED_HOSTS=kit.example.com \
  TRUSTED_PROXIES=127.0.0.1 DATABASE_URL="sqlite:///$WORK/db.sqlite3" \
  SECRET_KEY="smoke-$("$WORK/venv/bin/python" -c 'import secrets; print(secrets.token_urlsafe(40))')"
"$WORK/venv/bin/python" manage.py migrate --noinput >/dev/null
"$WORK/venv/bin/gunicorn" --config gunicorn.conf.py config.wsgi >"$WORK/gunicorn.log" 2>&1 &
GUNICORN_PID=$!

# Bounded polling: up to about 30 s for gunicorn to answer.
for _ in $(seq 1 60); do
  if "$WORK/venv/bin/python" deploy/healthcheck.py 2>/dev/null; then break; fi
  if ! kill -0 "$GUNICORN_PID" 2>/dev/null; then cat "$WORK/gunicorn.log"; echo "gunicorn died"; exit 1; fi
  sleep 0.5
done
"$WORK/venv/bin/python" deploy/healthcheck.py || { cat "$WORK/gunicorn.log"; echo "healthz never answered 200"; exit 1; }

# A page behind the TLS proxy, and a static file from whitenoise.
"$WORK/venv/bin/python" - <<'PY'
import os, re, urllib.request
base = f"http://127.0.0.1:{os.environ['PORT']}"
headers = {"Host": "kit.example.com", "X-Forwarded-Proto": "https"}
with urllib.request.urlopen(urllib.request.Request(base + "/healthz", headers=headers)) as r:
    assert r.status == 200, r.status
    print("healthz:", r.read().decode())
with urllib.request.urlopen(urllib.request.Request(base + "/accounts/login/", headers=headers)) as r:
    body = r.read().decode()
    assert r.status == 200 and "Sign in" in body, r.status
    css = re.search(r'href="(/static/kit\.[0-9a-f]{12}\.css)"', body).group(1)
with urllib.request.urlopen(urllib.request.Request(base + css, headers=headers)) as r:
    assert r.status == 200 and "max-age" in r.headers.get("Cache-Control", ""), r.headers
print("login page and hashed stylesheet served:", css)
PY
echo "docker smoke: ok"
