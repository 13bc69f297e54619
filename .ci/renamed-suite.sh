#!/usr/bin/env bash
# `make rename` on a copy of the tree, then the tests that touch what it renames (the
# API-key marker, the visible name, compose, the docs' examples): a renamed project still
# passes. Uses this checkout's .venv (the copy links it).
set -euo pipefail
cd "$(dirname "$0")/.."
copy="$(mktemp -d)/renamed"
trap 'rm -rf "$(dirname "$copy")"' EXIT
mkdir "$copy"
tar -c --exclude=./.git --exclude=./.venv --exclude=./staticfiles --exclude=./test-artifacts \
  --exclude=./db.sqlite3 --exclude=./.env --exclude='__pycache__' . | tar -x -C "$copy"
ln -s "$PWD/.venv" "$copy/.venv"
cd "$copy"
make rename NAME=acme
.venv/bin/python -m pytest -q -p no:cacheprovider -m "not browser" \
  tests/accounts/apikeys tests/accounts/admin tests/accounts/web tests/api/test_service_routes.py \
  tests/api/test_root.py tests/security/test_parser_properties.py tests/config/test_compose_files.py \
  tests/config/test_logs.py tests/config/test_sentry.py tests/test_docs.py tests/test_docs_examples.py
