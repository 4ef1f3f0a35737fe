"""The stages in order: what every command calls."""

from __future__ import annotations

import datetime
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

from playbook_builder import advise, load, workspace, write
from playbook_builder.advise import Advisory
from playbook_builder.content import Markdown, load_guide
from playbook_builder.errors import PlaybookError, Problem
from playbook_builder.load import Loaded
from playbook_builder.render import Renderer, render_site


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


@dataclass(frozen=True, slots=True)
class Built:
    """What a build wrote."""

    out: Path
    files: int
    bytes: int
    coalitions: int
    advisories: int
    today: datetime.date


def build(root: Path | None, out: Path | None = None, today: datetime.date | None = None) -> Built:
    """Load, advise, render and write the site; raises ContractError on bad input.

    Nothing in the output folder changes unless the whole build succeeds.
    """
    found = workspace.find(root)
    loaded = load.load_workspace(found)
    target = out if out is not None else found.root / "site"
    write.check_target(target, found.root)
    day = resolve_today(today, loaded.config.timezone)
    advisories = advise.advise_all(loaded.coalitions, day)
    markdown = Markdown()
    guide = load_guide(found.layered("content"), {"t": advise.THRESHOLDS}, markdown)
    renderer = Renderer(found.layered("templates"), loaded.config, day)
    files = render_site(renderer, loaded.coalitions, advisories, guide, markdown)
    write.write_site(files, target)
    return Built(
        out=target.resolve(),
        files=len(files),
        bytes=sum(len(data) for data in files.values()),
        coalitions=len(loaded.coalitions),
        advisories=sum(len(a) for a in advisories.values()),
        today=day,
    )
