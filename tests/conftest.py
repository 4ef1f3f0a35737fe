"""Shared fixtures: a copy of the sample workspace and a way to run the CLI."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from playbook_builder.cli import cli

REPO = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"

Run = Callable[..., Result]


@pytest.fixture
def sample(tmp_path: Path) -> Path:
    """A copy of the repository's own workspace: playbook.yaml and coalitions/."""
    root = tmp_path / "workspace"
    root.mkdir()
    shutil.copy(REPO / "playbook.yaml", root / "playbook.yaml")
    shutil.copytree(REPO / "coalitions", root / "coalitions")
    return root


@pytest.fixture
def empty(tmp_path: Path) -> Path:
    """A workspace with settings and no coalitions yet."""
    root = tmp_path / "blank"
    (root / "coalitions").mkdir(parents=True)
    (root / "playbook.yaml").write_text("title: Test\norganization: Test Org\n")
    return root


@pytest.fixture
def run() -> Run:
    """Run `playbook ARGS...` in-process; stdout and stderr kept apart."""

    def invoke(*args: str | Path) -> Result:
        return CliRunner().invoke(
            cli, [str(a) for a in args], prog_name="playbook", catch_exceptions=False
        )

    return invoke


def minimal() -> str:
    """The smallest valid coalition file."""
    return (DATA / "minimal.yaml").read_text()
