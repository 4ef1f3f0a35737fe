"""Time per packet: playbook's pipeline against bare WeasyPrint on the same HTML.

`python -m bench.packets [REPEATS]` prints the median seconds per packet for each sample.
"""

from __future__ import annotations

import gc
import statistics
import sys
import time
from pathlib import Path

import weasyprint

from playbook_builder import build

REPO = Path(__file__).resolve().parent.parent


def main(repeats: int) -> None:
    ready = build.prepare(REPO, None)
    gc.freeze()  # as `playbook build` does with what it prepared (see bench/run.py)
    sys.stdout.write(
        f"{'coalition':<24} {'pages':>5} {'playbook s':>11} {'bare s':>8} {'ratio':>6}\n"
    )
    for view in ready.facts:
        html = ready.renderer.packet_html(view, view.revision, ready.renderer.templates_hash())
        ours, bare = [], []
        for _ in range(repeats):
            started = time.perf_counter()
            packet = build.render_packet(ready, view)
            ours.append(time.perf_counter() - started)
            started = time.perf_counter()
            weasyprint.HTML(string=html, base_url=REPO.as_uri() + "/").write_pdf()
            bare.append(time.perf_counter() - started)
        a, b = statistics.median(ours), statistics.median(bare)
        sys.stdout.write(f"{view.slug:<24} {packet.pages:>5} {a:>11.3f} {b:>8.3f} {a / b:>6.2f}\n")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5)
