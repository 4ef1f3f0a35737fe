"""The coalition contract and the site settings as typed, immutable records.

Field names are a contract with users' files and tools: they may grow, never change.
docs/coalition-file.md is written from these declarations (`playbook_builder.reference`).
The pydantic annotations here are declarations only (types, ranges, patterns, docs):
`load.py` runs the validation and turns its complaints into located Problems, and
`playbook schema` prints the same declarations as a JSON Schema.
"""

from __future__ import annotations

import datetime
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field, fields, is_dataclass
from fractions import Fraction
from operator import attrgetter
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    ConfigDict,
    Field,
    PlainValidator,
    Strict,
    WithJsonSchema,
    with_config,
)
from pydantic_core import PydanticCustomError

SLUG_PATTERN = r"^[a-z0-9]+(-[a-z0-9]+)*$"
"""File names (the coalition slug) and partner ids; match it whole (`re.fullmatch`), since
Python's `$` also matches before a final line break."""

_CONFIG = ConfigDict(extra="forbid", use_attribute_docstrings=True)


def parse_fraction(value: object) -> Fraction:
    """Read `2/3`, `0.75` or `1` as an exact fraction."""
    if isinstance(value, bool):
        raise PydanticCustomError("fraction", "a fraction such as 2/3")
    if isinstance(value, int | float):
        return Fraction(value).limit_denominator(1000)
    if isinstance(value, str):
        text = value.strip()
        try:
            if "/" in text:
                top, bottom = text.split("/", 1)
                return Fraction(int(top.strip()), int(bottom.strip()))
            return Fraction(text).limit_denominator(1000)
        except (ValueError, ZeroDivisionError):
            pass
    raise PydanticCustomError("fraction", "a fraction such as 2/3")


FIRST_YEAR, LAST_YEAR = 1900, 2199
"""Dates outside these years are typing mistakes (and would overflow date arithmetic)."""


def _parse_date(value: object) -> datetime.date:
    """Read a calendar date; say why when it is not one."""
    day: datetime.date | None = None
    if isinstance(value, datetime.date) and not isinstance(value, datetime.datetime):
        day = value
    elif isinstance(value, str):
        parts = value.strip().split("-")
        if len(parts) == 3 and all(part.isdigit() for part in parts) and len(parts[0]) == 4:
            year, month, number = (int(part) for part in parts)
            try:
                day = datetime.date(year, month, number)
            except ValueError:
                raise PydanticCustomError("date", "a real calendar date as YYYY-MM-DD") from None
    if day is None:
        raise PydanticCustomError("date", "a date as YYYY-MM-DD")
    if not FIRST_YEAR <= day.year <= LAST_YEAR:
        raise PydanticCustomError(
            "date", f"a date as YYYY-MM-DD between the years {FIRST_YEAR} and {LAST_YEAR}"
        )
    return day


DIRECTION_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
"""Characters that reverse or isolate the direction of the text after them: they can make
one partner's name show as another's, or `USD 0001` read as `USD 1000`."""
JOINERS = frozenset("\u200c\u200d")
"""Zero-width (non-)joiners: invisible, but needed to spell words in several scripts."""


_CONTROL_NAMES = {"\n": "LINE FEED", "\r": "CARRIAGE RETURN", "\t": "TAB", "\x85": "NEXT LINE"}


def character_name(char: str) -> str:
    """`U+202E (RIGHT-TO-LEFT OVERRIDE)`."""
    name = _CONTROL_NAMES.get(char) or unicodedata.name(char, "a control character")
    return f"U+{ord(char):04X} ({name})"


def _refuse(char: str, allowed: str) -> PydanticCustomError:
    return PydanticCustomError(
        "text", "{allowed}", {"found": f"the character {character_name(char)}", "allowed": allowed}
    )


_ASCII_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
"""The control characters (category Cc) of ASCII but tab and line feed."""
_ASCII_LINE_BREAK = re.compile(r"[\n\r\x0b\x0c]")


