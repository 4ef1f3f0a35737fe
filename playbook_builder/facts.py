"""Everything true of one coalition on the build's date, computed once, in one place.

`gather` turns the loaded workspace, the date and what git says into one frozen
`CoalitionFacts` per coalition: the signed terms and their fingerprint, who signed what,
the advice, the schedule, the steps and the history. Pages and packets only lay these
out; nothing downstream computes a fact again. Pictures and calendars are layout: they
are drawn from the facts by the renderer when a page asks for them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from pathlib import PurePosixPath
from typing import Any, Literal

from playbook_builder import advise, history, load, schedule
from playbook_builder.advise import Advisory, Matrix, Recommendation
from playbook_builder.decisions import Agreement, Judgement, judge, newest_on
from playbook_builder.errors import Problem
from playbook_builder.fingerprint import Fingerprint, fingerprint
from playbook_builder.model import STEPS, Coalition, CoalitionFile, Partner, SiteConfig
from playbook_builder.terms import Party, SignedTerms, signed_terms

SignatureState = Literal["current", "stale", "missing", "withdrawn"]
STEP_LABELS = {
    "outreach": "Initial outreach",
    "exploratory-meeting": "Exploratory meeting",
    "agreement": "Lightweight agreement",
    "launch": "Launch with a visible win",
    "communication": "Regular communication",
    "review": "Evaluate and adapt",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class PartnerFacts:
    """One partner: as the coalition file has it, as the MOU names it, and its signature."""

    partner: Partner
    party: Party
    """The partner as the MOU names it (what signature blocks print)."""
    total: int | None
    """The partner's total score; None while it is not scored."""
    success: str
    signature_state: SignatureState
    signed_on: date | None
    """The date of the current signature."""
    signer: str
    """Who gave the current signature ('' unless it is current)."""
    signer_title: str
    recorded_version: str
    """The fingerprint the partner's latest signature records ('' when none)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ReviewRow:
    day: date
    number: int
    state: Literal["held", "overdue", "upcoming"]


@dataclass(frozen=True, slots=True, kw_only=True)
class StepFacts:
    number: int
    name: str
    label: str
    done: date | None
    notes: str


@dataclass(frozen=True, slots=True, kw_only=True)
class HistoryEntry:
    """A commit that touched a coalition file, as the history page shows it."""

    short: str
    full: str
    day: str
    author: str
    subject: str
    fingerprint: str
    """The short fingerprint at that commit; '' where that version does not load."""
    agreement_changed: bool
    signed: bool
    """Whether this version's fingerprint is the one the partners signed."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Changes:
    """The MOU since the version the partners signed."""

    state: Literal["unchanged", "changed", "unsigned", "base-missing", "no-history"]
    signed: str
    """The short fingerprint most signatures record ('' when nobody signed)."""
    base: HistoryEntry | None
    """The commit of the signed version (when it is in the history)."""
    base_terms: SignedTerms | None
    """The signed terms of that version, for the redline."""


@dataclass(frozen=True, slots=True, kw_only=True)
class CoalitionFacts:
    """Everything a coalition's pages and packet show."""

    item: CoalitionFile
    c: Coalition
    slug: str
    terms: SignedTerms
    """What the MOU prints, and all it prints."""
    print_: Fingerprint
    """The fingerprint of `terms`."""
    grid: Matrix
    rec: Recommendation
    rule_lines: tuple[str, ...]
    """The decision rule's arithmetic for today's voting partners."""
    advisories: tuple[Advisory, ...]
    mou_advisories: tuple[Advisory, ...]
    partners: tuple[PartnerFacts, ...]
    signing: tuple[PartnerFacts, ...]
    """The partners whose signatures count (all but those who withdrew)."""
    reviews: tuple[ReviewRow, ...]
    next_review: date | None
    overdue: bool
    sunset: date | None
    start: date | None
    events: tuple[schedule.Event, ...]
    check_ins: int
    steps: tuple[StepFacts, ...]
    steps_done: int
    signed: bool
    """Every partner that must sign has a current signature, and no placeholder is left
    in the signed terms."""
    stale: tuple[str, ...]
    """Names of the partners whose signature is for another version."""
    missing: tuple[str, ...]
    """Names of the partners who have not signed."""
    hours: int
    """Staff hours a month all partners commit together."""
    funding: tuple[tuple[str, float], ...]
    """(currency, amount) all partners commit together, by currency."""
    revision: str
    """Where the file stands in git ('3f9a2c1 (2026-10-01)'), else a digest of its text."""
    history: tuple[HistoryEntry, ...]
    changes: Changes
    git: bool
    """Whether the workspace is in a git repository."""
    decisions: tuple[Judgement, ...] = ()
    """The decision log, newest first, each judged under the agreement of its day."""


def gather(
    coalitions: Sequence[CoalitionFile],
    config: SiteConfig,
    today: date,
    past: history.History,
    others: Sequence[advise.Member] = (),
) -> dict[str, CoalitionFacts]:
    """The facts of every coalition, by slug, from one pass of advice and one read of git.
    `others` are the workspace's coalitions left unloaded, for advice across files."""
    gathering = Gathering(config, today, past)
    gathering.add(coalitions)
    return gathering.done(coalitions, others)


