"""iCalendar files of coalition dates, written with the icalendar library.

Everything is an all-day event (the files say on which day, not at what hour), check-ins
are one recurring event, and every identifier and stamp comes from the data and the
build's `today`, so the same inputs give the same bytes. Each coalition's events are
serialised once and reused in the calendar of every coalition.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING

from playbook_builder.model import Coalition
from playbook_builder.schedule import Event as Dated

if TYPE_CHECKING:
    from icalendar import Event
    from icalendar.parser import Contentline

# icalendar (20 ms to import) is imported where a calendar is made: a build that follows
# a change hands its packet to the printers before it makes any

_FREQ: dict[str, dict[str, str | int]] = {
    "weekly": {"FREQ": "WEEKLY"},
    "biweekly": {"FREQ": "WEEKLY", "INTERVAL": 2},
    "monthly": {"FREQ": "MONTHLY"},
    "quarterly": {"FREQ": "MONTHLY", "INTERVAL": 3},
}
_END = b"END:VCALENDAR\r\n"
_FOLD_AT = 74
"""Characters of a folded line before the break: icalendar's rule for ASCII lines (75
octets with the space that begins the next line)."""


def calendar(title: str, event_blocks: Iterable[bytes]) -> bytes:
    """A calendar holding already serialised events."""
    from icalendar import Calendar

    cal = Calendar()
    cal.add("prodid", "-//playbook//coalition playbook//EN")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", title)
    shell: bytes = cal.to_ical()
    assert shell.endswith(_END)
    return shell[: -len(_END)] + b"".join(event_blocks) + _END


def events(slug: str, c: Coalition, dated: Sequence[Dated], today: date, host: str) -> bytes:
    """One coalition's dated events as serialised VEVENTs."""
    from icalendar import Event, vDDDTypes, vRecur, vText

    # the same for every event: converted to iCalendar values once, not once an event
    stamp = vDDDTypes(datetime(today.year, today.month, today.day, tzinfo=UTC))
    transparent = vText("TRANSPARENT")
    out: list[bytes] = []

    def add(uid: str, day: date, summary: str, description: str) -> Event:
        event = Event()
        event.add("uid", f"{slug}-{uid}@{host}")
        event.add("dtstamp", stamp)
        event.add("dtstart", day)
        event.add("dtend", day + timedelta(days=1))
        event.add("summary", f"{c.name}: {summary}")
        event.add("description", description)
        event.add("transp", transparent)
        return event

    questions = "\n".join(c.review.questions) if c.review else ""
    check_ins = [e.day for e in dated if e.kind == "check-in"]
    review_days = [e.day for e in dated if e.kind == "review"]
    for item in dated:
        if item.kind == "window" and c.window is not None:
            window = add("window", item.day, c.window.event, "The window that makes now the time.")
            out.append(_serialised(window))
        elif item.kind == "launch":
            first_win = c.launch.first_win if c.launch else None
            launch = add("launch", item.day, "launch", first_win or "The first joint action.")
            out.append(_serialised(launch))
        elif item.kind == "review" and item.day == review_days[0]:
            # one recurring event for the whole review schedule, like the check-ins
            event = add("review", item.day, "review", questions)
            every = c.review.every_months if c.review else None
            if every and len(review_days) > 1:
                event.add(
                    "rrule",
                    vRecur({"FREQ": "MONTHLY", "INTERVAL": every, "COUNT": len(review_days)}),
                )
            out.append(_serialised(event))
        elif item.kind == "check-in" and item.day == check_ins[0]:
            comm = c.communication
            detail = f"{comm.minutes} minutes" + (f", {comm.channel}" if comm.channel else "")
            event = add("check-in", item.day, f"{comm.cadence} check-in", detail)
            rule: dict[str, str | int] = dict(_FREQ[comm.cadence])
            rule["COUNT"] = len(check_ins)
            event.add("rrule", vRecur(rule))
            out.append(_serialised(event))
        elif item.kind == "sunset":
            renewal = c.exit.renewal if c.exit and c.exit.renewal else ""
            out.append(_serialised(add("sunset", item.day, "sunset unless renewed", renewal)))
    return b"".join(out)


def _serialised(event: Event) -> bytes:
    """The event as `event.to_ical()` gives it: its content lines, each folded. icalendar
    folds a line one character at a time (a fifth of the time a calendar took); an ASCII
    line, nearly every line here, is folded here by slicing, by the same rule."""
    return b"".join(_folded(line) + b"\r\n" for line in event.content_lines() if line)


def _folded(line: Contentline) -> bytes:
    """A content line folded as icalendar folds it: pieces of up to 74 characters, each
    after the first on a line of its own that begins with a space, and a backslash or
    caret that would end a piece begins the next instead, so that no escape is split."""
    if not line.isascii():
        folded: bytes = line.to_ical()  # type: ignore[no-untyped-call]  # the library's own
        return folded
    if len(line) <= _FOLD_AT:
        return line.encode("ascii")
    pieces = []
    start, end = 0, len(line)
    while end - start > _FOLD_AT:
        cut = start + _FOLD_AT
        if line[cut - 1] in "\\^":
            cut -= 1
        pieces.append(line[start:cut])
        start = cut
    pieces.append(line[start:])
    return "\r\n ".join(pieces).encode("ascii")
