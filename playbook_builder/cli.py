"""The `playbook` command: the only module that prints or picks an exit code."""

from __future__ import annotations

import atexit
import dataclasses
import datetime
import functools
import gc
import json
import os
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar, cast

import click

from playbook_builder import __version__, workspace
from playbook_builder.errors import ContractError, PlaybookError, Problem

if TYPE_CHECKING:  # each command imports what it uses: `--help` and `check` start at once
    from playbook_builder import build, index
    from playbook_builder.advise import Advisory
    from playbook_builder.checks import Stages
    from playbook_builder.facts import CoalitionFacts
    from playbook_builder.model import CoalitionFile

F = TypeVar("F", bound=Callable[..., Any])

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


def root_option(func: F) -> F:
    """`--root DIR`: the workspace, instead of the current directory and its parents.

    Accepted before the command too (`playbook --root DIR check`); with it come `-q` and
    `-v`, so that every workspace-wide option works on either side of the command.
    """
    func = click.option(
        "--root",
        type=click.Path(file_okay=False, path_type=Path),
        default=None,
        callback=_from_group("root"),
        help="Workspace folder (default: this one, or the nearest above with playbook.yaml).",
    )(func)
    return _loudness(func)


def _from_group(name: str) -> Callable[[click.Context, click.Parameter, Any], Any]:
    """A command's option that falls back to the same option given before the command."""

    def fallback(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
        if value is not None:
            return value
        top = ctx.find_root().obj
        return top.get(name) if isinstance(top, dict) else None

    return fallback


def _set_flag(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    if value and param.name is not None:
        top = ctx.find_root()
        top.obj = top.obj if isinstance(top.obj, dict) else {}
        top.obj[param.name] = True
        if param.name == "quiet":
            top.obj["verbose"] = False


def _loudness(func: F) -> F:
    """`-q`/`-v` after the command as well as before it."""
    for flags, name, text in (
        (("-q", "--quiet"), "quiet", "Print only errors."),
        (("-v", "--verbose"), "verbose", "Print more about what happens."),
    ):
        func = click.option(
            *flags, name, is_flag=True, expose_value=False, callback=_set_flag, help=text
        )(func)
    return func


def today_option(func: F) -> F:
    """`--today DATE`: the date that date-based advice is judged on."""
    return click.option(
        "--today",
        type=click.DateTime(formats=["%Y-%m-%d"]),
        default=None,
        callback=_from_group("today"),
        help="Judge dates as of YYYY-MM-DD (default: SOURCE_DATE_EPOCH, else today).",
    )(func)


def reports_errors(func: F) -> F:
    """Say the engine's errors as a user reads them: every located problem of a contract
    error (exit 1), or the one line of any other (exit 1). Never a traceback."""

    @functools.wraps(func)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except ContractError as err:
            _print_problems(err.problems)
            raise SystemExit(1) from err
        except PlaybookError as err:
            raise click.ClickException(str(err)) from err

    return cast(F, run)


def _day(value: datetime.datetime | None) -> datetime.date | None:
    return value.date() if value is not None else None


@click.group(context_settings=CONTEXT)
@click.version_option(__version__, "-V", "--version", prog_name="playbook")
@click.option("-q", "--quiet", is_flag=True, help="Print only errors.")
@click.option("-v", "--verbose", is_flag=True, help="Print more about what happens.")
@click.option(
    "--root",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Workspace folder, for any command (also accepted after the command).",
)
@click.option(
    "--today",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="Judge dates as of YYYY-MM-DD, for commands that use dates.",
)
@click.pass_context
def cli(
    ctx: click.Context,
    quiet: bool,
    verbose: bool,
    root: Path | None,
    today: datetime.datetime | None,
) -> None:
    """Turn coalition decisions into a playbook site and printable MOU packets.

    A workspace is a folder with playbook.yaml and coalitions/*.yaml. Every command works
    on the current folder, or on --root DIR. Colour follows the terminal; NO_COLOR turns
    it off.
    """
    ctx.obj = {"quiet": quiet, "verbose": verbose and not quiet, "root": root, "today": today}
    if os.environ.get("NO_COLOR"):
        ctx.color = False


def _quiet() -> bool:
    ctx = click.get_current_context(silent=True)
    while ctx is not None and ctx.parent is not None:
        ctx = ctx.parent
    return bool(ctx and isinstance(ctx.obj, dict) and ctx.obj.get("quiet"))


def _verbose() -> bool:
    ctx = click.get_current_context(silent=True)
    top = ctx.find_root().obj if ctx is not None else None
    return bool(isinstance(top, dict) and top.get("verbose"))


def _stages() -> Stages | None:
    """A recorder of each stage's time and counts when `-v` was given."""
    if not _verbose():
        return None
    from playbook_builder.checks import Stages

    return Stages()


def _print_stages(stages: Stages | None) -> None:
    for name, seconds, what in stages.done if stages is not None else ():
        click.echo(f"  {name:<10}{seconds:7.2f} s  {what}", err=True)


def _say(message: str, **style: Any) -> None:
    """A progress or summary line on stderr, unless --quiet."""
    if not _quiet():
        click.secho(message, err=True, **style)


@cli.command()
@root_option
@today_option
@click.option("--strict", is_flag=True, help="Treat advisories as errors (exit 1).")
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json", "github"]),
    default="text",
    show_default=True,
    help="text for people, json for tools, github for workflow annotations.",
)
@reports_errors
def check(
    root: Path | None, today: datetime.datetime | None, strict: bool, output_format: str
) -> None:
    """Validate the workspace; print errors and advisories.

    Errors break the coalition contract and stop a build. Advisories are the guidance's
    advice about a valid file; --strict makes them errors too.
    Exit status: 0 clean, 1 errors (or advisories with --strict), 2 usage.

    \b
    Example:
        playbook check --format github
    """
    from playbook_builder import checks

    stages = _stages()
    report = checks.check(root, _day(today), stages)
    _print_stages(stages)
    problems, advisories = report.problems, report.advisories
    if output_format == "json":
        payload = {
            "errors": [_problem_json(p) for p in problems],
            "advisories": [_advisory_json(a) for a in advisories],
            "today": report.today.isoformat(),
            "strict": strict,
        }
        click.echo(
            json.dumps(payload, allow_nan=False, indent=2, sort_keys=True, ensure_ascii=False)
        )
    elif output_format == "github":
        for problem in problems:
            click.echo(
                _github(
                    "error",
                    str(problem.file),
                    problem.line,
                    problem.column,
                    "playbook check",
                    _problem_message(problem),
                )
            )
        for advisory in advisories:
            click.echo(
                _github(
                    "error" if strict else "warning",
                    advisory.file,
                    advisory.line,
                    advisory.column,
                    f"playbook {advisory.code}",
                    f"{advisory.message} (guide: {advisory.link})",
                )
            )
    else:
        _print_problems(problems)
        for advisory in advisories if strict or not _quiet() else ():
            click.echo(
                f"{advisory.file}:{advisory.line}:{advisory.column}: "
                f"{'error' if strict else 'advisory'} {advisory.code}: {advisory.message}"
            )
        checked = len(report.loaded.coalitions) if report.loaded else 0
        summary = (
            f"{_plural(checked, 'coalition')} valid, {_plural(len(problems), 'error')}, "
            f"{_plural(len(advisories), 'advisory')}"
        )
        if not _quiet():
            click.echo(
                summary + (" (strict: advisories count as errors)." if strict else "."),
                err=True,
            )
    if problems or (strict and advisories):
        raise SystemExit(1)


def _problem_message(problem: Problem) -> str:
    return f"{problem.field}: found {problem.found}; allowed {problem.allowed}"


def _problem_json(problem: Problem) -> dict[str, Any]:
    return {
        "file": str(problem.file),
        "line": problem.line,
        "column": problem.column,
        "field": problem.field,
        "found": problem.found,
        "allowed": problem.allowed,
        "message": str(problem),
    }


def _advisory_json(advisory: Advisory) -> dict[str, Any]:
    return {
        "code": advisory.code,
        "coalition": advisory.slug,
        "file": advisory.file,
        "line": advisory.line,
        "column": advisory.column,
        "message": advisory.message,
        "guide": advisory.link,
        "concerns_mou": advisory.mou,
    }


def _print_problems(problems: Sequence[Problem]) -> None:
    for problem in problems:
        click.echo(str(problem))


def _github(level: str, file: str, line: int, column: int, title: str, message: str) -> str:
    def escape(text: str, *, prop: bool = False) -> str:
        text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
        return text.replace(":", "%3A").replace(",", "%2C") if prop else text

    return (
        f"::{level} file={escape(file, prop=True)},line={line},col={column},"
        f"title={escape(title, prop=True)}::{escape(message)}"
    )


def _plural(count: int, noun: str) -> str:
    if count == 1:
        return f"1 {noun}"
    return f"{count} {noun[:-1] + 'ies' if noun.endswith('y') else noun + 's'}"


@cli.command(name="build")
@root_option
@today_option
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Output folder (default: site/ in the workspace).",
)
@click.option("--no-pdf", is_flag=True, help="Build the website only, without MOU packets.")
@click.option(
    "--jobs",
    "-j",
    type=click.IntRange(1, 256),
    default=None,
    help="Processes for loading, pages and packets (default: the number of cores).",
)
@click.option("--no-cache", is_flag=True, help="Render everything again, ignoring the build cache.")
@reports_errors
def build_command(
    root: Path | None,
    today: datetime.datetime | None,
    out: Path | None,
    no_pdf: bool,
    jobs: int | None,
    no_cache: bool,
) -> None:
    """Build the playbook site (and the MOU packets).

    Nothing in the output folder changes unless the whole build succeeds; when no input
    changed since the last build, nothing is built and it says so.

    \b
    Example:
        playbook build --out public --today 2026-11-25
    """
    import time

    started = time.perf_counter()
    progress = _Progress()
    stages = _stages()
    from playbook_builder import index, printer  # stat, hashes and git: nothing that renders

    # Printers import WeasyPrint while the index is read and the workspace prepared: a
    # build that follows a change prints one or two packets (see printer.py).
    with printer.started(jobs, wanted=not no_pdf and not no_cache) as printers:
        try:
            looked = index.look(root, out, not no_pdf, _day(today), use_cache=not no_cache)
        except PlaybookError as err:
            raise click.ClickException(str(err)) from err
        if looked.same is not None:
            _say_unchanged(looked, stages, started)
            return
        from playbook_builder import collector

        with collector.paused():  # modules live to the end
            from playbook_builder import build

        try:
            built = build.build(
                root,
                out,
                _day(today),
                pdf=not no_pdf,
                jobs=jobs,
                use_cache=not no_cache,
                on_packet=progress.step,
                stages=stages,
                looked=looked,
                printers=printers,
            )
        except ContractError as err:
            progress.close()
            _print_stages(stages)
            _print_problems(err.problems)
            click.echo(f"{_plural(len(err.problems), 'error')}: nothing was written.", err=True)
            raise SystemExit(1) from err
        except PlaybookError as err:
            progress.close()
            raise click.ClickException(str(err)) from err
    progress.close()
    _print_stages(stages)
    seconds = time.perf_counter() - started
    for notice in built.notices:
        click.echo(notice, err=True)
    packets = _packets(built.packets, built.pages)
    _say(
        f"Built {_plural(built.coalitions, 'coalition')} into {built.out}: "
        f"{_plural(built.files, 'file')}, {built.bytes / 1024:,.0f} KiB{packets}, "
        f"{_plural(built.advisories, 'advisory')}, in {seconds:.2f} s"
        + (f" ({built.cached} from the cache)." if built.cached else ".")
    )


