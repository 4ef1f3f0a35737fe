"""`playbook sign`: a signature recorded in place, nothing else in the file touched."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from playbook_builder import build, checks
from tests.conftest import REPO, Run, minimal

TODAY = "2026-11-25"


@pytest.fixture
def housing(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    (root / "coalitions").mkdir(parents=True)
    shutil.copy(REPO / "playbook.yaml", root / "playbook.yaml")
    shutil.copy(REPO / "coalitions/housing-for-health.yaml", root / "coalitions")
    return root


def _sign(run: Run, root: Path, slug: str, partner: str, signer: str, title: str) -> str:
    result = run(
        "sign", slug, "--root", root, "--partner", partner,
        "--signer", signer, "--title", title, "--date", TODAY,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    return result.output


def _added(before: str, after: str) -> list[str]:
    """The lines of `after` that are not in `before`, asserting nothing else changed."""
    import difflib

    old, new = before.splitlines(), after.splitlines()
    added: list[str] = []
    for op, _, _, b1, b2 in difflib.SequenceMatcher(a=old, b=new, autojunk=False).get_opcodes():
        assert op in ("equal", "insert"), op
        if op == "insert":
            added += new[b1:b2]
    return [line for line in added if line.strip()]


def test_a_commented_file_gains_one_line(housing: Path, run: Run) -> None:
    path = housing / "coalitions/housing-for-health.yaml"
    before = path.read_text()
    assert "# Signed an earlier draft" in before
    output = _sign(
        run, housing, "housing-for-health", "county-health", "Dr. Samuel Iwu", "Health Officer"
    )
    current = build.prepare(housing, None).prints["housing-for-health"].short
    assert f"signed MOU {current}" in output
    assert _added(before, path.read_text()) == [
        "  - {partner: county-health, signer: Dr. Samuel Iwu, title: Health Officer, "
        f"date: {TODAY}, mou_version: {current}}}"
    ]
    check = run("check", "--root", housing, "--today", TODAY)
    assert "A801" not in check.output  # the stale signature is now current


def test_every_partner_signed_makes_the_packet_signed(housing: Path, run: Run) -> None:
    _sign(run, housing, "housing-for-health", "county-health", "Dr. Samuel Iwu", "Health Officer")
    _sign(run, housing, "housing-for-health", "northside-tenants", "Keisha Abernathy", "Chair")
    ready = build.prepare(housing, None)
    assert ready.facts[0].signed
    page = (housing / "site").exists()
    assert not page
    built = run("build", "--root", housing, "--today", TODAY, "--no-pdf")
    assert built.exit_code == 0
    mou = (housing / "site/coalitions/housing-for-health/mou.html").read_text()
    assert '<span class="badge ok">signed</span>' in mou


def test_block_style_entries_and_quoting_are_followed(empty: Path, run: Run) -> None:
    text = minimal().rstrip("\n") + (
        "\n# signatures so far\n"
        "signatures:\n"
        "  - partner: alpha\n"
        "    signer: 'Ann Example'  # quoted on purpose\n"
        "    title: Director\n"
        "    mou_version: '00000000'\n"
        "\n# the end\n"
    )
    path = empty / "coalitions/pilot.yaml"
    path.write_text(text)
    loaded = checks.load_valid(empty)
    partner = loaded.coalitions[0].coalition.partners[1]
    _sign(run, empty, "pilot", partner.id, "Bo: Example #2", "Chair, Board")
    after = path.read_text()
    added = _added(text, after)
    assert added[0] == f"  - partner: {partner.id}"
    assert '    signer: "Bo: Example #2"' in added
    assert '    title: "Chair, Board"' in added
    assert after.endswith("\n# the end\n")
    assert (
        checks.load_valid(empty).coalitions[0].coalition.signatures[-1].signer == "Bo: Example #2"
    )


def test_a_file_without_signatures_gets_a_block(empty: Path, run: Run) -> None:
    path = empty / "coalitions/pilot.yaml"
    path.write_bytes(minimal().replace("\n", "\r\n").encode())
    partner = checks.load_valid(empty).coalitions[0].coalition.partners[0]
    _sign(run, empty, "pilot", partner.id, "Ann Example", "Director")
    raw = path.read_bytes()
    assert raw.startswith(minimal().replace("\n", "\r\n").encode())  # CRLF kept, nothing moved
    short = build.prepare(empty, None).prints["pilot"].short
    entry = f"{{partner: {partner.id}, signer: Ann Example, title: Director, date: {TODAY}, "
    assert raw.endswith(f"signatures:\r\n  - {entry}mou_version: {short}}}\r\n".encode())


@pytest.mark.parametrize(
    ("partner", "expected"),
    [
        ("nobody", "has no partner 'nobody'"),
        ("riverside-health", "already signed MOU"),
    ],
)
def test_refusals(housing: Path, run: Run, partner: str, expected: str) -> None:
    path = housing / "coalitions/housing-for-health.yaml"
    before = path.read_bytes()
    result = run(
        "sign", "housing-for-health", "--root", housing, "--partner", partner,
        "--signer", "X", "--title", "Y",
    )  # fmt: skip
    assert result.exit_code == 1
    assert expected in result.output
    assert path.read_bytes() == before


def test_a_withdrawn_partner_cannot_sign(housing: Path, run: Run) -> None:
    path = housing / "coalitions/housing-for-health.yaml"
    text = path.read_text()
    withdrawn = text.replace("    status: signed\n\nroles", "    status: withdrawn\n\nroles")
    assert withdrawn != text
    path.write_text(withdrawn)
    result = run(
        "sign", "housing-for-health", "--root", housing, "--partner", "county-health",
        "--signer", "X", "--title", "Y",
    )  # fmt: skip
    assert result.exit_code == 1
    assert "status withdrawn" in result.output


def test_a_workspace_with_errors_is_refused(housing: Path, run: Run) -> None:
    (housing / "coalitions/broken.yaml").write_text("name: [\n")
    path = housing / "coalitions/housing-for-health.yaml"
    before = path.read_bytes()
    result = run(
        "sign", "housing-for-health", "--root", housing, "--partner", "county-health",
        "--signer", "X", "--title", "Y",
    )  # fmt: skip
    assert result.exit_code == 1
    assert "broken.yaml" in result.output
    assert path.read_bytes() == before


def test_decide_records_the_outcome_the_votes_support(housing: Path, run: Run) -> None:
    path = housing / "coalitions/housing-for-health.yaml"
    before = path.read_text()
    result = run(
        "decide", "housing-for-health", "--root", housing, "--title", "Hire a navigator",
        "--vote", "riverside-health=for", "--vote", "riverside-housing=for",
        "--vote", "county-health=against", "--date", "2026-11-20",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    added = _added(before, path.read_text())
    assert added[0] == "  - date: 2026-11-20"  # after the two decisions already logged
    assert "    outcome: adopted" in added
    refused = run(
        "decide", "housing-for-health", "--root", housing, "--title", "Sell the fund",
        "--vote", "riverside-health=for", "--outcome", "adopted", "--date", "2026-11-21",
    )  # fmt: skip
    assert refused.exit_code == 1
    assert "the votes do not support 'adopted'" in refused.output
    assert run("check", "--root", housing).exit_code == 0


def test_check_reports_an_unsupported_outcome_on_its_line(housing: Path, run: Run) -> None:
    path = housing / "coalitions/housing-for-health.yaml"
    path.write_text(
        path.read_text()
        + "  - date: 2026-11-20\n    title: Sell the fund\n"
        + "    votes: {riverside-health: for}\n    outcome: adopted\n"
    )
    result = run("check", "--root", housing)
    assert result.exit_code == 1
    lines = [line for line in result.stdout.splitlines() if "decisions[2].outcome" in line]
    assert lines
    assert lines[0].startswith(
        f"coalitions/housing-for-health.yaml:{path.read_text().count(chr(10))}:"
    )
    assert "adopted, but" in lines[0]
