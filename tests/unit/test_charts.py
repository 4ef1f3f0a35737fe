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


def test_no_partner_name_is_cut_at_the_longest_the_contract_allows() -> None:
    longest = ("Eastside Community Food Bank and Mutual Aid Network " * 40)[:2000].strip()
    c = coalition(partners=(partner("a", longest, 9), partner("b", "B", 21)))
    svg = str(charts.matrix_chart(advise.matrix(c), advise.THRESHOLDS, "m"))
    root = ElementTree.fromstring(svg)
    label = next(
        t
        for t in root.iter("{http://www.w3.org/2000/svg}text")
        if "Eastside" in "".join(t.itertext())
    )
    assert "".join("".join(label.itertext()).split()) == "".join(longest.split())
    assert "\u2026" not in svg


def _timeline_geometry(
    svg: str,
) -> tuple[list[tuple[float, float]], list[tuple[float, float, float]]]:
    """(x, bottom) of every leader line, and (left, right, y) of every event label."""
    root = ElementTree.fromstring(svg)
    ns = "{http://www.w3.org/2000/svg}"
    leaders = [
        (float(line.get("x1", 0)), float(line.get("y2", 0)))
        for line in root.iter(f"{ns}line")
        if line.get("stroke-dasharray") == "2 2"
    ]
    labels = []
    for text in root.iter(f"{ns}text"):
        if text.get("font-size") != "11" or text.text in (None, "today"):
            continue
        x, width = float(text.get("x", 0)), 6.2 * len(text.text or "")
        left = x - width if text.get("text-anchor") == "end" else x
        labels.append((left, left + width, float(text.get("y", 0))))
    return leaders, labels


def test_no_timeline_label_is_crossed_or_clipped() -> None:
    day = date(2027, 2, 10)
    events = [
        Event(kind="window", day=day, label="Hearing"),
        Event(kind="effective", day=day, label="MOU takes effect"),
        Event(kind="launch", day=date(2027, 2, 11), label="Launch"),
    ]
    events += [
        Event(kind="review", day=date(2027 + n // 12, n % 12 + 1, 1), label=f"Review {n}")
        for n in range(2, 24, 2)
    ]
    events.append(Event(kind="sunset", day=date(2029, 1, 31), label="Sunset"))
    svg = str(charts.timeline_chart(events, date(2027, 1, 1), "t"))
    leaders, labels = _timeline_geometry(svg)
    width = float(ElementTree.fromstring(svg).get("width", 0))
    for left, right, y in labels:
        assert left >= 0, left
        assert right <= width, right
        crossing = [x for x, bottom in leaders if left - 1 < x < right + 1 and bottom > y]
        assert crossing == [], (left, right, y)


def test_every_partner_has_its_label() -> None:
    c = coalition(partners=(partner("a", "Alpha", 9), partner("b", "Beta", 21)))
    svg = str(charts.matrix_chart(advise.matrix(c), advise.THRESHOLDS, "m"))
    texts = [
        "".join(t.itertext())
        for t in ElementTree.fromstring(svg).iter("{http://www.w3.org/2000/svg}text")
    ]
    assert "Alpha" in texts
    assert "Beta" in texts