def _say_unchanged(looked: index.Look, stages: Stages | None, started: float) -> None:
    """Say that the output already holds what a build would make now, and what it holds."""
    import time

    assert looked.same is not None
    summary, _ = looked.same
    if stages is not None:
        stages.mark("index", "nothing changed")
    _print_stages(stages)
    for notice in summary.notices:
        click.echo(notice, err=True)
    packets = _packets(summary.packets, summary.pages)
    _say(
        f"Nothing changed since the last build: {looked.out} holds "
        f"{_plural(summary.coalitions, 'coalition')}, {_plural(summary.files, 'file')}"
        f"{packets}, {_plural(summary.advisories, 'advisory')}; checked in "
        f"{time.perf_counter() - started:.2f} s."
    )


def _packets(packets: int, pages: int) -> str:
    """`, 3 packets of 23 pages` for a summary line, or nothing without packets."""
    return f", {_plural(packets, 'packet')} of {_plural(pages, 'page')}" if packets else ""


class _Progress:
    """A progress bar over packets on a terminal; a line per packet with --verbose."""

    def __init__(self) -> None:
        self.bar: Any = None

    def step(self, done: int, total: int, slug: str) -> None:
        if _verbose():
            click.echo(f"packet {done}/{total}: {slug}", err=True)
            return
        if _quiet() or total < 5 or not sys.stderr.isatty():
            return
        if self.bar is None:
            self.bar = click.progressbar(length=total, label="Packets", file=sys.stderr)
            self.bar.__enter__()
        self.bar.update(1)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)
            self.bar = None


