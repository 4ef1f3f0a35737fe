# ruff: noqa: E501 - one case per line reads better than a wrapped table
"""decisions.py: each recorded decision judged against the rule in force that day.

One table of cases over every rule kind; each names the verdict and the message.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from fractions import Fraction
from typing import Any

import pytest

from playbook_builder.decisions import judge, newest_on, problems_of
from playbook_builder.model import Decision, DecisionRule, Override, Signature
from tests.unit.make import coalition, partner

SIGNED = date(2026, 10, 1)
DAY = date(2026, 11, 12)
IDS = ("a", "b", "c", "d", "e")


def _five(**rule: Any) -> Any:
    partners = tuple(partner(pid, pid.upper() + " Org") for pid in IDS)
    signatures = tuple(
        Signature(partner=pid, signer="S", mou_version="00000000", date=SIGNED) for pid in IDS
    )
    return coalition(partners=partners, signatures=signatures, decision_rule=DecisionRule(**rule))


def _votes(spec: str) -> dict[str, Any]:
    """`FFAXB-` -> a: for, b: for, c: against, d: abstain(X), e: absent(-)."""
    names = {"F": "for", "A": "against", "X": "abstain", "-": "absent"}
    return {pid: names[mark] for pid, mark in zip(IDS, spec, strict=False) if mark != " "}


def _one(c: Any, spec: str, outcome: str, under: str | None = None) -> Any:
    decision = Decision(date=DAY, title="T", votes=_votes(spec), outcome=outcome, under=under)  # type: ignore[arg-type]
    return judge(replace(c, decisions=(decision,)))[0]


OVERRIDES = (
    Override(id="statements", decisions="Public statements", rule="supermajority", threshold=Fraction(3, 4)),
    Override(id="fund", decisions="Fund payments", rule="executive-committee"),
    Override(id="expel", decisions="Expelling a partner", rule="consensus"),
)  # fmt: skip

CASES = [
    # (name, rule, votes, under, recorded, verdict, message)
    ("majority carried", {"default": "majority"}, "FFFAA", None, "adopted", "sound", "3 of 5 voted for it; a majority of the partners taking part needs 3"),
    ("majority short", {"default": "majority"}, "FFAAX", None, "adopted", "unsupported", "2 of 5 voted for it; a majority of the partners taking part needs 3"),
    ("majority of those taking part", {"default": "majority"}, "FF-A-", None, "adopted", "sound", "2 of 3 voted for it"),
    ("abstentions take part", {"default": "majority"}, "FFXXX", None, "rejected", "sound", "2 of 5 voted for it; a majority"),
    ("supermajority 2/3 met", {"default": "supermajority", "threshold": Fraction(2, 3)}, "FFFFA", None, "adopted", "sound", "needs 4"),
    ("supermajority 2/3 missed", {"default": "supermajority", "threshold": Fraction(2, 3)}, "FFFAA", None, "adopted", "unsupported", "3 of 5 voted for it; two thirds of the partners taking part needs 4"),
    ("supermajority 3/4 override", {"default": "majority", "overrides": OVERRIDES}, "FFFAA", "statements", "adopted", "unsupported", "three quarters of the partners taking part needs 4"),
    ("executive committee", {"default": "majority", "committee": ("a", "b", "c"), "overrides": OVERRIDES}, "FFAAA", "fund", "adopted", "sound", "2 of 3 voted for it; a majority of the executive committee needs 2"),
    ("committee: others do not count", {"default": "executive-committee", "committee": ("a", "b", "c")}, "FAAFF", None, "adopted", "unsupported", "1 of 3 voted for it"),
    ("consensus blocked by one", {"default": "majority", "overrides": OVERRIDES}, "FFFFA", "expel", "adopted", "unsupported", "4 of 5 voted for it; the consent of every partner taking part (consensus) needs 5"),
    ("consensus of those present", {"default": "consensus"}, "FFF--", None, "adopted", "sound", "3 of 3"),
    ("quorum just met", {"default": "majority", "quorum": Fraction(3, 5)}, "FFA--", None, "adopted", "sound", "2 of 3 voted for it"),
    ("quorum just missed", {"default": "majority", "quorum": Fraction(3, 5)}, "FF---", None, "adopted", "unsupported", "only 2 of 5 took part; the quorum is 3"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("rule", "spec", "under", "recorded", "verdict", "message"),
    [c[1:] for c in CASES],
    ids=[c[0] for c in CASES],
)
def test_the_table_of_cases(rule: dict[str, Any], spec: str, under: str | None, recorded: str, verdict: str, message: str) -> None:  # fmt: skip
    judged = _one(_five(**rule), spec, recorded, under)
    assert judged.verdict == verdict
    assert message in judged.reason


def test_a_suspended_partner_does_not_vote() -> None:
    c = _five(default="majority")
    c = replace(c, partners=(*c.partners[:4], replace(c.partners[4], status="suspended")))
    judged = _one(c, "FFAAF", "adopted")
    assert judged.voters == ("a", "b", "c", "d")
    assert judged.ignored == ("e",)
    assert judged.verdict == "unsupported"
    assert judged.reason == "2 of 4 voted for it; a majority of the partners taking part needs 3"


def test_a_partner_who_signed_later_does_not_vote() -> None:
    c = _five(default="majority")
    late = Signature(partner="e", signer="S", mou_version="00000000", date=date(2026, 12, 1))
    c = replace(c, signatures=(*c.signatures[:4], late))
    judged = _one(c, "FFAAF", "adopted")
    assert "e" not in judged.voters
    assert judged.ignored == ("e",)
    assert judged.verdict == "unsupported"


def test_a_rule_changed_between_two_decisions() -> None:
    majority = _five(default="majority")
    stricter = replace(
        majority, decision_rule=DecisionRule(default="supermajority", threshold=Fraction(3, 4))
    )
    versions = [
        (date(2026, 11, 15), (stricter, "bbbbbbbb")),
        (date(2026, 10, 1), (majority, "aaaaaaaa")),
    ]
    early = Decision(
        date=date(2026, 11, 12), title="Early", votes=_votes("FFFAA"), outcome="adopted"
    )
    later = Decision(
        date=date(2026, 11, 20), title="Later", votes=_votes("FFFAA"), outcome="adopted"
    )
    judged = judge(replace(stricter, decisions=(early, later)), newest_on(versions, stricter))
    assert [j.version for j in judged] == ["aaaaaaaa", "bbbbbbbb"]
    assert [j.verdict for j in judged] == ["sound", "unsupported"]
    assert problems_of(judged) == [
        (1, "adopted, but 3 of 5 voted for it; three quarters of the partners taking part needs 4",
         "the outcome the votes support under the default rule (rejected), or the votes as they were cast"),
    ]  # fmt: skip


def test_a_decision_before_the_mou_took_effect() -> None:
    from playbook_builder.model import Mou

    c = replace(_five(default="majority"), mou=Mou(effective=date(2026, 12, 1)))
    assert _one(c, "FFFAA", "adopted").before_effective
