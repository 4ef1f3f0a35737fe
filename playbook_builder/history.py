"""What git knows about the coalition files, read in a fixed handful of git calls.

One `git log` covers every coalition file (renames followed), one `git status` finds
uncommitted changes, one `git cat-file --batch` fetches old versions when they are
needed. Outside a repository, or without git, there is simply no history: no stamp and
no error. A shallow clone would give wrong dates silently, so it is detected and named.
"""

from __future__ import annotations

import dataclasses
import datetime
import os
import re
import subprocess
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

_START = "@@commit"
"""Begins each commit in the log; fields and names are separated by NUL, which no commit
message, author or file name can hold, so no text of theirs can change the structure."""
_FORMAT = f"%x00{_START}%x00%H%x00%h%x00%aI%x00%an%x00%s%x00"
_HASH = re.compile(r"[0-9a-f]{7,64}")
_STATUS = re.compile(r"[ACDMRTUXB][0-9]{0,3}")
SHALLOW_ADVICE = (
    "this is a shallow clone, so revision dates and history are incomplete: run "
    "`git fetch --unshallow`, or in CI fetch the full history (GitHub Actions: "
    "actions/checkout with fetch-depth: 0; GitLab: GIT_DEPTH: 0)"
)


@dataclass(frozen=True, slots=True)
class Commit:
    """A commit that touched a coalition file."""

    hash: str
    short: str
    date: datetime.datetime
    """The author date, with its offset."""
    author: str
    subject: str
    path: str
    """The file's path at that commit, relative to the workspace root."""


@dataclass(frozen=True, slots=True)
class Revision:
    """The stamp of one coalition file: its last commit, and whether it has changed since."""

    commit: Commit | None
    dirty: bool

    def label(self) -> str:
        if self.commit is None:
            return "not committed yet"
        text = f"{self.commit.short} ({self.commit.date.date().isoformat()})"
        return text + (" + uncommitted changes" if self.dirty else "")


@dataclass(frozen=True, slots=True)
class History:
    """Git's view of the workspace's coalition files."""

    available: bool
    shallow: bool = False
    commits: dict[str, tuple[Commit, ...]] = field(default_factory=dict)
    """By the file's current path, newest first."""
    dirty: frozenset[str] = frozenset()
    """Current paths that differ from HEAD (or are not committed)."""
    toplevel: Path | None = None
    prefix: str = ""
    """The workspace's folder inside the repository, '' or ending in '/'."""

    def revision(self, path: str) -> Revision | None:
        """The stamp of a file, or None outside a repository."""
        if not self.available:
            return None
        found = self.commits.get(path, ())
        return Revision(found[0] if found else None, path in self.dirty or not found)


NO_HISTORY = History(available=False)


def _git(root: Path, *args: str, stdin: bytes | None = None) -> bytes | None:
    try:
        done = subprocess.run(
            ["git", "-C", str(root), *args],
            input=stdin,
            capture_output=True,
            check=False,
            env={"GIT_OPTIONAL_LOCKS": "0", "LC_ALL": "C", "PATH": _path()},
        )
    except OSError:
        return None
    return done.stdout if done.returncode == 0 else None


def _path() -> str:
    return os.environ.get("PATH", "/usr/bin:/bin")


def head(root: Path) -> str:
    """The commit checked out at `root` and whether the clone is shallow, as one string
    ("no git" outside a repository): what the history of every file depends on, besides
    the files themselves."""
    found = _git(root, "rev-parse", "--show-toplevel", "--is-shallow-repository", "HEAD")
    return found.decode("utf-8", "replace") if found is not None else "no git"


def read(root: Path, paths: Iterable[str], folder: str = "coalitions") -> History:
    """The history of `paths` (relative to the workspace root) from one git log."""
    top = _git(root, "rev-parse", "--show-toplevel", "--show-prefix", "--is-shallow-repository")
    if top is None:
        return NO_HISTORY
    lines = top.decode().splitlines()
    if len(lines) < 3:
        return NO_HISTORY
    toplevel, prefix, shallow = Path(lines[0]), lines[1], lines[2].strip() == "true"
    log = _git(
        root,
        "log",
        "-z",
        f"--format={_FORMAT}",
        "--name-status",
        "-M",
        "--relative",
        "--no-color",
        "--",
        folder,
    )
    status = _git(root, "status", "--porcelain=v1", "-z", "--untracked-files=all", "--", folder)
    current = set(paths)
    commits = _parse_log(log.decode("utf-8", "replace") if log else "", current)
    dirty = _parse_status(status or b"", prefix, current)
    return History(
        available=True,
        shallow=shallow,
        commits=commits,
        dirty=frozenset(dirty),
        toplevel=toplevel,
        prefix=prefix,
    )


