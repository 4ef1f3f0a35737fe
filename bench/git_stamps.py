"""Build time with and without git stamps for N coalitions: `python -m bench.git_stamps [N]`.

The same generated workspace is built (HTML only) outside git, then as a repository with
two commits (all files, then an agreement edit to every tenth file), median of 3 each.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.generate import generate
from playbook_builder import build


def _timed(root: Path, out: Path, repeats: int = 3) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        build.build(root, out, None, pdf=False)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def _git(root: Path, *args: str) -> None:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "bench",
        "GIT_AUTHOR_EMAIL": "b@example.org",
        "GIT_COMMITTER_NAME": "bench",
        "GIT_COMMITTER_EMAIL": "b@example.org",
    }
    subprocess.run(["git", "-C", str(root), *args], check=True, env=env, capture_output=True)


def main(count: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder) / "ws"
        paths = generate(root, count)
        out = Path(folder) / "site"
        plain = _timed(root, out)
        _git(root, "init", "-q")
        _git(root, "add", ".")
        _git(root, "commit", "-q", "-m", "all")
        for path in paths[::10]:
            path.write_text(path.read_text().replace("minutes: ", "minutes: 1", 1))
        _git(root, "commit", "-q", "-am", "edit")
        stamped = _timed(root, out)
    sys.stdout.write(
        f"{count} coalitions, HTML only: without git {plain:.2f} s, with git stamps "
        f"{stamped:.2f} s, difference {stamped - plain:+.2f} s\n"
    )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1000)