@cli.command()
@root_option
@today_option
@click.argument("slug")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Where to write it (default: site/coalitions/SLUG/SLUG-mou.pdf).",
)
@reports_errors
def pdf(root: Path | None, today: datetime.datetime | None, slug: str, out: Path | None) -> None:
    """Print one coalition's MOU packet as a PDF.

    \b
    Example:
        playbook pdf housing-for-health --out packet.pdf
    """
    from playbook_builder import build, write

    ready = build.prepare(root, _day(today))
    view = _facts_of(ready, slug)
    packet = build.render_packet(ready, view)
    target = out or ready.found.root / "site" / build.packet_path(slug)
    write.replace_file(target, packet.pdf, ready.found.root)
    for line in build.packet_notices(packet):
        click.echo(line, err=True)
    state = "signed" if view.signed else "DRAFT"
    _say(f"Wrote {target}: {_plural(packet.pages, 'page')}, MOU {view.print_.short}, {state}.")


@cli.command()
@root_option
@today_option
@click.argument("slug")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where to write it (default: site/coalitions/SLUG/SLUG-mou.docx).",
)
@reports_errors
def docx(root: Path | None, today: datetime.datetime | None, slug: str, out: Path | None) -> None:
    """Write the agreement as a Word document for counsel.

    The same text as the packet (the signed terms, section by section), with a signature
    table and the fingerprint in the footer. Partners still sign the printed packet.

    \b
    Example:
        playbook docx housing-for-health --out housing-for-health.docx
    """
    from playbook_builder import build, write

    ready = build.prepare(root, _day(today))
    fact = _facts_of(ready, slug)
    target = out or ready.found.root / "site" / build.packet_path(slug, "docx")
    write.replace_file(target, build.agreement_docx(ready, fact), ready.found.root)
    _say(f"Wrote {target}: the agreement of MOU {fact.print_.short}, for review.")


