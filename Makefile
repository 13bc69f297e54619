# Two commands on a fresh machine: `make run` and `make test`. Python 3.11 and make only.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000

.PHONY: run test lint format migrate messages superuser manage keys clean bench bench-scale bench-fanout profile profile-load lock test-clients rename

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# One stamp per use, each installing its own hashed file (docs/dependencies.md); the test
# and bench files hold the runtime too, at requirements.txt's pins.
$(VENV)/.runtime: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet --require-hashes -r requirements.txt
	touch $@

$(VENV)/.test: requirements.txt requirements-test.txt | $(BIN)/python
	$(BIN)/pip install --quiet --require-hashes -r requirements-test.txt
	touch $@

$(VENV)/.lint: requirements.txt requirements-lint.txt | $(BIN)/python
	$(BIN)/pip install --quiet --require-hashes -r requirements-lint.txt
	touch $@

$(VENV)/.bench: requirements.txt requirements-bench.txt | $(BIN)/python
	$(BIN)/pip install --quiet --require-hashes -r requirements-bench.txt
	touch $@

## make run: install, migrate and serve on 127.0.0.1:$(PORT) in development mode (SQLite).
run: $(VENV)/.runtime
	DEBUG=$${DEBUG:-true} $(BIN)/python manage.py migrate --noinput
	DEBUG=$${DEBUG:-true} $(BIN)/python manage.py runserver 127.0.0.1:$(PORT)

## make test: install the test requirements and run the whole suite.
test: $(VENV)/.test
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The client generators and mypy in a venv of their own, outside `make test` (docs/clients.md).
$(VENV)/clients/.installed: requirements-clients.txt | $(BIN)/python
	$(PYTHON) -m venv $(VENV)/clients
	$(VENV)/clients/bin/pip install --quiet --require-hashes -r requirements-clients.txt
	touch $@

## make test-clients: generate the API clients from the live schema and check them
## (openapi-python-client + mypy --strict + the mobile flow against a live server).
test-clients: $(VENV)/.test $(VENV)/clients/.installed
	$(BIN)/python -m pytest -m clients tests/api/clients $(PYTEST_ARGS)

## make bench: gunicorn + wrk benchmark of every endpoint (docs/performance.md).
bench: $(VENV)/.bench
	@command -v wrk >/dev/null || echo "wrk is missing: bench/run.py installs it with apt-get (or: sudo apt-get install -y wrk)"
	$(BIN)/python bench/run.py

## make bench-scale: one vs two gunicorn instances on PostgreSQL + Redis (bench/scale.py).
bench-scale: $(VENV)/.bench
	$(BIN)/python bench/scale.py

## make bench-fanout: revoke and logout-all latency with N subscriber processes, and one
## frozen (bench/fanout.py; PostgreSQL + Redis of DATABASE_URL and REDIS_URL).
bench-fanout: $(VENV)/.runtime
	$(BIN)/python bench/fanout.py

## make bench-scale-data SCALE_PRESET=1m: migrate the PostgreSQL database of DATABASE_URL and
## fill it with generated rows (small, quarter, 1m: 1M users, 3M sessions, 20M audit events).
bench-scale-data: $(VENV)/.runtime
	DEBUG=$${DEBUG:-true} $(BIN)/python manage.py migrate --noinput
	DEBUG=$${DEBUG:-true} $(BIN)/python manage.py fill_scale_data --preset $${SCALE_PRESET:-small}

## make bench-scale-admin: time every admin page on that database (bench/admin_scale.py).
bench-scale-admin: $(VENV)/.runtime
	DEBUG=$${DEBUG:-true} $(BIN)/python bench/admin_scale.py --label $${SCALE_LABEL:-run}

## make profile PROFILE_PATH=/api/v1/me/ PROFILE_AUTH=kit: pyinstrument report in bench/out/.
profile: $(VENV)/.bench
	$(BIN)/python bench/profile.py $${PROFILE_PATH:-/bench/noauth/} --auth $${PROFILE_AUTH:-none} --requests $${PROFILE_REQUESTS:-500}

