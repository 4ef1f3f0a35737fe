"""The advisor: each advisory triggered by a small change to a clean coalition, and not
by the clean one; the recommendation around every threshold; the rule's arithmetic."""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable
from dataclasses import fields
from fractions import Fraction
from pathlib import Path

import pytest
import yaml

from playbook_builder import advise, checks, clock, terms
from playbook_builder.advise import ADVISORIES, THRESHOLDS, Thresholds
from playbook_builder.fingerprint import fingerprint
from playbook_builder.model import Coalition, RuleKind
from playbook_builder.validate import adapter
from tests.conftest import REPO, Run

TODAY = datetime.date(2026, 11, 25)

CLEAN = """\
name: Library Levy Alliance
status: exploring
purpose: Pass the library levy in the May election.
success:
  alpha: The levy passes.
  beta: Branch hours are restored.
trigger: resource-gap
window: {event: Ballot filing deadline, date: 2027-02-01}
internal_alignment: {approved_by: Alpha board, date: 2026-10-01}
model: opportunistic
partners:
  - id: alpha
    name: Alpha Group
    decision_maker: {name: Ann Lee, title: Director}
    scores: {alignment: 2, trust: 2, resources: 2, time_horizon: 2, exit_cost: 2}
  - id: beta
    name: Beta Union
    decision_maker: {name: Bo Kim, title: President}
    scores: {alignment: 2, trust: 3, resources: 3, time_horizon: 2, exit_cost: 2}
decision_rule:
  default: majority
  quorum: 1/2
launch: {date: 2026-11-01}
review: {first: 2027-01-15, every_months: 3}
exit: {notice_days: 14, sunset: 2027-06-30}
"""

Edit = Callable[[str], str]


def _write(root: Path, text: str, name: str = "levy.yaml") -> None:
    (root / "coalitions" / name).write_text(text)


def _advice(root: Path, today: datetime.date = TODAY) -> list[str]:
    report = checks.check(root, today)
    assert not report.problems, [str(p) for p in report.problems]
    return [str(a) for a in report.advisories]


def _at(text: str, needle: str, nth: int = 0) -> str:
    """`line:column` of the nth occurrence of `needle` in `text`."""
    starts = [m.start() for m in re.finditer(re.escape(needle), text)]
    start = starts[nth]
    line = text.count("\n", 0, start) + 1
    column = start - (text.rfind("\n", 0, start) + 1) + 1
    return f"{line}:{column}"


def _signed(text: str, partners: tuple[str, ...] = ("alpha", "beta")) -> str:
    """The text with current signatures from the decision makers of these partners."""
    coalition = adapter(Coalition).validate_python(yaml.safe_load(text))
    short = fingerprint(coalition).short
    signers = {"alpha": "Ann Lee", "beta": "Bo Kim", "gamma": "Cy Roe"}
    rows = "".join(
        f"  - {{partner: {p}, signer: {signers[p]}, mou_version: {short}}}\n" for p in partners
    )
    for p in partners:  # a partner that signed is no longer a prospect (A806)
        text = text.replace(f"  - id: {p}\n", f"  - id: {p}\n    status: signed\n", 1)
    return text + "signatures:\n" + rows


def test_the_clean_coalition_draws_no_advice(empty: Path) -> None:
    _write(empty, CLEAN)
    assert _advice(empty) == []


def _expect(text: str, code: str, needle: str, message: str, nth: int = 0) -> str:
    return f"coalitions/levy.yaml:{_at(text, needle, nth)}: {code} {message}"


