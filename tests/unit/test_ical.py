"""ical.py: events serialised as icalendar serialises them, folded lines included."""

from __future__ import annotations

from datetime import UTC, date, datetime

from hypothesis import given, settings
from hypothesis import strategies as st
from icalendar import Event, vRecur

from playbook_builder import ical

# escapes (a backslash, a caret in parameters) and the characters escaped, where a line
# is folded; and letters of two, three and four octets
TEXT = st.text(
    alphabet=st.sampled_from([*"ab c,;:\\^\n\"'", "é", "€", "𝄞"]),
    max_size=400,
)


def _event(summary: str, description: str, uid: str) -> Event:
    event = Event()
    event.add("uid", uid)
    event.add("dtstamp", datetime(2026, 11, 25, tzinfo=UTC))
    event.add("dtstart", date(2026, 12, 1))
    event.add("summary", summary)
    event.add("description", description)
    event.add("rrule", vRecur({"FREQ": "WEEKLY", "INTERVAL": 2, "COUNT": 38}))
    return event


@settings(max_examples=300, deadline=None)
@given(summary=TEXT, description=TEXT, uid=st.text(alphabet="ab-\\^@.", max_size=200))
def test_an_event_comes_out_as_icalendar_writes_it(
    summary: str, description: str, uid: str
) -> None:
    event = _event(summary, description, uid)
    assert ical._serialised(event) == event.to_ical()


def test_a_line_is_folded_where_icalendar_folds_it() -> None:
    """Lines of every length around the folds, with an escape (a backslash, written as
    two) or a letter of several octets at every place near them."""
    for length in range(60, 240, 7):
        for odd in ("\\", "é", "𝄞"):
            for at in range(55, 160):
                text = ["x"] * length
                if at < length:
                    text[at] = odd
                event = _event("".join(text), "d", "u")
                assert ical._serialised(event) == event.to_ical()
