"""Time loading and validating N coalition files: `python -m bench.load [N ...]`."""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

from bench.generate import generate
from playbook_builder import load, workspace


def main(counts: list[int]) -> None:
    """Print the median of five loads for each N."""
    sys.stdout.write(f"{'files':>7} {'median s':>9} {'min s':>7} {'ms/file':>8}\n")
    with tempfile.TemporaryDirectory() as folder:
        for count in counts:
            root = Path(folder) / f"w{count}"
            generate(root, count)
            found = workspace.find(root)
            times = []
            for _ in range(5):
                started = time.perf_counter()
                loaded = load.load_workspace(found)
                times.append(time.perf_counter() - started)
            assert len(loaded.coalitions) == count
            median = statistics.median(times)
            sys.stdout.write(
                f"{count:>7} {median:>9.3f} {min(times):>7.3f} {1000 * median / count:>8.2f}\n"
            )


if __name__ == "__main__":
    main([int(arg) for arg in sys.argv[1:]] or [10, 100, 1000])
