"""The `playbook` command: the only module that prints or picks an exit code."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import click

from playbook_builder import __version__, build
from playbook_builder.errors import ContractError, PlaybookError, Problem
from playbook_builder.model import CoalitionFile

F = TypeVar("F", bound=Callable[..., Any])

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


def root_option(func: F) -> F:
    """`--root DIR`: the workspace, instead of the current directory and its parents."""
    return click.option(
        "--root",
        type=click.Path(file_okay=False, path_type=Path),
        default=None,
        help="Workspace folder (default: this one, or the nearest above with playbook.yaml).",
    )(func)


@click.group(context_settings=CONTEXT)
@click.version_option(__version__, "-V", "--version", prog_name="playbook")
def cli() -> None:
    """Turn coalition decisions into a playbook site and printable MOU packets.

    A workspace is a folder with playbook.yaml and coalitions/*.yaml. Every command works
    on the current folder, or on --root DIR.
    """


@cli.command()
@root_option
@click.option("--strict", is_flag=True, help="Treat advisories as errors.")
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json", "github"]),
    default="text",
    show_default=True,
    help="text for people, json for tools, github for workflow annotations.",
)
def check(root: Path | None, strict: bool, output_format: str) -> None:
    """Validate the workspace; print errors and advisories.

    Exit status: 0 clean, 1 errors (or advisories with --strict), 2 usage.

    \b
    Example:
        playbook check --format github
    """
    problems: Sequence[Problem] = ()
    try:
        report = build.check(root)
    except ContractError as err:
        problems = err.problems
        report = None
    except PlaybookError as err:
        raise click.ClickException(str(err)) from err
    del strict
    _print_problems(problems, output_format)
    if output_format == "text":
        if problems:
            files = len({p.file for p in problems})
            click.echo(f"{_plural(len(problems), 'error')} in {_plural(files, 'file')}.", err=True)
        elif report is not None:
            count = len(report.loaded.coalitions)
            click.echo(f"{_plural(count, 'coalition')} checked: no errors.", err=True)
    if problems:
        raise SystemExit(1)


def _print_problems(problems: Sequence[Problem], output_format: str) -> None:
    if output_format == "json":
        payload = {
            "errors": [
                {
                    "file": str(p.file),
                    "line": p.line,
                    "column": p.column,
                    "field": p.field,
                    "found": p.found,
                    "allowed": p.allowed,
                    "message": str(p),
                }
                for p in problems
            ],
        }
        click.echo(json.dumps(payload, indent=2, sort_keys=True, ensure_ascii=False))
        return
    for problem in problems:
        if output_format == "github":
            message = f"{problem.field}: found {problem.found}; allowed {problem.allowed}"
            click.echo(
                f"::error file={_gh(str(problem.file))},line={problem.line},"
                f"col={problem.column},title=playbook check::{_gh(message)}"
            )
        else:
            click.echo(str(problem))


def _gh(text: str) -> str:
    """Escape a value for a GitHub workflow command."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A").replace(",", "%2C")


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


@cli.command()
def schema() -> None:
    """Print the JSON Schema of a coalition file.

    Editors use it to check and complete coalition files as you type.

    \b
    Example:
        playbook schema > coalition.schema.json
    """
    from playbook_builder.validate import coalition_schema

    click.echo(json.dumps(coalition_schema(), indent=2, sort_keys=True, ensure_ascii=False))


@cli.command()
@root_option
@click.argument("slug")
def fingerprint(root: Path | None, slug: str) -> None:
    """Print a coalition's MOU fingerprint.

    The short form comes first, then the full SHA-256.

    The short form is what a signature's `mou_version` records.

    \b
    Example:
        playbook fingerprint housing-for-health
    """
    from playbook_builder.fingerprint import fingerprint as compute

    item = _coalition(root, slug)
    print_ = compute(item.coalition)
    click.echo(print_.short)
    click.echo(print_.full)


def _coalition(root: Path | None, slug: str) -> CoalitionFile:
    """One coalition of a valid workspace, or exit with the problems."""
    try:
        report = build.check(root)
    except ContractError as err:
        _print_problems(err.problems, "text")
        raise SystemExit(1) from err
    except PlaybookError as err:
        raise click.ClickException(str(err)) from err
    item = report.loaded.coalition(slug)
    if item is None:
        known = ", ".join(c.slug for c in report.loaded.coalitions) or "none"
        raise click.BadParameter(f"no coalition {slug!r}; the coalitions are: {known}")
    return item


def main() -> None:
    """Entry point of the `playbook` console script."""
    cli(prog_name="playbook")