CASES: list[tuple[str, Edit, str, str]] = [
    (
        "A101",
        lambda s: s.replace("in the May election.", "in May. Then keep it."),
        "Pass the",
        "The purpose has 2 sentences; every partner should be able to say it in one.",
    ),
    (
        "A102",
        lambda s: s.replace("  beta: Branch hours are restored.\n", ""),
        "beta\n",
        "Beta Union has no success definition: a coalition that serves only some partners' "
        "agendas will not hold.",
    ),
    (
        "A103",
        lambda s: s.replace("status: exploring", "status: forming").replace(
            "internal_alignment: {approved_by: Alpha board, date: 2026-10-01}\n", ""
        ),
        "forming",
        "Status is forming but no internal_alignment is recorded: get your own board or "
        "leadership on side first.",
    ),
    (
        "A104",
        lambda s: s.replace("date: 2027-02-01", "date: 2026-11-01"),
        "2026-11-01}",
        "The window (Ballot filing deadline, 2026-11-01) has passed while the coalition is "
        "still exploring: is the timing still right?",
    ),
    (
        "A201",
        lambda s: s.replace(
            "model: opportunistic", "model: values-bridge\nbridge_value: Books."
        ).replace("alignment: 2, trust: 2, resources: 2", "alignment: 1, trust: 3, resources: 2"),
        "values-bridge",
        "The least-ready partner, Alpha Group, totals 10 of 25 (5-11), which supports an "
        "opportunistic alliance; you chose values-bridge, which asks more depth than that "
        "partner is ready to give.",
    ),
    (
        "A203",
        lambda s: s.replace(
            "{alignment: 2, trust: 3, resources: 3, time_horizon: 2, exit_cost: 2}",
            "{alignment: 4, trust: 3, resources: 4, time_horizon: 4, exit_cost: 3}",
        ),
        "- id: alpha",
        "Totals range from 10 (Alpha Group) to 18 (Beta Union): partners this far apart "
        "expect different things from the alliance.",
    ),
    (
        "A301",
        lambda s: s.replace("default: majority", "default: consensus"),
        "consensus",
        "Consensus tends to paralyse a diverse coalition: agree a majority, supermajority or "
        "committee rule matched to the stakes.",
    ),
    (
        "A302",
        lambda s: s.replace("quorum: 1/2", "quorum: 1").replace(
            "    name: Beta Union\n", "    name: Beta Union\n    status: suspended\n"
        ),
        "1\nlaunch",
        "Quorum 1/1 of 2 members needs 2, but only 1 can vote (the rest are suspended).",
    ),
    (
        "A303",
        lambda s: s.replace(
            "default: majority", "default: executive-committee\n  committee: [alpha, beta]"
        ),
        "[alpha, beta]",
        "The committee has 2 members out of 2 partners: it should be smaller than the whole, "
        "or it decides nothing faster.",
    ),
    (
        "A401",
        lambda s: s.replace(
            "    name: Beta Union\n",
            "    name: Beta Union\n    red_flags: [demands-messaging-veto]\n",
        ),
        "demands-messaging-veto",
        "Beta Union is red-flagged demands-messaging-veto: a partner who wants a veto over the "
        "coalition's messaging is a reason to walk away, or to switch to coordinated "
        "messaging.",
    ),
    (
        "A402",
        lambda s: s.replace(
            "    name: Beta Union\n", "    name: Beta Union\n    red_flags: [no-staff-time]\n"
        ),
        "no-staff-time",
        "Beta Union is red-flagged no-staff-time: a partner who cannot put in staff time will "
        "not carry its share; agree a minimum before you rely on it.",
    ),
    (
        "A403",
        lambda s: s.replace(
            "    name: Beta Union\n",
            "    name: Beta Union\n    red_flags: [alienates-core-supporters]\n",
        ),
        "alienates-core-supporters",
        "Beta Union is red-flagged alienates-core-supporters: weigh what the partnership "
        "costs you with your own base, and prepare a communication plan.",
    ),
    (
        "A404",
        lambda s: s.replace(
            "    name: Beta Union\n", "    name: Beta Union\n    red_flags: [reputational-risk]\n"
        ),
        "reputational-risk",
        "Beta Union is red-flagged reputational-risk: prepare to explain publicly why this "
        "partnership serves your mission.",
    ),
    (
        "A501",
        lambda s: s.replace("status: exploring", "status: forming").replace(
            "exit: {notice_days: 14, sunset: 2027-06-30}", "exit: {notice_days: 14}"
        ),
        "{notice_days",
        "No sunset (exit.sunset or exit.after_months): agree when the alliance ends unless "
        "the partners renew it.",
    ),
    (
        "A502",
        lambda s: s.replace("status: exploring", "status: forming").replace(
            "exit: {notice_days: 14, sunset: 2027-06-30}", "exit: {sunset: 2027-06-30}"
        ),
        "{sunset",
        "No notice period (exit.notice_days): say how a partner leaves before anyone needs to.",
    ),
    (
        "A503",
        lambda s: s.replace("sunset: 2027-06-30", "sunset: 2026-11-20"),
        "{notice_days",
        "The sunset (2026-11-20) has passed and the status is still exploring: renew the MOU "
        "or dissolve the coalition.",
    ),
    (
        "A701",
        lambda s: s.replace("first: 2027-01-15", "first: 2026-08-01").replace(
            "status: exploring", "status: forming"
        ),
        "{first",
        "The review due 2026-08-01 has not been recorded as held (steps.review.done): is the "
        "shared goal still relevant?",
    ),
    (
        "A702",
        lambda s: s.replace("first: 2027-01-15", "first: 2027-06-15"),
        "2027-06-15",
        "The first review (2027-06-15) is more than 6 months after launch (2026-11-01): "
        "problems will surface late.",
    ),
    (
        "A703",
        lambda s: (
            s.replace("status: exploring", "status: forming")
            .replace("launch: {date: 2026-11-01}\n", "")
            .replace("review: {first: 2027-01-15, every_months: 3}\n", "")
        ),
        "forming",
        "No review date: set one early, about three months after launch.",
    ),
]


