"""Printing processes started before the build knows what it will print.

Importing WeasyPrint takes about 0.3 s, and a build that follows a change to one
coalition prints that coalition's signing packet and briefing: started with the command,
a printer imports it while the build reads its index, loads the changed file and lays
out the pages, instead of after. The build hands each printer a packet's HTML and what
`pdf.render_pdf` needs besides, and gets the PDF back.

The command forks one process, which imports `pdf` (the only module that imports
WeasyPrint) and then forks the second printer from itself: two processes importing at
once beside the build took the build's core too (measured: its preparation 0.1 s ->
0.55 s). Each printer says whether WeasyPrint could be imported, then prints what it is
sent until its pipe closes. A build that prints many packets, or none, closes them
unused (`Printers.close`): each exits when it next looks at its pipe. A printer that
printed has copies of the fonts in the temporary folder: it is told to stop, deletes
them, and says so before the command goes on to end, so that none is left behind
however busy the machine is. Where processes cannot be forked there are none, and the
build prints as it always did.
"""

from __future__ import annotations

import gc
import multiprocessing
import multiprocessing.connection
import os
import signal
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from playbook_builder import collector
from playbook_builder.errors import PlaybookError
from playbook_builder.printed import Rendered

Pipe = multiprocessing.connection.Connection


class PrinterFailed(PlaybookError):
    """A printer could not print, or ended: its reason, as it reported it."""


def _start(pipes: Sequence[Pipe], builds: Sequence[Pipe]) -> None:
    """The first printer: import WeasyPrint, fork the others, print on the first pipe.
    `builds` are the build's ends of the pipes, which the fork copied: closed here, so
    that each printer sees its pipe close when the build closes it, or ends."""
    for pipe in builds:
        pipe.close()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the build's to handle
    signal.signal(signal.SIGTERM, _end)
    with collector.paused():  # what is imported lives as long as the printer
        try:
            from playbook_builder import pdf
        except (ImportError, OSError) as err:
            for pipe in pipes:
                _say(pipe, ("missing", str(err)))
            return
        pdf.parse_declarations()  # once for all the printers
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # the others are not waited for
    # What was imported lives as long as the printer: the collector need not walk it at
    # every collection while a packet is laid out (as the build freezes its workspace)
    gc.freeze()
    for pipe in pipes[1:]:
        if os.fork() == 0:  # another printer, with WeasyPrint imported already
            try:
                for other in pipes:
                    if other is not pipe:
                        other.close()
                _serve(pipe)
            finally:
                pdf.forget_fonts()  # it ends without multiprocessing's finalizers
                os._exit(0)
        pipe.close()
    _serve(pipes[0])


def _end(*_: object) -> None:
    """On SIGTERM (multiprocessing sends it to a printer still running when the command
    exits, one still importing WeasyPrint after a no-op, say): end now, the fonts' copies
    deleted first. Ended by raising SystemExit instead, a printer the signal reached
    inside a weak reference's callback printed "Exception ignored ... SystemExit" on the
    command's terminal and went on importing, while the command waited for it to end."""
    try:  # pdf may be half imported (no `forget_fonts` yet: no fonts copied either)
        forget = getattr(sys.modules.get("playbook_builder.pdf"), "forget_fonts", None)
        if forget is not None:
            forget()
    finally:
        os._exit(0)


def _serve(pipe: Pipe) -> None:
    """Say that WeasyPrint is in, then print each job sent until the pipe closes."""
    from playbook_builder import pdf

    if not _say(pipe, ("ready", pdf.fast_subsetting())):
        return
    while True:
        try:
            job = pipe.recv()
        except (EOFError, OSError):  # the build closed the pipe (with our hello unread,
            return  # the socket is reset): nothing more to print
        if job is None:  # the build is done: the fonts' copies go before it ends
            pdf.forget_fonts()
            _say(pipe, ("gone", None))
            return
        try:
            reply: tuple[str, Any] = ("done", pdf.render_pdf(**job))
        except Exception as err:  # the build reports it as it would its own
            reply = ("failed", f"{type(err).__name__}: {err}")
        if not _say(pipe, reply):
            return


def _say(pipe: Pipe, message: tuple[str, Any]) -> bool:
    """Send to the build; False when it no longer listens."""
    try:
        pipe.send(message)
    except (BrokenPipeError, ConnectionResetError):
        return False
    return True


