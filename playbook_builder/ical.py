"""iCalendar files of coalition dates, byte for byte as the icalendar library writes them.

The library's value types serialise the dates and recurrence rules (each different one
once in a process), and its rules give the order of the properties and the folding of long
lines; the lines themselves are put together here and the text values escaped here, by
the library's rule: 0.04 ms a coalition, against 0.23 ms through the value types and
about 0.7 ms making the library's `Event` objects and serialising them (the tests hold
this module to those objects' output, for any text).

Everything is an all-day event (the files say on which day, not at what hour), check-ins
are one recurring event, and every identifier and stamp comes from the data and the
build's `today`, so the same inputs give the same bytes. Each coalition's events are
serialised once and reused in the calendar of every coalition.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import cache
from typing import TYPE_CHECKING, Any

from playbook_builder.model import Coalition
from playbook_builder.schedule import Event as Dated

if TYPE_CHECKING:
    from icalendar import Component

# icalendar (20 ms to import) is imported where a calendar is made: a build that follows
# a change hands its packet to the printers before it makes any

_FREQ: dict[str, dict[str, str | int]] = {
    "weekly": {"FREQ": "WEEKLY"},
    "biweekly": {"FREQ": "WEEKLY", "INTERVAL": 2},
    "monthly": {"FREQ": "MONTHLY"},
    "quarterly": {"FREQ": "MONTHLY", "INTERVAL": 3},
}
_BEGIN_CALENDAR = b"BEGIN:VCALENDAR\r\n"
_END = b"END:VCALENDAR\r\n"
_BEGIN_EVENT = b"BEGIN:VEVENT\r\n"
_END_EVENT = b"END:VEVENT\r\n"
_FOLD_AT = 74
"""Characters of a folded line before the break: icalendar's rule for ASCII lines (75
octets with the space that begins the next line)."""


def ready() -> None:
    """Import icalendar now (see `render.Renderer.warm`)."""
    import icalendar  # noqa: F401


def calendar(title: str, event_blocks: Iterable[bytes]) -> bytes:
    """A calendar holding already serialised events."""
    from icalendar import Calendar, vText

    # the title typed as the library types it (it does not know the property: unescaped)
    typed = Calendar.types_factory.for_property("X-WR-CALNAME")(title)
    lines = {
        "PRODID": _line("PRODID", vText("-//playbook//coalition playbook//EN")),
        "VERSION": _line("VERSION", vText("2.0")),
        "CALSCALE": _line("CALSCALE", vText("GREGORIAN")),
        "X-WR-CALNAME": _line("X-WR-CALNAME", typed),
    }
    ordered = [lines[name] for name in _order(Calendar, tuple(lines))]
    return b"".join([_BEGIN_CALENDAR, *ordered, *event_blocks, _END])


@dataclass(frozen=True, slots=True)
class Entry:
    """One event of a coalition's calendar, before it is serialised."""

    uid: str
    day: date
    """The day it falls on (all day: it ends the next day)."""
    summary: str
    description: str
    rule: dict[str, str | int] | None = None
    """How it recurs (an RRULE's parts), if it does."""


def entries(slug: str, c: Coalition, dated: Sequence[Dated], host: str) -> list[Entry]:
    """The events a coalition's calendar holds, in date order: check-ins and reviews are
    one recurring event each."""
    questions = "\n".join(c.review.questions) if c.review else ""
    check_ins = [e.day for e in dated if e.kind == "check-in"]
    review_days = [e.day for e in dated if e.kind == "review"]
    found: list[Entry] = []

    def add(
        uid: str,
        item: Dated,
        summary: str,
        description: str,
        rule: dict[str, str | int] | None = None,
    ) -> None:
        uid = f"{slug}-{uid}@{host}"
        found.append(Entry(uid, item.day, f"{c.name}: {summary}", description, rule))

    for item in dated:
        if item.kind == "window" and c.window is not None:
            add("window", item, c.window.event, "The window that makes now the time.")
        elif item.kind == "launch":
            first_win = c.launch.first_win if c.launch else None
            add("launch", item, "launch", first_win or "The first joint action.")
        elif item.kind == "review" and item.day == review_days[0]:
            every = c.review.every_months if c.review else None
            rule: dict[str, str | int] | None = None
            if every and len(review_days) > 1:
                rule = {"FREQ": "MONTHLY", "INTERVAL": every, "COUNT": len(review_days)}
            add("review", item, "review", questions, rule)
        elif item.kind == "check-in" and item.day == check_ins[0]:
            comm = c.communication
            detail = f"{comm.minutes} minutes" + (f", {comm.channel}" if comm.channel else "")
            repeated = {**_FREQ[comm.cadence], "COUNT": len(check_ins)}
            add("check-in", item, f"{comm.cadence} check-in", detail, repeated)
        elif item.kind == "sunset":
            renewal = c.exit.renewal if c.exit and c.exit.renewal else ""
            add("sunset", item, "sunset unless renewed", renewal)
    return found


