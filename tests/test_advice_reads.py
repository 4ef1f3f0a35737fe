"""Advice that reads the file as written (the newcomer's first hour, point 5)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import Run, minimal

pytestmark = pytest.mark.slow  # through the CLI

VETO = "    red_flags: [demands-messaging-veto]\n    scores: {alignment: 2"


def _check(run: Run, root: object) -> str:
    return str(run("check", "--root", root, "--today", "2026-11-25").stdout)


def test_a401_knows_messaging_is_already_coordinated(empty: Path, run: Run) -> None:
    text = minimal().replace("    scores: {alignment: 2", VETO, 1) + "messaging: coordinated\n"
    (empty / "coalitions/pilot.yaml").write_text(text)
    out = _check(run, empty)
    assert "A401" in out
    assert "switch to coordinated messaging" not in out
    assert "messaging is already coordinated" in out


def test_a_prospect_with_a_signature_is_named(empty: Path, run: Run) -> None:
    text = minimal() + "signatures: [{partner: alpha, signer: Ann Lee, mou_version: aaaaaaaa}]\n"
    (empty / "coalitions/pilot.yaml").write_text(text)
    out = _check(run, empty)
    assert "A806: Alpha Group is still a prospect, but a signature is recorded" in out


def test_due_names_an_unsigned_mou_taking_effect_and_the_launch(empty: Path, run: Run) -> None:
    text = minimal() + "mou: {effective: 2026-12-15}\nlaunch: {date: 2026-12-20}\n"
    (empty / "coalitions/pilot.yaml").write_text(text)
    out = run("due", "--root", empty, "--today", "2026-11-25", "--within", "30").stdout
    assert (
        "2026-12-15 (in 20 days): Minimal Alliance: the MOU takes effect, not yet signed by "
        "Alpha Group, Beta Union"
    ) in out
    assert "2026-12-20 (in 25 days): Minimal Alliance: launch" in out


def test_an_overdue_review_says_how_to_clear_it(empty: Path, run: Run) -> None:
    text = minimal().replace("status: exploring", "status: active") + (
        "review: {first: 2026-10-01}\n"
    )
    (empty / "coalitions/pilot.yaml").write_text(text)
    result = run("due", "--root", empty, "--today", "2026-11-25")
    assert result.exit_code == 1
    assert "record it in coalitions/pilot.yaml as steps.review.done" in result.stdout