def _visible_text(value: str) -> str:
    """Free text: any character but those that change the direction of what follows."""
    if value.isascii() and not _ASCII_CONTROL.search(value):
        return value  # the common case, at C speed: ASCII has no direction or format marks
    for char in value:
        if char in DIRECTION_CONTROLS:
            raise _refuse(char, "text without direction-changing characters (delete it)")
        if unicodedata.category(char) == "Cc" and char not in "\n\t":
            raise _refuse(char, "printable text (delete the control character)")
    return value


def _one_line(value: str) -> str:
    """A name, id, signer or title: one line, and no invisible format characters."""
    if value.isascii() and not _ASCII_LINE_BREAK.search(value):
        return value  # _visible_text has refused ASCII control characters already
    for char in value:
        if char in "\n\r\x0b\x0c\x85\u2028\u2029":
            raise _refuse(char, "one line of text (names and titles cannot break lines)")
        if unicodedata.category(char) == "Cf" and char not in JOINERS:
            raise _refuse(char, "a name of visible characters (delete the invisible one)")
    return value


def _base_url(value: str) -> str:
    """Where the site is published: an http(s) address, or nothing."""
    if value and (not value.lower().startswith(("https://", "http://")) or _url(value) != value):
        raise PydanticCustomError("url", "a web address starting https:// or http://, or nothing")
    return value


URL_SCHEMES = ("https", "http", "mailto", "tel")
"""What a link in a coalition file may lead to."""


def _url(value: str) -> str:
    """A web address or a mail or phone link; nothing a browser would run or open locally."""
    allowed = "a web address starting https:// or http://, or a mailto: or tel: link"
    scheme, colon, rest = value.partition(":")
    if (
        not colon
        or scheme.lower() not in URL_SCHEMES
        or any(char.isspace() or unicodedata.category(char)[0] == "C" for char in value)
        or (scheme.lower() in ("http", "https") and not rest.startswith("//"))
        or len(rest.strip("/")) == 0
    ):
        raise PydanticCustomError("url", allowed)
    return value


MAX_TEXT = 2_000
"""Characters in one text field (a clause's Markdown may have MAX_CLAUSE)."""
MAX_CLAUSE = 20_000
MAX_ITEMS = 50
"""Items in a list of texts (deal-breakers, responsibilities, questions...)."""
MAX_PARTNERS = 100
"""Partners, roles, overrides, clauses and signatures in one coalition."""

Text = Annotated[
    str, Strict(), Field(min_length=1, max_length=MAX_TEXT), AfterValidator(_visible_text)
]
Line = Annotated[Text, AfterValidator(_one_line)]
"""Names, titles, signers: one line of visible text."""
LongText = Annotated[
    str, Strict(), Field(min_length=1, max_length=MAX_CLAUSE), AfterValidator(_visible_text)
]
Texts = Annotated[tuple[Text, ...], Field(max_length=MAX_ITEMS)]
Slug = Annotated[str, Strict(), Field(pattern=SLUG_PATTERN)]
Url = Annotated[
    str,
    Strict(),
    Field(min_length=1, max_length=MAX_TEXT),
    AfterValidator(_url),
    WithJsonSchema({"type": "string", "pattern": "^(https?://|mailto:|tel:)"}),
]
Date = Annotated[
    datetime.date,
    PlainValidator(_parse_date),
    WithJsonSchema({"type": "string", "format": "date"}),
]
Hours = Annotated[int, Strict(), Field(ge=0, le=100_000)]
Days = Annotated[int, Strict(), Field(ge=0, le=3_650)]
Months = Annotated[int, Strict(), Field(ge=1, le=600)]
Minutes = Annotated[int, Strict(), Field(ge=1, le=1_440)]
Score = Annotated[int, Strict(), Field(ge=1, le=5)]
Money = Annotated[float, Strict(), Field(ge=0, le=1e12, allow_inf_nan=False)]
CurrencyCode = Annotated[str, Strict(), Field(pattern=r"^[A-Z]{3}$")]
Fingerprint = Annotated[str, Strict(), Field(pattern=r"^[0-9a-f]{8,64}$")]
Ratio = Annotated[
    Fraction,
    PlainValidator(parse_fraction),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "pattern": r"^\s*\d+\s*/\s*\d+\s*$"},
                {"type": "number", "minimum": 0, "maximum": 1},
            ],
            "description": "a fraction such as 2/3",
        }
    ),
]