def events(slug: str, c: Coalition, dated: Sequence[Dated], today: date, host: str) -> bytes:
    """One coalition's dated events as serialised VEVENTs."""
    from icalendar import Event

    stamp = _day_line("DTSTAMP", datetime(today.year, today.month, today.day, tzinfo=UTC))
    out: list[bytes] = []
    for entry in entries(slug, c, dated, host):
        lines = {
            "UID": _text_line("UID", entry.uid),
            "DTSTAMP": stamp,
            "DTSTART": _day_line("DTSTART", entry.day),
            "DTEND": _day_line("DTEND", entry.day + timedelta(days=1)),
            "SUMMARY": _text_line("SUMMARY", entry.summary),
            "DESCRIPTION": _text_line("DESCRIPTION", entry.description),
            "TRANSP": _TRANSPARENT,
        }
        if entry.rule is not None:
            lines["RRULE"] = _rule_line(tuple(entry.rule.items()))
        ordered = (lines[name] for name in _order(Event, tuple(lines)))
        out.append(b"".join([_BEGIN_EVENT, *ordered, _END_EVENT]))
    return b"".join(out)


_TRANSPARENT = b"TRANSP:TRANSPARENT\r\n"


def _text_line(name: str, text: str) -> bytes:
    """A text property as the library's `vText` writes it, escaped by hand: making a
    `vText` (and the parameters object every value gets) was four fifths of the time
    this module took, 0.23 ms a coalition, for 19 text values a coalition."""
    return _folded(f"{name}:{_escaped(text)}") + b"\r\n"


def _escaped(text: str) -> str:
    """Text escaped as icalendar escapes a TEXT value (RFC 5545, 3.3.11), in its order:
    an escaped `N` read as a line break first, every line break written as an escaped
    `n` last."""
    return (
        text.replace("\\N", "\n")
        .replace("\\", "\\\\")
        .replace(";", "\\;")
        .replace(",", "\\,")
        .replace("\r\n", "\\n")
        .replace("\n", "\\n")
        .replace("\r", "\\n")
    )


@cache
def _day_line(name: str, day: date) -> bytes:
    """A date (or the stamp's time) as the library writes it: a few hundred different
    days in a build, each written once."""
    from icalendar import vDDDTypes

    return _line(name, vDDDTypes(day))


@cache
def _rule_line(rule: tuple[tuple[str, str | int], ...]) -> bytes:
    """A recurrence rule as the library writes it, once for each rule."""
    from icalendar import vRecur

    return _line("RRULE", vRecur(dict(rule)))


@cache
def _order(component: type[Component], names: tuple[str, ...]) -> list[str]:
    """The order in which icalendar writes a component's properties: the component's
    canonical order first, the others by name."""
    from icalendar.caselessdict import canonsort_keys

    return canonsort_keys(names, component.canonical_order)


def _line(name: str, value: Any) -> bytes:
    """One property as icalendar's components write it: the value and its parameters
    serialised by the library's own value type, the line folded. (An `Event` makes its
    lines through case-insensitive dictionaries and a type lookup for each property.)"""
    params = value.params.to_ical().decode() if value.params else ""
    text = value.to_ical().decode()
    return _folded(f"{name};{params}:{text}" if params else f"{name}:{text}") + b"\r\n"


def _folded(line: str) -> bytes:
    """A content line folded as icalendar folds it: pieces of up to 74 characters, each
    after the first on a line of its own that begins with a space, and a backslash or
    caret that would end a piece begins the next instead, so that no escape is split."""
    if not line.isascii():
        from icalendar.parser import Contentline

        folded: bytes = Contentline(line).to_ical()  # type: ignore[no-untyped-call]
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
