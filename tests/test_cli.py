"""The command line as users meet it: help, exit codes, output formats, the schema."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml

from playbook_builder import __version__
from playbook_builder.cli import cli
from tests.conftest import REPO, Run, minimal


def test_help_lists_every_command_with_a_line_of_help(run: Run) -> None:
    result = run("--help")
    assert result.exit_code == 0
    listing = result.stdout.split("Commands:")[1]
    assert "..." not in listing, "a command's first help line is cut short"
    for name, command in cli.commands.items():
        assert command.get_short_help_str(limit=200), f"{name} has no help"
        assert f"  {name} " in listing


@pytest.mark.parametrize("name", sorted(cli.commands))
def test_every_command_has_help(run: Run, name: str) -> None:
    result = run(name, "--help")
    assert result.exit_code == 0
    assert "Usage: playbook" in result.stdout


def test_version(run: Run) -> None:
    assert run("--version").stdout.strip() == f"playbook, version {__version__}"


def test_check_passes_on_the_samples(sample: Path, run: Run) -> None:
    result = run("check", "--root", sample)
    assert result.exit_code == 0
    assert "3 coalitions valid, 0 errors" in result.stderr


def test_check_finds_the_workspace_from_a_subfolder(
    sample: Path, run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(sample / "coalitions")
    assert run("check").exit_code == 0


def test_check_outside_a_workspace(tmp_path: Path, run: Run) -> None:
    result = run("check", "--root", tmp_path)
    assert result.exit_code == 1
    assert "no playbook.yaml here" in result.stderr
    assert "Traceback" not in result.output


def test_usage_errors_exit_2(sample: Path, run: Run) -> None:
    assert run("check", "--root", sample, "--format", "xml").exit_code == 2
    assert run("check", "--bogus").exit_code == 2
    assert run("fingerprint", "--root", sample, "no-such-coalition").exit_code == 2


def test_json_format(empty: Path, run: Run) -> None:
    (empty / "coalitions" / "m.yaml").write_text(minimal().replace("trust: 2", "trust: 6", 1))
    result = run("check", "--root", empty, "--format", "json")
    assert result.exit_code == 1
    payload = json.loads(result.stdout)
    assert payload["errors"] == [
        {
            "file": "coalitions/m.yaml",
            "line": 10,
            "column": 35,
            "field": "partners[0].scores.trust",
            "found": "6",
            "allowed": "a whole number from 1 to 5",
            "message": "coalitions/m.yaml:10:35: partners[0].scores.trust: found 6; "
            "allowed a whole number from 1 to 5",
        }
    ]


def test_github_format(empty: Path, run: Run) -> None:
    (empty / "coalitions" / "m.yaml").write_text(minimal().replace("trust: 2", "trust: 6", 1))
    result = run("check", "--root", empty, "--format", "github")
    assert result.stdout.splitlines() == [
        "::error file=coalitions/m.yaml,line=10,col=35,title=playbook check::"
        "partners[0].scores.trust: found 6; allowed a whole number from 1 to 5"
    ]


def test_schema_accepts_the_samples_and_rejects_bad_files(run: Run) -> None:
    schema = json.loads(run("schema").stdout)
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    for path in sorted((REPO / "coalitions").glob("*.yaml")):
        data = json.loads(json.dumps(yaml.safe_load(path.read_text()), default=str))
        assert not list(validator.iter_errors(data)), path
    bad = yaml.safe_load(minimal().replace("trust: 2", "trust: 6", 1))
    assert list(validator.iter_errors(bad))
    assert schema["properties"]["purpose"]["description"] == "The shared goal in ONE sentence."


def test_committed_schema_is_current(run: Run) -> None:
    committed = (REPO / "coalition.schema.json").read_text()
    assert committed == run("schema").stdout, "run: playbook schema > coalition.schema.json"


def test_module_entry_point(sample: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "playbook_builder", "check", "--root", str(sample)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr


def _script(*args: str | Path) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "playbook_builder", *map(str, args)]
    return subprocess.run(command, capture_output=True, text=True, check=False)


def test_the_script_ends_as_the_command_says(sample: Path, empty: Path, run: Run) -> None:
    """It ends without freeing what it made: the output still arrives whole, with the
    exit status of the command."""
    done = _script("schema")
    assert (done.returncode, done.stdout) == (0, run("schema").stdout)
    (empty / "coalitions" / "bad.yaml").write_text("name: [\n")
    done = _script("check", "--root", empty)
    assert done.returncode == 1
    assert done.stdout.startswith(
        "coalitions/bad.yaml:2:1: (yaml): found a YAML syntax error"
    )  # the problems, then the count on stderr
    assert done.stderr == "0 coalitions valid, 1 error, 0 advisories.\n"
    assert _script("check", "--no-such-option").returncode == 2
    done = _script("build", "--root", sample, "--no-pdf", "--out", empty / "site")
    assert done.returncode == 0, done.stderr
    assert done.stderr.startswith("Built 3 coalitions")
    assert (empty / "site" / "index.html").is_file()


@pytest.mark.parametrize("thread", [False, True])
def test_an_exit_runs_the_exit_handlers_and_says_why(thread: bool) -> None:
    code = f"""
