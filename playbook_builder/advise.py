"""The guide's judgement as pure functions: the decision matrix, the recommended model,
the decision rule as arithmetic, and coded advisories.

Every number the advice uses is in THRESHOLDS, and the guidance pages print them from
there (content/criteria.md), so nothing the advisor decides is hidden in code.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from itertools import islice
from typing import Protocol

from dateutil.relativedelta import relativedelta

from playbook_builder.decisions import judge
from playbook_builder.fingerprint import Fingerprint, fingerprint
from playbook_builder.model import (
    CRITERIA,
    MODELS,
    AllianceModel,
    Coalition,
    CoalitionFile,
    Partner,
    article,
    json_ready,
)
from playbook_builder.schedule import review_dates, sunset_date
from playbook_builder.source import field_path
from playbook_builder.terms import explain, is_placeholder, rule_terms, share_of


@dataclass(frozen=True, slots=True, kw_only=True)
class Thresholds:
    """The numbers behind the advice; printed in the guidance pages."""

    values_bridge_from: int = 12
    """A least-ready total from here supports a values-bridge alliance (below: opportunistic)."""
    structural_from: int = 19
    """A least-ready total from here supports a structural alliance."""
    low_trust: int = 2
    """A trust score at or below this is low: start with a time-limited pilot."""
    imbalance_total_gap: int = 8
    """Totals this far apart between two partners are an imbalance."""
    imbalance_resources_gap: int = 3
    """Resource scores this far apart between two partners are an imbalance."""
    coordinator_from_partners: int = 5
    """From this many partners, a coalition needs a coordinator role."""
    drain_from_coalitions: int = 3
    """An organisation in this many coalitions or more risks a resource drain."""
    first_review_within_months: int = 6
    """The first review should come no later than this many months after launch."""


THRESHOLDS = Thresholds()

GUIDE_PAGE = "guide/advisories.html"
"""Where every advisory is explained, with an anchor per code."""


# --- the decision matrix and the recommendation ------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Row:
    """One partner's line in the decision matrix."""

    partner: Partner
    scores: tuple[int, int, int, int, int]
    """In the order of CRITERIA."""
    total: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Matrix:
    """Partners x criteria, with totals."""

    rows: tuple[Row, ...]
    """The scored partners, in the author's order."""
    lowest: Row | None
    """The least-ready scored partner (the first listed, among equals)."""
    highest: Row | None
    """The most-ready scored partner (the first listed, among equals)."""
    unscored: tuple[Partner, ...] = ()
    """Partners not scored yet: the advice waits for them."""

    def total(self, partner_id: str) -> int | None:
        """A partner's total, or None while it is not scored."""
        return next((row.total for row in self.rows if row.partner.id == partner_id), None)


@dataclass(frozen=True, slots=True, kw_only=True)
class Recommendation:
    """The model the scores support, and how the chosen one compares."""

    model: AllianceModel | None
    """The deepest model the least-ready scored partner can carry (None: nobody scored)."""
    chosen: AllianceModel
    lowest_total: int | None
    reasoning: str
    """In plain words, with the numbers."""

    @property
    def mismatch(self) -> bool:
        """Whether the chosen model is deeper than the scored partners can carry."""
        return self.model is not None and MODELS.index(self.chosen) > MODELS.index(self.model)


def matrix(coalition: Coalition) -> Matrix:
    """The decision matrix of a coalition's scored partners."""
    rows = tuple(
        Row(partner=p, scores=p.scores.as_tuple(), total=p.scores.total)
        for p in coalition.partners
        if p.scores is not None
    )
    return Matrix(
        rows=rows,
        lowest=min(rows, key=lambda row: row.total) if rows else None,
        highest=max(rows, key=lambda row: row.total) if rows else None,
        unscored=tuple(p for p in coalition.partners if p.scores is None),
    )


def supported_model(total: int, thresholds: Thresholds = THRESHOLDS) -> AllianceModel:
    """The deepest model a partner with this total is ready for."""
    if total >= thresholds.structural_from:
        return "structural"
    if total >= thresholds.values_bridge_from:
        return "values-bridge"
    return "opportunistic"


