"""Dates that follow from a coalition: reviews, check-ins, the sunset, what is due (pure).

`today` is always a parameter; nothing here reads the clock.
"""

from __future__ import annotations

import calendar
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

from playbook_builder.model import Cadence, Coalition

HORIZON_YEARS = 3
"""How far ahead recurring dates are listed when there is no sunset."""

CADENCE_STEP: dict[Cadence, tuple[int, int]] = {
    "weekly": (7, 0),
    "biweekly": (14, 0),
    "monthly": (0, 1),
    "quarterly": (0, 3),
}
"""(days, months) between check-ins."""


EventKind = Literal["window", "launch", "effective", "review", "check-in", "sunset"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Event:
    """A dated point in a coalition's life."""

    kind: EventKind
    day: date
    label: str


def start_date(coalition: Coalition) -> date | None:
    """When the agreement starts: the MOU's effective date, else the launch."""
    effective = coalition.mou.effective if coalition.mou else None
    return effective or (coalition.launch.date if coalition.launch else None)


def sunset_date(coalition: Coalition) -> date | None:
    """When the alliance dissolves unless renewed: `sunset`, or `after_months` from the start."""
    exit_terms = coalition.exit
    if exit_terms is None:
        return None
    if exit_terms.sunset is not None:
        return exit_terms.sunset
    start = start_date(coalition)
    if exit_terms.after_months is not None and start is not None:
        return add_months(start, exit_terms.after_months)
    return None


_MONTH_DAYS = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def add_months(day: date, months: int) -> date:
    """`day` moved by whole months, kept to the month's last day when it has fewer days
    (31 January + 1 month is 28 or 29 February), as dateutil's relativedelta does: a
    review schedule adds months thousands of times, and this is ten times cheaper (the
    month's length looked up, not worked out by `calendar.monthrange` with its weekday:
    556 -> 224 ns for a day up to the 28th)."""
    year, month = divmod(day.month - 1 + months, 12)
    year += day.year
    number = day.day
    if number > 28:
        last = 29 if month == 1 and calendar.isleap(year) else _MONTH_DAYS[month]
        number = min(number, last)
    return date(year, month + 1, number)


def _horizon(coalition: Coalition, anchor: date) -> date:
    return sunset_date(coalition) or add_months(anchor, 12 * HORIZON_YEARS)


def review_dates(coalition: Coalition, until: date | None = None) -> tuple[date, ...]:
    """Scheduled reviews: the first, then every `every_months`, up to `until` or the sunset."""
    review = coalition.review
    if review is None or review.first is None:
        return ()
    end = until or _horizon(coalition, review.first)
    if review.every_months is None:
        return (review.first,) if review.first <= end else ()
    dates = []
    step = 0
    while (current := add_months(review.first, review.every_months * step)) <= end:
        dates.append(current)
        step += 1
    return tuple(dates)


def check_in_dates(coalition: Coalition, until: date | None = None) -> tuple[date, ...]:
    """Check-ins at the agreed cadence from launch (else the MOU's start) to the sunset."""
    first = (coalition.launch.date if coalition.launch else None) or start_date(coalition)
    if first is None:
        return ()
    days, months = CADENCE_STEP[coalition.communication.cadence]
    end = until or _horizon(coalition, first)
    dates = []
    count = 1  # the launch itself is not a check-in
    while (
        current := first + timedelta(days=days * count)
        if days
        else add_months(first, months * count)
    ) <= end:
        dates.append(current)
        count += 1
    return tuple(dates)


def last_review_held(coalition: Coalition) -> date | None:
    held = coalition.steps.get("review")
    return held.done if held is not None else None


def next_review(coalition: Coalition, reviews: Sequence[date] | None = None) -> date | None:
    """The earliest scheduled review not yet held (it may be in the past: overdue).
    `reviews` are its `review_dates` when the caller has them already."""
    held = last_review_held(coalition)
    for day in review_dates(coalition) if reviews is None else reviews:
        if held is None or day > held:
            return day
    return None


def is_overdue(coalition: Coalition, today: date, reviews: Sequence[date] | None = None) -> bool:
    """Whether a review was due before today and has not been held (`reviews` as for
    `next_review`)."""
    upcoming = next_review(coalition, reviews)
    return coalition.live and upcoming is not None and upcoming < today


def events(coalition: Coalition, reviews: Sequence[date] | None = None) -> tuple[Event, ...]:
    """Every dated event of the coalition, in date order (`reviews` as for `next_review`)."""
    found: list[Event] = []
    if coalition.window is not None:
        found.append(Event(kind="window", day=coalition.window.date, label=coalition.window.event))
    if coalition.mou is not None and coalition.mou.effective is not None:
        found.append(Event(kind="effective", day=coalition.mou.effective, label="MOU takes effect"))
    if coalition.launch is not None and coalition.launch.date is not None:
        label = coalition.launch.first_win or "Launch"
        found.append(Event(kind="launch", day=coalition.launch.date, label=label))
    found.extend(
        Event(kind="review", day=day, label=f"Review {n}")
        for n, day in enumerate(review_dates(coalition) if reviews is None else reviews, start=1)
    )
    cadence = coalition.communication.cadence
    found.extend(
        Event(kind="check-in", day=day, label=f"{cadence.capitalize()} check-in")
        for day in check_in_dates(coalition)
    )
    sunset = sunset_date(coalition)
    if sunset is not None:
        found.append(Event(kind="sunset", day=sunset, label="Sunset unless renewed"))
    order = {"window": 0, "effective": 1, "launch": 2, "review": 3, "check-in": 4, "sunset": 5}
    return tuple(sorted(found, key=lambda e: (e.day, order[e.kind])))


def upcoming(dated: Sequence[Event], today: date, within_days: int) -> tuple[Event, ...]:
    """Of a coalition's `events`, the reviews, check-ins and sunset from today to
    `within_days` ahead."""
    end = today + timedelta(days=within_days)
    return tuple(
        e for e in dated if e.kind in ("review", "check-in", "sunset") and today <= e.day <= end
    )
