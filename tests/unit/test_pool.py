"""The worker pool: tasks handed out at once, and taken back when the caller stops."""

from __future__ import annotations

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
        time.sleep(0.05)
        return pool.Result(task.slug, {}, None, ())

    tasks = [pool.Task(f"c{n:02d}", True) for n in range(40)]
    results = pool.run(render, tasks, 2)
    next(results)
    results.close()
    begun = len(list(tmp_path.iterdir()))
    assert 1 <= begun <= 10  # the first, those under way and those queued for a worker


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