def recommend(coalition: Coalition, thresholds: Thresholds = THRESHOLDS) -> Recommendation:
    """The model the least-ready partner supports, explained against the chosen one."""
    grid = matrix(coalition)
    lowest = grid.lowest
    waiting = ", ".join(p.name for p in grid.unscored)
    if lowest is None:
        return Recommendation(
            model=None,
            chosen=coalition.model,
            lowest_total=None,
            reasoning=(
                f"No partner is scored yet, so the scores cannot recommend a model: score "
                f"{waiting} on the five criteria."
            ),
        )
    model = supported_model(lowest.total, thresholds)
    band = _band(model, thresholds)
    reasoning = (
        f"The least-ready partner, {lowest.partner.name}, totals {lowest.total} of 25 "
        f"({band}), which supports {article(model)} {model} alliance"
    )
    if model == coalition.model:
        reasoning += f"; you chose {coalition.model}, which fits."
    elif MODELS.index(coalition.model) > MODELS.index(model):
        reasoning += (
            f"; you chose {coalition.model}, which asks more depth than that partner is "
            f"ready to give."
        )
    else:
        reasoning += (
            f"; you chose {coalition.model}, a lighter model than the scores allow, which "
            f"is a safe choice when speed matters more than depth."
        )
    if grid.unscored:
        reasoning += f" This counts only the scored partners; it waits for {waiting}."
    return Recommendation(
        model=model, chosen=coalition.model, lowest_total=lowest.total, reasoning=reasoning
    )


def _band(model: AllianceModel, thresholds: Thresholds) -> str:
    if model == "structural":
        return f"{thresholds.structural_from}-25"
    if model == "values-bridge":
        return f"{thresholds.values_bridge_from}-{thresholds.structural_from - 1}"
    return f"5-{thresholds.values_bridge_from - 1}"


# --- the decision rule as arithmetic -----------------------------------------------------


def voting_partners(coalition: Coalition) -> tuple[Partner, ...]:
    """Partners who take part in decisions."""
    return coalition.voters


def explain_rule(coalition: Coalition) -> tuple[str, ...]:
    """The decision rule in plain words, with worked numbers for today's voting partners."""
    return explain(rule_terms(coalition), len(voting_partners(coalition)))


# --- advisories --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Advisory:
    """Advice drawn from the guidance, about one place in one coalition file."""

    code: str
    """Stable, e.g. A301; the anchor of its explanation in the guide."""
    slug: str
    """The coalition."""
    file: str
    """Relative to the workspace root."""
    line: int
    column: int
    message: str
    """One line."""
    mou: bool = False
    """Whether it concerns the MOU (and so is printed in the packet)."""

    @property
    def link(self) -> str:
        """The guide section that explains it, relative to the site root."""
        return f"{GUIDE_PAGE}#{self.code.lower()}"

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}: {self.code} {self.message}"


ADVISORIES: dict[str, str] = {
    "A101": "The purpose is longer than one sentence",
    "A102": "A partner has no definition of success",
    "A103": "No internal alignment while forming or active",
    "A104": "The window has passed while still exploring or forming",
    "A105": "A placeholder is still in the file",
    "A201": "The chosen model is deeper than the least-ready partner can carry",
    "A202": "Low trust with a values-bridge or structural model",
    "A203": "The partners' scores are out of balance",
    "A204": "A partner is not scored yet",
    "A301": "Consensus as a decision rule",
    "A302": "The quorum cannot be reached by the partners who vote",
    "A303": "The executive committee is not smaller than the coalition",
    "A401": "A partner demands a veto over messaging",
    "A402": "A partner cannot commit staff time",
    "A403": "A partner would alienate core supporters",
    "A404": "A partner carries a reputational risk",
    "A501": "No sunset clause",
    "A502": "No notice period for leaving",
    "A503": "The sunset has passed",
    "A601": "Five or more partners and no coordinator",
    "A602": "One organisation in many coalitions",
    "A701": "A review is overdue",
    "A702": "The first review comes late",
    "A703": "No review is scheduled",
    "A801": "Signatures are stale",
    "A802": "Signatures are missing",
    "A803": "The signer is not the partner's decision maker",
    "A804": "A decision is dated before the MOU took effect",
    "A805": "A vote was cast by a partner who could not vote that day",
    "A806": "A partner who signed is still a prospect",
    "A901": "The packet refused an outside resource",
}
"""Every advisory code and its title, in the order of the guide's reference."""

_FLAG_CODES = {
    "demands-messaging-veto": "A401",
    "no-staff-time": "A402",
    "alienates-core-supporters": "A403",
    "reputational-risk": "A404",
}
_SENTENCE_END = re.compile(r"[.!?][\"')\]]*\s+(?=[A-Z0-9\"'(])")