class Gathering:
    """`gather` a part at a time: `add` each batch of coalitions as it is loaded, then
    `done` with all of them adds the advice across files. (The build adds the files this
    process loads while a worker loads others, so that the facts are gathered on one core
    while the other still loads.)"""

    def __init__(self, config: SiteConfig, today: date, past: history.History) -> None:
        self.config = config
        self.today = today
        self.past = past
        self.facts: dict[str, CoalitionFacts] = {}
        """The facts of each coalition added, by slug, with its own advice only."""

    def add(self, coalitions: Sequence[CoalitionFile]) -> None:
        """Gather the facts of these coalitions but the advice across files (one read of
        git for all of them)."""
        records = {item.slug: signed_terms(item.coalition) for item in coalitions}
        prints = {slug: fingerprint(record) for slug, record in records.items()}
        versions = _versions(coalitions, self.config, self.past, prints, records)
        for item in coalitions:
            self.facts[item.slug] = coalition_facts(
                item,
                advise.advise(item, self.today, current=prints[item.slug]),
                self.today,
                self.past,
                versions.get(item.slug, ()),
                records[item.slug],
                prints[item.slug],
            )

    def done(
        self, coalitions: Sequence[CoalitionFile], others: Sequence[advise.Member] = ()
    ) -> dict[str, CoalitionFacts]:
        """The facts of `coalitions` (every one added), by slug, with the advice across
        files among them and `others` (as `gather`)."""
        across = advise.spread(coalitions, others=others)
        found = {}
        for item in coalitions:
            fact = self.facts[item.slug]
            if across.get(item.slug):
                advisories = advise.joined(item.slug, fact.advisories, across)
                fact = replace(
                    fact,
                    advisories=advisories,
                    mou_advisories=_on_the_mou(advisories),
                )
            found[item.slug] = fact
        return found


def coalition_facts(
    item: CoalitionFile,
    advisories: Sequence[Advisory],
    today: date,
    past: history.History = history.NO_HISTORY,
    versions: Sequence[Version] = (),
    terms: SignedTerms | None = None,
    print_: Fingerprint | None = None,
) -> CoalitionFacts:
    """The facts of one coalition. `versions` are (full fingerprint, terms, coalition) per
    commit of its file, newest first, as `gather` reads them from git; `terms` and
    `print_` are its signed terms and their fingerprint when the caller has them already."""
    c = item.coalition
    terms = terms or signed_terms(c)
    print_ = print_ or fingerprint(terms)
    grid = advise.matrix(c)
    latest = c.latest_signatures()
    partners = []
    for partner, party in zip(c.partners, terms.parties, strict=True):
        signature = latest.get(partner.id)
        state: SignatureState
        if not partner.must_sign:
            state = "withdrawn"
        elif signature is None:
            state = "missing"
        elif print_.matches(signature.mou_version):
            state = "current"
        else:
            state = "stale"
        current = signature if state == "current" else None
        partners.append(
            PartnerFacts(
                partner=partner,
                party=party,
                total=grid.total(partner.id),
                success=c.success.get(partner.id, ""),
                signature_state=state,
                signed_on=current.date if current else None,
                signer=current.signer if current else "",
                signer_title=(current.title or "") if current else "",
                recorded_version=signature.mou_version if signature else "",
            )
        )
    signing = tuple(p for p in partners if p.signature_state != "withdrawn")
    held = schedule.last_review_held(c)
    reviews = []
    scheduled = terms.reviews  # the review dates, as the MOU prints them
    for number, day in enumerate(scheduled, start=1):
        progress: Literal["held", "overdue", "upcoming"]
        if held is not None and day <= held:
            progress = "held"
        elif day < today and c.status != "dissolved":
            progress = "overdue"
        else:
            progress = "upcoming"
        reviews.append(ReviewRow(day=day, number=number, state=progress))
    steps = tuple(
        StepFacts(
            number=index,
            name=name,
            label=STEP_LABELS[name],
            done=c.steps[name].done if name in c.steps else None,
            notes=(c.steps[name].notes or "") if name in c.steps else "",
        )
        for index, name in enumerate(STEPS, start=1)
    )
    events = schedule.events(c, scheduled)
    hours, funding = c.commitment_totals()
    entries, changes, revision = _git_facts(item, print_, past, versions)
    return CoalitionFacts(
        item=item,
        c=c,
        slug=item.slug,
        terms=terms,
        print_=print_,
        grid=grid,
        rec=advise.recommend(c),
        rule_lines=advise.explain_rule(c),
        advisories=tuple(advisories),
        mou_advisories=_on_the_mou(advisories),
        partners=tuple(partners),
        signing=signing,
        reviews=tuple(reviews),
        next_review=schedule.next_review(c, scheduled),
        overdue=schedule.is_overdue(c, today, scheduled),
        sunset=schedule.sunset_date(c),
        start=schedule.start_date(c),
        events=events,
        check_ins=sum(1 for e in events if e.kind == "check-in"),
        steps=steps,
        steps_done=sum(1 for step in steps if step.done is not None),
        signed=all(p.signature_state == "current" for p in signing) and not terms.placeholders,
        stale=tuple(p.party.name for p in signing if p.signature_state == "stale"),
        missing=tuple(p.party.name for p in signing if p.signature_state == "missing"),
        hours=hours,
        funding=tuple(sorted(funding.items())),
        revision=revision,
        history=entries,
        changes=changes,
        git=past.available,
        decisions=tuple(
            sorted(
                judge(c, agreement_on(item, past, versions)),
                key=lambda j: (j.decision.date, j.index),
                reverse=True,
            )
        ),
    )