@cli.command()
@root_option
@click.argument("packet", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@reports_errors
def verify(root: Path | None, packet: Path) -> None:
    """Check a printed packet against the workspace.

    Computes the fingerprint again from the coalition file embedded in the packet, prints
    the packet again from that file and compares it page by page, then compares the
    agreement with the workspace's: exit 0 when all agree, 1 with the first difference.

    \b
    Example:
        playbook verify ~/Downloads/housing-for-health-mou.pdf
    """
    from playbook_builder.verify import verify as check_packet

    verdict = check_packet(packet, root)
    click.echo(f"Packet of {verdict.slug}: MOU {verdict.printed[:8]}.")
    for finding in verdict.findings:
        click.echo(finding)
    if verdict.matches:
        click.echo("The printed packet matches the workspace.")
    else:
        click.echo("The printed packet does NOT match the workspace.")
        raise SystemExit(1)


@cli.command()
@root_option
@click.argument("slug")
@click.argument("rev_a", required=False)
@click.argument("rev_b", required=False)
@reports_errors
def diff(root: Path | None, slug: str, rev_a: str | None, rev_b: str | None) -> None:
    """Show how the MOU text changed between two revisions.

    REV_A defaults to HEAD and REV_B to the working tree. The diff is of the agreement
    as partners read it, not of the YAML.

    \b
    Examples:
        playbook diff housing-for-health
        playbook diff housing-for-health v1.0 main
    """
    import difflib

    from playbook_builder import diff as diff_module

    result = diff_module.mou_diff(root, slug, rev_a, rev_b)
    lines = list(
        difflib.unified_diff(
            result.before, result.after, result.before_label, result.after_label, lineterm="", n=1
        )
    )
    if not lines:
        click.echo(f"The MOU text is the same at {result.before_label} and {result.after_label}.")
        return
    for line in lines:
        if line.startswith(("+++", "---")):
            click.secho(line, bold=True)
        elif line.startswith("+"):
            click.secho(line, fg="green")
        elif line.startswith("-"):
            click.secho(line, fg="red")
        elif line.startswith("@@"):
            click.secho(line, fg="cyan")
        else:
            click.echo(line)


@cli.command()
@root_option
@today_option
@click.option(
    "--within",
    "within_days",
    type=click.IntRange(0, 3650),
    default=14,
    show_default=True,
    help="Days ahead to list what is coming up.",
)
@reports_errors
def due(root: Path | None, today: datetime.datetime | None, within_days: int) -> None:
    """List overdue reviews, passed sunsets and what is coming up.

    Exit status 1 when a review is overdue or a sunset passed without renewal, so a
    scheduled CI job can remind people.

    \b
    Example:
        playbook due --within 30
    """
    from playbook_builder import due as due_module

    items, day, notices = due_module.due(root, _day(today), within_days)
    for notice in notices:
        click.echo(notice, err=True)
    overdue = [i for i in items if i.overdue]
    for item in items:
        days = (item.day - day).days
        when = f"{-days} days ago" if days < 0 else ("today" if days == 0 else f"in {days} days")
        label = "OVERDUE " if item.overdue else "upcoming"
        line = f"{label} {item.day.isoformat()} ({when}): {item.coalition}: {item.what}"
        if item.overdue and item.what == "review overdue":
            line += f" (once held, record it in coalitions/{item.slug}.yaml as steps.review.done)"
        elif item.overdue:
            line += f" (renew it, or set the status of coalitions/{item.slug}.yaml to dissolved)"
        click.secho(line, fg="red" if item.overdue else None)
    if not items:
        click.echo(f"Nothing overdue and nothing due in the next {within_days} days.")
    if overdue:
        click.echo(f"{_plural(len(overdue), 'item')} overdue.", err=True)
        raise SystemExit(1)


@cli.command()
@_loudness
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Add the playbook files to a folder that is not empty.")
@click.option(
    "--with-templates",
    is_flag=True,
    help="Copy the built-in templates and guidance into the workspace to customise.",
)
@click.option("--title", default="Coalition Playbook", show_default=True, help="The site's title.")
@click.option(
    "--organization",
    help="Who keeps the playbook, as it prints on every packet (asked in a terminal).",
)
@reports_errors
def init(
    folder: Path, force: bool, with_templates: bool, title: str, organization: str | None
) -> None:
    """Create a new playbook workspace in FOLDER.

    Writes playbook.yaml, one example coalition, a .gitignore and a README. Never
    overwrites a file.

    \b
    Example:
        playbook init our-playbook --organization "Riverbend Foundation"
    """
    from playbook_builder import clock, scaffold

    if not organization:
        if not (sys.stdin.isatty() and sys.stdout.isatty()):
            raise click.UsageError(
                "give --organization: the organisation that keeps the playbook is printed "
                "on every packet, and playbook does not invent one"
            )
        organization = click.prompt("Your organisation's name (printed on every packet)")
    written = scaffold.init_workspace(
        folder,
        title=title,
        organization=organization,
        force=force,
        with_templates=with_templates,
        today=clock.resolve_today(None, "UTC"),
    )
    for path in written:
        if not _quiet() and (path.parent == folder or path.parent.name == "coalitions"):
            click.echo(f"  wrote {path}", err=True)
    _say(f"A new playbook is ready in {folder} ({_plural(len(written), 'file')}). Next:")
    _say(f"  cd {folder} && playbook serve --open")


@cli.command()
@root_option
@click.argument("slug")
@click.option("--name", help="The coalition's display name.")
@click.option("--purpose", help="The shared goal, in one sentence.")
@click.option(
    "--model",
    type=click.Choice(["opportunistic", "values-bridge", "structural"]),
    help="The alliance model.",
)
@click.option(
    "--partner",
    "partners",
    multiple=True,
    metavar="NAME[:DECISION MAKER[:TITLE]]",
    help="A partner organisation (at least two; repeat the option).",
)
@click.option(
    "--trigger",
    type=click.Choice(["cross-sector-threat", "resource-gap", "stale-dynamic"]),
    help="Why an uncommon alliance now.",
)
@click.option("--bridge-value", help="For values-bridge: the shared value.")
@click.option("--joint-entity", help="For structural: what the partners create.")
@reports_errors
def new(
    root: Path | None,
    slug: str,
    name: str | None,
    purpose: str | None,
    model: str | None,
    partners: tuple[str, ...],
    trigger: str | None,
    bridge_value: str | None,
    joint_entity: str | None,
) -> None:
    """Start a new coalition file, coalitions/SLUG.yaml.

    In a terminal it asks for what the flags leave out; without one it needs --name,
    --purpose, --model, --trigger and two --partner. What only the partners can say is
    written as a TODO placeholder, never invented; partners start unscored. It never
    overwrites a file, and the file passes `playbook check`.

    \b
    Example:
        playbook new clean-air --name "Clean Air Now" --model opportunistic \\
          --trigger cross-sector-threat --purpose "Stop the incinerator permit." \\
          --partner "River Keepers:Ana Ruiz:Director" --partner "Local 12:Bo Kim:President"
    """
    from playbook_builder import clock, scaffold

    found = workspace.find(root)
    if not scaffold.is_slug(slug):
        raise click.BadParameter(
            "use lower-case letters and digits joined by hyphens, like clean-air", param_hint="SLUG"
        )
    if (found.root / "coalitions" / f"{slug}.yaml").exists():
        raise click.ClickException(
            f"coalitions/{slug}.yaml already exists; it is never overwritten"
        )
    interactive = sys.stdin.isatty() and sys.stdout.isatty()
    parsed = [
        scaffold.PartnerAnswer(*[part.strip() for part in p.split(":")][:3]) for p in partners
    ]
    if interactive:
        from playbook_builder import ask

        answers = ask.interview(name, purpose, model, trigger, parsed, bridge_value, joint_entity)
    else:
        missing = [
            flag
            for flag, value in (
                ("--name", name),
                ("--purpose", purpose),
                ("--model", model),
                ("--trigger", trigger),
            )
            if not value
        ]
        if len(parsed) < 2:
            missing.append("two --partner")
        if missing:
            raise click.UsageError(f"without a terminal, give {', '.join(missing)}")
        answers = scaffold.Answers(
            name=name or "",
            purpose=purpose or "",
            model=model,  # type: ignore[arg-type]
            trigger=trigger,  # type: ignore[arg-type]
            partners=tuple(parsed),
            **({"bridge_value": bridge_value} if bridge_value else {}),
            **({"joint_entity": joint_entity} if joint_entity else {}),
        )
    path = scaffold.new_coalition(found.root, slug, answers, clock.resolve_today(None, "UTC"))
    _say(f"Wrote {path}. Check it with: playbook check")


@cli.command()
@root_option
@today_option
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8000,
    show_default=True,
    help="Port on 127.0.0.1 (0 picks a free one).",
)
@click.option("--open", "open_browser", is_flag=True, help="Open the site in a browser.")
@reports_errors
def serve(
    root: Path | None, today: datetime.datetime | None, port: int, open_browser: bool
) -> None:
    """Preview the site, rebuilding and reloading as you edit.

    Serves on 127.0.0.1 only. A change to a coalition file re-renders what it touches;
    an error shows in the terminal and over the page until it is fixed. Packets are
    rendered when you open one.

    \b
    Example:
        playbook serve --open
    """
    from playbook_builder import serve as live

    def ready(url: str) -> None:
        click.echo(f"Serving {url} (Ctrl+C to stop)", err=True)
        if open_browser:
            import webbrowser

            webbrowser.open(url)

    try:
        live.serve(root, _day(today), port, lambda line: _say(line), ready)
    except OSError as err:
        raise click.ClickException(f"cannot serve on port {port}: {err.strerror}") from err


