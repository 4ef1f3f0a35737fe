"""Two checkouts of playbook against each other, alternating: cold HTML-only builds, or
builds after one coalition changed (with its packet).

    python -m bench.ab BEFORE AFTER [--size 1000] [--rounds 12] [--change]

BEFORE and AFTER are checkouts (a `git worktree` of each commit, say). On a shared
machine a median of three runs of `bench.run` moves by a tenth from one run to the next
(the same code measured 3.84 s and then 3.51 s on 2026-12-03), which hides a change of
that size. Here the two build in turn, each from the same state (no site, no workspace
cache, the tool's cache kept, as `bench.run` makes a cold build), so that whatever the
machine does meanwhile falls on both; the medians and the quickest builds are printed.
What each build leaves is set aside, not deleted, until the end (see `bench.run.clean`):
about 170 MB a build at 1,000 coalitions.

Beside the seconds, the processor time each build took (its processes together, user
and system) is printed: it moves less than the seconds from one build to the next (a
change that saved 4% of it did not show in twelve medians of seconds), and says whether
a change saved work or only moved it between the cores.

With `--change`, each checkout first builds its own copy of the workspace with packets
(a build made by another version of playbook is not one a change can follow: 4-5
minutes each at 1,000 coalitions), then the two build in turn, each round after the
same edit to the next coalition in both copies, as `bench.run`'s "one coalition
changed" does (where the same code measured 0.93x and 1.00x on one day).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

from bench import run as bench
from bench.generate import generate
from bench.run import Build, measured


def cold_builds(sources: list[Path], root: Path, rounds: int) -> list[list[Build]]:
    """Each cold HTML-only build of `root`, by source, the sources in turn."""
    builds: list[list[Build]] = [[] for _ in sources]
    for _ in range(rounds):
        for made, source in zip(builds, sources, strict=True):
            bench.clean(root)
            made.append(measured(bench.playbook(root, "--no-pdf"), source))
    return builds


def change_builds(sources: list[Path], roots: list[Path], rounds: int) -> list[list[Build]]:
    """Each build after one coalition changed, with its packet, by source: each builds
    its own copy of the workspace, the sources in turn."""
    for source, root in zip(sources, roots, strict=True):
        bench.clean(root)
        bench.timed(bench.playbook(root), source=source)  # the whole site, with packets
    files = sorted((roots[0] / "coalitions").glob("*.yaml"))
    builds: list[list[Build]] = [[] for _ in sources]
    for number in range(rounds + 1):  # the first change of each is not counted
        for made, source, root in zip(builds, sources, roots, strict=True):
            path = root / "coalitions" / files[number % len(files)].name
            path.write_text(path.read_text().replace("purpose: ", "purpose: Again, ", 1))
            build = measured(bench.playbook(root), source)
            if number:
                made.append(build)
    return builds


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("before", type=Path, help="The checkout measured first.")
    parser.add_argument("after", type=Path, help="The checkout measured against it.")
    parser.add_argument("--size", type=int, default=1000, help="Coalitions in the workspace.")
    parser.add_argument("--rounds", type=int, default=12, help="Builds of each checkout.")
    parser.add_argument(
        "--change", action="store_true", help="Builds after one change, not cold builds."
    )
    args = parser.parse_args()
    sources = [args.before.resolve(), args.after.resolve()]
    for source in sources:
        if not (source / "playbook_builder").is_dir():
            sys.exit(f"{source} is not a checkout of playbook (no playbook_builder/ in it)")
        bench.compile_sources(source)
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder) / f"ws-{args.size}"
        generate(root, args.size)
        roots = [root.with_name(f"{root.name}-{side}") for side in ("before", "after")]
        try:
            if args.change:
                for copy in roots:
                    shutil.copytree(root, copy)
                before, after = change_builds(sources, roots, args.rounds)
            else:
                for source in sources:  # each builds once first: the tool's cache is then made
                    bench.clean(root)
                    bench.timed(bench.playbook(root, "--no-pdf"), source=source)
                before, after = cold_builds(sources, root, args.rounds)
        finally:  # the last builds' caches (outside the folder) go too
            for built in (root, *roots):
                if built.exists():
                    bench.clean(built)
            bench.forget_set_aside()
    out = sys.stdout
    what = (
        "Builds after one coalition changed, with its packet"
        if args.change
        else "Cold builds, HTML only"
    )
    out.write(f"{what}, {args.size} coalitions, {args.rounds} each, in turn:\n")
    for name, source, builds in (("before", sources[0], before), ("after", sources[1], after)):
        times = [seconds for seconds, _, _ in builds]
        listed = " ".join(f"{t:.2f}" for t in times)
        user = statistics.median(build[1] for build in builds)
        system = statistics.median(build[2] for build in builds)
        out.write(
            f"  {name} ({source}): median {statistics.median(times):.3f} s, "
            f"quickest {min(times):.3f} s ({listed}); processor time, medians: "
            f"{_processor(builds):.2f} s (user {user:.2f} s, system {system:.2f} s)\n"
        )
    median = statistics.median(b[0] for b in after) / statistics.median(b[0] for b in before)
    quickest = min(b[0] for b in after) / min(b[0] for b in before)
    processor = _processor(after) / _processor(before)
    out.write(
        f"  after / before: {median:.2f}x (medians), {quickest:.2f}x (quickest), "
        f"{processor:.2f}x (processor time, medians)\n"
    )


def _processor(builds: list[Build]) -> float:
    """The median processor time (user and system together) of the builds."""
    return statistics.median(user + system for _, user, system in builds)


if __name__ == "__main__":
    main()
