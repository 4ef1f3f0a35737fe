"""The print document's cost in instructions: the same comparison as `bench.run`'s print
document (bare WeasyPrint on each sample's signing packet, today's templates against the
reference ones), counted by Valgrind instead of timed.

    python -m bench.print_cost

Processor time on a shared machine moves by 5-10% between runs of the same document
(the same templates measured 0.83x, 0.88x and 0.90x on one day), which hides a change of
a few percent; the count of instructions executed does not move by more than 0.2%. It is
not the same figure: time also pays for memory and caches, and measured 0.04-0.06 above
the instruction ratio here. Each document is laid out once and three times in two
Valgrind processes (about 15 and 30 s each); the difference over two is one warm layout,
without the start-up. Needs Debian's valgrind (`apt-get install valgrind`).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.run import PYTHON, REPO, environment, samples

LAY_OUT = """
import sys, weasyprint
from pathlib import Path
from playbook_builder import build
root, slug, times = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
ready = build.prepare(root, None)
fact = ready.of(slug)
html = ready.renderer.packet_html(fact, fact.revision, ready.renderer.templates_hash())
for _ in range(times):
    document = weasyprint.HTML(string=html, base_url=root.as_uri() + "/").render()
    document.write_pdf(pdf_variant="pdf/a-3a", custom_metadata=True)
"""


def instructions(root: Path, slug: str, times: int) -> int:
    """Instructions a process executes that lays out `slug`'s packet `times` times."""
    done = subprocess.run(
        [
            "valgrind",
            "--tool=cachegrind",
            "--cache-sim=no",
            "--cachegrind-out-file=/dev/null",
            *PYTHON,
            "-c",
            LAY_OUT,
            str(root),
            slug,
            str(times),
        ],
        capture_output=True,
        text=True,
        check=True,
        env={**environment(), "PYTHONHASHSEED": "0", "SOURCE_DATE_EPOCH": "1795564800"},
    )
    found = re.search(r"I\s+refs:\s+([\d,]+)", done.stderr)
    assert found, done.stderr[-2000:]
    return int(found.group(1).replace(",", ""))


def main() -> None:
    if shutil.which("valgrind") is None:
        sys.exit("valgrind is not installed: apt-get install valgrind")
    with tempfile.TemporaryDirectory() as folder:
        roots = [samples(Path(folder), False), samples(Path(folder), True)]
        totals = [0, 0]
        sys.stdout.write(f"{'coalition':<24} {'now (M)':>9} {'reference (M)':>14} {'ratio':>6}\n")
        for slug in sorted(path.stem for path in (REPO / "coalitions").glob("*.yaml")):
            counts = []
            for which, root in enumerate(roots):
                layout = (instructions(root, slug, 3) - instructions(root, slug, 1)) // 2
                counts.append(layout)
                totals[which] += layout
            _line(slug, *counts)
        _line("the three together", *totals)


def _line(name: str, now: int, ref: int) -> None:
    sys.stdout.write(f"{name:<24} {now / 1e6:>9,.0f} {ref / 1e6:>14,.0f} {now / ref:>6.3f}\n")


if __name__ == "__main__":
    main()
