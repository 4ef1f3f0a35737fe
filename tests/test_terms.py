"""The signed terms: the fingerprint covers exactly what the MOU prints, in both directions.

The property test mutates every leaf value of the complete example and of each sample,
one at a time. Whenever the MOU text (the agreement as laid out by `_mou.html`) changes,
the fingerprint must change; whenever the fingerprint changes, the MOU text must change.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import pytest
import yaml

from playbook_builder import render, terms
from playbook_builder.errors import Problem
from playbook_builder.fingerprint import fingerprint
from playbook_builder.load import coalition_from_text
from playbook_builder.model import SiteConfig
from playbook_builder.workspace import builtin_dir

from .conftest import DATA, REPO

CONFIG = SiteConfig(title="Test", organization="Test Org")
RENDERER = render.Renderer([builtin_dir("templates")], CONFIG, datetime.date(2026, 11, 25))

ENUMS = (
    ("exploring", "forming", "active", "under-review", "dissolved"),
    ("cross-sector-threat", "resource-gap", "stale-dynamic"),
    ("opportunistic", "values-bridge", "structural"),
    ("pooled-fund", "shared-staff", "joint-venture", "other"),
    ("unified", "coordinated"),
    ("demands-messaging-veto", "no-staff-time", "alienates-core-supporters", "reputational-risk"),
    ("prospect", "committed", "signed", "suspended", "expelled", "withdrawn"),
    ("majority", "supermajority", "executive-committee", "consensus"),
    ("weekly", "biweekly", "monthly", "quarterly"),
    ("suspend", "expel"),
)
FRACTIONS = ("1/2", "2/3", "3/4", "4/5", "3/5", "1")

Path_ = tuple[str | int, ...]


def _leaves(value: Any, path: Path_ = ()) -> Iterator[Path_]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _leaves(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _leaves(item, (*path, index))
    else:
        yield path


def _candidates(value: Any) -> list[Any]:
    """Other values for a leaf, most likely to be valid first."""
    if isinstance(value, bool):
        return [not value]
    if isinstance(value, int):
        return [value + 1, value - 1]
    if isinstance(value, float):
        return [value + 1.5, value / 2]
    if isinstance(value, datetime.date):
        return [value + datetime.timedelta(days=1), value - datetime.timedelta(days=1)]
    if isinstance(value, str):
        found: list[Any] = []
        for enum in ENUMS:
            if value in enum:
                found += [other for other in enum if other != value]
        if "/" in value or value in FRACTIONS:
            found += [other for other in FRACTIONS if other != value]
        return [*found, value + " zq", value + "-zq", "zq"]
    return []


def _replace(data: Any, path: Path_, new: Any) -> Any:
    if not path:
        return new
    head, *rest = path
    if isinstance(data, dict):
        return {k: _replace(v, tuple(rest), new) if k == head else v for k, v in data.items()}
    return [_replace(v, tuple(rest), new) if i == head else v for i, v in enumerate(data)]


def _get(data: Any, path: Path_) -> Any:
    for part in path:
        data = data[part]
    return data


def _load(text: str) -> terms.SignedTerms | None:
    problems: list[Problem] = []
    item = coalition_from_text(text, "example", PurePosixPath("example.yaml"), CONFIG, problems)
    return None if item is None else terms.signed_terms(item.coalition)


@dataclass
class Tally:
    leaves: int = 0
    mutated: int = 0
    text_changed: int = 0
    print_changed: int = 0
    misses: list[str] | None = None


def _explore(source: str) -> Tally:
    data = yaml.safe_load(source)
    base = _load(source)
    assert base is not None
    base_html, base_print = str(RENDERER.agreement(base)), fingerprint(base)
    tally = Tally(misses=[])
    for path in _leaves(data):
        tally.leaves += 1
        for candidate in _candidates(_get(data, path)):
            variant = _load(yaml.safe_dump(_replace(data, path, candidate), allow_unicode=True))
            if variant is None:
                continue
            tally.mutated += 1
            text_changed = str(RENDERER.agreement(variant)) != base_html
            print_changed = fingerprint(variant) != base_print
            tally.text_changed += text_changed
            tally.print_changed += print_changed
            if text_changed != print_changed:
                assert tally.misses is not None
                tally.misses.append(
                    f"{'.'.join(map(str, path))} = {candidate!r}: text "
                    f"{'changed' if text_changed else 'same'}, fingerprint "
                    f"{'changed' if print_changed else 'same'}"
                )
            break
    return tally


SOURCES = [DATA / "example-coalition.yaml", *sorted((REPO / "coalitions").glob("*.yaml"))]


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.stem)
def test_the_fingerprint_changes_exactly_when_the_mou_text_does(source: Path) -> None:
    tally = _explore(source.read_text(encoding="utf-8"))
    print(  # noqa: T201 - the counts, for the record (pytest -s)
        f"{source.stem}: {tally.leaves} leaves, {tally.mutated} mutated, "
        f"{tally.text_changed} MOU text changes, {tally.print_changed} fingerprint changes"
    )
    assert tally.misses == []
    assert tally.mutated >= tally.leaves * 0.8  # the test reaches nearly every value
    assert tally.text_changed > 20  # and most of the MOU


def test_the_mou_template_sees_only_the_signed_terms() -> None:
    context_names: set[str] = set()
    template = RENDERER.env.get_template("_mou.html")
    base = _load((DATA / "example-coalition.yaml").read_text())
    assert base is not None
    for name in template.new_context({"t": base}).get_all():
        context_names.add(name)
    # only the record and the environment's constants: no coalition, no view, no settings
    assert "t" in context_names
    assert not {"v", "c", "site", "coalition"} & context_names


def test_formatting_and_rewrapping_never_change_the_fingerprint() -> None:
    source = (DATA / "example-coalition.yaml").read_text()
    base = _load(source)
    data = yaml.safe_load(source)
    data["purpose"] = "  " + data["purpose"].replace(" ", "\n   ", 3) + "  "
    clause = data["mou"]["clauses"][0]
    clause["text"] = clause["text"].replace(" ", "\n", 2) + "\n\n\n"
    again = _load(yaml.safe_dump(data, sort_keys=True, width=30))
    assert again is not None
    assert base is not None
    assert fingerprint(again) == fingerprint(base)


def test_markdown_structure_is_part_of_the_terms() -> None:
    assert terms.normalise_markdown("one\ntwo") == "one two"
    assert terms.normalise_markdown("one  \ntwo") == "one  \ntwo"  # a hard line break
    assert terms.normalise_markdown("one\n- two\n- three") == "one\n- two\n- three"
    assert terms.normalise_markdown("a\n\n\n\nb   ") == "a\n\nb"
    assert terms.normalise_markdown("```\nx\n  y\n```") == "```\nx\n  y\n```"  # code keeps lines


def test_money_prints_cents_only_where_there_are_some() -> None:
    assert terms.money(15000, "USD") == "15,000 USD"
    assert terms.money(15000.5, "EUR") == "15,000.50 EUR"
    assert terms.money(0.004, None) == "0"


def test_recording_a_decision_never_invalidates_a_signature() -> None:
    source = (DATA / "example-coalition.yaml").read_text()
    data = yaml.safe_load(source)
    assert data["decisions"]
    base = _load(source)
    without = dict(data)
    del without["decisions"]
    more = dict(data)
    more["decisions"] = [*data["decisions"], {**data["decisions"][0], "title": "Another"}]
    for variant in (without, more):
        loaded = _load(yaml.safe_dump(variant, allow_unicode=True))
        assert loaded is not None
        assert base is not None
        assert fingerprint(loaded) == fingerprint(base)
