"""iCalendar files of coalition dates, written with the icalendar library.

Everything is an all-day event (the files say on which day, not at what hour), check-ins
are one recurring event, and every identifier and stamp comes from the data and the
build's `today`, so the same inputs give the same bytes.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta

from icalendar import Calendar, Event, vRecur

from playbook_builder import schedule
from playbook_builder.model import CoalitionFile

_FREQ: dict[str, dict[str, str | int]] = {
    "weekly": {"FREQ": "WEEKLY"},
    "biweekly": {"FREQ": "WEEKLY", "INTERVAL": 2},
    "monthly": {"FREQ": "MONTHLY"},
    "quarterly": {"FREQ": "MONTHLY", "INTERVAL": 3},
}


def calendar(items: Sequence[CoalitionFile], title: str, today: date, host: str) -> bytes:
    """One calendar holding the dates of all `items`."""
    cal = Calendar()
    cal.add("prodid", "-//playbook//coalition playbook//EN")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", title)
    stamp = datetime(today.year, today.month, today.day, tzinfo=UTC)
    for item in items:
        for event in _events(item, stamp, host):
            cal.add_component(event)
    data: bytes = cal.to_ical()
    return data


def _events(item: CoalitionFile, stamp: datetime, host: str) -> list[Event]:
    c = item.coalition
    found: list[Event] = []

    def add(uid: str, day: date, summary: str, description: str) -> Event:
        event = Event()
        event.add("uid", f"{item.slug}-{uid}@{host}")
        event.add("dtstamp", stamp)
        event.add("dtstart", day)
        event.add("dtend", day + timedelta(days=1))
        event.add("summary", f"{c.name}: {summary}")
        event.add("description", description)
        event.add("transp", "TRANSPARENT")
        found.append(event)
        return event

    if c.window is not None:
        add("window", c.window.date, c.window.event, "The window that makes now the time.")
    if c.launch is not None and c.launch.date is not None:
        add("launch", c.launch.date, "launch", c.launch.first_win or "The first joint action.")
    questions = c.review.questions if c.review else ()
    for number, day in enumerate(schedule.review_dates(c), start=1):
        add(f"review-{day.isoformat()}", day, f"review {number}", "\n".join(questions))
    checkins = schedule.check_in_dates(c)
    if checkins:
        comm = c.communication
        detail = f"{comm.minutes} minutes" + (f", {comm.channel}" if comm.channel else "")
        event = add("check-in", checkins[0], f"{comm.cadence} check-in", detail)
        rule: dict[str, str | int] = dict(_FREQ[comm.cadence])
        rule["COUNT"] = len(checkins)
        event.add("rrule", vRecur(rule))
    sunset = schedule.sunset_date(c)
    if sunset is not None:
        renewal = c.exit.renewal if c.exit and c.exit.renewal else ""
        add("sunset", sunset, "sunset unless renewed", renewal)
    return found
