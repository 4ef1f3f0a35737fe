"""The speed benchmark: playbook against MkDocs, Hugo and bare WeasyPrint, in one run.

    python -m bench.run [--sizes 10,100,1000] [--repeats 3] [--source DIR] [--write FILE]

`--source DIR` measures another checkout of playbook (for a before/after table on one
machine, e.g. a `git worktree` of an older commit) with this script.

It installs its own tools first (MkDocs into .venv-bench from PyPI, Debian's hugo with
apt-get when run as root; never as dependencies of playbook), generates N varied
coalitions, times each scenario as a fresh `playbook` process, and prints a table of
medians and ratios; with `--write FILE`, it also writes that table with the machine's
description to FILE. docs/performance.md is kept by hand: it holds the runs of several
commits side by side, which one run cannot write.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench.generate import generate
from playbook_builder import cache

REPO = Path(__file__).resolve().parent.parent
REFERENCE = Path(__file__).resolve().parent / "reference" / "templates"
"""The print templates of 2026-11-25 (packet, agreement, words), the reference that a
cheaper print document is measured against."""
SOURCE = REPO
"""The checkout of playbook being measured (`--source`)."""
SAMPLE = "housing-for-health"
BENCH_VENV = REPO / ".venv-bench"
TODAY = "2026-11-25"
WORDS = 1500


def setup() -> tuple[Path | None, Path | None]:
    """MkDocs in its own virtual environment and Hugo from Debian, when they can be had."""
    mkdocs = BENCH_VENV / "bin" / "mkdocs"
    if not mkdocs.exists():
        subprocess.run([sys.executable, "-m", "venv", str(BENCH_VENV)], check=True)
        subprocess.run([str(BENCH_VENV / "bin" / "pip"), "install", "-q", "mkdocs"], check=False)
    hugo = shutil.which("hugo")
    if hugo is None and os.geteuid() == 0 and shutil.which("apt-get"):
        subprocess.run(["apt-get", "update", "-qq"], check=False, capture_output=True)
        subprocess.run(
            ["apt-get", "install", "-y", "-qq", "hugo"], check=False, capture_output=True
        )
        hugo = shutil.which("hugo")
    return (mkdocs if mkdocs.exists() else None), (Path(hugo) if hugo else None)


PYTHON = [sys.executable, "-P"]
"""Every measured Python: -P keeps the current folder off the module path, so that
PYTHONPATH (the checkout measured) decides which playbook_builder is imported."""


def compile_sources(source: Path | None = None) -> None:
    """Byte-compile the measured checkout, as `pip install` does for an installed package.

    Where PYTHONDONTWRITEBYTECODE is set (as on some CI machines), an editable checkout is
    otherwise compiled again by every process measured: 50-60 ms of start-up that no
    installed copy pays, and that MkDocs (installed by pip) does not pay either.
    """
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", str((source or SOURCE) / "playbook_builder")],
        check=True,
        capture_output=True,
    )


def environment(source: Path | None = None) -> dict[str, str]:
    """The environment of every measured process: the measured checkout (`source`, else
    `SOURCE`) first on the path."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(source or SOURCE)
    env.pop("SOURCE_DATE_EPOCH", None)
    return env


def timed(
    command: list[str],
    cwd: Path | None = None,
    ok: tuple[int, ...] = (0,),
    source: Path | None = None,
) -> tuple[float, int]:
    """Seconds, and the peak memory in KiB of the largest process the command ran (with
    the checkout `source` measured, else `SOURCE`)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    started = time.perf_counter()
    done = subprocess.run(
        command,
        cwd=cwd or "/",
        capture_output=True,
        text=True,
        check=False,
        env=environment(source),
    )
    seconds = time.perf_counter() - started
    if done.returncode not in ok:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stdout}\n{done.stderr}")
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return seconds, max(peak, before)


Build = tuple[float, float, float]
"""One command run: seconds, and the processor time of its processes (user, system)."""


def measured(command: list[str], source: Path | None = None) -> Build:
    """Run `command` as `timed` does; its seconds and processor time."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    seconds = timed(command, source=source)[0]
    after = resource.getrusage(resource.RUSAGE_CHILDREN)  # its workers too: each is waited for
    return seconds, after.ru_utime - before.ru_utime, after.ru_stime - before.ru_stime