@cli.command()
@_loudness
@reports_errors
def schema() -> None:
    """Print the JSON Schema of a coalition file.

    Editors use it to check and complete coalition files as you type.

    \b
    Example:
        playbook schema > coalition.schema.json
    """
    from playbook_builder.scaffold import schema_text

    click.echo(schema_text(), nl=False)


@cli.command()
@root_option
@click.argument("slug")
@reports_errors
def fingerprint(root: Path | None, slug: str) -> None:
    """Print a coalition's MOU fingerprint.

    The short form comes first, then the full SHA-256. Record the short form as a
    signature's mou_version when a partner signs.

    \b
    Example:
        playbook fingerprint housing-for-health
    """
    from playbook_builder.fingerprint import fingerprint as compute

    item = _coalition(root, slug)
    print_ = compute(item.coalition)
    click.echo(print_.short)
    click.echo(print_.full)


@cli.command()
@root_option
@today_option
@click.argument("slug")
@reports_errors
def score(root: Path | None, today: datetime.datetime | None, slug: str) -> None:
    """Print a coalition's decision matrix and recommended model.

    \b
    Example:
        playbook score housing-for-health
    """
    from playbook_builder import advise, checks
    from playbook_builder.model import CRITERIA

    item = _coalition(root, slug)
    coalition = item.coalition
    grid = advise.matrix(coalition)
    rec = advise.recommend(coalition)
    width = max(len("partner"), *(len(row.partner.name) for row in grid.rows))
    heads = ["align", "trust", "resrc", "time", "exit", "total"]
    click.secho(f"{coalition.name} ({coalition.model}, {coalition.status})", bold=True)
    click.echo()
    click.echo("partner".ljust(width) + "".join(h.rjust(7) for h in heads))
    for row in grid.rows:
        cells = [*row.scores, row.total]
        click.echo(row.partner.name.ljust(width) + "".join(str(v).rjust(7) for v in cells))
    click.echo("-" * (width + 7 * len(heads)))
    if grid.rows:
        count = len(grid.rows)
        averages = [sum(r.scores[i] for r in grid.rows) / count for i in range(len(CRITERIA))]
        mean_total = sum(r.total for r in grid.rows) / count
        click.echo("average".ljust(width) + "".join(f"{v:7.1f}" for v in [*averages, mean_total]))
    if grid.lowest is not None and grid.highest is not None:
        if grid.lowest.total == grid.highest.total:
            who = "every scored partner" if grid.unscored else "every partner"
            click.echo(f"{who} totals {grid.lowest.total}")
        else:
            click.echo(
                f"lowest total {grid.lowest.total} ({grid.lowest.partner.name}); "
                f"highest {grid.highest.total} ({grid.highest.partner.name})"
            )
    for partner in grid.unscored:
        click.echo(f"{partner.name.ljust(width)}  not scored yet")
    click.echo()
    style = "yellow" if rec.mismatch else "green"
    click.secho(f"Recommended model: {rec.model or 'none yet'}", bold=True, fg=style)
    click.echo(rec.reasoning)
    t = advise.THRESHOLDS
    click.echo(
        f"Bands for the least-ready total: 5-{t.values_bridge_from - 1} opportunistic, "
        f"{t.values_bridge_from}-{t.structural_from - 1} values-bridge, "
        f"{t.structural_from}-25 structural."
    )
    click.echo()
    click.secho("Decision rule", bold=True)
    for line in advise.explain_rule(coalition):
        click.echo(f"  {line}")
    report = checks.check(root, _day(today))
    own = report.advisories_for(slug)
    if own:
        click.echo()
        click.secho(f"Advisories ({len(own)})", bold=True)
        for advisory in own:
            click.echo(f"  {advisory.code} line {advisory.line}: {advisory.message}")