import atexit, threading, time
from playbook_builder import cli
atexit.register(print, "handlers ran")
if {thread}:
    threading.Thread(target=time.sleep, args=(0.2,)).start()
cli._exit("stopped: a reason")
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert (done.returncode, done.stdout, done.stderr) == (
        1,
        "handlers ran\n",
        "stopped: a reason\n",
    )


def test_fingerprint_prints_short_then_full(sample: Path, run: Run) -> None:
    result = run("fingerprint", "--root", sample, "dignity-in-detention")
    short, full = result.stdout.split()
    assert len(full) == 64
    assert full.startswith(short)
    assert len(short) == 8


@pytest.mark.parametrize(
    "args",
    [
        ["--root", "{root}", "-q", "check"],
        ["-q", "check", "--root", "{root}"],
        ["check", "-q", "--root", "{root}"],
        ["--root", "{root}", "check", "-q"],
    ],
    ids=["both before", "q before", "both after", "root before, q after"],
)
def test_workspace_options_work_on_either_side_of_the_command(
    sample: Path, run: Run, args: list[str]
) -> None:
    result = run(*[a.replace("{root}", str(sample)) for a in args], "--today", "2026-11-25")
    assert result.exit_code == 0, result.output
    assert result.output == ""  # -q: only errors, and there are none


def test_without_q_check_prints_advice(sample: Path, run: Run) -> None:
    result = run("--root", sample, "--today", "2026-11-25", "check")
    assert "advisory A301" in result.stdout
    assert "3 coalitions valid" in result.stderr


def test_init_takes_q_after_the_command(tmp_path: Path, run: Run) -> None:
    result = run("init", tmp_path / "ws", "-q", "--organization", "Org")
    assert result.exit_code == 0
    assert result.output == ""


@pytest.mark.parametrize("where", ["before", "after"])
def test_v_prints_each_stage_with_its_time_and_counts(sample: Path, run: Run, where: str) -> None:
    flag = ["-v", "check"] if where == "before" else ["check", "-v"]
    checked = run(*flag, "--root", sample, "--today", "2026-11-25")
    stages = re.findall(r"^  (\w[\w ]*?) +(\d+\.\d\d) s  (.+)$", checked.stderr, re.M)
    assert [s[0] for s in stages] == ["load", "advise", "decisions"]
    assert stages[0][2] == "3 coalition files, 0 errors"
    assert stages[1][2] == "3 coalitions, 8 advisories"

    out = sample / "site"
    first = run("build", "-v", "--root", sample, "--no-pdf", "--today", "2026-11-25")
    names = re.findall(r"^  (\w[\w ]*?) +\d+\.\d\d s  ", first.stderr, re.M)
    assert names == ["index", "load", "git", "facts", "lay out", "write"]
    assert "coalitions: 3 rendered, 0 from the cache" in first.stderr
    again = run("-v", "build", "--root", sample, "--no-pdf", "--today", "2026-11-25")
    assert re.search(r"^  index +\d+\.\d\d s  nothing changed$", again.stderr, re.M)
    assert "Nothing changed since the last build" in again.stderr
    assert out.is_dir()
    quiet = run("-q", "build", "--root", sample, "--no-pdf", "--today", "2026-11-25")
    assert quiet.output == ""