def playbook(root: Path, *extra: str) -> list[str]:
    return [
        *PYTHON,
        "-m",
        "playbook_builder",
        "-q",
        "build",
        "--root",
        str(root),
        "--today",
        TODAY,
        *extra,
    ]


SET_ASIDE: list[Path] = []
"""What `clean` moved out of the way, deleted when the benchmark ends."""


def clean(root: Path) -> None:
    """No output folder and no build cache, as on a fresh clone.

    They are renamed out of the way, not deleted: ext4 makes new files slowly for a minute
    or so after thousands were deleted (it passes over the freed inodes one by one). With
    the last build's site and cache deleted just before it, a cold build of 1,000
    coalitions laid out in 3.9-4.5 s instead of 2.96 s (`perf`: a fifth of its cycles in
    the kernel's inode allocation). A cold build on a fresh clone pays none of that.
    What a build leaves beside the site (its state, its spare: a folder of links to the
    site's files) goes too: a fresh clone has none, and a cold build that finds a spare
    it cannot vouch for deletes it.
    """
    beside = sorted(p for p in root.glob(".site.*") if ".set-aside-" not in p.name)
    for folder in (root / "site", cache.location(root), *beside):
        if folder.exists():
            aside = folder.with_name(f"{folder.name}.set-aside-{len(SET_ASIDE)}")
            folder.rename(aside)
            SET_ASIDE.append(aside)


def forget_set_aside() -> None:
    for folder in SET_ASIDE:
        if folder.is_dir() and not folder.is_symlink():
            shutil.rmtree(folder, ignore_errors=True)
        else:
            folder.unlink(missing_ok=True)
    SET_ASIDE.clear()


def markdown_pages(folder: Path, count: int) -> None:
    """`count` Markdown pages of about WORDS words, made of the guide's own text."""
    words = " ".join(
        re.sub(r"[#*`|{}\[\]()-]", " ", p.read_text())
        for p in sorted((REPO / "content").glob("*.md"))
    ).split()
    folder.mkdir(parents=True)
    for index in range(count):
        start = (index * 97) % max(1, len(words) - WORDS)
        body = words[start : start + WORDS]
        paragraphs = [" ".join(body[i : i + 120]) for i in range(0, len(body), 120)]
        text = f"# Page {index}\n\n" + "\n\n".join(
            (f"## Section {n}\n\n" if n % 3 == 0 else "") + para
            for n, para in enumerate(paragraphs)
        )
        (folder / f"page-{index:05d}.md").write_text(text + "\n")


def mkdocs_time(mkdocs: Path, count: int, base: Path) -> float:
    project = base / f"mkdocs-{count}"
    markdown_pages(project / "docs", count)
    (project / "mkdocs.yml").write_text("site_name: Bench\n")
    seconds, _ = timed([str(mkdocs), "build", "-q"], cwd=project)
    return seconds


def hugo_time(hugo: Path, count: int, base: Path) -> float:
    project = base / f"hugo-{count}"
    markdown_pages(project / "content" / "pages", count)
    (project / "hugo.toml").write_text('baseURL = "/"\ntitle = "Bench"\n')
    layouts = project / "layouts" / "_default"
    layouts.mkdir(parents=True)
    page = (
        "<!doctype html><html><head><title>{{ .Title }}</title></head><body>"
        "<nav>{{ range .Site.Menus.main }}{{ .Name }}{{ end }}</nav>{{ .Content }}</body></html>"
    )
    (layouts / "single.html").write_text(page)
    (layouts / "list.html").write_text(
        page.replace("{{ .Content }}", "{{ range .Pages }}{{ .Title }}{{ end }}")
    )
    seconds, _ = timed([str(hugo), "--quiet"], cwd=project)
    return seconds


