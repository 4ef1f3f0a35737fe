"""The workspace's YAML -> SiteConfig and Coalition records, or every Problem at once.

Type and shape are checked by `validate.py`; the rules that span fields (references to
partner ids, requirements that depend on the model or the rule, ranges of fractions) are
checked here on the plain values, so that one run reports them alongside type errors.
"""

from __future__ import annotations

import dataclasses
import difflib
import os
import pickle
import re
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path, PurePosixPath
from typing import Any, Protocol

import yaml
from dateutil.relativedelta import relativedelta

from playbook_builder.errors import ContractError, Problem, printable
from playbook_builder.model import (
    SLUG_PATTERN,
    Coalition,
    CoalitionFile,
    Located,
    Review,
    SiteConfig,
    parse_fraction,
)
from playbook_builder.source import MAX_FILE_BYTES, Parsed, field_path, parse, read_text
from playbook_builder.validate import validate
from playbook_builder.workspace import Workspace

FIRST_REVIEW_MONTHS = 3
"""A first review defaults to this many months after launch."""

_SLUG = re.compile(SLUG_PATTERN)


@dataclass(frozen=True, slots=True)
class Loaded:
    """A valid workspace: its settings and its coalitions, sorted by slug."""

    config: SiteConfig
    coalitions: tuple[CoalitionFile, ...]

    def coalition(self, slug: str) -> CoalitionFile | None:
        return next((c for c in self.coalitions if c.slug == slug), None)


Each = Callable[[Sequence[CoalitionFile]], None]
"""Takes each batch of valid files as it is loaded (see `load_files`)."""


class FileLoader(Protocol):
    """Loads coalition files, one result per path, with up to `jobs` processes, handing
    each batch to `each` as it comes (`load_files`, or a caching layer around it)."""

    def __call__(
        self,
        workspace: Workspace,
        paths: Sequence[Path],
        config: SiteConfig,
        problems: list[Problem],
        /,
        jobs: int | None = None,
        each: Each | None = None,
    ) -> list[CoalitionFile | None]: ...


class FileReader(Protocol):
    """Loads one coalition file, here or in a worker forked from here: the file (None if
    it is not valid, its problems appended), and a note on it for the caller that
    `load_noted` hands back beside it (`load_coalition` with none: `read_plainly`)."""

    def __call__(
        self, workspace: Workspace, path: Path, config: SiteConfig, problems: list[Problem], /
    ) -> tuple[CoalitionFile | None, Any]: ...


_Chunk = tuple[list[tuple[CoalitionFile | None, Any]], list[Problem]]
"""What a chunk of files loaded, with the reader's notes, and their problems."""


PARALLEL_FROM = 96
"""Files from which loading is spread over worker processes: forking them costs about
what parsing 20 files does, and a file takes about a millisecond."""


def load_workspace(
    workspace: Workspace,
    load_file: FileLoader | None = None,
    only: Sequence[Path] | None = None,
    jobs: int | None = None,
) -> Loaded:
    """Every coalition of the workspace (or the files `only`), validated, with up to
    `jobs` processes (default: the number of cores); raises ContractError with all
    problems."""
    loaded, problems = read_workspace(workspace, load_file, only, jobs)
    if problems or loaded is None:
        raise ContractError(problems)
    return loaded


def read_workspace(
    workspace: Workspace,
    load_file: FileLoader | None = None,
    only: Sequence[Path] | None = None,
    jobs: int | None = None,
) -> tuple[Loaded | None, list[Problem]]:
    """The valid part of the workspace, and every problem of the rest (of the coalition
    files `only`, when given: the caller vouches for the others).

    The settings must be valid for anything to load; coalitions with problems are left out.
    """
    problems: list[Problem] = []
    config = load_config(workspace, problems)
    settings = config or SiteConfig(title="-", organization="-")
    paths = workspace.coalition_files() if only is None else list(only)
    loaded = (load_file or load_files)(workspace, paths, settings, problems, jobs)
    coalitions = [item for item in loaded if item is not None]
    problems.extend(_duplicate_names(coalitions))
    problems.sort()
    return (Loaded(config, tuple(coalitions)) if config else None), problems