def advise(
    item: CoalitionFile,
    today: date,
    thresholds: Thresholds = THRESHOLDS,
    current: Fingerprint | None = None,
) -> tuple[Advisory, ...]:
    """Every advisory for one coalition, in file order."""
    found = list(_advise(item, today, thresholds, current or fingerprint(item.coalition)))
    return tuple(sorted(found, key=lambda a: (a.line, a.column, a.code)))


def advise_all(
    items: Sequence[CoalitionFile],
    today: date,
    thresholds: Thresholds = THRESHOLDS,
    prints: Mapping[str, Fingerprint] | None = None,
    others: Sequence[Member] = (),
) -> dict[str, tuple[Advisory, ...]]:
    """Advisories by coalition slug, including those that span files. `others` are the
    workspace's coalitions not in `items`, as far as advice across files looks at them:
    they get no advice, but they count in that of `items`."""
    across = spread(items, thresholds, others)
    result = {}
    for item in items:
        current = prints.get(item.slug) if prints else None
        result[item.slug] = joined(item.slug, advise(item, today, thresholds, current), across)
    return result


def joined(
    slug: str, own: Sequence[Advisory], across: Mapping[str, Sequence[Advisory]]
) -> tuple[Advisory, ...]:
    """A coalition's own advisories (from `advise`) with those `spread` gave it across
    files, in file order."""
    if not across.get(slug):
        return tuple(own)
    return tuple(sorted([*own, *across[slug]], key=lambda a: (a.line, a.column, a.code)))


@dataclass(frozen=True, slots=True)
class Member:
    """A coalition as advice across files sees it: where its file is, its name, and the
    organisations that vote in it (matched by name; none once it is dissolved)."""

    path: str
    name: str
    voters: tuple[str, ...]

    @classmethod
    def of(cls, item: CoalitionFile) -> Member:
        c = item.coalition
        voters = () if c.status == "dissolved" else (org_key(p.name) for p in c.partners if p.votes)
        return cls(item.path, c.name, tuple(voters))


def spread(
    items: Iterable[CoalitionFile],
    thresholds: Thresholds = THRESHOLDS,
    others: Sequence[Member] = (),
) -> dict[str, list[Advisory]]:
    """Advice across files, by coalition slug (for `items` only; `others` as in
    `advise_all`). A602: organisations (matched by name) in many coalitions."""
    loaded = {item.path: item for item in items}
    members = sorted([*map(Member.of, loaded.values()), *others], key=lambda m: m.path)
    where: dict[str, list[tuple[Member, int]]] = defaultdict(list)
    for member in members:
        item = loaded.get(member.path)
        if item is None:
            for key in member.voters:
                where[key].append((member, -1))
            continue
        if item.coalition.status == "dissolved":
            continue
        for index, partner in enumerate(item.coalition.partners):
            if partner.votes:
                where[org_key(partner.name)].append((member, index))
    result: dict[str, list[Advisory]] = defaultdict(list)
    for places in where.values():
        if len(places) < thresholds.drain_from_coalitions:
            continue
        # an organisation in 300 coalitions is named in 300 advisories: each takes the
        # first few other names, not a list of all 299 (a fifth of `spread` at 1,000
        # coalitions, and it grew with the square of the count)
        entries = Counter(member.path for member, _ in places)
        for member, index in places:
            item = loaded.get(member.path)
            if item is None:  # advice is for `items` only
                continue
            partner = item.coalition.partners[index]
            names = (other.name for other, _ in places if other is not member)
            elsewhere = _some_names(
                list(islice(names, NAMED_ELSEWHERE)), len(places) - entries[member.path]
            )
            line, column = item.located.at(("partners", index, "name"))
            result[item.slug].append(
                Advisory(
                    code="A602",
                    slug=item.slug,
                    file=item.path,
                    line=line,
                    column=column,
                    message=(
                        f"{partner.name} is also in {len(places) - 1} other coalitions "
                        f"({elsewhere}): watch for a resource drain."
                    ),
                )
            )
    return result


NAMED_ELSEWHERE = 5
"""The other coalitions A602 names; beyond these it says how many more."""


