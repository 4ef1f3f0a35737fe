"""The decision log checked as arithmetic against the rule the partners signed (pure).

Each recorded decision is judged under the agreement as it stood on its date (the newest
committed version on or before it, when git has the history; else the file as it is):
who could vote that day, whether the quorum was met, and whether the recorded outcome
follows from the votes. The arithmetic is the one the MOU explains (`terms.votes_needed`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Literal

from playbook_builder.model import Coalition, Decision, Outcome, RuleKind
from playbook_builder.terms import describe_rule, share_of, votes_needed

Agreement = tuple[Coalition, str]
"""A version of the coalition, and the short fingerprint of its agreement ('' for now)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Judgement:
    """One recorded decision, checked."""

    index: int
    """Its place in `decisions`."""
    decision: Decision
    rule: RuleKind
    rule_words: str
    """The rule in words, as the MOU states it."""
    applies_to: str
    """'the default rule', or 'the rule for public statements...'."""
    version: str
    """The short fingerprint of the agreement it was judged by ('' when it is today's)."""
    voters: tuple[str, ...]
    """Ids of the partners who could vote that day."""
    votes_for: int
    against: int
    abstained: int
    absent: int
    ignored: tuple[str, ...]
    """Ids that voted but could not vote that day (not signed yet, suspended, ...)."""
    quorum: int
    """How many had to take part (0 when no quorum is set)."""
    needed: int
    out_of: int
    supported: Outcome
    before_effective: bool

    @property
    def taking_part(self) -> int:
        return self.votes_for + self.against + self.abstained

    @property
    def sound(self) -> bool:
        """Whether the recorded outcome is the one the votes support."""
        return self.decision.outcome == self.supported

    @property
    def verdict(self) -> Literal["sound", "unsupported"]:
        return "sound" if self.sound else "unsupported"

    @property
    def tally(self) -> str:
        """`3 for, 1 against, 0 abstaining, 1 absent, of 5 who could vote`."""
        return (
            f"{self.votes_for} for, {self.against} against, {self.abstained} abstaining, "
            f"{self.absent} absent, of {len(self.voters)} who could vote"
        )

    @property
    def reason(self) -> str:
        """Why the votes support the outcome they support, in one sentence."""
        if self.taking_part < self.quorum:
            return (
                f"only {self.taking_part} of {len(self.voters)} took part; the quorum is "
                f"{self.quorum}"
            )
        return (
            f"{self.votes_for} of {self.out_of} voted for it; {self.rule_words} needs {self.needed}"
        )


def judge(
    coalition: Coalition, agreement_on: Callable[[date], Agreement] | None = None
) -> tuple[Judgement, ...]:
    """Every recorded decision, judged under the agreement in force on its date."""
    return tuple(
        _judge(index, decision, coalition, agreement_on)
        for index, decision in enumerate(coalition.decisions)
    )


def judge_added(coalition: Coalition, decision: Decision) -> Judgement:
    """How a decision not yet in the log would be judged (under today's agreement)."""
    return judge(dataclasses.replace(coalition, decisions=(*coalition.decisions, decision)))[-1]


def _judge(
    index: int,
    decision: Decision,
    current: Coalition,
    agreement_on: Callable[[date], Agreement] | None,
) -> Judgement:
    then, version = agreement_on(decision.date) if agreement_on else (current, "")
    rule = then.decision_rule
    override = next((o for o in rule.overrides if o.id and o.id == decision.under), None)
    if override is None and decision.under is not None:  # an id that was added later
        override = next(
            (o for o in current.decision_rule.overrides if o.id == decision.under), None
        )
    kind = override.rule if override else rule.default
    threshold = override.threshold if override else rule.threshold
    signed = {s.partner for s in current.signatures if s.date is None or s.date <= decision.date}
    members = [p for p in then.partners if p.votes and p.id in signed]
    if kind == "executive-committee":
        members = [p for p in members if p.id in rule.committee]
    voters = tuple(p.id for p in members)
    counted = {pid: decision.votes.get(pid, "absent") for pid in voters}
    votes_for = sum(1 for v in counted.values() if v == "for")
    against = sum(1 for v in counted.values() if v == "against")
    abstained = sum(1 for v in counted.values() if v == "abstain")
    absent = sum(1 for v in counted.values() if v == "absent")
    present = votes_for + against + abstained
    quorum = share_of(len(voters), rule.quorum) if rule.quorum is not None and voters else 0
    needed, out_of = votes_needed(kind, threshold, present, len(voters))
    if kind == "consensus":
        needed = max(needed, 1)
    carried = present >= quorum and votes_for >= needed and needed > 0
    start = then.mou.effective if then.mou else None
    return Judgement(
        index=index,
        decision=decision,
        rule=kind,
        rule_words=describe_rule(kind, threshold),
        applies_to=(
            f"the rule for {override.decisions[0].lower()}{override.decisions[1:].rstrip('.')}"
            if override
            else "the default rule"
        ),
        version=version,
        voters=voters,
        votes_for=votes_for,
        against=against,
        abstained=abstained,
        absent=absent,
        ignored=tuple(
            pid for pid, vote in decision.votes.items() if pid not in counted and vote != "absent"
        ),
        quorum=quorum,
        needed=needed,
        out_of=out_of,
        supported="adopted" if carried else "rejected",
        before_effective=start is not None and decision.date < start,
    )


def newest_on(
    versions: Sequence[tuple[date, Agreement]], current: Coalition
) -> Callable[[date], Agreement]:
    """`agreement_on` from versions (commit date, agreement), newest first."""

    def on(day: date) -> Agreement:
        for when, agreement in versions:
            if when <= day:
                return agreement
        return (current, "")

    return on


def problems_of(judgements: Sequence[Judgement]) -> list[tuple[int, str, str]]:
    """(index, found, allowed) of each recorded outcome the votes do not support."""
    return [
        (
            j.index,
            f"{j.decision.outcome}, but {j.reason}",
            f"the outcome the votes support under {j.applies_to} ({j.supported}), or the "
            f"votes as they were cast",
        )
        for j in judgements
        if not j.sound
    ]
