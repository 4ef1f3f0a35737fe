"""Rendering spread over worker processes, started once per build where `fork` exists.

A worker inherits the parent's prepared workspace by forking, so nothing heavy is
pickled: each task names a coalition and what to render of it, and each result is
plain bytes. Small batches render in the parent process.
"""

from __future__ import annotations

import concurrent.futures
import multiprocessing
import os
import signal
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Task:
    slug: str
    pages: bool
    packet: tuple[str, ...] = ()
    """The parts of the packet to make ("mou", "briefing", "docx"): a coalition's parts
    may go to different workers, so that one changed coalition uses every core."""


@dataclass(frozen=True, slots=True)
class Result:
    slug: str
    pages: dict[str, bytes]
    packet: dict[str, bytes] | None
    notices: tuple[str, ...]
    written: dict[str, str] = field(default_factory=dict)
    """Files the worker wrote into the new output folder itself (SHA-256 by name); they
    are then not in `pages`."""
    size: int = 0
    """Bytes of the files written."""
    twinned: bool = False
    """Whether the worker also linked every file it wrote in the next build's spare, as
    it wrote them (see write.Staging.add)."""


Render = Callable[[Task], Result]

_BATCH = 32
"""At most this many coalitions' pages go to a worker at once..."""
_BATCHES_EACH = 4
"""...and at least this many batches to each worker, so that they end close together."""

_WORKER: list[Any] = []
"""The render function of a worker process (or what else it adopted): set in the worker
only, by `_start`."""


def forked(workers: int, render: Callable[..., Any] | None = None) -> concurrent.futures.Executor:
    """Up to `workers` processes forked from this one (each adopting `render`, if given:
    inherited as it is, not pickled), which leave Ctrl-C to it.

    Ctrl-C reaches every process of the terminal's group. A worker it ended would break
    the pool, and Python 3.11's executor then fails on the futures already cancelled and
    hangs at exit. So the workers ignore it; the parent, interrupted, shuts the pool down
    with `cancel_futures`, and they end with the task they are on.
    """
    return concurrent.futures.ProcessPoolExecutor(
        max_workers=workers,
        mp_context=multiprocessing.get_context("fork"),
        initializer=_start,
        initargs=(render,),
    )


def _start(render: Callable[..., Any] | None) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if render is not None:
        _WORKER[:] = [render]


def _run_in_worker(tasks: Sequence[Task]) -> list[Result]:
    render: Render = _WORKER[0]
    return [render(task) for task in tasks]


def adopted() -> Any:
    """What this worker adopted when it was forked (see `forked`)."""
    return _WORKER[0]


def can_fork() -> bool:
    """Whether workers can be forked here, inheriting what this process has prepared."""
    return "fork" in multiprocessing.get_all_start_methods()


def run(render: Render, tasks: Sequence[Task], jobs: int | None) -> Generator[Result, None, None]:
    """Render every task, in up to `jobs` worker processes when the work is worth it.

    Worker tasks are handed out at once, before the first result is asked for, so the
    caller can do work of its own while they run. Pages come first: they are quick, and
    what the caller makes of all pages (the shared ones) then overlaps the packets.
    """
    workers = max(1, min(jobs or os.cpu_count() or 1, len(tasks)))
    heavy = sum(4 if task.packet else 1 for task in tasks)
    if workers == 1 or heavy < 8 or not can_fork():
        return (render(task) for task in tasks)
    pool = forked(workers, render)
    ordered = sorted(tasks, key=lambda task: (bool(task.packet), "mou" not in task.packet))
    futures = [pool.submit(_run_in_worker, batch) for batch in _batches(ordered, workers)]

    def results() -> Generator[Result, None, None]:
        try:
            for future in concurrent.futures.as_completed(futures):
                yield from future.result()
        finally:  # should the caller stop (an error, Ctrl-C), tasks not yet begun are not
            pool.shutdown(cancel_futures=True)

    return results()


def _batches(ordered: Sequence[Task], workers: int) -> Iterator[Sequence[Task]]:
    """The tasks in the order given, in batches: pages alone in batches of up to
    `_BATCH`, several to each worker, a packet's part alone. Handing out and taking back
    each coalition's pages on its own was a fifth of the parent's time at 1,000 (its
    threads that feed the workers and wait for them), beside the workers' own."""
    pages = [task for task in ordered if not task.packet]
    size = max(1, min(_BATCH, len(pages) // (workers * _BATCHES_EACH)))
    for start in range(0, len(pages), size):
        yield pages[start : start + size]
    for task in ordered[len(pages) :]:
        yield (task,)
