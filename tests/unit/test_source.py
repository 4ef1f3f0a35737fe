"""source.py: YAML text -> plain values with the line and column of each."""

from __future__ import annotations

from datetime import date
from pathlib import Path, PurePosixPath

import pytest
import yaml

from playbook_builder import source
from playbook_builder.source import describe, field_path, parse, read_text

SHOWN = PurePosixPath("coalitions/x.yaml")


def test_positions_of_values_and_keys() -> None:
    parsed, problems = parse("name: A\npartners:\n  - id: a\n    name: Alpha\n", SHOWN)
    assert problems == []
    assert parsed is not None
    assert parsed.data == {"name": "A", "partners": [{"id": "a", "name": "Alpha"}]}
    assert parsed.located.at(("partners", 0, "name")) == (4, 11)
    assert parsed.located.at(("partners", 0, "name"), key=True) == (4, 5)
    assert parsed.located.at(("partners", 0, "missing")) == (3, 5)  # nearest located parent


def test_a_duplicate_key_is_a_located_problem() -> None:
    _, problems = parse("name: A\nname: B\n", SHOWN)
    assert [(p.line, p.column, p.field) for p in problems] == [(2, 1, "name")]


def test_tags_are_refused() -> None:
    _, problems = parse("name: !!python/name:os.system x\n", SHOWN)
    assert problems
    assert problems[0].line == 1


def test_a_syntax_error_says_where() -> None:
    parsed, problems = parse("name: [\n", SHOWN)
    assert parsed is None
    assert problems[0].field == "(yaml)"
    assert problems[0].line == 2


def test_bom_and_crlf_are_read_away(tmp_path: Path) -> None:
    path = tmp_path / "x.yaml"
    path.write_bytes(b"\xef\xbb\xbfname: A\r\npurpose: B\r\n")
    text, problems = read_text(path, SHOWN)
    assert problems == []
    assert text == "name: A\npurpose: B\n"


def test_latin1_bytes_are_located(tmp_path: Path) -> None:
    path = tmp_path / "x.yaml"
    path.write_bytes(b"name: A\npurpose: caf\xe9\n")
    text, problems = read_text(path, SHOWN)
    assert text is None
    assert (problems[0].line, problems[0].column) == (2, 13)
    assert "0xe9" in problems[0].found


def test_how_values_read_in_messages() -> None:
    parsed, _ = parse('a: 6\nb: "five"\nc: [1, 2]\nd:\n', SHOWN)
    assert parsed is not None
    assert describe(parsed.nodes[("a",)]) == "6"
    assert describe(parsed.nodes[("b",)]) == '"five"'
    assert describe(parsed.nodes[("c",)]) == "a list of 2 items"
    assert describe(parsed.nodes[("d",)]) == "an empty value"
    assert field_path(("partners", 1, "scores")) == "partners[1].scores"


# plain values of every implicit type YAML 1.1 resolves, and strings that look like them
LOOK_ALIKES = [
    *("1", "-7", "0x1F", "0o17", "017", "1_000", "+3", "1:30", "190:20:30"),
    *("1.5", "-.5", "1e3", "6.8523015e+5", ".inf", "-.Inf", ".nan", ".NaN"),
    *("true", "True", "yes", "Yes", "on", "NO", "off", "y", "n"),
    *("null", "Null", "~"),
    *("2026-11-25", "2026-1-5", "2026-11-25T10:00:00Z", "2026-11-25 10:00:00.5 +1"),
    *("=", "a", "1.2.3", "0x", "yes please", "twenty", "'quoted'", '"1"'),
]


def _tags(loader: type[yaml.SafeLoader], text: str) -> list[str]:
    root = yaml.compose(text, Loader=loader)
    assert root is not None
    return [item.tag for pair in root.value for item in pair]


def test_remembered_tags_are_the_ones_pyyaml_resolves(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each value's tag as a key, a value and a list item, read three times (the later
    times from what the loader remembers, then past the bound, which starts it afresh)."""
    text = "".join(f"{v}: [{v}, {v}]\nk{i}: {v}\n" for i, v in enumerate(LOOK_ALIKES))
    text += "empty:\nlong: " + "1" * 100 + "\n"
    expected = _tags(yaml.SafeLoader, text)
    monkeypatch.setattr(source._Loader, "_tags", {})
    assert _tags(source._Loader, text) == expected
    assert _tags(source._Loader, text) == expected
    monkeypatch.setattr(source._Loader, "_tags", {})
    monkeypatch.setattr(source, "_TAGS_KEPT", 3)
    assert _tags(source._Loader, text) == expected
    assert len(source._Loader._tags) <= 3
    parsed, problems = parse("a: 1\nb: yes\nc: 2026-11-25\nd: '1'\n", SHOWN)
    assert problems == []
    assert parsed is not None
    assert parsed.data == {"a": 1, "b": True, "c": date(2026, 11, 25), "d": "1"}
