"""Corrupted variants of the sample files: always a build or located errors, never a crash."""

from __future__ import annotations

import datetime
import os
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, Phase, example, find, given, settings
from hypothesis import strategies as st

from playbook_builder import build, checks
from playbook_builder.errors import ContractError, Problem
from playbook_builder.model import CRITERIA
from tests.conftest import REPO
from tests.sitecheck import parse

pytestmark = pytest.mark.slow  # end to end: the CLI, builds, WeasyPrint or a browser

SAMPLES = sorted((REPO / "coalitions").glob("*.yaml"))
YAMLISH = st.text(
    alphabet=st.sampled_from([*"abz019:-[]{}&*!|>#'\",. \n\t%@`?~", "\u00e9", "\u4e2d"]),
    max_size=12,
)
EXAMPLES = 1000 if os.environ.get("CI") else 200


def bounded(examples: int) -> settings:
    """A fuzz test's number of examples (the profile in conftest fixes them in CI)."""
    return settings(
        max_examples=examples,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )


@st.composite
def corrupted(draw: st.DrawFn) -> str:
    """A sample file with a few random edits: deletions, insertions, moved lines."""
    text = draw(st.sampled_from(SAMPLES)).read_text()
    for _ in range(draw(st.integers(1, 4))):
        lines = text.split("\n")
        kind = draw(st.sampled_from(["delete", "insert", "swap", "duplicate", "replace-value"]))
        at = draw(st.integers(0, max(len(text) - 1, 0)))
        if kind == "delete":
            text = text[:at] + text[at + draw(st.integers(1, 40)) :]
        elif kind == "insert":
            text = text[:at] + draw(YAMLISH) + text[at:]
        else:
            i = draw(st.integers(0, len(lines) - 1))
            j = draw(st.integers(0, len(lines) - 1))
            if kind == "swap":
                lines[i], lines[j] = lines[j], lines[i]
            elif kind == "duplicate":
                lines.insert(j, lines[i])
            elif ":" in lines[i]:
                key = lines[i].split(":", 1)[0]
                lines[i] = f"{key}: {draw(YAMLISH)}".replace("\n", " ")
            text = "\n".join(lines)
    return text


@pytest.fixture(scope="module")
def fuzz_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("fuzz")
    (root / "coalitions").mkdir()
    (root / "playbook.yaml").write_text("title: Fuzz\norganization: Fuzz\n")
    return root


# found by exploring: PyYAML counts U+0085 as a line break, editors do not, and an error
# pointed past the file's last line
PINNED_NEL = (
    (REPO / "coalitions/housing-for-health.yaml")
    .read_text()
    .replace("title: Data sharing", "title: Data\x85sharing")
)


# found in CI: a file cut off mid-line (no final line break) got an error on the line after
PINNED_CUT = (REPO / "coalitions/dignity-in-detention.yaml").read_text()[:-40]


@bounded(EXAMPLES)
@given(text=corrupted())
@example(text=PINNED_NEL)
@example(text=PINNED_CUT)
def test_corrupted_files_give_located_errors_or_load(fuzz_root: Path, text: str) -> None:
    path = fuzz_root / "coalitions" / "fuzzed.yaml"
    path.write_text(text, encoding="utf-8")
    line_count = text.count("\n") + 1
    problems: tuple[Problem, ...] = ()
    try:
        loaded = checks.load_valid(fuzz_root)
    except ContractError as err:
        problems = err.problems
    if problems:
        for problem in problems:
            assert str(problem.file) == "coalitions/fuzzed.yaml"
            assert 1 <= problem.line <= line_count
            assert problem.column >= 1
            assert problem.field
            assert problem.found
            assert problem.allowed
    else:
        assert len(loaded.coalitions) == 1


# --- the whole build, from generated coalitions -------------------------------------------

BUILDS = 300 if os.environ.get("CI") else 25
PACKETS = 12 if os.environ.get("CI") else 3
TEXT = st.text(
    alphabet=st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00"),
    min_size=1,
    max_size=40,
)
"""Any text: HTML, quotes, right-to-left, emoji, control characters."""
HOSTILE = st.sampled_from(
    ["<script>pwn()</script>", '"><img src=x onerror=pwn()>', "{{ 7*7 }}", "[x](javascript:1)",
     "![i](http://127.0.0.1:9/x.png)", "&amp;", "\u202eevil", "Zoë 人权", ""]
)  # fmt: skip
WORDS = st.one_of(TEXT, HOSTILE, st.builds(lambda a, b: a + b, HOSTILE, TEXT))
SLUG = st.from_regex(r"[a-z][a-z0-9]{0,6}(-[a-z0-9]{1,4})?", fullmatch=True)
SLUGISH = st.one_of(SLUG, SLUG, SLUG, TEXT)
SCORE = st.one_of(st.integers(1, 5), st.integers(1, 5), st.sampled_from([0, 6, "3", 2.5, None]))
DATES = st.dates(datetime.date(2024, 1, 1), datetime.date(2030, 12, 31))
RATIOS = st.sampled_from(["2/3", "1/2", "3/4", "1", "5/4", 0.6, "two thirds", None])