## make profile-load ENDPOINTS=baseline,kit_claims: py-spy on loaded gunicorn workers.
profile-load: $(VENV)/.bench
	$(BIN)/python bench/load_profile.py $${ENDPOINTS:-baseline,kit_claims,kit_ping} --seconds $${PROFILE_SECONDS:-8}

## make lint: ruff, the import layers and mypy (pyproject's [tool.mypy]; the settings
## import with DEBUG=true).
lint: $(VENV)/.lint
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	DEBUG=true $(BIN)/mypy accounts api

format: $(VENV)/.lint
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

migrate: $(VENV)/.runtime
	DEBUG=$${DEBUG:-true} $(BIN)/python manage.py migrate --noinput

## make messages: refresh locale/<language>/LC_MESSAGES/django.po from the strings the code
## and templates mark (needs GNU gettext), then compile them (docs/translations.md).
## LOCALES="fr de" adds a language; tests/config/test_i18n.py runs the same makemessages.
LOCALES ?= fr
messages: $(VENV)/.runtime
	DEBUG=$${DEBUG:-true} $(BIN)/python manage.py makemessages $(foreach l,$(LOCALES),--locale=$(l)) \
		--extension=html,txt,py --ignore=tests --ignore=bench --ignore=scripts \
		--ignore=staticfiles --ignore=accounts/migrations --no-obsolete
	DEBUG=$${DEBUG:-true} $(BIN)/python manage.py compilemessages --ignore=.venv

superuser: $(VENV)/.runtime
	DEBUG=$${DEBUG:-true} $(BIN)/python manage.py createsuperuser

## make manage ARGS="create_api_key billing --scopes users:read": any manage.py command in
## development mode, as make run serves it (the venv's python, DEBUG=true, the same database).
manage: $(VENV)/.runtime
	@DEBUG=$${DEBUG:-true} $(BIN)/python manage.py $(ARGS)

## make rename NAME=acme [TITLE="Acme Cloud"]: the project's name, API-key marker, cache
## prefix and compose names become yours (scripts/rename.py; run once, then make test).
rename:
	@test -n "$(NAME)" || { echo 'usage: make rename NAME=acme [TITLE="Acme"]'; exit 2; }
	$(PYTHON) scripts/rename.py "$(NAME)" $(if $(TITLE),--title "$(TITLE)")

## make keys: a new JWT key pair in keys/ (ALGORITHM=RS256 by default, or ES256, ...).
ALGORITHM ?= RS256
keys: $(VENV)/.runtime
	DEBUG=$${DEBUG:-true} $(BIN)/python manage.py generate_jwt_keys --algorithm $(ALGORITHM) --out-dir keys

## make lock: pin the whole tree, with hashes, from requirements*.in into requirements*.txt
## (pip-tools in a venv of its own). Keeps every pin it can; LOCK_ARGS=--upgrade moves them.
PIP_TOOLS := $(VENV)/piptools
PIP_COMPILE = CUSTOM_COMPILE_COMMAND="make lock" $(PIP_TOOLS)/bin/pip-compile --quiet \
	--generate-hashes --allow-unsafe --strip-extras --no-emit-index-url --no-emit-find-links $(LOCK_ARGS)

$(PIP_TOOLS)/bin/pip-compile:
	$(PYTHON) -m venv $(PIP_TOOLS)
	$(PIP_TOOLS)/bin/pip install --quiet pip-tools==7.7.0

lock: $(PIP_TOOLS)/bin/pip-compile
	$(PIP_COMPILE) --output-file requirements.txt requirements.in
	$(PIP_COMPILE) --output-file requirements-test.txt requirements-test.in
	$(PIP_COMPILE) --output-file requirements-lint.txt requirements-lint.in
	$(PIP_COMPILE) --output-file requirements-bench.txt requirements-bench.in
	$(PIP_COMPILE) --output-file requirements-clients.txt requirements-clients.in

clean:
	rm -rf $(VENV) staticfiles .pytest_cache .ruff_cache .mypy_cache