@cli.command()
@root_option
@click.argument("slug")
@click.option("--partner", "partner_id", required=True, help="The id of the partner that signed.")
@click.option("--signer", required=True, help="Who signed, as printed under the signature.")
@click.option("--title", required=True, help="The signer's title.")
@click.option(
    "--date",
    "signed_on",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="When it was signed, YYYY-MM-DD (default: today).",
)
@reports_errors
def sign(
    root: Path | None,
    slug: str,
    partner_id: str,
    signer: str,
    title: str,
    signed_on: datetime.datetime | None,
) -> None:
    """Record a partner's signature of the current MOU.

    The entry records today's fingerprint and is added after the last signature; nothing
    else in the file changes (comments, order and quoting stay). Refused when the workspace
    has errors, when the partner withdrew, or when it already signed this version.

    \b
    Example:
        playbook sign housing-for-health --partner county-health \\
            --signer "Dr. Samuel Iwu" --title "Health Officer" --date 2026-11-25
    """
    from playbook_builder import checks, clock, write
    from playbook_builder import sign as signing

    item = _coalition(root, slug)
    found = workspace.find(root)
    loaded = checks.load_valid(root)
    day = _day(signed_on) or clock.resolve_today(None, loaded.config.timezone)
    record = signing.Signing(partner=partner_id, signer=signer, title=title, date=day)
    text, signed = signing.sign(item, loaded.config, record)
    path = found.root / item.path
    write.replace_file(path, signing.as_written(text, path.read_bytes()), found.root)
    partner = item.coalition.partner(partner_id)
    name = partner.name if partner else partner_id
    _say(f"Recorded: {signer} signed MOU {signed.short} for {name} on {day.isoformat()}.")
    if partner is not None and signer.casefold() != partner.decision_maker.name.casefold():
        click.echo(
            f"note: {name}'s decision maker is {partner.decision_maker.name}; "
            f"check will advise on it (A803)",
            err=True,
        )