Status = Literal["exploring", "forming", "active", "under-review", "dissolved"]
Trigger = Literal["cross-sector-threat", "resource-gap", "stale-dynamic"]
AllianceModel = Literal["opportunistic", "values-bridge", "structural"]
EntityKind = Literal["pooled-fund", "shared-staff", "joint-venture", "other"]
Messaging = Literal["unified", "coordinated"]
RedFlag = Literal[
    "demands-messaging-veto", "no-staff-time", "alienates-core-supporters", "reputational-risk"
]
PartnerStatus = Literal["prospect", "committed", "signed", "suspended", "expelled", "withdrawn"]
RuleKind = Literal["majority", "supermajority", "executive-committee", "consensus"]
Cadence = Literal["weekly", "biweekly", "monthly", "quarterly"]
Sanction = Literal["suspend", "expel"]
StepName = Literal[
    "outreach", "exploratory-meeting", "agreement", "launch", "communication", "review"
]
Paper = Literal["letter", "a4"]

MODELS: tuple[AllianceModel, ...] = ("opportunistic", "values-bridge", "structural")
"""The alliance models from the shallowest to the deepest."""
STEPS: tuple[StepName, ...] = (
    "outreach",
    "exploratory-meeting",
    "agreement",
    "launch",
    "communication",
    "review",
)
"""The six implementation steps, in the order they are taken."""
CRITERIA = ("alignment", "trust", "resources", "time_horizon", "exit_cost")
"""The five criteria every partner is scored on, in the guide's order."""
VOTING: tuple[PartnerStatus, ...] = ("prospect", "committed", "signed")
"""Partner statuses that take part in decisions (a suspended partner sits out)."""
SIGNING: tuple[PartnerStatus, ...] = ("prospect", "committed", "signed", "suspended", "expelled")
"""Partner statuses whose decision makers must sign: everyone but those who withdrew."""
MEMBERS: tuple[PartnerStatus, ...] = ("prospect", "committed", "signed", "suspended")
"""Partner statuses that still belong to the coalition (not expelled, not withdrawn)."""
LIVE: tuple[Status, ...] = ("forming", "active", "under-review")
"""Coalition statuses in which reviews fall due and the agreement is being kept."""


def article(word: str) -> str:
    """`a` or `an` before a word (by its first letter, which is enough for our words)."""
    return "an" if word[:1].lower() in "aeiou" else "a"


@with_config(_CONFIG)
@dataclass(frozen=True, slots=True, kw_only=True)
class Window:
    """The concrete event that makes now the time."""

    event: Line
    """A hearing, a deadline, a crisis."""
    date: Date
    """When it happens."""


@with_config(_CONFIG)
@dataclass(frozen=True, slots=True, kw_only=True)
class InternalAlignment:
    """Your own board's or leadership's sign-off on the alliance."""

    approved_by: Line
    """Who approved it, e.g. the board of directors."""
    date: Date
    """When."""


@with_config(_CONFIG)
@dataclass(frozen=True, slots=True, kw_only=True)
class JointEntity:
    """The new thing a structural alliance creates."""

    kind: EntityKind
    """pooled-fund, shared-staff, joint-venture or other."""
    description: Text
    """What it is and what it does, in a sentence or two."""


@with_config(_CONFIG)
@dataclass(frozen=True, slots=True, kw_only=True)
class Constraints:
    """The screening criteria written down before recruiting."""

    minimum_agreement: Text | None = None
    """The least the partners must agree on for the alliance to work."""
    deal_breakers: Texts = ()
    """Positions that would rule a partner out."""