def packet_ratio(root: Path, sample: int) -> tuple[float, float]:
    """Median seconds per packet: playbook's pipeline, and bare WeasyPrint on the same HTML."""
    # The prepared workspace is frozen for the collector, as `playbook build` freezes it:
    # otherwise a pass over 1,000 loaded coalitions lands in one measurement or the
    # other (the same code measured 0.81x, 1.03x and 1.31-1.41x unfrozen; 0.86x frozen).
    code = f"""
import gc, statistics, time, weasyprint
from pathlib import Path
from playbook_builder import build
ready = build.prepare(Path({str(root)!r}), None)
gc.freeze()
ours, bare = [], []
for full in ready.facts[:{sample}]:
    html = ready.renderer.packet_html(full, full.revision, ready.renderer.templates_hash())
    t = time.perf_counter(); build.render_packet(ready, full); ours.append(time.perf_counter() - t)
    t = time.perf_counter()
    weasyprint.HTML(string=html, base_url=Path({str(root)!r}).as_uri() + "/").write_pdf(
        pdf_variant="pdf/a-3a", custom_metadata=True)
    bare.append(time.perf_counter() - t)
print(statistics.median(ours), statistics.median(bare))
"""
    done = subprocess.run(
        [*PYTHON, "-c", code], capture_output=True, text=True, check=True, env=environment()
    )
    ours, bare = (float(x) for x in done.stdout.split())
    return ours, bare


def samples(base: Path, reference: bool = False) -> Path:
    """A workspace holding the three sample coalitions; with `reference`, the print
    templates of 2026-11-25 laid over the built-in ones."""
    root = base / ("samples-reference" if reference else "samples")
    shutil.copytree(REPO / "coalitions", root / "coalitions")
    shutil.copy(REPO / "playbook.yaml", root / "playbook.yaml")
    if reference:
        shutil.copytree(REFERENCE, root / "templates")
    return root


def print_document(base: Path, rounds: int) -> list[tuple[str, float, float, int, int]]:
    """Bare WeasyPrint on each sample's signing packet: today's templates against the
    reference ones. (slug, seconds now, seconds reference, pages now, pages reference)

    Each figure is one process laying out one document: a warm-up, then the median of
    three, each after a full garbage collection, in processor time (one thread, so this
    is the work done, without the time other tenants of the machine take). The two
    processes alternate, `rounds` times; the medians of their figures are compared.
    Laying out two documents in turn in one process is not fair to either: each inherits
    the other's garbage and WeasyPrint's caches, and the order changed the ratio from
    0.65x to 1.2x on one sample.
    """
    code = """
import gc, statistics, sys, time, weasyprint
from pathlib import Path
from playbook_builder import build
root, slug = Path(sys.argv[1]), sys.argv[2]
ready = build.prepare(root, None)
fact = ready.of(slug)
html = ready.renderer.packet_html(fact, fact.revision, ready.renderer.templates_hash())
def lay_out():
    document = weasyprint.HTML(string=html, base_url=root.as_uri() + "/").render()
    document.write_pdf(pdf_variant="pdf/a-3a", custom_metadata=True)
    return len(document.pages)
lay_out()  # fonts and caches warm before timing
times = []
for _ in range(3):
    gc.collect()
    start = time.process_time()
    pages = lay_out()
    times.append(time.process_time() - start)
print(statistics.median(times), pages)
"""
    roots = [samples(base, False), samples(base, True)]
    found = []
    for slug in sorted(path.stem for path in (REPO / "coalitions").glob("*.yaml")):
        seconds: tuple[list[float], list[float]] = ([], [])
        pages = [0, 0]
        for _ in range(rounds):
            for which, root in enumerate(roots):
                done = subprocess.run(
                    [*PYTHON, "-c", code, str(root), slug],
                    capture_output=True,
                    text=True,
                    check=True,
                    env={**environment(), "SOURCE_DATE_EPOCH": "1795564800"},
                )
                took, count = done.stdout.split()
                seconds[which].append(float(took))
                pages[which] = int(count)
        now, ref = (statistics.median(each) for each in seconds)
        found.append((slug, now, ref, pages[0], pages[1]))
    return found


def start_up(base: Path, rounds: int = 9) -> dict[str, float]:
    """Median seconds of each command on the three samples, run in turn with
    `python -c "import click"` so that both see the same machine."""
    root = samples(base / "cli")
    pb = [*PYTHON, "-m", "playbook_builder"]
    day = ["--today", TODAY, "--root", str(root)]
    commands = {
        "import click": ([*PYTHON, "-c", "import click"], (0,)),
        "--help": ([*pb, "--help"], (0,)),
        "--version": ([*pb, "--version"], (0,)),
        "check": ([*pb, "check", *day], (0, 1)),
        "fingerprint": ([*pb, "fingerprint", SAMPLE, "--root", str(root)], (0,)),
        "score": ([*pb, "score", SAMPLE, *day], (0,)),
        "due": ([*pb, "due", *day], (0, 1)),
    }
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(rounds):
        for name, (command, ok) in commands.items():
            times[name].append(timed(command, ok=ok)[0])
    return {name: statistics.median(values) for name, values in times.items()}


