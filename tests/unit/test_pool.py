"""The worker pool: tasks handed out at once, and taken back when the caller stops."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from playbook_builder import pool


def test_every_task_is_rendered_once(tmp_path: Path) -> None:
    def render(task: pool.Task) -> pool.Result:
        return pool.Result(task.slug, {"page": task.slug.encode()}, None, ())

    tasks = [pool.Task(f"c{n:02d}", True) for n in range(20)]
    done = sorted(result.slug for result in pool.run(render, tasks, 2))
    assert done == [task.slug for task in tasks]


def test_tasks_not_begun_are_not_run_once_the_caller_stops(tmp_path: Path) -> None:
    """As on Ctrl-C: the build stops taking results, and the workers do not go on to
    lay out (or print) everything that was handed out."""

    def render(task: pool.Task) -> pool.Result:  # runs in a forked worker
        (tmp_path / task.slug).touch()
        time.sleep(0.005)
        return pool.Result(task.slug, {}, None, ())

    tasks = [pool.Task(f"c{n:03d}", True) for n in range(400)]
    results = pool.run(render, tasks, 2)
    next(results)
    results.close()
    begun = len(list(tmp_path.iterdir()))
    # pages go out in batches of up to 32: those done by the time the caller stopped,
    # those under way and those queued for a worker (three) were begun; not the rest
    assert 1 <= begun <= 8 * 32


def test_pages_go_out_in_batches_and_packets_parts_alone() -> None:
    """Pages go out in batches, several to each worker, so that they end close together;
    each part of a packet goes out alone, so that one packet's parts use every core."""

    def render(task: pool.Task) -> pool.Result:  # runs in a forked worker
        time.sleep(0.3 if task.packet else 0.005)
        return pool.Result(task.slug, {"pid": str(os.getpid()).encode()}, None, ())

    pages = [pool.Task(f"c{n:03d}", True) for n in range(64)]
    parts = [pool.Task("p", False, ("mou",)), pool.Task("p", False, ("briefing",))]
    results = list(pool.run(render, [*parts, *pages], 2))
    assert sorted(r.slug for r in results) == sorted(t.slug for t in [*parts, *pages])
    by_page = {int(r.pages["pid"]) for r in results if r.slug != "p"}
    by_part = [int(r.pages["pid"]) for r in results if r.slug == "p"]
    assert len(by_page) == 2
    assert os.getpid() not in by_page
    assert len(set(by_part)) == 2


def _sigint_handling() -> object:
    return signal.getsignal(signal.SIGINT)


def test_forked_workers_leave_ctrl_c_to_the_parent() -> None:
    """A worker ended by Ctrl-C would break the pool, and Python 3.11's executor then
    fails on the futures it had cancelled and hangs at exit: workers ignore SIGINT."""
    # handled here, as from a terminal (a test run in the background has it ignored)
    before = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        executor = pool.forked(1)
        try:
            assert executor.submit(_sigint_handling).result() == signal.SIG_IGN
        finally:
            executor.shutdown()
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # untouched
    finally:
        signal.signal(signal.SIGINT, before)