@with_config(_CONFIG)
@dataclass(frozen=True, slots=True, kw_only=True)
class Person:
    """Someone who signs for an organisation."""

    name: Line
    """Full name."""
    title: Line
    """Job title, as printed under the signature."""


@with_config(_CONFIG)
@dataclass(frozen=True, slots=True, kw_only=True)
class Commitment:
    """What a partner puts in."""

    staff_hours_per_month: Hours | None = None
    """Staff time, in hours a month."""
    funding: Money | None = None
    """Money, in `currency`."""
    currency: CurrencyCode | None = None
    """ISO 4217 code; defaults to playbook.yaml's currency, else USD."""


@with_config(_CONFIG)
@dataclass(frozen=True, slots=True, kw_only=True)
class Scores:
    """The five criteria, each 1-5; 5 favours a deeper, longer-lasting alliance."""

    alignment: Score
    """1 one narrow overlap ... 5 many overlapping interests."""
    trust: Score
    """1 no history ... 5 a long record of working together."""
    resources: Score
    """1 token ... 5 major money, staff or reputation."""
    time_horizon: Score
    """1 weeks ... 5 years."""
    exit_cost: Score
    """1 free to walk away ... 5 leaving would be costly."""

    @property
    def total(self) -> int:
        """The sum of the five scores, 5-25."""
        return self.alignment + self.trust + self.resources + self.time_horizon + self.exit_cost

    def as_tuple(self) -> tuple[int, int, int, int, int]:
        """The scores in the order of CRITERIA."""
        return (self.alignment, self.trust, self.resources, self.time_horizon, self.exit_cost)


@with_config(_CONFIG)
@dataclass(frozen=True, slots=True, kw_only=True)
class Partner:
    """An organisation in the coalition."""

    id: Slug
    """Unique within the file; every other reference to this partner uses it."""
    name: Line
    """The organisation's name."""
    decision_maker: Person
    """Who signs the MOU for this partner."""
    scores: Scores | None = None
    """The five criteria, each 1-5; none while the partner is not scored yet."""
    legal_name: Line | None = None
    """The registered name bound by the MOU (default: `name`)."""
    address: Text | None = None
    """Where notices under the MOU go."""
    sector: Line | None = None
    """e.g. labor union, hospital system."""
    contact: Line | None = None
    """E-mail or phone."""
    wants: Text | None = None
    """What the partner wants, from the exploratory meeting."""
    offers: Text | None = None
    """What the partner can offer, from the exploratory meeting."""
    non_negotiables: Texts = ()
    """What the partner will not give up."""
    commitment: Commitment | None = None
    """Staff time and money the partner puts in."""
    red_flags: tuple[RedFlag, ...] = ()
    """Walk-away signals seen in this partner."""
    status: PartnerStatus = "prospect"
    """Where the partner stands."""

    @property
    def votes(self) -> bool:
        """Whether the partner takes part in decisions."""
        return self.status in VOTING

    @property
    def must_sign(self) -> bool:
        """Whether the partner's decision maker must sign the MOU."""
        return self.status in SIGNING

    @property
    def member(self) -> bool:
        """Whether the partner still belongs to the coalition."""
        return self.status in MEMBERS


@with_config(_CONFIG)
@dataclass(frozen=True, slots=True, kw_only=True)
class Role:
    """A named job in the coalition, held by one partner."""

    title: Line
    """e.g. Coordinator, Fiscal agent."""
    partner: Slug
    """The id of the partner that holds it."""
    responsibilities: Texts = ()
    """What the role does."""


@with_config(_CONFIG)
@dataclass(frozen=True, slots=True, kw_only=True)
class Override:
    """A different rule for a class of decisions, matching the stakes."""

    decisions: Text
    """Which decisions, e.g. public statements in the coalition's name."""
    rule: RuleKind
    """How those decisions are made."""
    threshold: Ratio | None = None
    """For a supermajority: the share of votes needed, more than 1/2 and at most 1."""
    id: Slug | None = None
    """A name for this override that recorded decisions can refer to (`under`)."""


