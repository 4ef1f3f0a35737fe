"""Generate N valid, varied coalition files from the samples, for benchmarks."""

from __future__ import annotations

import random
import re
import shutil
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def generate(root: Path, count: int, seed: int = 7) -> list[Path]:
    """A workspace at `root` with `count` coalitions varied from the three samples."""
    rng = random.Random(seed)
    if root.exists():
        shutil.rmtree(root)
    (root / "coalitions").mkdir(parents=True)
    shutil.copy(REPO / "playbook.yaml", root / "playbook.yaml")
    samples = [p.read_text() for p in sorted((REPO / "coalitions").glob("*.yaml"))]
    written = []
    for index in range(count):
        text = samples[index % len(samples)]
        text = re.sub(r"^name: (.*)$", rf"name: \1 {index:05d}", text, count=1, flags=re.M)
        text = re.sub(
            r"(alignment|trust|resources|time_horizon|exit_cost): \d",
            lambda m: f"{m.group(1)}: {rng.randint(1, 5)}",
            text,
        )
        suffix = f"{rng.choice('ABCDEFGHJK')}{index % 97}"
        text = re.sub(
            r"name: ([A-Z][^\n]*?)(Coalition|Union|Association|Services|System|Authority)\b",
            rf"name: \1\2 {suffix}",
            text,
        )
        text = text.replace("purpose: ", f"purpose: (Chapter {index}) ", 1)
        path = root / "coalitions" / f"coalition-{index:05d}.yaml"
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written
