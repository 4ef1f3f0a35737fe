"""Plain JSON values of the records (`json_ready`): what the fingerprint, the coalition's
JSON and the load cache are made of; and the records pickled, as they cross between
processes."""

from __future__ import annotations

import copy
import datetime
import enum
import pickle
from dataclasses import FrozenInstanceError, dataclass
from fractions import Fraction

import pytest

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


def test_a_loaded_file_crosses_between_processes_whole() -> None:
    """Pickled (as a loading worker sends a file) and back: equal, every record and
    position; frozen records stay frozen."""
    from pathlib import Path

    from playbook_builder import load, workspace
    from playbook_builder.errors import Problem
    from tests.conftest import DATA, REPO

    found = workspace.Workspace(REPO)
    problems: list[Problem] = []
    config = load.load_config(found, problems)
    assert config is not None
    paths = [DATA / "example-coalition.yaml", *sorted((REPO / "coalitions").glob("*.yaml"))]
    for path in paths:
        item = load.load_coalition(found, Path(path), config, problems)
        assert item is not None, problems
        back = pickle.loads(pickle.dumps(item, protocol=pickle.HIGHEST_PROTOCOL))
        assert back == item
        assert back.located.values == item.located.values
        assert copy.deepcopy(item) == item
        with pytest.raises(FrozenInstanceError):
            back.coalition.name = "changed"
