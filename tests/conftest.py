"""Shared fixtures: a copy of the sample workspace and a way to run the CLI."""

from __future__ import annotations

import http.server
import os
import shutil
import subprocess
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from hypothesis import settings

from playbook_builder.cli import cli

# Property tests explore freely on a developer's machine; in CI (CI=true) they run the same
# examples every time, so a run fails only for a change of the code. What exploring finds
# is pinned in the test as an explicit @example.
settings.register_profile("ci", derandomize=True, deadline=None, database=None)
settings.register_profile("dev", deadline=None)
settings.load_profile("ci" if os.environ.get("CI") else "dev")

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


def git(root: Path, *args: str) -> None:
    """Run git in `root` as a test author, failing the test if git fails."""
    subprocess.run(
        ["git", "-c", "user.name=T", "-c", "user.email=t@example.org", *args],
        cwd=root,
        check=True,
        capture_output=True,
    )


def minimal() -> str:
    """The smallest valid coalition file."""
    return (DATA / "minimal.yaml").read_text()


class Counting(http.server.BaseHTTPRequestHandler):
    """Answers every GET and remembers its path: nothing should ever ask."""

    hits: list[str] = []  # noqa: RUF012 - shared with the test through the class

    def do_GET(self) -> None:
        self.hits.append(self.path)
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"body::after { content: 'FETCHED-FROM-NETWORK'; }")

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


@pytest.fixture
def server() -> Iterator[str]:
    """The address of a listener on 127.0.0.1 that counts requests in Counting.hits."""
    Counting.hits = []
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Counting)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


@pytest.fixture(autouse=True)
def own_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test keeps its build cache (and cache key) in a folder of its own."""
    folder = tmp_path_factory.mktemp("user-cache")
    monkeypatch.setenv("PLAYBOOK_CACHE_DIR", str(folder))
    return folder
