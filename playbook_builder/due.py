"""`playbook due`: dated obligations across the playbook (pure reading, no output)."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from pathlib import Path

from playbook_builder import history, load, schedule, workspace
from playbook_builder.clock import resolve_today


@dataclass(frozen=True, slots=True)
class Due:
    """A dated obligation across the playbook."""

    day: datetime.date
    slug: str
    coalition: str
    what: str
    overdue: bool


def due(
    root: Path | None, today: datetime.date | None, within_days: int
) -> tuple[list[Due], datetime.date, tuple[str, ...]]:
    """Overdue reviews, passed sunsets, and what comes up within `within_days`."""
    found = workspace.find(root)
    loaded = load.load_workspace(found)
    day = resolve_today(today, loaded.config.timezone)
    items: list[Due] = []
    for item in loaded.coalitions:
        c = item.coalition
        if c.status == "dissolved":
            continue
        upcoming = schedule.next_review(c)
        if schedule.is_overdue(c, day) and upcoming is not None:
            items.append(Due(upcoming, item.slug, c.name, "review overdue", True))
        sunset = schedule.sunset_date(c)
        if sunset is not None and sunset < day:
            items.append(Due(sunset, item.slug, c.name, "sunset passed without renewal", True))
        for event in schedule.upcoming(schedule.events(c), day, within_days):
            what = {"review": "review", "check-in": "check-in", "sunset": "sunset"}[event.kind]
            items.append(Due(event.day, item.slug, c.name, what, False))
        end = day + datetime.timedelta(days=within_days)
        effective = c.mou.effective if c.mou else None
        if effective is not None and day <= effective <= end:
            signed = set(c.latest_signatures())
            missing = [p.name for p in c.partners if p.must_sign and p.id not in signed]
            what = "the MOU takes effect" + (
                f", not yet signed by {', '.join(missing)}" if missing else ""
            )
            items.append(Due(effective, item.slug, c.name, what, False))
        if c.launch is not None and c.launch.date is not None and day <= c.launch.date <= end:
            items.append(Due(c.launch.date, item.slug, c.name, "launch", False))
        if c.window is not None and day <= c.window.date <= end:
            items.append(Due(c.window.date, item.slug, c.name, c.window.event, False))
    items.sort(key=lambda d: (not d.overdue, d.day, d.coalition.casefold(), d.what))
    notices = (f"warning: {history.SHALLOW_ADVICE}",) if _is_shallow(found.root) else ()
    return items, day, notices


def _is_shallow(root: Path) -> bool:
    return history.read(root, []).shallow