@dataclass
class Row:
    name: str
    values: dict[int, str] = field(default_factory=dict)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="10,100,1000")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--source", type=Path, default=REPO, help="The checkout to measure.")
    parser.add_argument("--write", type=Path, help="Also write the report to this file.")
    parser.add_argument("--no-write", action="store_true", help="(The default; kept for scripts.)")
    args = parser.parse_args()
    global SOURCE
    SOURCE = args.source.resolve()
    sizes = [int(x) for x in args.sizes.split(",")]
    compile_sources()
    mkdocs, hugo = setup()
    rows: dict[str, Row] = {}
    notes: list[str] = []

    def put(name: str, size: int, value: str) -> None:
        rows.setdefault(name, Row(name)).values[size] = value

    hugo_cold: dict[int, float] = {}
    changed_runs: dict[int, float] = {}
    with tempfile.TemporaryDirectory() as folder:
        base = Path(folder)
        for size in sizes:
            root = base / f"ws-{size}"
            paths = generate(root, size)
            repeats = args.repeats if size < 1000 else max(1, args.repeats)
            cold = []
            for _ in range(repeats):
                clean(root)
                cold.append(measured(playbook(root, "--no-pdf")))
            html = statistics.median(seconds for seconds, _, _ in cold)
            processor = statistics.median(user + system for _, user, system in cold)
            user_time = statistics.median(user for _, user, _ in cold)
            put("cold build, HTML only (s)", size, f"{html:.2f}")
            put("  per coalition (ms)", size, f"{1000 * html / size:.1f}")
            # the system's part moves with the state of the disk (see `clean`), the user's not
            put(
                "  processor time, all its processes (s)",
                size,
                f"{processor:.2f} (user {user_time:.2f})",
            )
            clean(root)
            packet_runs = 1 if size >= 1000 else repeats
            with_packets, peaks = [], []
            for _ in range(packet_runs):
                clean(root)
                seconds, peak = timed(playbook(root))
                with_packets.append(seconds)
                peaks.append(peak)
            put("cold build with packets (s)", size, f"{statistics.median(with_packets):.1f}")
            noop_seconds = statistics.median([timed(playbook(root))[0] for _ in range(repeats)])
            put("no-op rebuild with packets (s)", size, f"{noop_seconds:.2f}")
            changed = []
            for attempt in range(repeats):
                path = paths[attempt]
                path.write_text(path.read_text().replace("purpose: ", "purpose: Again, ", 1))
                changed.append(timed(playbook(root))[0])
            changed_seconds = statistics.median(changed)
            put("one coalition changed, with its packet (s)", size, f"{changed_seconds:.2f}")
            put("peak memory, largest process (MiB)", size, f"{max(peaks) / 1024:.0f}")
            load_code = (
                f"import time; from pathlib import Path; from playbook_builder import load, "
                f"workspace; t=time.perf_counter(); "
                f"load.load_workspace(workspace.find(Path({str(root)!r}))); "
                f"print(time.perf_counter()-t)"
            )
            loads = [
                float(
                    subprocess.run(
                        [*PYTHON, "-c", load_code],
                        capture_output=True,
                        text=True,
                        check=True,
                        env=environment(),
                    ).stdout
                )
                for _ in range(repeats)
            ]
            put("loading and validating (s)", size, f"{statistics.median(loads):.2f}")
            if hugo is not None:
                h = statistics.median(
                    [hugo_time(hugo, size, base / f"h{i}") for i in range(repeats)]
                )
                put("Hugo, same number of pages (s)", size, f"{h:.2f}")
                put("  playbook HTML / Hugo", size, f"{html / h:.2f}x")
                put("  no-op / Hugo cold", size, f"{noop_seconds / h:.2f}x")
                hugo_cold[size] = h
                changed_runs[size] = changed_seconds
            if mkdocs is not None:
                m_runs = 1 if size >= 1000 else repeats
                m = statistics.median(
                    [mkdocs_time(mkdocs, size, base / f"m{i}") for i in range(m_runs)]
                )
                put("MkDocs, same number of pages (s)", size, f"{m:.2f}")
                put("  playbook HTML / MkDocs", size, f"{html / m:.2f}x")
        sample_root = base / "ws-packets"
        generate(sample_root, 12)
        ours, bare = packet_ratio(sample_root, 12)
        notes.append(
            f"Time per packet, median of 12: playbook {ours:.3f} s, bare WeasyPrint on "
            f"the same HTML {bare:.3f} s: {ours / bare:.2f}x."
        )
        for size, h in hugo_cold.items():
            anchor = h + bare
            notes.append(
                f"One coalition changed among {size}, with its packet: "
                f"{changed_runs[size]:.2f} s against Hugo's cold build + one bare WeasyPrint "
                f"packet {anchor:.2f} s: {changed_runs[size] / anchor:.2f}x."
            )
        printed = print_document(base, 2 * args.repeats + 1)
        for slug, now, ref, pages, ref_pages in printed:
            notes.append(
                f"Print document, bare WeasyPrint on {slug}'s signing packet: {now:.3f} s "
                "of processor time "
                f"({pages} pages) against the reference templates {ref:.3f} s ({ref_pages} "
                f"pages): {now / ref:.2f}x."
            )
        total_now = sum(p[1] for p in printed)
        total_ref = sum(p[2] for p in printed)
        notes.append(f"Print document, the three samples together: {total_now / total_ref:.2f}x.")
        quick = start_up(base)
        click = quick.pop("import click")
        notes.append(
            "Start-up, medians of 9 alternating runs on the three samples, against "
            f'`python -c "import click"` ({1000 * click:.0f} ms): '
            + "; ".join(
                f"`{name}` {1000 * seconds:.0f} ms ({seconds / click:.1f}x)"
                for name, seconds in quick.items()
            )
            + "."
        )
        clean(sample_root)
        one = timed(playbook(sample_root, "--jobs", "1"))[0]
        clean(sample_root)
        two = timed(playbook(sample_root, "--jobs", "2"))[0]
        notes.append(
            f"12 coalitions with packets, cold: --jobs 1 {one:.2f} s, --jobs 2 {two:.2f} s: "
            f"{one / two:.2f}x speed-up on {os.cpu_count()} cores."
        )
        # the workspaces go with the folder; their caches, in the user's cache folder,
        # would stay (270 MB for the 1,000 coalitions with packets): set aside, they are
        # deleted at the end
        for built in (*(base / f"ws-{size}" for size in sizes), sample_root):
            clean(built)
    report(rows, sizes, notes, mkdocs is not None, hugo is not None, write=args.write)


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        memory = int(Path("/proc/meminfo").read_text().split()[1]) // 1024 // 1024
    except OSError:
        memory = 0
    return (
        f"{os.cpu_count()} cores ({cpu}), {memory} GiB, {platform.system()} "
        f"{platform.release()}, Python {platform.python_version()}"
    )