def known_zone(name: str) -> bool:
    """Whether `name` is an IANA time zone (read from the zone's own file, not by listing
    every zone, which costs more than loading a workspace)."""
    import zoneinfo

    if not name or name.startswith(("/", ".")) or ".." in name.split("/"):
        return False
    if name == "posixrules":  # a file of the zone folder, not a zone (as the listing says)
        return False
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        return False
    return True


def load_config(workspace: Workspace, problems: list[Problem]) -> SiteConfig | None:
    """playbook.yaml as SiteConfig; problems are appended."""
    shown = workspace.shown(workspace.config_path)
    parsed = _read(workspace.config_path, shown, problems)
    if parsed is None:
        return None
    config, found = validate(SiteConfig, parsed, shown)
    problems.extend(found)
    if isinstance(parsed.data, dict):
        zone = parsed.data.get("timezone")
        if isinstance(zone, str) and not known_zone(zone):
            line, column = parsed.located.at(("timezone",))
            problems.append(
                Problem(
                    shown,
                    line,
                    column,
                    "timezone",
                    f'"{zone}"',
                    "an IANA time zone such as Europe/Berlin or America/Chicago",
                )
            )
            return None
    return config


def load_files(
    workspace: Workspace,
    paths: Sequence[Path],
    config: SiteConfig,
    problems: list[Problem],
    jobs: int | None = None,
    each: Each | None = None,
) -> list[CoalitionFile | None]:
    """`load_coalition` for each path, in order; with many files, spread over this
    process and up to `jobs` - 1 forked worker processes (see `load_noted`)."""
    return [item for item, _ in load_noted(workspace, paths, config, problems, jobs, each)]


def read_plainly(
    workspace: Workspace, path: Path, config: SiteConfig, problems: list[Problem]
) -> tuple[CoalitionFile | None, None]:
    """`load_coalition`, as a `FileReader` (with no note)."""
    return load_coalition(workspace, path, config, problems), None


