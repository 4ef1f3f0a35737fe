"""Corrupted variants of the sample files: always a build or located errors, never a crash."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from playbook_builder import build
from playbook_builder.errors import ContractError, Problem
from tests.conftest import REPO

SAMPLES = sorted((REPO / "coalitions").glob("*.yaml"))
YAMLISH = st.text(
    alphabet=st.sampled_from([*"abz019:-[]{}&*!|>#'\",. \n\t%@`?~", "\u00e9", "\u4e2d"]),
    max_size=12,
)
EXAMPLES = 1000 if os.environ.get("CI") else 200


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


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=bool(os.environ.get("CI")),
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(text=corrupted())
def test_corrupted_files_give_located_errors_or_load(fuzz_root: Path, text: str) -> None:
    path = fuzz_root / "coalitions" / "fuzzed.yaml"
    path.write_text(text, encoding="utf-8")
    line_count = text.count("\n") + 1
    problems: tuple[Problem, ...] = ()
    try:
        loaded = build.load_valid(fuzz_root)
    except ContractError as err:
        problems = err.problems
    if problems:
        for problem in problems:
            assert str(problem.file) == "coalitions/fuzzed.yaml"
            assert 1 <= problem.line <= line_count + 1
            assert problem.column >= 1
            assert problem.field
            assert problem.found
            assert problem.allowed
    else:
        assert len(loaded.coalitions) == 1
