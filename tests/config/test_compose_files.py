"""The two compose files: compose.dev.yml is the development loop (autoreload on a bind
mount, the task worker, Mailpit), docker-compose.yml stays production (gunicorn, the image's
own copy of the code). No Docker engine runs here, so the files are read as Compose reads
them (YAML with anchors and merge keys) and, where the Compose CLI exists, checked by it."""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DEV = ROOT / "compose.dev.yml"
PROD = ROOT / "docker-compose.yml"
KIT_SERVICES = ("migrate", "web", "worker")  # the services that run the kit's image


def _load(path):
    return yaml.safe_load(path.read_text())


@pytest.fixture(scope="module")
def dev():
    return _load(DEV)


@pytest.fixture(scope="module")
def prod():
    return _load(PROD)


def _bind_mounts(service):
    """Host paths mounted into the container, in short or long syntax."""
    mounts = []
    for volume in service.get("volumes", []):
        if isinstance(volume, dict):
            if volume.get("type") == "bind":
                mounts.append((volume["source"], volume["target"]))
        else:
            source, target = volume.split(":")[:2]
            if source.startswith((".", "/", "~")):  # a name is a volume, a path a bind mount
                mounts.append((source, target))
    return mounts


def _published_ports(compose):
    for name, service in compose["services"].items():
        for port in service.get("ports", []):
            yield name, port


def test_dev_runs_the_kit_with_its_services(dev):
    assert set(dev["services"]) == {"db", "redis", "mailpit", "migrate", "web", "worker"}
    assert dev["services"]["db"]["image"].startswith("postgres:")
    assert dev["services"]["redis"]["image"].startswith("redis:")
    assert dev["services"]["mailpit"]["image"].startswith("axllent/mailpit:")


def test_dev_web_autoreloads_the_mounted_source(dev):
    web = dev["services"]["web"]
    assert web["command"][:3] == ["python", "manage.py", "runserver"]
    assert "--noreload" not in web["command"]
    assert web["environment"]["DEBUG"] == "true"
    # The checkout itself over the image's copy (the Dockerfile's WORKDIR): an edit reloads.
    assert (".", "/app") in _bind_mounts(web)
    assert "WORKDIR /app" in (ROOT / "Dockerfile").read_text()


def test_dev_worker_sends_what_web_queues(dev):
    web, worker = dev["services"]["web"], dev["services"]["worker"]
    assert worker["command"] == ["python", "manage.py", "db_worker"]
    assert (".", "/app") in _bind_mounts(worker)
    # Both on the database queue: with "immediate" web would send the mails itself.
    for service in (web, worker):
        assert service["environment"]["TASKS_BACKEND"] == "database"
    assert worker["environment"]["DATABASE_URL"] == web["environment"]["DATABASE_URL"]


def test_dev_mail_goes_to_mailpit(dev):
    for name in ("web", "worker"):
        url = urlsplit(dev["services"][name]["environment"]["EMAIL_URL"])
        assert (url.scheme, url.hostname, url.port) == ("smtp", "mailpit", 1025), name
    ui_ports = [port for name, port in _published_ports(dev) if name == "mailpit"]
    assert "127.0.0.1:8025:8025" in ui_ports


def test_dev_services_reach_each_other_by_service_name(dev):
    env = dev["services"]["web"]["environment"]
    assert urlsplit(env["DATABASE_URL"]).hostname == "db"
    assert urlsplit(env["REDIS_URL"]).hostname == "redis"
    for name in KIT_SERVICES:
        assert dev["services"][name]["environment"] == env, name


def test_the_kit_reads_the_dev_environment_as_intended(dev):
    """The web service's variables, given to the real settings module (no .env involved:
    each setting read here is set)."""
    script = (
        "import json, django; django.setup(); from django.conf import settings as s; "
        "print(json.dumps([s.DEBUG, s.EMAIL_BACKEND, s.EMAIL_HOST, s.EMAIL_PORT, "
        "s.EMAIL_USE_TLS, s.TASKS['default']['BACKEND'], s.DATABASES['default']['ENGINE'], "
        "s.DATABASES['default']['HOST'], s.CACHES['default']['LOCATION']]))"
    )
    env = {
        "PATH": os.environ["PATH"],
        "HOME": os.environ.get("HOME", "/tmp"),
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "CACHE_URL": "",
        **dev["services"]["web"]["environment"],
    }
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [
        True,
        "django.core.mail.backends.smtp.EmailBackend",
        "mailpit",
        1025,
        False,
        "django_tasks_db.DatabaseBackend",
        "django.db.backends.postgresql",
        "db",
        "redis://redis:6379/0",
    ]


def test_dev_has_a_project_name_of_its_own(dev, prod):
    # Without one both files share the folder's name, so `up` on one would replace the
    # other's containers and share its pgdata volume.
    assert dev.get("name")
    assert dev["name"] != prod.get("name")


@pytest.mark.parametrize("path", [DEV, PROD], ids=lambda p: p.name)
def test_published_ports_listen_on_loopback_only(path):
    ports = list(_published_ports(_load(path)))
    assert ports
    for name, port in ports:
        assert isinstance(port, str), (name, port)
        assert port.startswith("127.0.0.1:"), (name, port)


def test_production_keeps_gunicorn_and_the_image_s_code(prod):
    web = prod["services"]["web"]
    # No command: the image's CMD, gunicorn with its config.
    assert "command" not in web
    cmd = re.search(r"^CMD (.+)$", (ROOT / "Dockerfile").read_text(), re.MULTILINE)
    assert json.loads(cmd.group(1))[0] == "gunicorn"
    assert web["environment"]["DEBUG"] == "false"
    for name, service in prod["services"].items():
        assert _bind_mounts(service) == [], name
        assert "runserver" not in service.get("command", []), name
    assert prod["services"]["worker"]["command"] == ["python", "manage.py", "db_worker"]


def _env_file_forms(compose):
    for name, service in compose["services"].items():
        if "env_file" in service:
            yield name, service["env_file"]


@pytest.mark.parametrize(
    "path",
    [DEV, PROD],
    ids=lambda p: p.name,
)
def test_env_file_is_in_a_form_compose_accepts(path):
    # The Compose specification: a string, or a list of strings or {path, required, format}.
    for name, form in _env_file_forms(_load(path)):
        assert isinstance(form, str | list), (name, form)


def _compose_cli():
    if shutil.which("docker"):
        found = subprocess.run(
            ["docker", "compose", "version"], capture_output=True, check=False, timeout=30
        )
        if found.returncode == 0:
            return ["docker", "compose"]
    return None


@pytest.mark.skipif(_compose_cli() is None, reason="no `docker compose` on this machine")
def test_compose_validates_the_dev_file():
    result = subprocess.run(
        [*_compose_cli(), "-f", str(DEV), "config", "--quiet"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