@cli.command()
@root_option
@click.argument("slug")
@click.option("--title", required=True, help="What was decided, in one line.")
@click.option(
    "--under", default=None, help="The id of the override that applies (default rule if none)."
)
@click.option(
    "--vote",
    "votes",
    multiple=True,
    metavar="ID=VOTE",
    help="A partner's vote: for, against, abstain or absent (repeat; left out: absent).",
)
@click.option(
    "--outcome",
    type=click.Choice(["adopted", "rejected"]),
    help="What the coalition recorded (default: what the votes support).",
)
@click.option(
    "--date",
    "decided_on",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="When it was decided, YYYY-MM-DD (default: today).",
)
@click.option("--notes", help="Minutes, links.")
@reports_errors
def decide(
    root: Path | None,
    slug: str,
    title: str,
    under: str | None,
    votes: tuple[str, ...],
    outcome: str | None,
    decided_on: datetime.datetime | None,
    notes: str | None,
) -> None:
    """Record a decision, checked against the signed rule.

    The entry is added after the last decision; nothing else in the file changes. An
    outcome the votes do not support under the rule is refused.

    \b
    Example:
        playbook decide housing-for-health --title "Hire a navigator" \\
            --under fund-spending --vote riverside-health=for --vote riverside-housing=for
    """
    from playbook_builder import checks, clock, write
    from playbook_builder import sign as recording
    from playbook_builder.model import Decision

    item = _coalition(root, slug)
    found = workspace.find(root)
    loaded = checks.load_valid(root)
    cast_votes: dict[str, str] = {}
    for vote in votes:
        pid, _, value = vote.partition("=")
        if value not in ("for", "against", "abstain", "absent"):
            raise click.BadParameter(
                f"{vote!r}: write ID=for, ID=against, ID=abstain or ID=absent",
                param_hint="--vote",
            )
        cast_votes[pid.strip()] = value
    day = _day(decided_on) or clock.resolve_today(None, loaded.config.timezone)
    proposed = Decision(
        date=day,
        title=title,
        votes=cast_votes,  # type: ignore[arg-type]
        outcome=(outcome or "adopted"),  # type: ignore[arg-type]
        under=under,
        notes=notes,
    )
    if outcome is None:  # what the votes support
        from playbook_builder.decisions import judge_added

        supported = judge_added(item.coalition, proposed).supported
        proposed = dataclasses.replace(proposed, outcome=supported)
    text, judged = recording.decide(item, loaded.config, proposed)
    path = found.root / item.path
    write.replace_file(path, recording.as_written(text, path.read_bytes()), found.root)
    _say(
        f"Recorded: '{title}' {proposed.outcome} on {day.isoformat()} under "
        f"{judged.applies_to} ({judged.tally})."
    )


