# Two commands on a fresh machine: `make run` and `make test`. Python 3.11 and make only.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000

.PHONY: run test lint format migrate superuser keys clean bench bench-scale profile profile-load

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.runtime: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@ $(VENV)/.runtime

## make run: install, migrate and serve on 127.0.0.1:$(PORT) in development mode (SQLite).
run: $(VENV)/.runtime
	DEBUG=$${DEBUG:-true} $(BIN)/python manage.py migrate --noinput
	DEBUG=$${DEBUG:-true} $(BIN)/python manage.py runserver 127.0.0.1:$(PORT)

## make test: install the dev requirements and run the whole suite.
test: $(VENV)/.dev
	$(BIN)/python -m pytest $(PYTEST_ARGS)

## make bench: gunicorn + wrk benchmark of every endpoint (README, "Performance").
bench: $(VENV)/.dev
	@command -v wrk >/dev/null || echo "wrk is missing: bench/run.py installs it with apt-get (or: sudo apt-get install -y wrk)"
	$(BIN)/python bench/run.py

## make bench-scale: one vs two gunicorn instances on PostgreSQL + Redis (bench/scale.py).
bench-scale: $(VENV)/.dev
	$(BIN)/python bench/scale.py

## make profile PROFILE_PATH=/api/v1/me/ PROFILE_AUTH=kit: pyinstrument report in bench/out/.
profile: $(VENV)/.dev
	$(BIN)/python bench/profile.py $${PROFILE_PATH:-/bench/noauth/} --auth $${PROFILE_AUTH:-none} --requests $${PROFILE_REQUESTS:-500}

## make profile-load ENDPOINTS=baseline,kit_claims: py-spy on loaded gunicorn workers.
profile-load: $(VENV)/.dev
	$(BIN)/python bench/load_profile.py $${ENDPOINTS:-baseline,kit_claims,kit_ping} --seconds $${PROFILE_SECONDS:-8}

lint: $(VENV)/.dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(VENV)/.dev
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

migrate: $(VENV)/.runtime
	DEBUG=$${DEBUG:-true} $(BIN)/python manage.py migrate --noinput

superuser: $(VENV)/.runtime
	DEBUG=$${DEBUG:-true} $(BIN)/python manage.py createsuperuser

## make keys: a new JWT key pair in keys/ (ALGORITHM=RS256 by default, or ES256, ...).
ALGORITHM ?= RS256
keys: $(VENV)/.runtime
	DEBUG=$${DEBUG:-true} $(BIN)/python manage.py generate_jwt_keys --algorithm $(ALGORITHM) --out-dir keys

clean:
	rm -rf $(VENV) staticfiles .pytest_cache .ruff_cache
