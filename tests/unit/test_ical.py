"""ical.py: calendars and events byte for byte as icalendar's own components write them.

ical.py puts the lines together itself, from the library's value types; the library's
`Calendar` and `Event`, made and serialised as the library's documentation shows, are
the reference it is held to here.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import get_args

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from icalendar import Calendar, Event, vRecur
from pydantic import TypeAdapter

from playbook_builder import ical, schedule
from playbook_builder.model import Cadence, Coalition
from tests.conftest import DATA, REPO

# escapes (a backslash, a caret in parameters) and the characters escaped, where a line
# is folded; and letters of two, three and four octets
ONE_LINE = [*"ab cN,;:\\^\"'", "é", "€", "𝄞"]
NAME = st.text(alphabet=st.sampled_from(ONE_LINE), max_size=400)
"""A coalition's name: one line (the calendar's name is the library's to write)."""
TEXT = st.text(alphabet=st.sampled_from([*ONE_LINE, "\n", "\r"]), max_size=400)
"""Free text: line breaks too (and the `N` after a backslash, which reads as one)."""
LINES = st.lists(TEXT, min_size=1, max_size=4)
"""Several lines of text (a review's questions, joined by line breaks)."""
TODAY = date(2026, 11, 25)
HOST = "intranet.example.org"
FILES = [DATA / "example-coalition.yaml", *sorted((REPO / "coalitions").glob("*.yaml"))]
_FREQ: dict[str, dict[str, str | int]] = {
    "weekly": {"FREQ": "WEEKLY"},
    "biweekly": {"FREQ": "WEEKLY", "INTERVAL": 2},
    "monthly": {"FREQ": "MONTHLY"},
    "quarterly": {"FREQ": "MONTHLY", "INTERVAL": 3},
}


@cache
def _coalition(path: Path) -> Coalition:
    return TypeAdapter(Coalition).validate_python(yaml.safe_load(path.read_text()))


def _by_the_library(slug: str, c: Coalition, dated: Sequence[schedule.Event]) -> bytes:
    """The calendar of one coalition made of icalendar's components, from the same
    entries."""
    cal = Calendar()
    cal.add("prodid", "-//playbook//coalition playbook//EN")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", c.name)
    for entry in ical.entries(slug, c, dated, HOST):
        event = Event()
        event.add("uid", entry.uid)
        event.add("dtstamp", datetime(TODAY.year, TODAY.month, TODAY.day, tzinfo=UTC))
        event.add("dtstart", entry.day)
        event.add("dtend", entry.day + timedelta(days=1))
        event.add("summary", entry.summary)
        event.add("description", entry.description)
        event.add("transp", "TRANSPARENT")
        if entry.rule is not None:
            event.add("rrule", vRecur(entry.rule))
        cal.add_component(event)
    written: bytes = cal.to_ical()
    return written


def _by_ical_py(slug: str, c: Coalition, dated: Sequence[schedule.Event]) -> bytes:
    return ical.calendar(c.name, [ical.events(slug, c, dated, TODAY, HOST)])


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_a_coalition_s_calendar_is_the_library_s(path: Path) -> None:
    c = _coalition(path)
    dated = schedule.events(c)
    assert _by_ical_py(path.stem, c, dated) == _by_the_library(path.stem, c, dated)


def test_the_samples_have_every_kind_of_event() -> None:
    kinds = {e.kind for path in FILES for e in schedule.events(_coalition(path))}
    assert kinds >= {"window", "launch", "review", "check-in", "sunset"}


@pytest.mark.parametrize("cadence", get_args(Cadence))
@pytest.mark.parametrize("every", [None, 1, 6])
def test_every_rhythm_of_check_ins_and_reviews_is_the_library_s(
    cadence: Cadence, every: int | None
) -> None:
    base = _coalition(FILES[1])
    assert base.review is not None
    c = dataclasses.replace(
        base,
        communication=dataclasses.replace(base.communication, cadence=cadence),
        review=dataclasses.replace(base.review, every_months=every),
    )
    dated = schedule.events(c)
    found = ical.entries("slug", c, dated, HOST)
    rules = {entry.uid.split("@")[0]: entry.rule for entry in found}
    assert rules["slug-check-in"] == {
        **_FREQ[cadence],
        "COUNT": sum(1 for e in dated if e.kind == "check-in"),
    }
    reviews = sum(1 for e in dated if e.kind == "review")
    assert rules["slug-review"] == (
        {"FREQ": "MONTHLY", "INTERVAL": every, "COUNT": reviews} if every and reviews > 1 else None
    )
    assert _by_ical_py("slug", c, dated) == _by_the_library("slug", c, dated)


@settings(max_examples=200, deadline=None)
@given(name=NAME, window=TEXT, first_win=TEXT, questions=LINES, channel=TEXT, renewal=TEXT)
def test_any_text_comes_out_as_the_library_writes_it(
    name: str, window: str, first_win: str, questions: list[str], channel: str, renewal: str
) -> None:
    base = _coalition(FILES[1])
    assert base.window
    assert base.launch
    assert base.review
    assert base.exit
    c = dataclasses.replace(
        base,
        name=name,
        window=dataclasses.replace(base.window, event=window),
        launch=dataclasses.replace(base.launch, first_win=first_win),
        review=dataclasses.replace(base.review, questions=tuple(questions)),
        communication=dataclasses.replace(base.communication, channel=channel),
        exit=dataclasses.replace(base.exit, renewal=renewal),
    )
    dated = schedule.events(c)
    assert _by_ical_py("a-b", c, dated) == _by_the_library("a-b", c, dated)


def test_a_line_is_folded_where_the_library_folds_it() -> None:
    """Lines of every length around the folds, with an escape (a backslash, written as
    two) or a letter of several octets at every place near them."""
    for length in range(60, 240, 7):
        for odd in ("\\", "é", "𝄞"):
            for at in range(55, 160):
                text = ["x"] * length
                if at < length:
                    text[at] = odd
                event = Event()
                event.add("summary", "".join(text))
                line = ical._line("SUMMARY", event["SUMMARY"])
                assert b"BEGIN:VEVENT\r\n" + line + b"END:VEVENT\r\n" == event.to_ical()
