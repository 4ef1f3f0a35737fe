"""The signed terms: everything the MOU prints, as one record derived from a coalition (pure).

The MOU text is laid out from this record and from nothing else (the MOU template receives
the record, never the coalition), and the fingerprint is the hash of this record. So the
fingerprint covers exactly what the MOU prints, and the MOU prints nothing it does not
cover: a field the MOU does not show (status, scores, contacts, steps, signatures...) is
not here, and a field that is here is shown.

Values are kept the way they are printed: text with its whitespace normalised, partners by
name (never by id), money as the amount printed, dates resolved (the review dates and the
sunset, not the rules that produce them), a threshold only where the rule uses one.
"""

from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass
from datetime import date
from fractions import Fraction
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from markdown_it import MarkdownIt

from playbook_builder.model import (
    AllianceModel,
    Coalition,
    EntityKind,
    Messaging,
    Provisions,
    RuleKind,
)
from playbook_builder.schedule import review_dates, sunset_date

SCHEME = 2
"""The fingerprint scheme: which record is hashed, and how. Recorded in every packet.

1: a hand-kept list of coalition fields (before this module).
2: the signed-terms record below.
"""


@dataclass(frozen=True, slots=True, kw_only=True)
class Party:
    """A partner as the MOU names it."""

    name: str
    legal_name: str
    """The registered name the MOU binds (the display name when none is given)."""
    address: str | None
    """Where notices go."""
    sector: str | None
    representative: str
    """The decision maker who signs for it."""
    representative_title: str
    success: str | None
    """What success means for this partner."""
    staff_hours_per_month: int | None
    funding: str | None
    """The amount as printed, with its currency: `15,000 USD`; None when nothing is given."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Role:
    title: str
    holder: str
    """The name of the partner that holds it."""
    duties: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Override:
    decisions: str
    rule: RuleKind
    threshold: Fraction | None
    """Only for a supermajority."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Rule:
    """How the partners decide, with the committee by name."""

    default: RuleKind
    threshold: Fraction | None
    """Only for a supermajority."""
    quorum: Fraction | None
    committee: tuple[str, ...]
    """Names of the partners on the executive committee."""
    overrides: tuple[Override, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Exit:
    notice_days: int | None
    ends: date | None
    """The sunset: the date given, or `after_months` counted from the start."""
    renewal: str | None
    minor_breach: str | None
    major_breach: str | None
    sanctions: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Clause:
    title: str
    text: str
    """Markdown, normalised (see `normalise_markdown`)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Provision:
    """A standard provision, as printed: the project's wording or the partners' own."""

    key: str
    title: str
    text: str
    binding: bool
    """Whether this provision creates a legal obligation (listed in `mou.binding`)."""


PROVISION_TITLES = {
    "confidentiality": "Confidentiality",
    "names_and_logos": "Use of names and logos",
    "data": "Data",
    "disputes": "Disagreements",
    "amendment": "Changing this memorandum",
    "membership": "New partners",
    "fiscal_agent": "Fiscal agent",
    "records": "Records",
    "costs": "Costs",
    "governing_law": "Governing law",
}
"""The provisions in the order they are printed."""


@dataclass(frozen=True, slots=True, kw_only=True)
class SignedTerms:
    """What the partners sign: the only input of the MOU text, and what the fingerprint hashes."""

    name: str
    purpose: str
    effective: date | None
    model: AllianceModel
    bridge_value: str | None
    """Only for a values-bridge alliance."""
    joint_entity_kind: EntityKind | None
    """Only for a structural alliance."""
    joint_entity: str | None
    messaging: Messaging | None
    parties: tuple[Party, ...]
    """In the author's order: it is the document's order."""
    roles: tuple[Role, ...]
    rule: Rule
    cadence: str
    minutes: int
    channel: str | None
    shared_record: bool
    """Whether decisions are kept in a shared document (its address is not printed)."""
    launch: date | None
    first_win: str | None
    reviews: tuple[date, ...]
    review_questions: tuple[str, ...]
    exit: Exit | None
    clauses: tuple[Clause, ...]
    provisions: tuple[Provision, ...]
    """The standard provisions that are printed, numbered in this order."""
    counterparts: bool
    """Whether the MOU may be signed in counterparts and electronically."""

    @property
    def sections(self) -> tuple[tuple[int, str, str], ...]:
        """(number, anchor, title) of every section, in order: for headings and contents."""
        titles = [
            ("mou-parties", "The parties"),
            ("mou-goal", "Shared goal"),
            ("mou-model", "The alliance"),
            ("mou-commitments", "Commitments"),
            ("mou-roles", "Roles and responsibilities"),
            ("mou-decisions", "How decisions are made"),
            ("mou-communication", "Communication"),
            ("mou-review", "Review"),
            ("mou-exit", "Leaving and ending"),
        ]
        if self.provisions:
            titles.append(("mou-provisions", "Provisions"))
        if self.clauses:
            titles.append(("mou-clauses", "Further clauses"))
        titles.append(("mou-legal", "Legal status and signing"))
        return tuple((number, anchor, title) for number, (anchor, title) in enumerate(titles, 1))

    @property
    def number(self) -> dict[str, int]:
        """Section numbers by anchor."""
        return {anchor: number for number, anchor, _ in self.sections}

    @property
    def binding(self) -> tuple[str, ...]:
        """Titles of the provisions that bind."""
        return tuple(p.title for p in self.provisions if p.binding)

    @property
    def placeholders(self) -> tuple[str, ...]:
        """The sections that still hold a placeholder (text starting with TODO)."""
        return tuple(
            section
            for section, values in self._sections().items()
            if any(is_placeholder(value) for value in values)
        )

    def _sections(self) -> dict[str, list[str | None]]:
        exit_terms = self.exit
        return {
            "The parties": [self.name]
            + [v for p in self.parties for v in (p.name, p.legal_name, p.address, p.sector)]
            + [v for p in self.parties for v in (p.representative, p.representative_title)],
            "Shared goal": [self.purpose, *(p.success for p in self.parties)],
            "The alliance": [self.bridge_value, self.joint_entity],
            "Roles and responsibilities": [
                v for r in self.roles for v in (r.title, r.holder, *r.duties)
            ],
            "How decisions are made": [o.decisions for o in self.rule.overrides],
            "Communication": [self.channel, self.first_win],
            "Review": list(self.review_questions),
            "Leaving and ending": []
            if exit_terms is None
            else [exit_terms.renewal, exit_terms.minor_breach, exit_terms.major_breach],
            "Provisions": [p.text for p in self.provisions],
            "Further clauses": [v for c in self.clauses for v in (c.title, c.text)],
        }

    @property
    def rule_summary(self) -> str:
        """The decision rule in one sentence."""
        rule = self.rule
        summary = f"Passes with {describe_rule(rule.default, rule.threshold)}"
        if rule.quorum == 1:
            summary += ", with every partner taking part"
        elif rule.quorum is not None:
            summary += f", with a quorum of {fraction_words(rule.quorum)} of the partners"
        for override in rule.overrides:
            decisions = override.decisions[0].lower() + override.decisions[1:].rstrip(".")
            summary += f"; {decisions} need {describe_rule(override.rule, override.threshold)}"
        return summary + "."

    @property
    def rule_lines(self) -> tuple[str, ...]:
        """The decision rule as arithmetic, for as many voters as there are parties."""
        return explain(self.rule, len(self.parties))


def signed_terms(coalition: Coalition) -> SignedTerms:
    """The record of what the MOU prints for this coalition."""
    c = coalition
    names = {p.id: p.name for p in c.partners}
    parties = []
    for partner in c.partners:
        commitment = partner.commitment
        funding = None
        if commitment is not None and commitment.funding:
            funding = money(commitment.funding, commitment.currency)
        parties.append(
            Party(
                name=text(partner.name),
                legal_name=text(partner.legal_name or partner.name),
                address=optional(partner.address),
                sector=optional(partner.sector),
                representative=text(partner.decision_maker.name),
                representative_title=text(partner.decision_maker.title),
                success=optional(c.success.get(partner.id)),
                staff_hours_per_month=commitment.staff_hours_per_month if commitment else None,
                funding=funding,
            )
        )
    exit_terms = None
    if c.exit is not None:
        breach = c.exit.breach
        exit_terms = Exit(
            notice_days=c.exit.notice_days,
            ends=sunset_date(c),
            renewal=optional(c.exit.renewal),
            minor_breach=optional(breach.minor) if breach else None,
            major_breach=optional(breach.major) if breach else None,
            sanctions=tuple(breach.sanctions) if breach else (),
        )
        if exit_terms == Exit(
            notice_days=None,
            ends=None,
            renewal=None,
            minor_breach=None,
            major_breach=None,
            sanctions=(),
        ):
            exit_terms = None
    structural = c.model == "structural" and c.joint_entity is not None
    return SignedTerms(
        name=text(c.name),
        purpose=text(c.purpose),
        effective=c.mou.effective if c.mou else None,
        model=c.model,
        bridge_value=optional(c.bridge_value) if c.model == "values-bridge" else None,
        joint_entity_kind=c.joint_entity.kind if structural and c.joint_entity else None,
        joint_entity=text(c.joint_entity.description) if structural and c.joint_entity else None,
        messaging=c.messaging,
        parties=tuple(parties),
        roles=tuple(
            Role(
                title=text(role.title),
                holder=text(names.get(role.partner, role.partner)),
                duties=tuple(text(duty) for duty in role.responsibilities),
            )
            for role in c.roles
        ),
        rule=rule_terms(c),
        cadence=c.communication.cadence,
        minutes=c.communication.minutes,
        channel=optional(c.communication.channel),
        shared_record=c.communication.shared_doc is not None,
        launch=c.launch.date if c.launch else None,
        first_win=optional(c.launch.first_win) if c.launch else None,
        reviews=review_dates(c),
        review_questions=tuple(text(q) for q in c.review.questions) if c.review else (),
        exit=exit_terms,
        clauses=tuple(
            Clause(title=text(clause.title), text=normalise_markdown(clause.text))
            for clause in (c.mou.clauses if c.mou else ())
        ),
        provisions=_provisions(c),
        counterparts=c.mou.counterparts if c.mou else True,
    )


def rule_terms(c: Coalition) -> Rule:
    """The decision rule as the MOU states it: the committee by name, a threshold only
    where the rule uses one."""
    rule = c.decision_rule
    return Rule(
        default=rule.default,
        threshold=rule.threshold if rule.default == "supermajority" else None,
        quorum=rule.quorum,
        committee=tuple(text(c.partner_name(pid)) for pid in rule.committee),
        overrides=tuple(
            Override(
                decisions=text(o.decisions),
                rule=o.rule,
                threshold=o.threshold if o.rule == "supermajority" else None,
            )
            for o in rule.overrides
        ),
    )


def is_placeholder(value: str | None) -> bool:
    """Whether a text is a placeholder: it starts with TODO."""
    return value is not None and value.lstrip().startswith("TODO")


def _provisions(c: Coalition) -> tuple[Provision, ...]:
    """The standard provisions as printed: the partners' words, or ours derived from the
    coalition; `none` leaves one out, and data, fiscal agent and governing law are printed
    only when given."""
    given = c.mou.provisions if c.mou else Provisions()
    binding = set(c.mou.binding) if c.mou else set()
    standard: dict[str, str] | None = None
    found = []
    for key, title in PROVISION_TITLES.items():
        value = getattr(given, key)
        if value is None or value.strip() == "none":
            continue
        if value.strip() == "standard":
            standard = standard or _standard(c)
            wording = standard.get(key)
            if wording is None:
                continue
        elif key == "governing_law" and not value.rstrip().endswith("."):
            wording = f"This memorandum is read under the law of {text(value)}."
        else:
            wording = normalise_markdown(value)
        found.append(Provision(key=key, title=title, text=wording, binding=key in binding))
    return tuple(found)


def _standard(c: Coalition) -> dict[str, str]:
    """The project's own wording of the provisions it has words for, derived from the
    coalition (made once a coalition: most provisions are standard)."""
    coordinator = next(
        (r for r in c.roles if "coordinat" in r.title.casefold()),
        None,
    )
    keeper = (
        f"{text(c.partner_name(coordinator.partner))}, as {text(coordinator.title).lower()},"
        if coordinator
        else "The partner the others name for the task"
    )
    rule = describe_rule(c.decision_rule.default, c.decision_rule.threshold)
    first = (
        f"the {text(coordinator.title).lower()} ({text(c.partner_name(coordinator.partner))})"
        if coordinator
        else "the partners' leads"
    )
    wording = {
        "confidentiality": (
            "What a partner shares with the others and marks as confidential stays within "
            "the coalition and serves only its work. This does not cover what is public, "
            "what a partner knew already, or what the law obliges a partner to disclose."
        ),
        "names_and_logos": (
            "No partner uses another's name or logo, or speaks in the coalition's name, "
            "unless the partners have agreed to that use under section 6."
        ),
        "disputes": (
            f"A disagreement about this memorandum goes first to {first}, then to the "
            f"partners' decision makers, who meet on it within 30 days. "
            f"If they cannot settle it, the partners ask a mediator they choose together "
            f"before any partner leaves over it."
        ),
        "amendment": (
            f"This memorandum changes only in writing, when the partners agree under "
            f"section 6 ({rule}) and every partner signs the new version."
        ),
        "membership": (
            "A new partner joins when the partners agree under section 6 and it signs this "
            "memorandum as it then stands."
        ),
        "records": (
            f"{keeper[0].upper() + keeper[1:]} keeps the notes of every meeting and the log "
            f"of decisions, and shares them with every partner within 14 days."
        ),
        "costs": (
            "Each partner bears its own costs of taking part, beyond what it commits in section 4."
        ),
    }
    return wording


# --- values as printed ------------------------------------------------------------------


def text(value: str) -> str:
    """A one-line text as printed: runs of whitespace read as one space."""
    return " ".join(value.split())


def optional(value: str | None) -> str | None:
    return text(value) if value is not None and value.strip() else None


def money(amount: float, currency: str | None) -> str:
    """`15,000 USD`; cents only where there are some."""
    cents = round(amount * 100)
    whole, part = divmod(cents, 100)
    number = f"{whole:,}" + (f".{part:02d}" if part else "")
    return f"{number} {currency or ''}".strip()


_HARD_BREAK = re.compile(r"( {2,}|\\)$")


@functools.cache
def _parser() -> MarkdownIt:
    from markdown_it import MarkdownIt  # only files with clauses need it

    return MarkdownIt("js-default")


@functools.lru_cache(maxsize=4096)
def normalise_markdown(source: str) -> str:
    """A clause's Markdown with the whitespace that cannot change how it reads normalised.

    Trailing spaces go (except the two that make a line break), runs of blank lines become
    one, and the lines of a top-level paragraph are joined with single spaces (re-wrapping
    a paragraph changes nothing). Lists, quotes, code and headings keep their lines.
    """
    lines: list[str | None] = [
        line if line.strip() and _HARD_BREAK.search(line) else line.rstrip()
        for line in source.split("\n")
    ]
    for token in _parser().parse("\n".join(line or "" for line in lines)):
        if token.type != "paragraph_open" or token.level != 0 or token.map is None:
            continue
        start, end = token.map
        joined = [str(lines[start]).lstrip()]
        for line in lines[start + 1 : end]:
            if _HARD_BREAK.search(joined[-1]):
                joined.append(str(line).lstrip())
            else:
                joined[-1] = f"{joined[-1]} {str(line).lstrip()}"
        joined[-1] = joined[-1].rstrip(" ")  # a break at a paragraph's end breaks nothing
        lines[start:end] = ["\n".join(joined)] + [None] * (end - start - 1)
    kept = "\n".join(line for line in lines if line is not None)
    return re.sub(r"\n{3,}", "\n\n", kept).strip("\n")


# --- the decision rule as arithmetic ---------------------------------------------------------


def majority_of(count: int) -> int:
    """Votes for a majority: more than half."""
    return count // 2 + 1


def share_of(count: int, share: Fraction) -> int:
    """Votes for at least `share` of `count`."""
    return max(1, math.ceil(share * count))


def votes_needed(
    kind: RuleKind, threshold: Fraction | None, present: int, committee: int
) -> tuple[int, int]:
    """(votes needed, out of) for a decision of this kind with `present` partners."""
    if kind == "majority":
        return majority_of(present), present
    if kind == "supermajority":
        return share_of(present, threshold or Fraction(2, 3)), present
    if kind == "executive-committee":
        return majority_of(committee), committee
    return present, present


_FRACTION_NAMES = {
    (1, 1): "all",
    (1, 2): "one half",
    (2, 3): "two thirds",
    (3, 4): "three quarters",
    (3, 5): "three fifths",
    (4, 5): "four fifths",
    (1, 3): "one third",
}
"""Shares named in words, by numerator and denominator (a fraction is in lowest terms, so
each has one pair; hashing fractions to look them up took 7 us a call)."""


def fraction_words(value: Fraction) -> str:
    """`two thirds`, `all`, else `5/7`."""
    pair = (value.numerator, value.denominator)
    return _FRACTION_NAMES.get(pair) or f"{pair[0]}/{pair[1]}"


def describe_rule(kind: RuleKind, threshold: Fraction | None) -> str:
    """A rule in words: 'a majority of the partners taking part'."""
    if kind == "majority":
        return "a majority of the partners taking part"
    if kind == "supermajority":
        return f"{fraction_words(threshold or Fraction(2, 3))} of the partners taking part"
    if kind == "executive-committee":
        return "a majority of the executive committee"
    return "the consent of every partner taking part (consensus)"


def explain(rule: Rule, voters: int) -> tuple[str, ...]:
    """A decision rule in plain words, with worked numbers for `voters` voting partners."""
    committee = len(rule.committee)
    lines = []
    quorum_count = share_of(voters, rule.quorum) if rule.quorum is not None else voters
    if rule.quorum is not None:
        lines.append(
            f"Quorum is {fraction_words(rule.quorum)} of the voting partners: with {voters}, "
            f"at least {quorum_count} must take part for a decision to count."
        )
    else:
        lines.append(
            f"No quorum is set, so a decision counts however few of the {voters} voting "
            f"partners take part."
        )
    needed, out_of = votes_needed(rule.default, rule.threshold, voters, committee)
    sentence = (
        f"By default a proposal passes with {describe_rule(rule.default, rule.threshold)}: "
        f"{needed} of {out_of}"
    )
    if rule.default != "executive-committee" and quorum_count < voters:
        low, _ = votes_needed(rule.default, rule.threshold, quorum_count, committee)
        sentence += f" when all take part, {low} of {quorum_count} at quorum"
    lines.append(sentence + ".")
    if committee:
        lines.append(f"The executive committee is {', '.join(rule.committee)}.")
    for override in rule.overrides:
        needed, out_of = votes_needed(override.rule, override.threshold, voters, committee)
        lines.append(
            f"{override.decisions.rstrip('.')}: "
            f"{describe_rule(override.rule, override.threshold)}, {needed} of {out_of}."
        )
    return tuple(lines)
