"""The stages in order: what every command calls."""

from __future__ import annotations

import datetime
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

from playbook_builder import advise, load, workspace
from playbook_builder.advise import Advisory
from playbook_builder.errors import PlaybookError, Problem
from playbook_builder.load import Loaded


@dataclass(frozen=True, slots=True)
class Report:
    """What `playbook check` found: errors, and advisories for the files that loaded."""

    loaded: Loaded | None
    """The valid part of the workspace (None when playbook.yaml itself is invalid)."""
    problems: tuple[Problem, ...]
    advisories: tuple[Advisory, ...]
    """In the order of the files, then of the lines."""
    today: datetime.date

    def advisories_for(self, slug: str) -> tuple[Advisory, ...]:
        return tuple(a for a in self.advisories if a.slug == slug)


def resolve_today(
    given: datetime.date | None, zone: str, environ: Mapping[str, str] = os.environ
) -> datetime.date:
    """`--today`, else SOURCE_DATE_EPOCH, else the clock; both read in the playbook's zone."""
    if given is not None:
        return given
    tz = ZoneInfo(zone)
    epoch = environ.get("SOURCE_DATE_EPOCH", "").strip()
    if epoch:
        try:
            return datetime.datetime.fromtimestamp(int(epoch), tz).date()
        except (ValueError, OverflowError, OSError) as err:
            raise PlaybookError(
                f"SOURCE_DATE_EPOCH={epoch!r} is not a number of seconds since 1970"
            ) from err
    return datetime.datetime.now(tz).date()  # the one reading of the clock


def check(root: Path | None, today: datetime.date | None = None) -> Report:
    """Load the workspace and advise on every coalition that loaded."""
    found = workspace.find(root)
    loaded, problems = load.read_workspace(found)
    zone = loaded.config.timezone if loaded else "UTC"
    day = resolve_today(today, zone)
    advisories: list[Advisory] = []
    if loaded is not None:
        by_slug = advise.advise_all(loaded.coalitions, day)
        for item in loaded.coalitions:
            advisories.extend(by_slug[item.slug])
    return Report(loaded, tuple(problems), tuple(advisories), day)


def load_valid(root: Path | None) -> Loaded:
    """The whole workspace, valid; raises ContractError with every problem otherwise."""
    return load.load_workspace(workspace.find(root))