@with_config(_CONFIG)
@dataclass(frozen=True, slots=True, kw_only=True)
class DecisionRule:
    """How the coalition decides."""

    default: RuleKind
    """majority, supermajority, executive-committee or consensus."""
    threshold: Ratio | None = None
    """For a supermajority: the share of votes needed, more than 1/2 and at most 1."""
    committee: Annotated[tuple[Slug, ...], Field(max_length=MAX_PARTNERS)] = ()
    """Partner ids on the executive committee."""
    quorum: Ratio | None = None
    """The share of partners that must take part for a decision to count, in (0, 1]."""
    overrides: Annotated[tuple[Override, ...], Field(max_length=MAX_PARTNERS)] = ()
    """Other rules for decisions with other stakes."""


@with_config(_CONFIG)
@dataclass(frozen=True, slots=True, kw_only=True)
class Launch:
    """The first visible joint action."""

    date: Date | None = None
    """When the coalition goes public."""
    first_win: Text | None = None
    """A small, achievable first action that shows the alliance is real."""


@with_config(_CONFIG)
@dataclass(frozen=True, slots=True, kw_only=True)
class Communication:
    """The check-in rhythm among coalition leads."""

    cadence: Cadence = "monthly"
    """weekly, biweekly, monthly or quarterly."""
    minutes: Minutes = 30
    """How long each check-in lasts."""
    channel: Line | None = None
    """e.g. video call."""
    shared_doc: Url | None = None
    """Where progress and decisions are tracked."""


@with_config(_CONFIG)
@dataclass(frozen=True, slots=True, kw_only=True)
class Review:
    """When and how the coalition is evaluated."""

    first: Date | None = None
    """The first review; defaults to three months after launch."""
    every_months: Months | None = None
    """Reviews after the first, every so many months."""
    questions: Texts = ()
    """What each review asks."""


@with_config(_CONFIG)
@dataclass(frozen=True, slots=True, kw_only=True)
class Breach:
    """What happens when a partner breaks the agreement."""

    minor: Text | None = None
    """The process for a minor breach."""
    major: Text | None = None
    """The process for a major breach."""
    sanctions: tuple[Sanction, ...] = ()
    """What the partners may do: suspend, expel."""


@with_config(_CONFIG)
@dataclass(frozen=True, slots=True, kw_only=True)
class Exit:
    """How a partner leaves and how the alliance ends."""

    notice_days: Days | None = None
    """Days of notice a partner gives before leaving."""
    sunset: Date | None = None
    """The alliance dissolves on this date unless renewed."""
    after_months: Months | None = None
    """The alliance dissolves this many months after the MOU takes effect (else launch)."""
    renewal: Text | None = None
    """How the partners renew it."""
    breach: Breach | None = None
    """What happens when a partner breaks the agreement."""


@with_config(_CONFIG)
@dataclass(frozen=True, slots=True, kw_only=True)
class Step:
    """Progress on one implementation step."""

    done: Date | None = None
    """When the step was completed."""
    notes: Text | None = None
    """Anything worth remembering."""


@with_config(_CONFIG)
@dataclass(frozen=True, slots=True, kw_only=True)
class Clause:
    """An extra clause of the MOU."""

    title: Line
    """The clause heading."""
    text: LongText
    """The clause, in Markdown."""