@pytest.mark.parametrize(("code", "edit", "needle", "message"), CASES, ids=[c[0] for c in CASES])
def test_each_advisory_triggers_on_its_own(
    empty: Path, code: str, edit: Edit, needle: str, message: str
) -> None:
    text = edit(CLEAN)
    _write(empty, text)
    assert _advice(empty) == [_expect(text, code, needle, message)]


@pytest.mark.parametrize("written", ["TODO agree", '"\\u0054ODO agree"', '"\\x54ODO agree"'])
def test_a_placeholder_is_found_however_it_is_written(empty: Path, written: str) -> None:
    text = CLEAN.replace("beta: Branch hours are restored.", f"beta: {written}")
    _write(empty, text)
    message = "success.beta is still a placeholder (TODO agree): write what the partners agreed"
    assert _advice(empty) == [_expect(text, "A105", written, message + " before anyone signs.")]


def test_low_trust_with_a_deep_model(empty: Path) -> None:
    text = CLEAN.replace("model: opportunistic", "model: values-bridge\nbridge_value: Books.")
    text = text.replace(
        "{alignment: 2, trust: 2, resources: 2, time_horizon: 2, exit_cost: 2}",
        "{alignment: 4, trust: 2, resources: 3, time_horizon: 3, exit_cost: 2}",
    ).replace(
        "{alignment: 2, trust: 3, resources: 3, time_horizon: 2, exit_cost: 2}",
        "{alignment: 3, trust: 3, resources: 3, time_horizon: 3, exit_cost: 2}",
    )
    _write(empty, text)
    assert _advice(empty) == [
        _expect(
            text,
            "A202",
            "2, resources: 3, time_horizon: 3, exit_cost: 2}",
            "Alpha Group scores trust 2 in a values-bridge "
            "alliance: start with a small, time-limited pilot before scaling up.",
        )
    ]
    _write(empty, text.replace("trust: 2", "trust: 3", 1))
    assert _advice(empty) == []


