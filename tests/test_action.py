"""The GitHub action at the repository root: its install step, run as a runner runs it,
in a fresh folder, installs a `playbook` that checks a workspace."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO

pytestmark = pytest.mark.slow  # end to end: a virtual environment and pip


def _steps() -> dict[str, dict[str, str]]:
    action = yaml.safe_load((REPO / "action.yml").read_text())
    assert action["runs"]["using"] == "composite"
    return {step.get("name", step.get("uses", "")): step for step in action["runs"]["steps"]}


def _tracked_copy(target: Path) -> Path:
    """The repository as a runner checks it out: the files git tracks, nothing else."""
    listed = subprocess.run(
        ["git", "-C", str(REPO), "ls-files", "-z"], capture_output=True, check=True
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = REPO / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    return target


def test_the_action_checks_and_builds_with_what_it_installed() -> None:
    steps = _steps()
    assert steps["playbook check"]["run"].startswith("playbook check --format github")
    assert steps["playbook build"]["run"].startswith("playbook build")
    assert steps["playbook build"]["if"] == "inputs.build == 'true'"


def test_the_install_step_installs_playbook_from_the_action_folder(tmp_path: Path) -> None:
    action = _tracked_copy(tmp_path / "action")
    runner = tmp_path / "runner"
    runner.mkdir()
    github_path = runner / "github-path"
    github_path.touch()
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path / "home"),
        "PIP_CACHE_DIR": os.environ.get("PIP_CACHE_DIR", str(Path.home() / ".cache/pip")),
        "GITHUB_ACTION_PATH": str(action),
        "GITHUB_PATH": str(github_path),
        "RUNNER_TEMP": str(runner),
    }
    install = subprocess.run(
        ["bash", "-c", _steps()["Install playbook"]["run"]],
        cwd=runner,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert install.returncode == 0, install.stderr
    assert install.stdout.strip().startswith("playbook, version ")
    added = github_path.read_text().split()
    assert added == [str(runner / "playbook-venv" / "bin")]

    # the next steps find `playbook` on the PATH the install step extended
    workspace = tmp_path / "workspace"
    shutil.copytree(action / "coalitions", workspace / "coalitions")
    shutil.copy(action / "playbook.yaml", workspace)
    path = f"{added[0]}:{env['PATH']}"

    def step(command: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["bash", "-c", command],
            cwd=workspace,
            env={**env, "PATH": path, "PLAYBOOK_CACHE_DIR": str(tmp_path / "cache")},
            capture_output=True,
            text=True,
            check=False,
        )

    check = step("playbook check --format github --today 2026-11-25")
    assert check.returncode == 0, check.stdout + check.stderr
    assert check.stdout.startswith("::warning file=coalitions/")
    built = step("playbook build --no-pdf --today 2026-11-25")
    assert built.returncode == 0, built.stderr
    assert (workspace / "site" / "guide" / "index.html").is_file()