@with_config(_CONFIG)
@dataclass(frozen=True, slots=True, kw_only=True)
class Provisions:
    """The standard provisions: each `standard` (the project's wording, derived from the
    coalition), `none` (left out), or the partners' own wording."""

    confidentiality: LongText = "standard"
    """What partners share in confidence stays within the coalition."""
    names_and_logos: LongText = "standard"
    """No partner uses another's name or logo, or speaks for the coalition, unagreed."""
    data: LongText | None = None
    """How partners share and protect data; printed only when given."""
    disputes: LongText = "standard"
    """Disagreements: to the coordinator, then the decision makers, then mediation."""
    amendment: LongText = "standard"
    """The MOU changes in writing, under the decision rule, signed again by all."""
    membership: LongText = "standard"
    """A new partner joins by the decision rule and by signing the MOU as it stands."""
    fiscal_agent: LongText | None = None
    """Which partner holds and accounts for pooled money; printed only when given."""
    records: LongText = "standard"
    """Who keeps meeting notes and the decision log, shared within 14 days."""
    costs: LongText = "standard"
    """Each partner bears its own costs beyond what it commits."""
    governing_law: LongText | None = None
    """The law the MOU is read under; printed only when given."""


ProvisionKey = Literal[
    "confidentiality",
    "names_and_logos",
    "data",
    "disputes",
    "amendment",
    "membership",
    "fiscal_agent",
    "records",
    "costs",
    "governing_law",
]


@with_config(_CONFIG)
@dataclass(frozen=True, slots=True, kw_only=True)
class Mou:
    """The memorandum of understanding beyond the generated sections."""

    effective: Date | None = None
    """When the MOU takes effect."""
    clauses: Annotated[tuple[Clause, ...], Field(max_length=MAX_PARTNERS)] = ()
    """Extra clauses, in the order they are printed."""
    provisions: Provisions = field(default_factory=Provisions)
    """The standard provisions a lawyer expects, each standard, none or your own words."""
    binding: tuple[ProvisionKey, ...] = ()
    """The provisions that bind; the MOU creates no other legal obligations."""
    counterparts: Annotated[bool, Strict()] = True
    """Whether the MOU may be signed in counterparts and by electronic signature."""


@with_config(_CONFIG)
@dataclass(frozen=True, slots=True, kw_only=True)
class Signature:
    """A recorded signature of the MOU."""

    partner: Slug
    """The id of the partner that signed."""
    signer: Line
    """Who signed."""
    mou_version: Fingerprint
    """The fingerprint printed on the packet that was signed (8 hex digits or more)."""
    title: Line | None = None
    """The signer's title."""
    date: Date | None = None
    """When it was signed."""


Vote = Literal["for", "against", "abstain", "absent"]
Outcome = Literal["adopted", "rejected"]


@with_config(_CONFIG)
@dataclass(frozen=True, slots=True, kw_only=True)
class Decision:
    """A decision the coalition took after signing, with the votes cast."""

    date: Date
    """When the decision was taken."""
    title: Line
    """What was decided, in one line."""
    votes: dict[Slug, Vote]
    """Each partner's vote by id: for, against, abstain or absent (left out: absent)."""
    outcome: Outcome
    """What the coalition recorded: adopted or rejected."""
    under: Slug | None = None
    """The id of the override that applies; none for the default rule."""
    notes: Text | None = None
    """Minutes, links."""