def test_resource_imbalance(empty: Path) -> None:
    text = CLEAN.replace(
        "{alignment: 2, trust: 3, resources: 3, time_horizon: 2, exit_cost: 2}",
        "{alignment: 2, trust: 2, resources: 5, time_horizon: 2, exit_cost: 2}",
    )
    _write(empty, text)
    assert _advice(empty) == [
        _expect(
            text,
            "A203",
            "- id: alpha",
            "Resources range from 2 (Alpha Group) to 5 "
            "(Beta Union): unequal commitment breeds resentment; agree openly who "
            "carries what.",
        )
    ]


def test_coordinator_needed_from_five_partners(empty: Path) -> None:
    extra = "".join(
        f"  - id: p{i}\n    name: Partner {i}\n    decision_maker: {{name: P{i}, title: Chair}}\n"
        f"    scores: {{alignment: 2, trust: 2, resources: 2, time_horizon: 2, exit_cost: 2}}\n"
        for i in range(3)
    )
    success = "".join(f"  p{i}: Something.\n" for i in range(3))
    text = CLEAN.replace("decision_rule:", extra + "decision_rule:", 1).replace(
        "trigger:", success + "trigger:"
    )
    _write(empty, text)
    expected = _expect(
        text,
        "A601",
        "- id: alpha",
        "5 partners and no coordinator role: a "
        "coalition this size needs someone whose job is to keep it running.",
    )
    assert _advice(empty) == [expected]
    _write(empty, text + "roles: [{title: Campaign coordinator, partner: alpha}]\n")
    assert _advice(empty) == []


def test_one_organisation_in_three_coalitions(empty: Path) -> None:
    for index in range(3):
        text = CLEAN.replace("Library Levy Alliance", f"Alliance {index}")
        text = text.replace("Beta Union", "BETA union" if index == 1 else "Beta Union")
        text = text.replace("Alpha Group", f"Alpha Group {index}")
        _write(empty, text, f"c{index}.yaml")
    advice = _advice(empty)
    assert len(advice) == 3
    where = _at(CLEAN.replace("Alpha Group", "Alpha Group 0"), "Beta Union")
    assert advice[0] == (
        f"coalitions/c0.yaml:{where}: A602 Beta Union is also in 2 other coalitions "
        "(Alliance 1, Alliance 2): watch for a resource drain."
    )
    (empty / "coalitions" / "c2.yaml").unlink()
    assert _advice(empty) == []


def test_an_organisation_in_many_coalitions_names_five_of_them(empty: Path) -> None:
    """The advice names five other coalitions and counts the rest: one line each, however
    many coalitions the organisation is in."""
    for index in range(8):
        text = CLEAN.replace("Library Levy Alliance", f"Alliance {index}")
        text = text.replace("Alpha Group", f"Alpha Group {index}")
        _write(empty, text, f"c{index}.yaml")
    advice = _advice(empty)
    assert len(advice) == 8
    assert advice[0].endswith(
        "A602 Beta Union is also in 7 other coalitions (Alliance 1, Alliance 2, Alliance 3, "
        "Alliance 4, Alliance 5 and 2 more): watch for a resource drain."
    )
    assert "(Alliance 0, Alliance 1, Alliance 2, Alliance 3, Alliance 4 and 2 more)" in advice[7]


def test_stale_missing_and_wrong_signatures(empty: Path) -> None:
    text = _signed(CLEAN.replace("status: exploring", "status: active"))
    _write(empty, text)
    assert _advice(empty) == []
    changed = text.replace("in the May election.", "in the November election.")
    _write(empty, changed)
    short = fingerprint(checks.load_valid(empty).coalitions[0].coalition).short
    old = re.search(r"mou_version: (\w+)", text)
    assert old is not None
    assert _advice(empty) == [
        _expect(
            changed,
            "A801",
            old.group(1),
            f"Alpha Group signed MOU {old.group(1)}, but the MOU is now {short}: it must re-sign.",
        ),
        _expect(
            changed,
            "A801",
            old.group(1),
            f"Beta Union signed MOU {old.group(1)}, but the MOU is now {short}: it must re-sign.",
            nth=1,
        ),
    ]
    missing = _signed(CLEAN.replace("status: exploring", "status: active"), ("alpha",))
    _write(empty, missing)
    assert _advice(empty) == [
        _expect(
            missing,
            "A802",
            "- {partner",
            "No signature recorded for Beta Union: the MOU is not in force for it.",
        )
    ]
    wrong = text.replace("signer: Bo Kim", "signer: Bob Smith")
    _write(empty, wrong)
    assert _advice(empty) == [
        _expect(
            wrong,
            "A803",
            "Bob Smith",
            "Bob Smith signed for Beta Union, whose decision maker is Bo Kim.",
        )
    ]