def _some_names(first: Sequence[str], total: int) -> str:
    """`A, B, C` or, past NAMED_ELSEWHERE names, `A, B, C, D, E and 12 more`, from the
    first names (at least NAMED_ELSEWHERE of them, or all) and how many there are."""
    if total <= NAMED_ELSEWHERE:
        return ", ".join(first)
    return f"{', '.join(first[:NAMED_ELSEWHERE])} and {total - NAMED_ELSEWHERE} more"


def org_key(name: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", " ", name.casefold()).split())


def _advise(
    item: CoalitionFile, today: date, t: Thresholds, current: Fingerprint
) -> Iterator[Advisory]:
    c = item.coalition

    def at(code: str, path: tuple[str | int, ...], message: str, mou: bool = False) -> Advisory:
        line, column = item.located.at(path)
        return Advisory(
            code=code,
            slug=item.slug,
            file=item.path,
            line=line,
            column=column,
            message=message,
            mou=mou,
        )

    live = c.status != "dissolved"
    drafting = c.live

    # identity and purpose
    sentences = len(_SENTENCE_END.split(c.purpose.strip()))
    if sentences > 1:
        yield at(
            "A101",
            ("purpose",),
            f"The purpose has {sentences} sentences; every partner should be able to say it "
            f"in one.",
            mou=True,
        )
    for index, partner in enumerate(c.partners):
        if partner.votes and partner.id not in c.success:
            yield at(
                "A102",
                ("partners", index, "id"),
                f"{partner.name} has no success definition: a coalition that serves only "
                f"some partners' agendas will not hold.",
                mou=True,
            )
    if c.status in ("forming", "active") and c.internal_alignment is None:
        yield at(
            "A103",
            ("status",),
            f"Status is {c.status} but no internal_alignment is recorded: get your own "
            f"board or leadership on side first.",
        )
    if c.window is not None and c.status in ("exploring", "forming") and c.window.date < today:
        yield at(
            "A104",
            ("window", "date"),
            f"The window ({c.window.event}, {c.window.date.isoformat()}) has passed while the "
            f"coalition is still {c.status}: is the timing still right?",
        )

    # Every placeholder's TODO stands in the file as it is, or written with an escape:
    # a file with neither has none, and is not walked.
    maybe = "TODO" in item.source or "\\" in item.source
    for path, value in _placeholders(json_ready(c), ()) if maybe else ():
        where = field_path(path)
        yield at(
            "A105",
            path,
            f"{where} is still a placeholder ({_short(value)}): write what the partners "
            f"agreed{' before anyone signs' if path[0] in _SIGNED_FIELDS else ''}.",
            mou=path[0] in _SIGNED_FIELDS,
        )

    # the model and the scores
    for index, partner in enumerate(c.partners):
        if partner.scores is None:
            yield at(
                "A204",
                ("partners", index, "id"),
                f"{partner.name} is not scored yet: the advice counts only the scored partners "
                f"until it is.",
            )
    rec = recommend(c, t)
    if rec.mismatch:
        yield at("A201", ("model",), rec.reasoning, mou=True)
    if c.model in ("values-bridge", "structural"):
        for index, partner in enumerate(c.partners):
            if partner.scores is None:
                continue
            if partner.scores.trust <= t.low_trust and partner.votes:
                yield at(
                    "A202",
                    ("partners", index, "scores", "trust"),
                    f"{partner.name} scores trust {partner.scores.trust} in a {c.model} "
                    f"alliance: start with a small, time-limited pilot before scaling up.",
                )
    yield from _imbalance(c, at, t)

    # decision rule
    yield from _rule_advice(c, at)

    # red flags
    for index, partner in enumerate(c.partners):
        for flag in partner.red_flags:
            advice = _FLAG_ADVICE[flag]
            if flag == "demands-messaging-veto" and c.messaging == "coordinated":
                advice = (
                    "messaging is already coordinated, so each partner speaks in its own "
                    "words; hold that line rather than grant a veto over yours."
                )
            yield at(
                _FLAG_CODES[flag],
                ("partners", index, "red_flags", partner.red_flags.index(flag)),
                f"{partner.name} is red-flagged {flag}: {advice}",
            )

    # exit
    exit_terms = c.exit
    sunset = sunset_date(c)
    if drafting and sunset is None:
        yield at(
            "A501",
            ("exit",) if exit_terms else ("model",),
            "No sunset (exit.sunset or exit.after_months): agree when the alliance ends "
            "unless the partners renew it.",
            mou=True,
        )
    if drafting and (exit_terms is None or exit_terms.notice_days is None):
        yield at(
            "A502",
            ("exit",) if exit_terms else ("model",),
            "No notice period (exit.notice_days): say how a partner leaves before anyone needs to.",
            mou=True,
        )
    if live and sunset is not None and sunset < today:
        yield at(
            "A503",
            ("exit",),
            f"The sunset ({sunset.isoformat()}) has passed and the status is still "
            f"{c.status}: renew the MOU or dissolve the coalition.",
        )

    # roles
    if len(c.partners) >= t.coordinator_from_partners and not any(
        "coordinat" in role.title.casefold() for role in c.roles
    ):
        yield at(
            "A601",
            ("roles",) if c.roles else ("partners",),
            f"{len(c.partners)} partners and no coordinator role: a coalition this size "
            f"needs someone whose job is to keep it running.",
        )

    # reviews
    if live:
        yield from _review_advice(c, today, at, t)

    # signatures
    yield from _decision_advice(c, at)
    yield from _status_advice(c, at)
    yield from _signature_advice(c, at, current)


_FLAG_ADVICE = {
    "demands-messaging-veto": "a partner who wants a veto over the coalition's messaging is "
    "a reason to walk away, or to switch to coordinated messaging.",
    "no-staff-time": "a partner who cannot put in staff time will not carry its share; "
    "agree a minimum before you rely on it.",
    "alienates-core-supporters": "weigh what the partnership costs you with your own base, "
    "and prepare a communication plan.",
    "reputational-risk": "prepare to explain publicly why this partnership serves your mission.",
}


_SIGNED_FIELDS = frozenset(
    {"name", "purpose", "success", "bridge_value", "joint_entity", "partners", "roles",
     "decision_rule", "launch", "communication", "review", "exit", "mou"}
)  # fmt: skip
"""Top-level fields the MOU prints from (a placeholder there keeps the packet a draft)."""


def _placeholders(
    value: object, path: tuple[str | int, ...]
) -> Iterator[tuple[tuple[str | int, ...], str]]:
    """(path, text) of every text that starts with TODO."""
    if isinstance(value, str):
        if is_placeholder(value):
            yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _placeholders(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _placeholders(item, (*path, index))


def _imbalance(c: Coalition, at: _At, t: Thresholds) -> Iterator[Advisory]:
    grid = matrix(c)
    if grid.lowest is None or grid.highest is None:
        return
    gap = grid.highest.total - grid.lowest.total
    if gap >= t.imbalance_total_gap:
        yield at(
            "A203",
            ("partners",),
            f"Totals range from {grid.lowest.total} ({grid.lowest.partner.name}) to "
            f"{grid.highest.total} ({grid.highest.partner.name}): partners this far apart "
            f"expect different things from the alliance.",
        )
        return
    resources = {row.partner.name: row.scores[CRITERIA.index("resources")] for row in grid.rows}
    low = min(resources, key=lambda name: resources[name])
    high = max(resources, key=lambda name: resources[name])
    if resources[high] - resources[low] >= t.imbalance_resources_gap:
        yield at(
            "A203",
            ("partners",),
            f"Resources range from {resources[low]} ({low}) to {resources[high]} ({high}): "
            f"unequal commitment breeds resentment; agree openly who carries what.",
        )


def _rule_advice(c: Coalition, at: _At) -> Iterator[Advisory]:
    rule = c.decision_rule
    if rule.default == "consensus":
        yield at(
            "A301",
            ("decision_rule", "default"),
            "Consensus tends to paralyse a diverse coalition: agree a majority, supermajority "
            "or committee rule matched to the stakes.",
            mou=True,
        )
    for index, override in enumerate(rule.overrides):
        if override.rule == "consensus":
            yield at(
                "A301",
                ("decision_rule", "overrides", index, "rule"),
                f"Consensus for {override.decisions.rstrip('.')}: one partner can block it.",
                mou=True,
            )
    members = [p for p in c.partners if p.member]
    voters = voting_partners(c)
    if rule.quorum is not None:
        needed = share_of(len(members), rule.quorum)
        if needed > len(voters):
            yield at(
                "A302",
                ("decision_rule", "quorum"),
                f"Quorum {rule.quorum.numerator}/{rule.quorum.denominator} of {len(members)} "
                f"members needs {needed}, but only {len(voters)} can vote (the rest are "
                f"suspended).",
                mou=True,
            )
    if rule.committee and len(set(rule.committee)) >= len(members):
        yield at(
            "A303",
            ("decision_rule", "committee"),
            f"The committee has {len(set(rule.committee))} members out of {len(members)} "
            f"partners: it should be smaller than the whole, or it decides nothing faster.",
            mou=True,
        )


def _review_advice(c: Coalition, today: date, at: _At, t: Thresholds) -> Iterator[Advisory]:
    review = c.review
    if review is None or review.first is None:
        if c.status in ("forming", "active"):
            yield at(
                "A703",
                ("status",),
                "No review date: set one early, about three months after launch.",
            )
        return
    held = c.steps.get("review")
    last_held = held.done if held is not None else None
    due = [d for d in review_dates(c, until=today) if last_held is None or d > last_held]
    if due and c.live:
        yield at(
            "A701",
            ("review",),
            f"The review due {due[0].isoformat()} has not been recorded as held "
            f"(steps.review.done): is the shared goal still relevant?",
        )
    launched = c.launch.date if c.launch else None
    if launched is not None:
        latest = launched + relativedelta(months=t.first_review_within_months)
        if review.first > latest:
            yield at(
                "A702",
                ("review", "first"),
                f"The first review ({review.first.isoformat()}) is more than "
                f"{t.first_review_within_months} months after launch "
                f"({launched.isoformat()}): problems will surface late.",
                mou=True,
            )


def _status_advice(c: Coalition, at: _At) -> Iterator[Advisory]:
    latest = c.latest_signatures()
    for index, partner in enumerate(c.partners):
        if partner.status == "prospect" and partner.id in latest:
            yield at(
                "A806",
                ("partners", index, "status"),
                f"{partner.name} is still a prospect, but a signature is recorded for it: set "
                f"its status to signed (or committed).",
            )


def _decision_advice(c: Coalition, at: _At) -> Iterator[Advisory]:
    for judgement in judge(c):
        index, decision = judgement.index, judgement.decision
        if judgement.before_effective and c.mou is not None and c.mou.effective is not None:
            yield at(
                "A804",
                ("decisions", index, "date"),
                f"'{decision.title}' is dated {decision.date.isoformat()}, before the MOU took "
                f"effect ({c.mou.effective.isoformat()}): no signed rule applied yet.",
            )
        for pid in judgement.ignored:
            yield at(
                "A805",
                ("decisions", index, "votes", pid),
                f"{c.partner_name(pid)} voted on '{decision.title}' but could not vote that "
                f"day (not signed yet, suspended, left, or not on the committee): the vote "
                f"is not counted.",
            )


def _signature_advice(c: Coalition, at: _At, current: Fingerprint) -> Iterator[Advisory]:
    latest: dict[str, int] = {}
    for index, signature in enumerate(c.signatures):
        latest[signature.partner] = index  # a later signature replaces an earlier one
    stale = []
    for partner_id, index in latest.items():
        signature = c.signatures[index]
        partner = c.partner(partner_id)
        if partner is None or not partner.must_sign:
            continue
        if not current.matches(signature.mou_version):
            stale.append((partner.name, index, signature.mou_version))
        elif signature.signer.casefold() != partner.decision_maker.name.casefold():
            yield at(
                "A803",
                ("signatures", index, "signer"),
                f"{signature.signer} signed for {partner.name}, whose decision maker is "
                f"{partner.decision_maker.name}.",
            )
    for name, index, version in stale:
        yield at(
            "A801",
            ("signatures", index, "mou_version"),
            f"{name} signed MOU {version}, but the MOU is now {current.short}: it must re-sign.",
            mou=True,
        )
    must_sign = c.status in ("active", "under-review") or (
        "agreement" in c.steps and c.steps["agreement"].done is not None
    )
    missing = [p.name for p in c.partners if p.must_sign and p.id not in latest]
    if must_sign and missing:
        yield at(
            "A802",
            ("signatures",) if c.signatures else ("status",),
            f"No signature recorded for {', '.join(missing)}: the MOU is not in force for "
            f"{'them' if len(missing) > 1 else 'it'}.",
            mou=True,
        )


class _At(Protocol):
    """The shape of the `at` helper, for type checking."""

    def __call__(
        self, code: str, path: tuple[str | int, ...], message: str, mou: bool = False
    ) -> Advisory: ...


def _short(text: str, limit: int = 60) -> str:
    """A text quoted in a message: whole, or cut at a word with an ellipsis."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    return text[:limit].rsplit(" ", 1)[0] + "…"