@st.composite
def coalitions(draw: st.DrawFn) -> dict[str, object]:
    """A coalition file's data: half of them well-formed (with any text in the text
    fields), half with values that are often out of bounds, of the wrong type or missing."""
    wild = draw(st.booleans())

    def pick(valid: st.SearchStrategy[Any], *odd: object) -> Any:
        return draw(st.one_of(valid, st.sampled_from(odd)) if wild and odd else valid)

    partners = []
    for index in range(draw(st.integers(2, 5))):
        partner: dict[str, object] = {
            "id": pick(st.just(f"p{index}"), "Bad Id", "../x", "", 7),
            "name": draw(WORDS),
            "decision_maker": {"name": draw(WORDS), "title": draw(WORDS)},
            "scores": {c: pick(st.integers(1, 5), 0, 6, "3", 2.5, None) for c in CRITERIA},
        }
        if draw(st.booleans()):
            partner["status"] = pick(st.sampled_from(["committed", "signed", "withdrawn"]), "x")
        if draw(st.booleans()):
            partner["commitment"] = {"staff_hours_per_month": pick(st.integers(0, 200), -5)}
        partners.append(partner)
    ids = [str(p["id"]) for p in partners]
    model = pick(st.sampled_from(["opportunistic", "values-bridge", "structural"]), "x")
    kind = pick(st.sampled_from(["majority", "supermajority", "consensus"]), "executive-committee")
    rule: dict[str, object] = {"default": kind}
    if kind == "supermajority" or draw(st.booleans()):
        rule["threshold"] = pick(st.sampled_from(["2/3", "3/4", "1"]), "1/2", "5/4", "two thirds")
    if draw(st.booleans()):
        rule["quorum"] = pick(st.sampled_from(["1/2", "2/3", "1"]), "0", "3/2")
    if kind == "executive-committee":
        rule["committee"] = draw(st.lists(st.sampled_from(ids), max_size=3))
    data: dict[str, object] = {
        "name": draw(WORDS),
        "status": pick(st.sampled_from(["exploring", "forming", "active", "dissolved"]), "x"),
        "purpose": draw(WORDS),
        "trigger": pick(st.sampled_from(["resource-gap", "stale-dynamic"]), "x"),
        "model": model,
        "partners": partners,
        "decision_rule": rule,
    }
    launch = draw(DATES)
    if model == "values-bridge" or draw(st.booleans()):
        data["bridge_value"] = draw(WORDS)
    if model == "structural" or draw(st.booleans()):
        data["joint_entity"] = {"kind": "pooled-fund", "description": draw(WORDS)}
        data["exit"] = {
            "notice_days": pick(st.integers(0, 120), -1),
            "sunset": draw(
                st.dates(launch + datetime.timedelta(days=1), datetime.date(2032, 1, 1))
            ),
            "renewal": draw(WORDS),
        }
    if draw(st.booleans()):
        data["launch"] = {"date": launch, "first_win": draw(WORDS)}
    if draw(st.booleans()):
        data["review"] = {"every_months": pick(st.integers(1, 24), 0, -1, "six")}
    if draw(st.booleans()):
        data["roles"] = [{"title": draw(WORDS), "partner": pick(st.sampled_from(ids), "ghost")}]
    if draw(st.booleans()):
        data["mou"] = {
            "effective": launch,
            "clauses": [{"title": draw(WORDS), "text": draw(WORDS)}],
        }
    if draw(st.booleans()):
        data["signatures"] = [
            {
                "partner": pick(st.sampled_from(ids), "ghost"),
                "signer": draw(WORDS),
                "title": draw(WORDS),
                "date": draw(DATES),
                "mou_version": pick(st.sampled_from(["00000000", "3f9a2c1d"]), "xyz"),
            }
        ]
    if wild and draw(st.booleans()):
        data[draw(st.sampled_from(["nmae", "partners", "purpose", "extra"]))] = draw(
            st.one_of(st.none(), st.integers(), WORDS, st.lists(st.integers(), max_size=2))
        )
    return data


def _build_or_located_errors(root: Path, data: dict[str, object], pdf: bool) -> bool:
    """True when the build went through; otherwise every error must have a location."""
    text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
    (root / "coalitions" / "fuzzed.yaml").write_text(text, encoding="utf-8")
    problems: tuple[Problem, ...] = ()
    try:
        built = build.build(root, today=datetime.date(2026, 11, 25), pdf=pdf, use_cache=False)
    except ContractError as err:
        problems = err.problems
    for problem in problems:
        assert str(problem.file) == "coalitions/fuzzed.yaml"
        assert 1 <= problem.line <= text.count("\n") + 1
        assert problem.column >= 1
        assert problem.field
        assert problem.found
        assert problem.allowed
    if problems:
        return False
    page = parse(built.out / "coalitions" / "fuzzed" / "index.html")
    assert not [s for s in page.scripts if "pwn()" in s]
    assert not [a for _, a in page.tags if any(k.startswith("on") for k in a)]
    assert not [a for t, a in page.tags if t == "img"]
    if pdf:
        assert (built.out / "coalitions" / "fuzzed" / "fuzzed-mou.pdf").stat().st_size > 10_000
    return True


@pytest.fixture(scope="module")
def build_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("fuzz-build")
    (root / "coalitions").mkdir()
    (root / "playbook.yaml").write_text("title: Fuzz\norganization: Fuzz\n")
    return root


@bounded(BUILDS)
@given(data=coalitions())
def test_generated_coalitions_build_or_give_located_errors(
    build_root: Path, data: dict[str, object]
) -> None:
    _build_or_located_errors(build_root, data, pdf=False)


@pytest.mark.parametrize("outcome", [True, False], ids=["builds", "refused"])
def test_the_generator_reaches_both_outcomes(build_root: Path, outcome: bool) -> None:
    """Not so wild that nothing builds, nor so tame that nothing is refused."""
    found = find(
        coalitions(),
        lambda data: _build_or_located_errors(build_root, data, pdf=False) is outcome,
        settings=settings(max_examples=200, database=None, phases=[Phase.generate]),
    )
    assert found


@bounded(PACKETS)
@given(data=coalitions())
def test_generated_coalitions_print_or_give_located_errors(
    build_root: Path, data: dict[str, object]
) -> None:
    _build_or_located_errors(build_root, data, pdf=True)