def test_editing_what_the_fingerprint_does_not_cover_keeps_signatures(empty: Path) -> None:
    text = _signed(CLEAN.replace("status: exploring", "status: active"))
    edited = (
        text.replace("trust: 3", "trust: 4")
        .replace("status: active", "status: under-review")
        .replace("resource-gap", "stale-dynamic")
        .replace("    name: Beta Union\n", "    name: Beta Union\n    contact: b@x.org\n")
        + "steps: {outreach: {done: 2026-09-01, notes: Went well.}}\n"
    )
    _write(empty, edited)
    assert not [a for a in _advice(empty) if " A80" in a]


@pytest.mark.parametrize(
    ("total", "model"),
    [
        (5, "opportunistic"),
        (THRESHOLDS.values_bridge_from - 1, "opportunistic"),
        (THRESHOLDS.values_bridge_from, "values-bridge"),
        (THRESHOLDS.values_bridge_from + 1, "values-bridge"),
        (THRESHOLDS.structural_from - 1, "values-bridge"),
        (THRESHOLDS.structural_from, "structural"),
        (THRESHOLDS.structural_from + 1, "structural"),
        (25, "structural"),
    ],
)
def test_recommendation_at_and_around_thresholds(total: int, model: str) -> None:
    assert advise.supported_model(total) == model


def _scores(total: int) -> str:
    values = [1] * 5
    for i in range(total - 5):
        values[i % 5] += 1
    names = ("alignment", "trust", "resources", "time_horizon", "exit_cost")
    return "{" + ", ".join(f"{n}: {v}" for n, v in zip(names, values, strict=True)) + "}"


@pytest.mark.parametrize(
    ("lowest", "chosen", "mismatch"),
    [
        (THRESHOLDS.values_bridge_from - 1, "values-bridge", True),
        (THRESHOLDS.values_bridge_from, "values-bridge", False),
        (THRESHOLDS.structural_from - 1, "structural", True),
        (THRESHOLDS.structural_from, "structural", False),
        (THRESHOLDS.structural_from, "opportunistic", False),
    ],
)
def test_mismatch_advisory_follows_the_least_ready_partner(
    empty: Path, lowest: int, chosen: str, mismatch: bool
) -> None:
    text = CLEAN.replace(
        "{alignment: 2, trust: 2, resources: 2, time_horizon: 2, exit_cost: 2}", _scores(lowest)
    ).replace(
        "{alignment: 2, trust: 3, resources: 3, time_horizon: 2, exit_cost: 2}", _scores(lowest + 1)
    )
    extra = {
        "values-bridge": "\nbridge_value: Books for all.",
        "structural": "\njoint_entity: {kind: shared-staff, description: One organiser.}",
        "opportunistic": "",
    }[chosen]
    _write(empty, text.replace("model: opportunistic", f"model: {chosen}{extra}"))
    codes = [a.split(": ")[1].split()[0] for a in _advice(empty)]
    assert ("A201" in codes) is mismatch