def report(
    rows: dict[str, Row],
    sizes: list[int],
    notes: list[str],
    mkdocs: bool,
    hugo: bool,
    *,
    write: Path | None,
) -> None:
    head = "| scenario | " + " | ".join(f"N = {s}" for s in sizes) + " |"
    rule = "|---|" + "---|" * len(sizes)
    lines = [head, rule]
    for row in rows.values():
        lines.append(f"| {row.name} | " + " | ".join(row.values.get(s, "") for s in sizes) + " |")
    table = "\n".join(lines)
    sys.stdout.write(table + "\n\n" + "\n".join(notes) + "\n")
    if write is None:
        return
    missing = [name for name, ok in (("MkDocs", mkdocs), ("Hugo", hugo)) if not ok]
    text = f"""# Performance

Measured by `python -m bench.run` on {machine()}, on {time.strftime("%Y-%m-%d")}.
Every figure is a fresh `playbook` process (start-up included) on N generated, varied
coalitions; medians of the repeats, except single runs where noted in the closing note
of the issue. Hugo and MkDocs build the same number of Markdown pages of about {WORDS}
words each, in the same run.{" Not measured here: " + ", ".join(missing) + "." if missing else ""}

{table}

{chr(10).join("- " + n for n in notes)}
"""
    write.write_text(text)


if __name__ == "__main__":
    try:
        main()
    finally:
        forget_set_aside()
