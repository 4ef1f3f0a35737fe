"""Faults: builds killed at any instant, two builds at once, an output that cannot be written."""

from __future__ import annotations

import os
import random
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import Run

pytestmark = pytest.mark.slow  # end to end: the CLI, builds, WeasyPrint or a browser

TODAY = "2026-11-25"
KILLS = 12
"""Builds killed at random instants, spread over the length of a build."""


def _command(root: Path, *extra: str) -> list[str]:
    playbook = [sys.executable, "-m", "playbook_builder"]
    return [*playbook, "build", "--root", str(root), "--today", TODAY, *extra]


def _snapshot(site: Path) -> dict[str, bytes]:
    return {p.relative_to(site).as_posix(): p.read_bytes() for p in site.rglob("*") if p.is_file()}


def _edit(root: Path, round_: int) -> None:
    """Change an agreement so that every build has something new to write."""
    path = root / "coalitions" / "fair-trade-pact.yaml"
    text = path.read_text()
    start = text.index("purpose: ") + len("purpose: ")
    end = text.index("\n", start)
    path.write_text(f"{text[:start]}Stop the trade deal, round {round_}.{text[end:]}")


def test_a_build_killed_at_any_instant_leaves_a_whole_site(sample: Path) -> None:
    site = sample / "site"
    started = time.perf_counter()
    subprocess.run(_command(sample), check=True, capture_output=True)
    length = time.perf_counter() - started
    pick = random.Random(20261125)
    outcomes = {"previous": 0, "new": 0}
    # a killed printer cannot delete its copies of the fonts: they go in the test's folder
    temporary = sample.parent / "temporary"
    temporary.mkdir()
    killed_env = {**os.environ, "TMPDIR": str(temporary)}
    for round_ in range(KILLS):
        before = _snapshot(site)
        _edit(sample, round_)
        # a fresh cache now and then, so that some kills land in packet rendering
        extra = ("--no-cache",) if round_ % 3 == 0 else ()
        build = subprocess.Popen(
            _command(sample, *extra),
            start_new_session=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=killed_env,
        )
        time.sleep(pick.uniform(0.05, length * 1.1))
        os.killpg(build.pid, signal.SIGKILL)  # the build and its workers, as the OOM killer would
        build.wait()
        after = _snapshot(site)
        redone = subprocess.run(_command(sample), capture_output=True, text=True)
        assert redone.returncode == 0, redone.stderr
        new = _snapshot(site)
        # killed before the swap: the previous site, whole; after it: the new one, whole
        assert after in (before, new), f"round {round_}: a mixed or partial site"
        outcomes["previous" if after == before and before != new else "new"] += 1
        leftovers = sorted(p.name for p in sample.iterdir() if p.name.startswith(".site"))
        # and beside them, perhaps, the spare: the site a build replaced, for the next one
        assert [name for name in leftovers if name != ".site.spare"] == [
            ".site.lock",
            ".site.state",
        ]
    assert outcomes["previous"] > 0, outcomes  # the kills did land mid-build


