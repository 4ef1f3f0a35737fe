"""Plain JSON values of the records (`json_ready`): what the fingerprint, the coalition's
JSON and the load cache are made of."""

from __future__ import annotations

import datetime
import enum
from dataclasses import dataclass
from fractions import Fraction

from playbook_builder.model import json_ready


class Kind(enum.StrEnum):
    ONE = "one"


@dataclass(frozen=True)
class Inner:
    day: datetime.date
    share: Fraction


@dataclass(frozen=True)
class Outer:
    name: str
    count: int
    ok: bool
    ratio: float
    missing: None
    kind: Kind
    inner: Inner
    items: tuple[Inner, ...]
    names: list[str]
    by: dict[int, Inner]


def test_every_kind_of_value_becomes_plain_json() -> None:
    inner = Inner(datetime.date(2026, 11, 25), Fraction(2, 3))
    whole = Inner(datetime.date(2027, 1, 2), Fraction(1))
    value = Outer("a", 3, True, 0.5, None, Kind.ONE, inner, (inner, whole), ["x"], {7: whole})
    plain = {"day": "2026-11-25", "share": "2/3"}
    assert json_ready(value) == {
        "name": "a",
        "count": 3,
        "ok": True,
        "ratio": 0.5,
        "missing": None,
        "kind": "one",
        "inner": plain,
        "items": [plain, {"day": "2027-01-02", "share": "1/1"}],
        "names": ["x"],
        "by": {"7": {"day": "2027-01-02", "share": "1/1"}},
    }
    assert type(json_ready(value)["ok"]) is bool
    assert json_ready(Outer) is Outer  # a record's class is not a record