def load_noted(
    workspace: Workspace,
    paths: Sequence[Path],
    config: SiteConfig,
    problems: list[Problem],
    jobs: int | None = None,
    each: Each | None = None,
    read: FileReader = read_plainly,
) -> list[tuple[CoalitionFile | None, Any]]:
    """`read` for each path, in order: each file and the note `read` gave it; with many
    files, spread over this process and up to `jobs` - 1 forked worker processes.

    The files go out in chunks. A worker sends back what it loaded pickled, in a file
    (see `_load_into`); this process loads chunks from the end of the list, each one
    that no worker has taken yet, until they meet. `each` gets every chunk's valid files
    in this process as soon as they are here (in no set order): what it does with them
    is done while the workers load, and they take more of the chunks.
    """
    workers = min(jobs or os.cpu_count() or 1, len(paths) // (PARALLEL_FROM // 2)) - 1
    many = len(paths) >= PARALLEL_FROM and workers >= 1 and _forks()
    shared = _workers_folder() if many else None
    if shared is None:
        alone = [read(workspace, path, config, problems) for path in paths]
        _hand(each, alone)
        return alone
    with shared as folder:  # goes once the workers have ended (shutting down waits for them)
        done = _load_shared(workspace, paths, config, workers, folder, each, read)
    loaded: list[tuple[CoalitionFile | None, Any]] = []
    for items, found in done:
        loaded.extend(items)
        problems.extend(found)
    return loaded


def _load_shared(
    workspace: Workspace,
    paths: Sequence[Path],
    config: SiteConfig,
    workers: int,
    folder: str,
    each: Each | None,
    read: FileReader,
) -> list[_Chunk]:
    """`load_noted` with `workers` forked workers, which send back through `folder`: what
    each chunk loaded, and its problems, in order. The workers adopt `read` as they are
    forked (it is not pickled)."""
    from playbook_builder import pool

    # The first file here: what loading builds once (the validator) is then forked built.
    first = _load_chunk(workspace, paths[:1], config, read)
    size = -(-len(paths) // (8 * (workers + 1)))
    chunks = [paths[start : start + size] for start in range(1, len(paths), size)]
    done: dict[int, _Chunk] = {}
    executor = pool.forked(workers, read)
    try:
        futures = [
            executor.submit(_load_into, workspace, chunk, config, folder) for chunk in chunks
        ]
        _hand(each, first[0])
        handed = 0  # the workers' chunks handed to `each` so far, from the first
        for number in reversed(range(len(chunks))):
            if not futures[number].cancel():  # a worker has it: the rest are theirs too
                break
            done[number] = _load_chunk(workspace, chunks[number], config, read)
            _hand(each, done[number][0])
            while handed < number and futures[handed].done():
                done[handed] = _taken(futures[handed].result())
                _hand(each, done[handed][0])
                handed += 1
        for number in range(handed, len(chunks)):
            if number not in done:
                done[number] = _taken(futures[number].result())
                _hand(each, done[number][0])
    finally:  # on Ctrl-C, the chunks no worker has begun are not loaded
        executor.shutdown(cancel_futures=True)
    return [first, *(done[number] for number in range(len(chunks)))]


def _workers_folder() -> tempfile.TemporaryDirectory[str] | None:
    """A new folder for what workers send back (see `_load_into`); None where none can be
    made (the files are then loaded in this process)."""
    try:
        return tempfile.TemporaryDirectory(prefix="playbook-load-")
    except OSError:
        return None


def _hand(each: Each | None, loaded: Sequence[tuple[CoalitionFile | None, Any]]) -> None:
    """Hand the valid files of a batch to `each`, if any."""
    if each is not None:
        each([item for item, _ in loaded if item is not None])


def _forks() -> bool:
    from playbook_builder import pool  # only where many files load: `check` starts quicker

    return pool.can_fork()


def _load_into(
    workspace: Workspace, paths: Sequence[Path], config: SiteConfig, folder: str
) -> str | _Chunk:
    """Some files loaded in a worker, pickled into a new file in `folder`: its name (or,
    should the file fail, what was loaded: it then goes through the pool's pipe).

    Sent back through the pool's pipe, a chunk's megabyte waited for this process to
    read it, a pipe's buffer at a time, by a thread that waits its turn while this one
    loads and gathers: the worker sat idle for 15-100 ms a chunk, a third of its time.
    """
    from playbook_builder import pool

    loaded = _load_chunk(workspace, paths, config, pool.adopted())
    try:
        handle, name = tempfile.mkstemp(dir=folder)
        with os.fdopen(handle, "wb") as file:
            pickle.dump(loaded, file, protocol=pickle.HIGHEST_PROTOCOL)
    except OSError:  # a full disk, say (what was written goes with the folder)
        return loaded
    return name


def _taken(sent: str | _Chunk) -> _Chunk:
    """What `_load_into` sent: from the file it names, deleted once read (pickle is safe
    to read here: the folder is this user's alone, and a worker forked from this process
    wrote the file)."""
    if not isinstance(sent, str):
        return sent
    with open(sent, "rb") as file:  # noqa: PTH123 - a name from mkstemp
        loaded: _Chunk = pickle.load(file)
    os.unlink(sent)  # noqa: PTH108
    return loaded


def _load_chunk(
    workspace: Workspace, paths: Sequence[Path], config: SiteConfig, read: FileReader
) -> _Chunk:
    """Some files loaded (in a worker, or here): what it loaded, and the problems."""
    problems: list[Problem] = []
    return [read(workspace, path, config, problems) for path in paths], problems


def load_coalition(
    workspace: Workspace,
    path: Path,
    config: SiteConfig,
    problems: list[Problem],
    text: str | None = None,
) -> CoalitionFile | None:
    """One coalition file, validated and with defaults filled in; problems are appended.
    `text` is the file's text when the caller has read it already (by `read_inside`)."""
    shown = workspace.shown(path)
    slug = path.stem
    better = "-".join(re.findall(r"[a-z0-9]+", slug.casefold())) or "coalition"
    if path.suffix != ".yaml":
        problems.append(
            Problem(
                shown,
                1,
                1,
                "(file name)",
                f"the extension {path.suffix}",
                f".yaml (rename it to {better}.yaml)",
            )
        )
        return None
    if not _SLUG.fullmatch(slug):
        problems.append(
            Problem(
                shown,
                1,
                1,
                "(file name)",
                f'"{printable(path.name)}"',
                f"lower-case letters and digits joined by hyphens (rename it to {better}.yaml)",
            )
        )
    if text is None:
        text, found = _read_inside(workspace, path, shown)
        problems.extend(found)
        if text is None:
            return None
    item = coalition_from_text(text, slug, shown, config, problems)
    return item if _SLUG.fullmatch(slug) else None


def read_inside(workspace: Workspace, path: Path) -> str | None:
    """A coalition file's text as `load_coalition` reads it, if it is inside the workspace
    and readable; None if not (`load_coalition` then says why)."""
    return _read_inside(workspace, path, workspace.shown(path))[0]


def _read_inside(
    workspace: Workspace, path: Path, shown: PurePosixPath
) -> tuple[str | None, list[Problem]]:
    """A file's text (see `read_text`), or why it cannot be read: outside the workspace
    through a link, too large, unreadable, not UTF-8."""
    if not workspace.contains(path):
        outside = Problem(
            shown,
            1,
            1,
            "(file)",
            "a link to a file outside the workspace",
            "a file inside the workspace",
        )
        return None, [outside]
    return read_text(path, shown)


def coalition_from_text(
    text: str, slug: str, shown: PurePosixPath, config: SiteConfig, problems: list[Problem]
) -> CoalitionFile | None:
    """A coalition from its YAML text (a file's, or one embedded in a packet)."""
    parsed, found = parse(text, shown)
    problems.extend(found)
    if parsed is None or found:
        return None
    _fingerprints_as_written(parsed)
    coalition, found = validate(Coalition, parsed, shown)
    problems.extend(found)
    cross = list(_cross_checks(parsed.data, parsed.located, shown))
    problems.extend(cross)
    if coalition is None or cross:
        return None
    return CoalitionFile(
        slug=slug,
        path=str(shown),
        coalition=_with_defaults(coalition, config),
        located=parsed.located,
        source=parsed.text,
    )


def _fingerprints_as_written(parsed: Parsed) -> None:
    """Read each `mou_version` as written: `12345678` or `1e345678` are hex, not numbers."""
    signatures = _get(parsed.data, "signatures")
    if not isinstance(signatures, list):
        return
    for index, signature in enumerate(signatures):
        node = parsed.nodes.get(("signatures", index, "mou_version"))
        if isinstance(signature, dict) and isinstance(node, yaml.ScalarNode) and node.value:
            signature["mou_version"] = str(node.value)


def _read(path: Path, shown: PurePosixPath, problems: list[Problem]) -> Parsed | None:
    text, found = read_text(path, shown)
    problems.extend(found)
    if text is None:
        return None
    parsed, found = parse(text, shown)
    problems.extend(found)
    if parsed is not None and found:
        return None
    return parsed


def _with_defaults(coalition: Coalition, config: SiteConfig) -> Coalition:
    """Fill in what the contract defaults: currencies and the first review."""
    partners = tuple(
        dataclasses.replace(
            partner,
            commitment=dataclasses.replace(partner.commitment, currency=config.currency),
        )
        if partner.commitment is not None and partner.commitment.currency is None
        else partner
        for partner in coalition.partners
    )
    review = coalition.review
    launched = coalition.launch.date if coalition.launch else None
    if launched is not None and (review is None or review.first is None):
        first = launched + relativedelta(months=FIRST_REVIEW_MONTHS)
        review = dataclasses.replace(review or Review(), first=first)
    return dataclasses.replace(coalition, partners=partners, review=review)


def _duplicate_names(coalitions: list[CoalitionFile]) -> Iterator[Problem]:
    seen: dict[str, CoalitionFile] = {}
    for item in coalitions:
        key = " ".join(item.coalition.name.casefold().split())
        if key in seen:
            line, column = item.located.at(("name",))
            yield Problem(
                PurePosixPath(item.path),
                line,
                column,
                "name",
                f'"{item.coalition.name}", the name of {seen[key].path} too',
                "a name no other coalition uses",
            )
        else:
            seen[key] = item


# --- rules across fields, on plain values --------------------------------------------------


def _get(data: Any, *path: str | int) -> Any:
    """The value at `path`, or None where the shape does not fit."""
    for part in path:
        if isinstance(part, int) and isinstance(data, list) and 0 <= part < len(data):
            data = data[part]
        elif isinstance(part, str) and isinstance(data, dict):
            data = data.get(part)
        else:
            return None
    return data


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _fraction(value: Any) -> Fraction | None:
    try:
        return parse_fraction(value)
    except ValueError:
        return None


def _cross_checks(data: Any, located: Located, shown: PurePosixPath) -> Iterator[Problem]:
    if not isinstance(data, dict):
        return

    def problem(
        path: tuple[str | int, ...], found: str, allowed: str, key: bool = False
    ) -> Problem:
        line, column = located.at(path, key=key)
        return Problem(shown, line, column, field_path(path), found, allowed)

    partners = _list(data.get("partners"))
    if isinstance(data.get("partners"), list) and len(partners) < 2:
        count = len(partners)
        yield problem(
            ("partners",),
            f"{count} partner{'' if count == 1 else 's'}",
            "at least 2 partners: an alliance needs someone to ally with",
        )
    ids: list[str] = []
    first_at: dict[str, int] = {}
    for index, partner in enumerate(partners):
        pid = _get(partner, "id")
        if not isinstance(pid, str):
            continue
        if pid in first_at:
            yield problem(
                ("partners", index, "id"),
                f'"{pid}" again (partners[{first_at[pid]}] has it)',
                "an id no other partner in this file uses",
            )
        else:
            first_at[pid] = index
            ids.append(pid)
    known = ", ".join(ids) or "(no valid partner ids yet)"
    allowed_ref = f"one of the partner ids: {known}"

    def ref(path: tuple[str | int, ...], value: Any, key: bool = False) -> Iterator[Problem]:
        if isinstance(value, str) and ids and value not in first_at:
            yield problem(path, f'"{value}", which no partner has as its id', allowed_ref, key)

    success = data.get("success")
    if isinstance(success, dict):
        for name in success:
            yield from ref(("success", name), name, key=True)
    for index, role in enumerate(_list(data.get("roles"))):
        yield from ref(("roles", index, "partner"), _get(role, "partner"))
    for index, signature in enumerate(_list(data.get("signatures"))):
        yield from ref(("signatures", index, "partner"), _get(signature, "partner"))

    model = data.get("model")
    if model == "values-bridge" and data.get("bridge_value") is None:
        yield problem(
            ("model",),
            "model values-bridge with no bridge_value",
            "a bridge_value: the shared value the alliance is built on",
        )
    if model == "structural":
        if data.get("joint_entity") is None:
            yield problem(
                ("model",),
                "model structural with no joint_entity",
                "a joint_entity {kind, description}: the new thing the partners create",
            )
        exit_terms = data.get("exit")
        if exit_terms is None:
            yield problem(
                ("model",),
                "model structural with no exit terms",
                "exit with notice_days and a sunset or after_months",
            )
        elif isinstance(exit_terms, dict):
            if exit_terms.get("notice_days") is None:
                yield problem(
                    ("exit",),
                    "exit terms with no notice_days",
                    "notice_days: how many days' notice a partner gives (structural)",
                )
            if exit_terms.get("sunset") is None and exit_terms.get("after_months") is None:
                yield problem(
                    ("exit",),
                    "exit terms with neither sunset nor after_months",
                    "one of them, so that the alliance ends unless renewed (structural)",
                )
    exit_terms = data.get("exit")
    if isinstance(exit_terms, dict):
        if exit_terms.get("sunset") is not None and exit_terms.get("after_months") is not None:
            yield problem(
                ("exit", "after_months"),
                "both sunset and after_months",
                "at most one of them",
                key=True,
            )
        if (
            exit_terms.get("after_months") is not None
            and _get(data, "mou", "effective") is None
            and _get(data, "launch", "date") is None
        ):
            yield problem(
                ("exit", "after_months"),
                "after_months with no date to count from",
                "mou.effective or launch.date, from which the months are counted",
                key=True,
            )

    yield from _rule_checks(data.get("decision_rule"), problem, ref)

    overrides = _list(_get(data, "decision_rule", "overrides"))
    override_ids = [o.get("id") for o in overrides if isinstance(o, dict) and o.get("id")]
    seen_overrides: set[str] = set()
    for index, oid in enumerate(_get(o, "id") for o in overrides):
        if isinstance(oid, str) and oid in seen_overrides:
            yield problem(
                ("decision_rule", "overrides", index, "id"),
                f'"{oid}" again',
                "an id no other override in this file uses",
            )
        if isinstance(oid, str):
            seen_overrides.add(oid)
    for index, decision in enumerate(_list(data.get("decisions"))):
        if not isinstance(decision, dict):
            continue
        under = decision.get("under")
        if isinstance(under, str) and under not in override_ids:
            close = difflib.get_close_matches(under, [str(i) for i in override_ids], n=1)
            listing = ", ".join(str(i) for i in override_ids)
            yield problem(
                ("decisions", index, "under"),
                f'"{under}", which names no override',
                (f"did you mean `{close[0]}`? " if close else "")
                + (
                    f"the id of an override ({listing}), or nothing for the default rule"
                    if listing
                    else "nothing: decision_rule.overrides has no ids (add an id to one)"
                ),
            )
        votes = decision.get("votes")
        if isinstance(votes, dict):
            for name in votes:
                yield from ref(("decisions", index, "votes", name), name, key=True)


def _rule_checks(rule: Any, problem: Any, ref: Any) -> Iterator[Problem]:
    if not isinstance(rule, dict):
        return
    base: tuple[str | int, ...] = ("decision_rule",)
    committee = rule.get("committee")
    kinds = [(base, rule)]
    overrides = rule.get("overrides")
    if isinstance(overrides, list):
        kinds += [
            ((*base, "overrides", i), o) for i, o in enumerate(overrides) if isinstance(o, dict)
        ]
    for path, item in kinds:
        kind = item.get("default" if path == base else "rule")
        kind_field = "default" if path == base else "rule"
        threshold = item.get("threshold")
        if kind == "supermajority" and threshold is None:
            yield problem(
                (*path, kind_field),
                "supermajority with no threshold",
                "a threshold such as 2/3 beside it",
            )
        if threshold is not None and kind in ("majority", "executive-committee", "consensus"):
            yield problem(
                (*path, "threshold"),
                f"a threshold with the rule {kind}",
                "a threshold only with supermajority",
                key=True,
            )
        value = _fraction(threshold) if threshold is not None else None
        if value is not None and not Fraction(1, 2) < value <= 1:
            yield problem(
                (*path, "threshold"),
                f"{value.numerator}/{value.denominator}",
                "a share above 1/2 and at most 1, such as 2/3",
            )
        if kind == "executive-committee" and not committee:
            yield problem(
                (*path, kind_field),
                "executive-committee with no committee",
                "decision_rule.committee: the partner ids on the committee",
            )
    quorum = rule.get("quorum")
    value = _fraction(quorum) if quorum is not None else None
    if value is not None and not 0 < value <= 1:
        yield problem(
            (*base, "quorum"),
            f"{value.numerator}/{value.denominator}",
            "a share above 0 and at most 1, such as 2/3",
        )
    if isinstance(committee, list):
        for index, member in enumerate(committee):
            yield from ref((*base, "committee", index), member)


def revision(
    text: str, slug: str, shown: PurePosixPath, config: SiteConfig, problems: list[Problem]
) -> CoalitionFile | None:
    """A coalition from an old revision's text, through the same loader and limits as the
    current file (git can hold a version that would be refused today)."""
    size = len(text.encode("utf-8"))
    if size > MAX_FILE_BYTES:
        problems.append(
            Problem(shown, 1, 1, "(file)", f"{size:,} bytes", f"at most {MAX_FILE_BYTES:,} bytes")
        )
        return None
    return coalition_from_text(text.replace("\r\n", "\n"), slug, shown, config, problems)