def _children_cpu() -> float:
    """Processor seconds of every process this test ran and waited for, with theirs."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def test_ctrl_c_stops_the_workers_too(sample: Path, tmp_path: Path) -> None:
    """Ctrl-C (SIGINT to the build and its workers, as a terminal sends it) a third of
    the way through a build that prints many packets ends it without printing the rest:
    what the interrupted build ran used a fraction of a whole build's processor time. (It
    used all of it, the pool laying out every task handed out before the build ended.)"""
    for source in sorted((sample / "coalitions").glob("*.yaml")):
        for copy in (2, 3, 4):
            text = source.read_text().replace("\nname: ", f"\nname: Copy {copy} of ", 1)
            source.with_name(f"{source.stem}-{copy}.yaml").write_text(text)
    start, started = _children_cpu(), time.perf_counter()
    whole = _command(sample, "--no-cache", "--jobs", "2", "--out", str(tmp_path / "whole"))
    subprocess.run(whole, check=True, capture_output=True)
    whole_cpu, length = _children_cpu() - start, time.perf_counter() - started
    start = _children_cpu()
    build = subprocess.Popen(
        _command(sample, "--no-cache", "--jobs", "2"),
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        # as from a terminal: a test run in the background inherits SIGINT ignored
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    time.sleep(length / 3)
    os.killpg(build.pid, signal.SIGINT)
    said = build.communicate(timeout=120)[1]
    interrupted_cpu = _children_cpu() - start
    assert build.returncode == 1, said
    assert said.strip().splitlines()[-1] == "Aborted!"
    assert "Traceback" not in said
    assert not (sample / "site").exists()
    with pytest.raises(ProcessLookupError):  # no worker outlives the build
        os.killpg(build.pid, 0)
    assert interrupted_cpu < 0.7 * whole_cpu, (interrupted_cpu, whole_cpu)


def test_a_second_build_at_the_same_time_is_refused_clearly(sample: Path) -> None:
    subprocess.run(_command(sample, "--no-pdf"), check=True, capture_output=True)
    before = _snapshot(sample / "site")
    lock = sample / ".site.lock"
    first = subprocess.Popen(
        _command(sample, "--no-cache"), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    deadline = time.monotonic() + 30
    while lock.read_text().strip() != str(first.pid):
        assert time.monotonic() < deadline, "the first build never took the lock"
        assert first.poll() is None, first.communicate()
        time.sleep(0.01)
    second = subprocess.run(_command(sample), capture_output=True, text=True)
    assert second.returncode == 1
    assert second.stderr.strip().splitlines()[-1] == (
        f"Error: another playbook build (process {first.pid}) is writing "
        f"{sample / 'site'}; nothing was written: wait for it to finish, then build again"
    )
    assert "Traceback" not in second.stderr
    assert _snapshot(sample / "site") == before  # the second touched nothing
    assert first.wait(timeout=120) == 0, first.communicate()
    third = subprocess.run(_command(sample), capture_output=True, text=True)
    assert third.returncode == 0, third.stderr
    assert _snapshot(sample / "site") != before  # packets were added by the first


def test_an_output_folder_that_cannot_be_written(sample: Path, tmp_path: Path, run: Run) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    result = run("build", "--root", sample, "--no-pdf", "--out", blocker / "site")
    assert result.exit_code == 1
    assert (
        result.stderr.strip()
        .splitlines()[-1]
        .startswith(
            f"Error: cannot write the output folder {blocker / 'site'}: "
            f"{blocker} is a file, not a folder"
        )
    )
    result = run("build", "--root", sample, "--no-pdf", "--out", blocker)
    assert result.exit_code == 2  # a usage error, caught by the option itself
    assert f"Invalid value for '--out': Directory '{blocker}' is a file." in result.stderr
    assert blocker.read_text() == "not a folder"


def test_an_output_folder_on_a_read_only_file_system(sample: Path, run: Run) -> None:
    read_only = Path("/proc/self")  # refused to everyone, root included
    result = run("build", "--root", sample, "--no-pdf", "--out", read_only / "site")
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: cannot write the output folder /proc/")
    assert "Traceback" not in result.stderr


def test_the_next_build_repairs_what_a_killed_swap_left(sample: Path, run: Run) -> None:
    """Where no atomic exchange exists, a kill mid-swap leaves the old site retired."""
    assert run("build", "--root", sample, "--today", TODAY, "--no-pdf").exit_code == 0
    before = _snapshot(sample / "site")
    (sample / "site").rename(sample / ".site.old-k1ll3d")
    (sample / ".site.new-h4lfdn").mkdir()
    (sample / ".site.new-h4lfdn" / "index.html").write_text("half a site")
    (sample / ".site.spare-h4lfdn").mkdir()  # and half the next build's spare
    (sample / ".site.spare-h4lfdn" / "index.html").hardlink_to(
        sample / ".site.old-k1ll3d" / "index.html"
    )
    (sample / "templates").mkdir()
    (sample / "templates" / "partners.html").write_text("{{ site.__class__.__mro__ }}")
    result = run("build", "--root", sample, "--today", TODAY, "--no-pdf")
    assert result.exit_code == 1  # this build fails too, yet the previous site is back
    assert _snapshot(sample / "site") == before
    assert sorted(p.name for p in sample.iterdir() if p.name.startswith(".site")) == [
        ".site.lock",
        ".site.state",
    ]