def _parse_log(text: str, current: set[str]) -> dict[str, tuple[Commit, ...]]:
    """Commits per current path, following renames backwards from the newest commit.

    The log is a stream of NUL-separated fields: a commit's five fields after each start
    mark, then its changed files as (status, path) or (status, old path, new path). A
    commit whose hash or date does not read as one is left out, never trusted.
    """
    alias = {path: path for path in current}  # name at this point in history -> current name
    found: dict[str, list[Commit]] = {path: [] for path in current}
    tokens = [token.lstrip("\n") for token in text.split("\0")]
    commit: Commit | None = None
    position = 0
    while position < len(tokens):
        token = tokens[position]
        position += 1
        if token == _START and position + 5 <= len(tokens):
            full, short, when, author, subject = tokens[position : position + 5]
            position += 5
            commit = _commit(full, short, when, author, subject)
            continue
        if not _STATUS.fullmatch(token):
            continue
        kind = token[0]
        names = 2 if kind in "RC" else 1
        paths = tokens[position : position + names]
        position += names
        if commit is None or len(paths) != names:
            continue
        new = paths[-1]
        owner = alias.get(new)
        if owner is None:
            continue
        found[owner].append(dataclasses.replace(commit, path=new))
        if kind == "R":
            del alias[new]
            alias[paths[0]] = owner
        elif kind == "A":
            del alias[new]  # older commits of this name were another file
    return {path: tuple(commits) for path, commits in found.items()}


def _commit(full: str, short: str, when: str, author: str, subject: str) -> Commit | None:
    """A commit from its log fields, or None when they are not what git writes."""
    if not (_HASH.fullmatch(full) and _HASH.fullmatch(short) and full.startswith(short)):
        return None
    try:
        date = datetime.datetime.fromisoformat(when)
    except ValueError:
        return None
    return Commit(full, short, date, _visible(author), _visible(subject), "")


def _visible(text: str) -> str:
    """A name or subject for a page: control characters become spaces."""
    return "".join(char if char.isprintable() else " " for char in text)


def _parse_status(data: bytes, prefix: str, current: set[str]) -> set[str]:
    dirty = set()
    entries = data.decode("utf-8", "replace").split("\0")
    skip = False
    for entry in entries:
        if skip:
            skip = False
            continue
        if len(entry) < 4:
            continue
        code, name = entry[:2], entry[3:]
        if code[0] in "RC":
            skip = True  # the next entry is the old name
        relative = name[len(prefix) :] if prefix and name.startswith(prefix) else name
        if relative in current:
            dirty.add(relative)
    return dirty


def versions(history: History, wanted: Sequence[tuple[str, str]]) -> dict[tuple[str, str], str]:
    """The text of files at commits, (commit hash, path) -> text, in one git call."""
    if not history.available or not wanted or history.toplevel is None:
        return {}
    request = "".join(f"{commit}:{history.prefix}{path}\n" for commit, path in wanted)
    out = _git(history.toplevel, "cat-file", "--batch", stdin=request.encode())
    if out is None:
        return {}
    result: dict[tuple[str, str], str] = {}
    position = 0
    for key in wanted:
        end = out.index(b"\n", position)
        header = out[position:end].split()
        position = end + 1
        if len(header) != 3:  # "<name> missing"
            continue
        size = int(header[2])
        result[key] = out[position : position + size].decode("utf-8-sig", "replace")
        position += size + 1
    return result


def revision_text(history: History, revision: str, path: str) -> str | None:
    """A file's text at a revision (any name git understands), or None."""
    if not history.available or history.toplevel is None:
        return None
    out = _git(history.toplevel, "show", f"{revision}:{history.prefix}{path}")
    return out.decode("utf-8-sig", "replace") if out is not None else None


def resolve(history: History, revision: str) -> str | None:
    """The full hash of a revision name, or None if git does not know it."""
    if history.toplevel is None:
        return None
    out = _git(history.toplevel, "rev-parse", "--verify", "--quiet", f"{revision}^{{commit}}")
    return out.decode().strip() if out else None
