"""Importing WeasyPrint without asking the C compiler where its libraries are.

WeasyPrint opens Pango, HarfBuzz and fontconfig by trying several names for each (one
per platform), through cffi, which hands every name it cannot open directly to
`ctypes.util.find_library`. On Linux that reads the loader's cache (`ldconfig -p`) and,
when the name is not there, runs `gcc` and then `ld` to search their library paths:
about 12 ms for each of the 16 names meant for other platforms, 0.2 s of the 0.5 s that
importing WeasyPrint took (measured), paid by every build that prints a packet. The
loader's cache finds every library the loader can open by name, and the names WeasyPrint
tries include the plain soname (`libpango-1.0.so.0`), which the loader opens itself from
its own search path, LD_LIBRARY_PATH included.

`pdf.py` imports WeasyPrint under `loader_cache_only()`; should that fail (a library only
the compiler's paths hold), it imports it again with the full search, so nothing that
imported before fails now.
"""

from __future__ import annotations

import ctypes.util
import io
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager, redirect_stdout


@contextmanager
def loader_cache_only() -> Iterator[None]:
    """While in the block, `ctypes.util.find_library` looks in the loader's cache only
    (on Linux, where ctypes has that search on its own; elsewhere nothing changes)."""
    full = ctypes.util.find_library
    search: Callable[[str], str | None] | None = getattr(ctypes.util, "_findSoname_ldconfig", None)
    if not sys.platform.startswith("linux") or search is None:
        yield
        return

    def cache_only(name: str) -> str | None:
        assert search is not None
        return search(name)

    ctypes.util.find_library = cache_only
    try:
        # WeasyPrint prints its installation help before it fails to open a library: the
        # full search that follows prints it again if it fails too
        with redirect_stdout(io.StringIO()):
            yield
    finally:
        ctypes.util.find_library = full