@with_config(_CONFIG)
@dataclass(frozen=True, slots=True, kw_only=True)
class Coalition:
    """One coalition file: the decisions the partners made together."""

    name: Line
    """Display name."""
    status: Status
    """Where the coalition is."""
    purpose: Text
    """The shared goal in ONE sentence."""
    trigger: Trigger
    """Why an uncommon alliance now."""
    model: AllianceModel
    """The chosen alliance model."""
    partners: Annotated[tuple[Partner, ...], Field(max_length=MAX_PARTNERS)]
    """The organisations, at least two, in the order they are listed everywhere."""
    decision_rule: DecisionRule
    """How the coalition decides."""
    success: dict[str, Text] = field(default_factory=dict)
    """What success means for each partner, by partner id."""
    window: Window | None = None
    """The concrete event that makes now the time."""
    internal_alignment: InternalAlignment | None = None
    """Your own board's or leadership's sign-off."""
    bridge_value: Text | None = None
    """The shared value a values-bridge alliance is built on."""
    joint_entity: JointEntity | None = None
    """The new thing a structural alliance creates."""
    constraints: Constraints | None = None
    """The screening criteria written down before recruiting."""
    messaging: Messaging | None = None
    """One joint message, or each partner to its own audience on a shared timetable."""
    roles: Annotated[tuple[Role, ...], Field(max_length=MAX_PARTNERS)] = ()
    """Named jobs, each held by a partner."""
    launch: Launch | None = None
    """The first visible joint action."""
    communication: Communication = field(default_factory=Communication)
    """The check-in rhythm; monthly, 30 minutes unless said otherwise."""
    review: Review | None = None
    """When and how the coalition is evaluated."""
    exit: Exit | None = None
    """How a partner leaves and how the alliance ends."""
    steps: dict[StepName, Step] = field(default_factory=dict)
    """Progress along the six implementation steps."""
    mou: Mou | None = None
    """Extra MOU terms: effective date and clauses."""
    signatures: Annotated[tuple[Signature, ...], Field(max_length=5 * MAX_PARTNERS)] = ()
    """Recorded signatures of the MOU."""
    decisions: Annotated[tuple[Decision, ...], Field(max_length=5 * MAX_PARTNERS)] = ()
    """What the coalition decided after signing, checked against the rule it signed."""

    def partner(self, partner_id: str) -> Partner | None:
        """The partner with this id, if any."""
        return next((p for p in self.partners if p.id == partner_id), None)

    def partner_name(self, partner_id: str) -> str:
        """The name of the partner with this id (the id itself if there is none)."""
        partner = self.partner(partner_id)
        return partner.name if partner is not None else partner_id

    @property
    def live(self) -> bool:
        """Whether the coalition is forming, active or under review."""
        return self.status in LIVE

    @property
    def voters(self) -> tuple[Partner, ...]:
        """The partners who take part in decisions."""
        return tuple(p for p in self.partners if p.votes)

    def latest_signatures(self) -> dict[str, Signature]:
        """Each partner's latest recorded signature, by partner id (a later entry wins)."""
        return {signature.partner: signature for signature in self.signatures}

    def commitment_totals(self) -> tuple[int, dict[str, float]]:
        """Staff hours a month, and money by currency, that all partners commit together."""
        hours = 0
        money: dict[str, float] = {}
        for partner in self.partners:
            commitment = partner.commitment
            if commitment is None:
                continue
            hours += commitment.staff_hours_per_month or 0
            if commitment.funding:
                currency = commitment.currency or ""
                money[currency] = money.get(currency, 0.0) + commitment.funding
        return hours, money


@with_config(_CONFIG)
@dataclass(frozen=True, slots=True, kw_only=True)
class SiteConfig:
    """playbook.yaml: settings for the whole playbook."""

    title: Line
    """The site's title."""
    organization: Line
    """The organisation that keeps the playbook."""
    base_url: Annotated[str, Strict(), AfterValidator(_base_url)] = ""
    """Where the site is published, e.g. https://intranet.example.org/playbook/."""
    edit_url: Annotated[str, Strict(), AfterValidator(_base_url)] = ""
    """Where a file of this workspace is edited, the file's path left off, e.g.
    https://github.com/your-org/playbook/edit/main/ : each coalition page and guidance
    page from the workspace then links to "Edit this file"."""
    paper: Paper = "letter"
    """Paper size of the MOU packets: letter or a4."""
    timezone: Annotated[str, Strict()] = "UTC"
    """IANA time zone for calendars, e.g. America/Chicago."""
    currency: CurrencyCode = "USD"
    """Default ISO 4217 currency of partner commitments."""


PLACE = 1 << 21
"""Positions are kept as one number, `line * PLACE + column`: a column is at most the
size of a file (1 MiB). As a pair of numbers for each of the 280 values and keys of a
file, its positions took 60% of the time to pickle the rest of what a worker sends back
after loading it, and were 280,000 tuples to make and free in a build of 1,000."""


