"""Problems a user can fix, as values that carry their position."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import PurePosixPath


@dataclass(frozen=True, slots=True, order=True)
class Problem:
    """One thing wrong with the input, located in a file."""

    file: PurePosixPath
    """The file, relative to the workspace root."""
    line: int
    """1-based line."""
    column: int
    """1-based column."""
    field: str
    """The field path, such as `partners[1].scores.trust`; `(file)` for the file itself."""
    found: str
    """What the file says there."""
    allowed: str
    """What would be accepted instead."""

    def __str__(self) -> str:
        return (
            f"{printable(str(self.file))}:{self.line}:{self.column}: {self.field}: "
            f"found {self.found}; allowed {self.allowed}"
        )


def printable(text: str) -> str:
    """Text for one line of a terminal: control characters shown as escapes (`\\n`)."""
    if text.isprintable():
        return text
    return "".join(char if char.isprintable() else repr(char)[1:-1] for char in text)


class PlaybookError(Exception):
    """A failure the user can act on; the CLI prints it without a traceback."""


class ContractError(PlaybookError):
    """The workspace breaks the coalition contract; carries every problem found."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = tuple(sorted(problems))
        super().__init__(f"{len(self.problems)} problem(s) in the workspace")


class WorkspaceError(PlaybookError):
    """The folder is not a usable workspace (no playbook.yaml, unreadable, ...)."""
