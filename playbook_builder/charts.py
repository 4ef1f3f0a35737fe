"""Inline SVG pictures drawn at build time: the decision matrix and the timeline (pure).

Every text that comes from a coalition file is escaped; the SVGs carry a title and a
description for screen readers, and the pages put the same facts in a table beside them.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from markupsafe import Markup, escape

from playbook_builder.advise import Matrix, Thresholds
from playbook_builder.schedule import Event

BAND_COLOURS = ("#f3e3c3", "#d7e6f4", "#d3ecd9")
"""Backgrounds of the opportunistic, values-bridge and structural bands."""
SCORE_COLOUR = "#2f5d8a"
EMPTY_COLOUR = "#e4e7eb"
INK = "#1f2933"
MUTED = "#52606d"
KIND_COLOURS = {
    "window": "#b44d12",
    "effective": "#2f5d8a",
    "launch": "#2f7d4f",
    "review": "#6b3fa0",
    "check-in": "#7b8794",
    "sunset": "#a61b29",
}
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _n(value: float) -> str:
    """A coordinate with at most one decimal, so output is stable and small."""
    if type(value) is int:  # most of them: the matrix's cells, rows and ticks
        return str(value)
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text


def _wrap(text: str, width: int) -> list[str]:
    """Words in lines of at most `width` characters; a longer word gets a line of its own,
    broken where it must be. Nothing is left out."""
    lines: list[str] = []
    for word in text.split():
        while len(word) > width:
            lines.append(word[:width])
            word = word[width:]
        if lines and len(lines[-1]) + 1 + len(word) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return lines or [""]


def matrix_chart(grid: Matrix, thresholds: Thresholds, chart_id: str) -> Markup:
    """Each partner's five scores as cells, and the total on the 5-25 scale with the bands."""
    label_w, cell, gap, group_gap = 190, 9, 2, 12
    group_w = 5 * cell + 4 * gap
    scores_x = label_w
    total_x = scores_x + 5 * (group_w + group_gap) + 8
    total_w = 230
    row_h, line_h, top = 30, 14, 44
    names = [_wrap(row.partner.name, 28) for row in grid.rows]
    heights = [row_h + line_h * (len(lines) - 1) for lines in names]
    offsets = [top + sum(heights[:index]) for index in range(len(heights))]
    height = top + sum(heights) + 26
    width = total_x + total_w + 40

    def scale(total: float) -> float:
        return total_x + (total - 5) / 20 * total_w

    # where each of a row's 25 cells begins, and the rest of its outline after the row's y
    starts = [
        f"M{_n(scores_x + group * (group_w + group_gap) + step * (cell + gap))} "
        for group in range(5)
        for step in range(5)
    ]
    outline = f"h{cell}v{cell + 4}h-{cell}z"

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart matrix-chart" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" '
        f'aria-labelledby="{chart_id}-title {chart_id}-desc">',
        f'<title id="{chart_id}-title">Decision matrix</title>',
        f'<desc id="{chart_id}-desc">Each partner\'s five scores from 1 to 5 and its total '
        f"from 5 to 25, against the bands that support each alliance model. The table "
        f"below gives the same numbers.</desc>",
    ]
    short = ("Align", "Trust", "Resrc", "Time", "Exit")
    for index, name in enumerate(short):
        x = scores_x + index * (group_w + group_gap) + group_w / 2
        parts.append(
            f'<text x="{_n(x)}" y="{top - 10}" text-anchor="middle" font-size="11" '
            f'fill="{MUTED}">{name}</text>'
        )
    bands = (
        (5, thresholds.values_bridge_from - 0.5, "opportunistic"),
        (thresholds.values_bridge_from - 0.5, thresholds.structural_from - 0.5, "values-bridge"),
        (thresholds.structural_from - 0.5, 25, "structural"),
    )
    band_bottom = top + sum(heights) - 4
    for (low, high, name), colour in zip(bands, BAND_COLOURS, strict=True):
        parts.append(
            f'<rect x="{_n(scale(low))}" y="{top - 6}" width="{_n(scale(high) - scale(low))}" '
            f'height="{band_bottom - top + 6}" fill="{colour}"/>'
        )
        parts.append(
            f'<text x="{_n((scale(low) + scale(high)) / 2)}" y="{top - 10}" '
            f'text-anchor="middle" font-size="11" fill="{MUTED}">{name}</text>'
        )
    for tick in (5, 10, 15, 20, 25):
        parts.append(
            f'<text x="{_n(scale(tick))}" y="{band_bottom + 16}" text-anchor="middle" '
            f'font-size="10" fill="{MUTED}">{tick}</text>'
        )
    for row_index, row in enumerate(grid.rows):
        y = offsets[row_index]
        lowest = row is grid.lowest
        weight = ' font-weight="bold"' if lowest else ""
        lines = names[row_index]
        label = "".join(
            f'<tspan x="0" dy="{0 if number == 0 else line_h}">{escape(line)}</tspan>'
            for number, line in enumerate(lines)
        )
        content = str(escape(lines[0])) if len(lines) == 1 else label
        parts.append(
            f'<text x="0" y="{y + 14}" font-size="12" fill="{INK}"{weight}>{content}</text>'
        )
        filled: list[str] = []
        empty: list[str] = []
        rest = f"{y + 5}{outline}"
        for group, score in enumerate(row.scores):
            for step in range(5):
                cells = filled if step < score else empty
                cells.append(starts[5 * group + step] + rest)
        # one path per colour keeps the picture small: 25 cells a partner
        parts.append(f'<path d="{"".join(filled)}" fill="{SCORE_COLOUR}"/>')
        if empty:
            parts.append(f'<path d="{"".join(empty)}" fill="{EMPTY_COLOUR}"/>')
        bar_end = scale(row.total)
        parts.append(
            f'<rect x="{total_x}" y="{y + 6}" width="{_n(bar_end - total_x)}" height="12" '
            f'rx="2" fill="{INK if lowest else SCORE_COLOUR}"/>'
        )
        parts.append(
            f'<text x="{_n(bar_end + 5)}" y="{y + 16}" font-size="12" fill="{INK}"{weight}>'
            f"{row.total}</text>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def timeline_chart(events: Sequence[Event], today: date, chart_id: str) -> Markup:
    """The coalition's dated events on a horizontal line, with today marked."""
    days = [e.day for e in events] + [today]
    start, end = min(days), max(days)
    start = date(start.year, start.month, 1)
    end = date(end.year + (end.month == 12), end.month % 12 + 1, 1)
    width, left, right = 760, 32, 32
    axis_y = 70
    span = max((end - start).days, 1)

    def x_of(day: date) -> float:
        return left + (day - start).days / span * (width - left - right)

    labelled = [e for e in events if e.kind != "check-in"]
    spans: list[list[tuple[float, float]]] = []  # the labels of each row, (left, right)
    placed: list[tuple[Event, float, int, str]] = []

    # right to left: a label runs rightwards from its event, so an event is placed below
    # every label to its right that it would otherwise cross, and no leader line ever
    # runs through a label
    # (near the right edge the picture grows wider instead: a label always starts at its
    # event, so no label reaches back over another event)
    for event in sorted(labelled, key=lambda e: x_of(e.day), reverse=True):
        x = x_of(event.day)
        text_w = 6.2 * len(_label(event))
        x0, x1 = x + 3, x + 3 + text_w  # clear of its own leader line
        below = [row for _, other, row, _ in placed if x0 - 4 <= other <= x1 + 4]
        row = max(below, default=-1) + 1
        while row < len(spans) and (
            any(left - 6 < x1 and x0 < right + 6 for left, right in spans[row])
            or any(left - 3 <= x <= right + 3 for above in spans[:row] for left, right in above)
        ):
            row += 1
        while len(spans) <= row:
            spans.append([])
        spans[row].append((x0, x1))
        placed.append((event, x, row, _n(x0)))
    rows = spans
    axis_end = width - right
    width = max(width, int(max((x1 for row in spans for _, x1 in row), default=0)) + 8)
    height = axis_y + 36 + 18 * max(len(rows), 1)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart timeline-chart" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" '
        f'aria-labelledby="{chart_id}-title {chart_id}-desc">',
        f'<title id="{chart_id}-title">Timeline</title>',
        f'<desc id="{chart_id}-desc">The window, launch, reviews, check-ins and sunset on a '
        f"line from {start.isoformat()} to {end.isoformat()}, with today marked. The list "
        f"below gives the same dates.</desc>",
        f'<line x1="{left}" y1="{axis_y}" x2="{_n(axis_end)}" y2="{axis_y}" '
        f'stroke="{MUTED}" stroke-width="1.5"/>',
    ]
    month = start
    months_total = (end.year - start.year) * 12 + end.month - start.month
    step = 1 if months_total <= 8 else 3 if months_total <= 30 else 6
    while month <= end:
        at = _n(x_of(month))
        parts.append(
            f'<line x1="{at}" y1="{axis_y - 4}" x2="{at}" y2="{axis_y + 4}" stroke="{MUTED}"/>'
        )
        if (month.month - 1) % step == 0:
            parts.append(
                f'<text x="{at}" y="{axis_y + 18}" text-anchor="middle" font-size="10" '
                f'fill="{MUTED}">{MONTHS[month.month - 1]} {month.year}</text>'
            )
        month = date(month.year + (month.month == 12), month.month % 12 + 1, 1)
    for event in events:
        if event.kind == "check-in":
            x = x_of(event.day)
            parts.append(
                f'<circle cx="{_n(x)}" cy="{axis_y - 11}" r="2" fill="{KIND_COLOURS["check-in"]}"/>'
            )
    today_x = x_of(today)
    parts.append(
        f'<line x1="{_n(today_x)}" y1="8" x2="{_n(today_x)}" y2="{axis_y + 6}" '
        f'stroke="#d64545" stroke-width="2" stroke-dasharray="4 3"/>'
        f'<text x="{_n(today_x + 4)}" y="16" font-size="11" fill="#d64545">today</text>'
    )
    for event, x, row, label_x in placed:
        colour = KIND_COLOURS[event.kind]
        parts.append(_marker(event.kind, x, axis_y, colour))
        label_y = axis_y + 36 + 18 * row
        parts.append(
            f'<line x1="{_n(x)}" y1="{axis_y + 7}" x2="{_n(x)}" y2="{label_y - 10}" '
            f'stroke="{colour}" stroke-width="0.75" stroke-dasharray="2 2"/>'
            f'<text x="{label_x}" y="{label_y}" font-size="11" fill="{colour}">'
            f"{escape(_label(event))}</text>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def _label(event: Event) -> str:
    names = {
        "window": "Window",
        "effective": "MOU in effect",
        "launch": "Launch",
        "review": event.label,
        "sunset": "Sunset",
        "check-in": "Check-in",
    }
    day = event.day
    return f"{names[event.kind]}, {day.day} {MONTHS[day.month - 1]} {day.year}"


def _marker(kind: str, x: float, y: float, colour: str) -> str:
    if kind == "window":
        return (
            f'<path d="M{_n(x)} {_n(y - 7)} L{_n(x + 7)} {_n(y)} L{_n(x)} {_n(y + 7)} '
            f'L{_n(x - 7)} {_n(y)} Z" fill="{colour}"/>'
        )
    if kind == "review":
        return f'<rect x="{_n(x - 5)}" y="{_n(y - 5)}" width="10" height="10" fill="{colour}"/>'
    if kind == "sunset":
        return (
            f'<path d="M{_n(x)} {_n(y + 7)} L{_n(x + 7)} {_n(y - 6)} L{_n(x - 7)} {_n(y - 6)} Z" '
            f'fill="{colour}"/>'
        )
    return f'<circle cx="{_n(x)}" cy="{_n(y)}" r="6" fill="{colour}"/>'
