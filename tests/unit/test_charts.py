"""charts.py: the matrix and the timeline as SVG, escaped, the same every time."""

from __future__ import annotations

from datetime import date
from xml.etree import ElementTree

from playbook_builder import advise, charts
from playbook_builder.schedule import Event
from tests.unit.make import coalition, partner


def test_the_matrix_is_well_formed_and_escaped() -> None:
    c = coalition(partners=(partner("a", "A & <B>", 9), partner("b", "Beta", 21)))
    svg = str(charts.matrix_chart(advise.matrix(c), advise.THRESHOLDS, "matrix-x"))
    ElementTree.fromstring(svg)
    assert "A &amp; &lt;B&gt;" in svg
    assert svg == str(charts.matrix_chart(advise.matrix(c), advise.THRESHOLDS, "matrix-x"))


def test_the_timeline_is_well_formed() -> None:
    events = (
        Event(kind="launch", day=date(2027, 1, 10), label="Launch"),
        Event(kind="review", day=date(2027, 4, 10), label="Review <now>"),
        Event(kind="sunset", day=date(2028, 1, 10), label="Sunset unless renewed"),
    )
    svg = str(charts.timeline_chart(events, date(2027, 2, 1), "timeline-x"))
    ElementTree.fromstring(svg)
    assert "&lt;now&gt;" in svg