class Printers:
    """`count` printer processes, forked now; `close` them when the build no longer
    needs them."""

    def __init__(self, count: int) -> None:
        context = multiprocessing.get_context("fork")
        pairs = [context.Pipe() for _ in range(count)]
        self.pipes: list[Pipe] = [ours for ours, _ in pairs]
        theirs = [their for _, their in pairs]
        self.process = context.Process(
            target=_start, args=(theirs, self.pipes), name="playbook printer", daemon=True
        )
        self.process.start()
        for pipe in theirs:
            pipe.close()
        self._said: list[tuple[str, Any]] | None = None
        self._printed: set[Pipe] = set()  # the printers that made copies of the fonts

    def _hello(self) -> list[tuple[str, Any]]:
        if self._said is None:
            self._said = [self._receive(pipe) for pipe in self.pipes]
        return self._said

    def missing(self) -> str | None:
        """Why WeasyPrint could not be imported (its error), or None when it was."""
        for word, what in self._hello():
            if word == "missing":
                return str(what)
        return None

    def fast_subsetting(self) -> bool:
        """Whether the printers subset fonts with HarfBuzz (see `pdf.fast_subsetting`)."""
        return all(what for word, what in self._hello() if word == "ready")

    def print_all(self, jobs: list[dict[str, Any]]) -> Iterator[tuple[int, Rendered]]:
        """Print every job (`pdf.render_pdf`'s keyword arguments), each printer taking the
        next as it finishes one: (the job's position, what was printed), as they come.
        The first jobs are handed out at once, so that the caller can work meanwhile."""
        missing = self.missing()
        if missing is not None:
            raise PrinterFailed(missing)
        waiting = list(enumerate(jobs))
        busy: dict[Pipe, int] = {}

        def hand_out(pipe: Pipe) -> None:
            if waiting:
                position, job = waiting.pop(0)
                busy[pipe] = position
                self._printed.add(pipe)
                pipe.send(job)

        for pipe in self.pipes:
            hand_out(pipe)

        def collect() -> Iterator[tuple[int, Rendered]]:
            while busy:
                for pipe in multiprocessing.connection.wait(list(busy)):
                    assert isinstance(pipe, Pipe)
                    word, what = self._receive(pipe)
                    if word != "done":
                        raise PrinterFailed(str(what))
                    yield busy.pop(pipe), what
                    hand_out(pipe)

        return collect()

    @staticmethod
    def _receive(pipe: Pipe) -> tuple[str, Any]:
        try:
            word, what = pipe.recv()
        except (EOFError, OSError):
            raise PrinterFailed("a printer process ended") from None
        return word, what

    def close(self, patience: float = 30.0) -> None:
        """Let the printers go: each exits when it next looks at its pipe (the first is
        a daemon, asked to end when the command does). One that printed is told to stop
        and waited for, up to `patience` seconds, until it has deleted its copies of the
        fonts (a printer still printing a job finishes it first)."""
        deadline = time.monotonic() + patience
        stopping = [pipe for pipe in self.pipes if pipe in self._printed and _tell(pipe)]
        for pipe in stopping:
            _wait_until_gone(pipe, deadline)
        for pipe in self.pipes:
            pipe.close()
        self.pipes = []


def _tell(pipe: Pipe) -> bool:
    """Ask a printer to stop; False when it has ended already."""
    try:
        pipe.send(None)
    except OSError:
        return False
    return True


def _wait_until_gone(pipe: Pipe, deadline: float) -> None:
    """Until the printer says it has deleted its copies of the fonts, ends, or `deadline`."""
    try:
        while pipe.poll(max(0.0, deadline - time.monotonic())):
            word, _ = pipe.recv()
            if word == "gone":
                return
    except (EOFError, OSError):
        return


@contextmanager
def started(jobs: int | None, wanted: bool = True) -> Iterator[Printers | None]:
    """Up to two printers (a packet and its briefing at once, within `jobs` processes),
    closed when the block ends; None when not `wanted` or where processes cannot be
    forked."""
    if not wanted or "fork" not in multiprocessing.get_all_start_methods():
        yield None
        return
    printers = Printers(min(2, jobs or os.cpu_count() or 1))
    try:
        yield printers
    finally:
        printers.close()
