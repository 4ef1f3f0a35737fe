"""The cyclic garbage collector, paused while what lives to the end of a command is made.

Importing the engine and preparing a workspace make hundreds of thousands of objects that
live as long as the command and form no cycles. Passes of the collector over them free
nothing: traced on a cold build of 1,000 coalitions, 86 ms of passes while preparing
(six of 7-9 ms, then one of 42 ms over the two younger generations) and a tenth of
importing the build's modules, or WeasyPrint's in a printer.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def paused() -> Iterator[None]:
    """Leave the collector off for a while, then put what was made meanwhile in the
    oldest generation, whose next pass is due only once it has grown by a quarter (the
    younger ones would otherwise walk it all at their next passes). The collector is
    left on or off as it was; cycles made meanwhile wait for that next pass."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if gc.get_freeze_count() == 0:  # not inside a caller's freeze: leave that as it is
            gc.freeze()  # moves every tracked object out of the generations...
            gc.unfreeze()  # ...and back, into the oldest
        if enabled:
            gc.enable()