def _on_the_mou(advisories: Sequence[Advisory]) -> tuple[Advisory, ...]:
    """The advisories that concern the MOU (printed in the packet too)."""
    return tuple(a for a in advisories if a.mou)


def agreement_on(item: CoalitionFile, past: history.History, versions: Sequence[Version]) -> Any:
    """The agreement in force on a day: the newest committed version on or before it."""
    commits = past.commits.get(item.path, ())
    dated: list[tuple[date, Agreement]] = [
        (commit.date.date(), (coalition, full[:8]))
        for commit, (full, _, coalition) in zip(commits, versions, strict=False)
        if coalition is not None
    ]
    return newest_on(dated, item.coalition)


def signed_version(c: Coalition) -> str:
    """The fingerprint most of the current signatures record (the latest among equals)."""
    latest = [s.mou_version for s in c.latest_signatures().values()]
    if not latest:
        return ""
    counts: dict[str, int] = {}
    for version in latest:
        counts[version] = counts.get(version, 0) + 1
    return max(reversed(latest), key=lambda v: counts[v])


def source_revision(item: CoalitionFile) -> str:
    """The revision printed without git: a digest of the coalition file as it was read."""
    digest = hashlib.sha256(item.source.encode("utf-8")).hexdigest()
    return f"source file {item.path} sha256:{digest[:12]}"


Version = tuple[str, SignedTerms | None, Coalition | None]
"""(full fingerprint or '', its terms, the coalition) of one commit of a file."""


def _versions(
    coalitions: Sequence[CoalitionFile],
    config: SiteConfig,
    past: history.History,
    prints: Mapping[str, Fingerprint],
    records: Mapping[str, SignedTerms],
) -> dict[str, tuple[Version, ...]]:
    """(fingerprint, terms) of every commit of every file, newest first, from one git read.

    Old revisions go through the same loader and limits as the current file; one that
    does not load under today's contract has no fingerprint ('').
    """
    # the newest commit of a clean file holds the text already loaded: no need to read it
    wanted = [
        (commit.hash, commit.path)
        for item in coalitions
        for index, commit in enumerate(past.commits.get(item.path, ()))
        if index or item.path in past.dirty
    ]
    texts = history.versions(past, wanted)
    result = {}
    for item in coalitions:
        found: list[Version] = []
        for index, commit in enumerate(past.commits.get(item.path, ())):
            if index == 0 and item.path not in past.dirty:
                found.append((prints[item.slug].full, records[item.slug], item.coalition))
                continue
            text = texts.get((commit.hash, commit.path))
            old = None
            if text is not None:
                problems: list[Problem] = []
                old = load.revision(text, item.slug, PurePosixPath(commit.path), config, problems)
            if old is None:
                found.append(("", None, None))
            else:
                terms = signed_terms(old.coalition)
                found.append((fingerprint(terms).full, terms, old.coalition))
        result[item.slug] = tuple(found)
    return result


def _git_facts(
    item: CoalitionFile,
    print_: Fingerprint,
    past: history.History,
    versions: Sequence[Version],
) -> tuple[tuple[HistoryEntry, ...], Changes, str]:
    """The history entries, the changes since signing, and the revision stamp."""
    commits = past.commits.get(item.path, ())
    signed = signed_version(item.coalition)
    prints = [full for full, _, _ in versions] or [""] * len(commits)
    entries = tuple(
        HistoryEntry(
            short=commit.short,
            full=commit.hash,
            day=commit.date.date().isoformat(),
            author=commit.author,
            subject=commit.subject,
            fingerprint=prints[i][:8],
            agreement_changed=i + 1 == len(commits) or prints[i] != prints[i + 1],
            signed=bool(signed) and prints[i].startswith(signed),
        )
        for i, commit in enumerate(commits)
    )
    stamp = past.revision(item.path)
    revision = stamp.label() if stamp is not None else source_revision(item)

    def changes(state: Literal["unsigned", "unchanged", "base-missing", "no-history"]) -> Changes:
        return Changes(state=state, signed=signed[:8], base=None, base_terms=None)

    if not signed:
        return entries, changes("unsigned"), revision
    if print_.matches(signed):
        return entries, changes("unchanged"), revision
    at = next((i for i, entry in enumerate(entries) if entry.signed), None)
    base_terms = versions[at][1] if at is not None and at < len(versions) else None
    if at is None or base_terms is None:
        return entries, changes("base-missing" if past.available else "no-history"), revision
    found = Changes(state="changed", signed=signed[:8], base=entries[at], base_terms=base_terms)
    return entries, found, revision