def place(line: int, column: int) -> int:
    """A position as `Located` keeps it."""
    return line * PLACE + column


@dataclass(frozen=True, slots=True, kw_only=True)
class Located:
    """Where the values of one YAML file stand, by field path."""

    values: dict[tuple[str | int, ...], int]
    """The position of each value, as `place` makes it."""
    keys: dict[tuple[str | int, ...], int]
    """The position of each mapping key, by the path of its value."""

    def at(self, path: tuple[str | int, ...], *, key: bool = False) -> tuple[int, int]:
        """(line, column) of `path`, or of its nearest located ancestor."""
        table = self.keys if key else self.values
        while path:
            if path in table:
                return divmod(table[path], PLACE)
            if path in self.values:
                return divmod(self.values[path], PLACE)
            path = path[:-1]
        return divmod(self.values.get((), place(1, 1)), PLACE)


@dataclass(frozen=True, slots=True, kw_only=True)
class CoalitionFile:
    """A coalition as loaded from the workspace."""

    slug: str
    """The file name without `.yaml`."""
    path: str
    """Relative to the workspace root, with forward slashes."""
    coalition: Coalition
    """The validated data, defaults filled in."""
    located: Located
    """Positions of the values, for advisories."""
    source: str
    """The file's text as read (BOM and CRLF removed)."""


def json_ready(value: Any) -> Any:
    """Plain JSON values for a model (dates as ISO text, fractions as `2/3`)."""
    convert = _CONVERTERS.get(type(value))
    if convert is None:
        convert = _CONVERTERS[type(value)] = _converter(type(value))
    return convert(value)


_CONVERTERS: dict[type, Callable[[Any], Any]] = {}
"""How `json_ready` turns a value of each type seen so far into JSON values: found once a
type, then looked up (a chain of `isinstance` tests at every value was 45% of its time)."""


def _converter(kind: type) -> Callable[[Any], Any]:
    if is_dataclass(kind):
        names = tuple(f.name for f in fields(kind))
        return lambda value: {name: json_ready(getattr(value, name)) for name in names}
    if issubclass(kind, str | int | float):  # bool and enumerations among them
        return _as_is
    if issubclass(kind, dict):
        return lambda value: {str(k): json_ready(v) for k, v in value.items()}
    if issubclass(kind, tuple | list):
        return lambda value: [json_ready(v) for v in value]
    if issubclass(kind, datetime.date):
        return _iso
    if issubclass(kind, Fraction):
        return lambda value: f"{value.numerator}/{value.denominator}"
    return _as_is


def _as_is(value: Any) -> Any:
    return value


def _iso(value: datetime.date) -> str:
    return value.isoformat()


def _pickled_by_field_names(kind: type) -> None:
    """Give a frozen dataclass with slots a state for pickle made from its field names
    found once. Python's own (`dataclasses._dataclass_getstate` and `_setstate`) looks
    the fields up again for every object, both ways: 38 objects a coalition file, which
    the worker that loads half of a workspace's files pickles to send them here (0.155
    -> 0.117 ms to pickle a file, 0.168 -> 0.139 ms to unpickle it)."""
    names = tuple(f.name for f in fields(kind))
    state = attrgetter(*names) if len(names) > 1 else lambda item: (getattr(item, names[0]),)
    put = object.__setattr__  # frozen: the class's own refuses

    def getstate(self: Any) -> Any:
        return state(self)

    def setstate(self: Any, values: tuple[Any, ...]) -> None:
        for name, value in zip(names, values, strict=True):
            put(self, name, value)

    kind.__getstate__ = getstate  # type: ignore[method-assign,assignment]
    kind.__setstate__ = setstate  # type: ignore[attr-defined]


for _kind in list(globals().values()):
    if isinstance(_kind, type) and is_dataclass(_kind) and _kind.__module__ == __name__:
        _pickled_by_field_names(_kind)