@pytest.mark.parametrize(
    ("kind", "threshold", "present", "committee", "expected"),
    [
        ("majority", None, 2, 0, (2, 2)),
        ("majority", None, 3, 0, (2, 3)),
        ("majority", None, 4, 0, (3, 4)),
        ("majority", None, 5, 0, (3, 5)),
        ("supermajority", Fraction(2, 3), 5, 0, (4, 5)),
        ("supermajority", Fraction(2, 3), 6, 0, (4, 6)),
        ("supermajority", Fraction(3, 4), 4, 0, (3, 4)),
        ("supermajority", Fraction(1), 7, 0, (7, 7)),
        ("executive-committee", None, 6, 3, (2, 3)),
        ("consensus", None, 4, 0, (4, 4)),
    ],
)
def test_votes_needed(
    kind: RuleKind,
    threshold: Fraction | None,
    present: int,
    committee: int,
    expected: tuple[int, int],
) -> None:
    assert terms.votes_needed(kind, threshold, present, committee) == expected


def test_rule_explained_with_worked_numbers(sample: Path) -> None:
    coalition = checks.load_valid(sample).coalition("housing-for-health")
    assert coalition is not None
    assert advise.explain_rule(coalition.coalition) == (
        "Quorum is three quarters of the voting partners: with 4, at least 3 must take part "
        "for a decision to count.",
        "By default a proposal passes with a majority of the partners taking part: 3 of 4 "
        "when all take part, 2 of 3 at quorum.",
        "The executive committee is Riverside Health System, Riverside Housing Authority, "
        "Lake County Public Health Department.",
        "Public statements in the fund's name: three quarters of the partners taking part, 3 of 4.",
        "Single payments from the pooled fund above 10,000 USD: a majority of the executive "
        "committee, 2 of 3.",
    )


def test_every_advisory_is_explained_in_the_guide() -> None:
    text = (REPO / "content" / "advisories.md").read_text()
    for code, title in ADVISORIES.items():
        assert f"{{#{code.lower()}}}\n### {code}: {title}\n" in text


def test_every_threshold_is_printed_in_the_guide() -> None:
    text = (REPO / "content" / "criteria.md").read_text()
    for field in fields(Thresholds):
        assert f"t.{field.name}" in text, field.name


def test_today_comes_from_the_option_then_the_environment(sample: Path, run: Run) -> None:
    assert clock.resolve_today(TODAY, "UTC", {}) == TODAY
    assert clock.resolve_today(None, "UTC", {"SOURCE_DATE_EPOCH": "1780000000"}) == (
        datetime.date(2026, 5, 28)
    )
    result = run("check", "--root", sample, "--today", "2027-06-01", "--format", "json")
    assert '"today": "2027-06-01"' in result.stdout


def test_strict_makes_advisories_fail(sample: Path, run: Run) -> None:
    assert run("check", "--root", sample, "--today", "2026-11-25").exit_code == 0
    strict = run("check", "--root", sample, "--today", "2026-11-25", "--strict")
    assert strict.exit_code == 1
    assert "error A201" in strict.stdout


def test_samples_advice(sample: Path, run: Run) -> None:
    result = run("check", "--root", sample, "--today", "2026-11-25")
    codes = re.findall(r"^coalitions/([\w-]+)\.yaml:\d+:\d+: advisory (A\d+)", result.stdout, re.M)
    assert codes == [
        ("dignity-in-detention", "A301"),
        ("fair-trade-pact", "A402"),
        ("housing-for-health", "A201"),
        ("housing-for-health", "A203"),
        ("housing-for-health", "A202"),
        ("housing-for-health", "A404"),
        ("housing-for-health", "A802"),
        ("housing-for-health", "A801"),
    ]


def test_score_prints_the_matrix(sample: Path, run: Run) -> None:
    result = run("score", "--root", sample, "housing-for-health", "--today", "2026-11-25")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert "Northside Tenants Union                   3      2      2      4      2     13" in lines
    assert "Recommended model: values-bridge" in lines
    assert "lowest total 13 (Northside Tenants Union); highest 21 (Riverside Health System)" in (
        lines
    )


def test_score_says_so_when_every_partner_totals_the_same(sample: Path, run: Run) -> None:
    result = run("score", "--root", sample, "dignity-in-detention", "--today", "2026-11-25")
    assert "every partner totals 17" in result.stdout.splitlines()
    assert "lowest total" not in result.stdout