def _unknown_slug(slug: str, known: Sequence[str]) -> click.BadParameter:
    listing = ", ".join(known) or "none"
    return click.BadParameter(
        f"no coalition {slug!r}; the coalitions are: {listing}", param_hint="SLUG"
    )


def _facts_of(ready: build.Prepared, slug: str) -> CoalitionFacts:
    """One coalition's facts, or a usage error naming the coalitions there are."""
    found = ready.of(slug)
    if found is None:
        raise _unknown_slug(slug, [f.slug for f in ready.facts])
    return found


def _coalition(root: Path | None, slug: str) -> CoalitionFile:
    """One valid coalition of the workspace, or exit with the problems."""
    from playbook_builder import checks

    loaded = checks.load_valid(root)
    item = loaded.coalition(slug)
    if item is None:
        raise _unknown_slug(slug, [c.slug for c in loaded.coalitions])
    return item


def main() -> None:
    """Entry point of the `playbook` console script."""
    try:
        cli(prog_name="playbook")
    except SystemExit as stop:
        _exit(stop.code)
    finally:
        # The process ends with the command: what it made need not be walked by the
        # collector once more on the way out (after a change among 1,000 coalitions,
        # 56 ms of the exit, measured). Frozen, it is simply freed.
        gc.freeze()


def _exit(code: str | int | None) -> NoReturn:
    """End the process as `sys.exit(code)` does, without freeing what the command made.

    On the way out Python frees every object one by one, and the system takes back the
    process's memory whole a moment later: after a cold build of 1,000 coalitions, 0.05
    s of the command's 2.7 (the workspace it prepared, kept to the end for this: see
    `build.build`). The exit handlers still run (they stop the printers) and the output
    is flushed; with a thread other than this one still running, it exits as usual.
    """
    if threading.active_count() > 1:
        sys.exit(code)
    gc.freeze()
    atexit._run_exitfuncs()
    status = 0
    if isinstance(code, int):
        status = code
    elif code is not None:
        click.echo(code, err=True)
        status = 1
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):  # a pipe closed early: what Python itself ends with
        status = status or 120
    os._exit(status)
