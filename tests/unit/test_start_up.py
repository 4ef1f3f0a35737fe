"""The quick commands import only what they use: `--help` nothing of the engine, `check`
and the commands that read one coalition no template engine, Markdown renderer, calendar
or PDF library. (How fast they start is the benchmark's business: `python -m bench.run`.)"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

RENDERING = (
    "weasyprint",
    "icalendar",
    "jinja2",
    "docx",
    "playbook_builder.build",
    "playbook_builder.render",
    "playbook_builder.pdf",
    "playbook_builder.word",
)
ENGINE = ("pydantic", "yaml", "playbook_builder.model", "playbook_builder.load")


def imported(*args: str) -> set[str]:
    """The modules a `playbook ARGS` process had imported when it finished."""
    code = (  # told by an exit handler: `main` ends the process
        "import atexit, json, sys\nfrom playbook_builder.cli import main\n"
        "atexit.register(lambda: sys.stderr.write('\\n@@' + json.dumps(sorted(sys.modules))))\n"
        f"sys.argv = ['playbook', *{list(args)!r}]\n"
        "main()\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    import json

    return set(json.loads(done.stderr.rsplit("@@", 1)[1]))


@pytest.mark.parametrize("flag", ["--help", "--version"])
def test_help_and_version_load_nothing_of_the_engine(flag: str) -> None:
    found = imported(flag)
    assert found.isdisjoint(RENDERING + ENGINE), sorted(found & set(RENDERING + ENGINE))


@pytest.mark.parametrize(
    "command",
    [
        ["check", "--today", "2026-11-25"],
        ["check", "--format", "json"],
        ["fingerprint", "housing-for-health"],
        ["score", "housing-for-health", "--today", "2026-11-25"],
        ["due", "--today", "2026-11-25"],
    ],
    ids=lambda c: " ".join(c),
)
def test_quick_commands_render_nothing(sample: Path, command: list[str]) -> None:
    found = imported(*command, "--root", str(sample))
    assert "playbook_builder.load" in found  # the command ran, and read the workspace
    assert found.isdisjoint(RENDERING), sorted(found & set(RENDERING))


def test_a_build_with_nothing_changed_renders_nothing(sample: Path) -> None:
    args = ["build", "--root", str(sample), "--no-pdf", "--today", "2026-11-25"]
    first = imported(*args)
    assert "playbook_builder.render" in first  # the first build lays out the site
    again = imported(*args)
    assert "playbook_builder.index" in again
    assert again.isdisjoint(RENDERING), sorted(again & set(RENDERING))


def test_the_command_leaves_what_it_made_to_be_freed_not_collected() -> None:
    """The process ends with the command: the collector's last pass is spared."""
    code = (
        "import atexit, gc, sys\nfrom playbook_builder.cli import main\n"
        "atexit.register(lambda: print(gc.get_freeze_count() > 0))\n"
        "sys.argv = ['playbook', '--version']\n"
        "main()\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split()[-1] == "True"
