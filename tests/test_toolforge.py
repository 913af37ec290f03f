"""What Toolforge's build service and jobs framework will read: requirements.txt stays
the runtime of pyproject.toml (no TensorFlow), installs alone into a fresh virtual
environment where every Procfile command starts, and toolforge/jobs.yaml names only
Procfile commands, within the jobs framework's limits."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
import tomllib
import venv

import pytest
import yaml
from packaging.requirements import Requirement

from bot.config import load_config
from tests.wiki_fixtures import REPO

MEMORY_LIMIT_MIB = 512  # Toolforge's default per job; the bot must fit in it
HEAVY = ("tensorflow", "keras", "torch", "pandas")  # none of them may even be installed


def _procfile() -> dict[str, str]:
    entries = {}
    for line in (REPO / "Procfile").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, command = line.partition(":")
            entries[name.strip()] = command.strip()
    return entries


def _requirements() -> dict[str, Requirement]:
    lines = (REPO / "requirements.txt").read_text().splitlines()
    reqs = [Requirement(line) for line in lines if line.strip() and not line.startswith("#")]
    return {r.name.lower(): r for r in reqs}


def _mebibytes(quantity: str) -> float:
    number, unit = re.fullmatch(r"([0-9.]+)(Mi|Gi)", quantity).groups()
    return float(number) * (1024 if unit == "Gi" else 1)


def test_requirements_are_the_pinned_runtime_of_pyproject():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    runtime = [Requirement(r) for r in project["dependencies"]]
    runtime += [Requirement(r) for r in project["optional-dependencies"]["bot"]]
    pins = _requirements()
    assert set(pins) == {r.name.lower() for r in runtime}
    for wanted in runtime:
        pin = pins[wanted.name.lower()]
        [spec] = pin.specifier
        assert spec.operator == "==", f"{pin}: pin an exact version"
        assert wanted.specifier.contains(spec.version), f"{pin} is outside {wanted}"
    assert not set(pins) & {"tensorflow", "tensorflow-cpu", "keras", "pandas", "torch"}


def test_procfile_commands_are_bot_modules_with_the_toolforge_config():
    for name, command in _procfile().items():
        argv = shlex.split(command)
        assert argv[:2] == ["python", "-m"] and argv[2].startswith("bot."), name
        assert (REPO / (argv[2].replace(".", "/") + ".py")).is_file(), name
        config = argv[argv.index("--config") + 1]
        assert load_config(REPO / config).store.host == "tools.db.svc.wikimedia.cloud"
    assert (REPO / ".python-version").read_text().strip() == "3.11"


def test_jobs_name_only_procfile_commands_and_fit_the_limits():
    jobs = yaml.safe_load((REPO / "toolforge" / "jobs.yaml").read_text())
    procfile = _procfile()
    assert {j["name"] for j in jobs} == {"topicbot", "topicbot-report", "topicbot-health"}
    for job in jobs:
        assert shlex.split(job["command"])[0] in procfile, job
        assert re.fullmatch(r"tool-([a-z0-9-]+)/tool-\1:latest", job["image"]), job
        assert job.get("continuous", False) != ("schedule" in job), job
        assert _mebibytes(job["mem"]) <= MEMORY_LIMIT_MIB, job
        assert job["cpu"].endswith("m") and int(job["cpu"][:-1]) <= 1000, job
        assert job["mount"] == "none"  # a build-service image needs no NFS home
    [bot] = [j for j in jobs if j.get("continuous")]
    assert shlex.split(bot["command"])[0] == "bot"
    # exactly one publisher: the scheduled report job, never the continuous bot too
    assert load_config(REPO / "toolforge" / "config.toml").report.publish_interval_seconds == 0
    [report] = [j for j in jobs if j["name"] == "topicbot-report"]
    assert "--publish-only" in procfile[report["command"]]


@pytest.mark.slow
def test_requirements_install_alone_and_every_command_starts_without_tensorflow(tmp_path):
    """What the build service does, minus the buildpack: a fresh environment with only
    requirements.txt (from PyPI), then each Procfile command's --help from the source
    tree, and `import bot.run` with no heavy package loaded or even installed."""
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    install = subprocess.run(
        [python, "-m", "pip", "install", "-q", "-r", REPO / "requirements.txt"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert install.returncode == 0, install.stderr[-3000:]
    run = dict(cwd=REPO, capture_output=True, text=True, timeout=120)
    for name, command in _procfile().items():
        argv = [str(python), *shlex.split(command)[1:], "--help"]
        done = subprocess.run(argv, **run)
        assert done.returncode == 0, (name, done.stderr[-3000:])
    code = (
        "import importlib.util, sys, bot.run, bot.status; "
        f"print([m for m in {HEAVY!r} if importlib.util.find_spec(m)] "
        "+ [m for m in sys.modules if m.split('.')[0] == 'training'])"
    )
    done = subprocess.run([python, "-c", code], **run)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().splitlines()[-1] == "[]"
    size = sum(f.stat().st_size for f in env_dir.rglob("*") if f.is_file())
    print(f"runtime virtual environment: {size / 2**20:.0f} MiB", file=sys.stderr)
