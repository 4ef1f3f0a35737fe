"""Facts -> pages in memory: {relative path: bytes}.

This module lays out what `facts.py` found; it decides nothing about a coalition. Layout
includes drawing: the pictures, the calendars and the redline are made here, from the
facts, when a page asks for them. Jinja runs sandboxed for workspace templates, with
autoescaping on and undefined names as errors; only this module marks HTML as safe.
"""

from __future__ import annotations

import difflib
import hashlib
import json
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, Literal, overload
from urllib.parse import urlsplit

import markupsafe
from jinja2 import Environment, FileSystemLoader, StrictUndefined, Template, TemplateError
from jinja2.sandbox import SandboxedEnvironment
from markupsafe import Markup, escape

from playbook_builder import __version__, advise, charts, ical, schedule
from playbook_builder.advise import THRESHOLDS
from playbook_builder.content import GuidePage, Markdown
from playbook_builder.errors import PlaybookError
from playbook_builder.facts import CoalitionFacts
from playbook_builder.model import CRITERIA, Partner, SiteConfig, article, json_ready
from playbook_builder.template_code import TemplateCode
from playbook_builder.terms import SCHEME, SignedTerms, is_placeholder, money
from playbook_builder.workspace import check_fenced, read_fenced

MONTH_NAMES = (
    "January", "February", "March", "April", "May", "June", "July",
    "August", "September", "October", "November", "December",
)  # fmt: skip
MODEL_SUMMARIES = {
    "opportunistic": "A tactical alliance for one specific, time-bound win.",
    "values-bridge": "An alliance built on one value the partners share despite their differences.",
    "structural": "An alliance that creates a new shared entity the partners govern together.",
}
ENTITY_KINDS = {
    "pooled-fund": "a pooled fund",
    "shared-staff": "shared staff",
    "joint-venture": "a joint venture",
    "other": "a shared entity",
}
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'self'"
)
"""Every page may run, style and show only the site's own files (and data: images)."""
TRIGGER_WORDS = {
    "cross-sector-threat": "A cross-sector threat",
    "resource-gap": "A resource gap",
    "stale-dynamic": "A stale dynamic",
}
UPCOMING_DAYS = 120
"""How far ahead reviews.html lists check-ins, reviews and sunsets."""


def long_date(day: date | None) -> str:
    """`15 January 2027`, the same on every machine (no locale)."""
    if day is None:
        return ""
    return f"{day.day} {MONTH_NAMES[day.month - 1]} {day.year}"


def placeholder(value: Any) -> Any:
    """A placeholder (text starting with TODO) marked for the eye; anything else as it is."""
    if isinstance(value, str) and is_placeholder(value):
        return Markup('<mark class="placeholder">{}</mark>').format(value)
    return value


def money_text(amount: float | None, currency: str | None) -> str:
    return "" if amount is None else money(amount, currency)


def fraction_text(value: Any) -> str:
    return f"{value.numerator}/{value.denominator}" if value is not None else ""


def template_failure(err: TemplateError, name: str) -> PlaybookError:
    """What a template that failed did wrong, and where (a workspace's template is input)."""
    where = getattr(err, "filename", None) or name
    line = getattr(err, "lineno", None)
    return PlaybookError(f"template {where}{f':{line}' if line else ''}: {err}")


# --- the renderer ---------------------------------------------------------------------------


_ESCAPE_TEXT: Callable[[str], str] | None = getattr(markupsafe, "_escape_inner", None)
"""The escaping of text inside `markupsafe.escape` (in C), where markupsafe has it."""
_NEW_STR = str.__new__


def _escape(value: Any) -> Markup:
    """`markupsafe.escape`, the same for every value, without the two calls of Python it
    wraps around its C for text (and a copy of what is marked safe already, and the
    escaping of whole numbers): escaping the 730 values a coalition's pages put out (610
    texts, 80 numbers, 40 marked safe) was 18% of laying them out under cProfile, and
    the pages take 8% less time this way."""
    kind = type(value)
    if kind is str and _ESCAPE_TEXT is not None:
        return _NEW_STR(Markup, _ESCAPE_TEXT(value))
    if kind is Markup:  # `escape` would copy it
        return value  # type: ignore[no-any-return]
    if kind is int:  # digits and a minus sign: nothing to escape
        return _NEW_STR(Markup, str(value))
    return escape(value)


class _Template(Template):
    """A template whose output escaping is `_escape`."""

    @classmethod
    def from_code(cls, *args: Any, **kwargs: Any) -> Template:
        template = super().from_code(*args, **kwargs)
        # the compiled template's functions look `escape` up among their module's names
        template.root_render_func.__globals__["escape"] = _escape
        return template


class _FencedLoader(FileSystemLoader):
    """Templates from the layered folders, never through a link that leads outside."""

    def get_source(
        self, environment: Environment, template: str
    ) -> tuple[str, str, Callable[[], bool]]:
        source, filename, uptodate = super().get_source(environment, template)
        path = Path(filename)
        folder = next(Path(d) for d in self.searchpath if path.is_relative_to(d))
        check_fenced(path, folder)
        return source, filename, uptodate


class Renderer:
    """The Jinja environment over the layered template folders, and the page writers."""

    def __init__(self, template_dirs: Sequence[Path], config: SiteConfig, today: date) -> None:
        self.template_dirs = tuple(template_dirs)
        self.config = config
        self.today = today
        # the workspace's own templates are untrusted input: they run sandboxed; the
        # built-in ones alone are ours and run in a plain (faster) environment
        kind = SandboxedEnvironment if len(self.template_dirs) > 1 else Environment
        self.env = kind(
            loader=_FencedLoader([str(d) for d in template_dirs]),
            bytecode_cache=TemplateCode(kind.__name__),
            auto_reload=False,
            autoescape=True,
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
        )
        self.env.template_class = _Template
        self.env.filters["long_date"] = long_date
        self.env.filters["money"] = money_text
        self.env.filters["article"] = article
        self.env.filters["todo"] = placeholder
        self.env.filters["fraction"] = fraction_text
        self.env.globals["criteria"] = tuple(name.replace("_", " ") for name in CRITERIA)
        self.env.globals["thresholds"] = THRESHOLDS
        self.env.globals["model_for"] = advise.supported_model
        self.env.globals["model_summary"] = MODEL_SUMMARIES.__getitem__
        self.env.globals["content_security_policy"] = CONTENT_SECURITY_POLICY
        self.env.globals["entity_kind"] = ENTITY_KINDS.__getitem__
        self.env.globals["trigger_words"] = TRIGGER_WORDS.__getitem__
        self.env.globals["matrix_chart"] = self.matrix_chart
        self.env.globals["timeline_chart"] = self.timeline_chart
        self.env.globals["redline"] = self.redline
        markdown = Markdown()
        self.env.filters["clause_markdown"] = lambda text: Markup(markdown.user(text))

    def warm(self) -> None:
        """Load every template of the site (the packet's are the printers') and import
        icalendar: once here before forking the workers that lay out pages, each of which
        did it for itself at its first coalition (35-50 ms), and this process again for
        the shared pages."""
        for name in self.env.list_templates(extensions=("html", "css")):
            if not name.startswith(("packet/", "assets/")):
                try:
                    self.env.get_template(name)
                except TemplateError:  # said where it is used, if it is (see `page`)
                    continue
        ical.ready()

    def matrix_chart(self, v: CoalitionFacts) -> Markup:
        """The decision matrix as an inline SVG picture."""
        return charts.matrix_chart(v.grid, THRESHOLDS, f"matrix-{v.slug}")

    def timeline_chart(self, v: CoalitionFacts) -> Markup:
        """The coalition's dated events as an inline SVG picture."""
        return charts.timeline_chart(v.events, self.today, f"timeline-{v.slug}")

    def redline(self, v: CoalitionFacts) -> Redline:
        """The MOU since the version the partners signed, word by word."""
        if v.changes.base_terms is None:
            return Redline(html=Markup(""), inserted=0, deleted=0, paragraphs=0)
        return redline(mou_text(self, v.changes.base_terms), mou_text(self, v.terms))

    def calendar_events(self, v: CoalitionFacts) -> bytes:
        """The coalition's dated events as serialised VEVENTs, for every calendar."""
        return ical.events(v.slug, v.c, v.events, self.today, host_of(self.config))

    def agreement(self, terms: SignedTerms) -> Markup:
        """The MOU text, laid out from the signed terms alone (`_mou.html` sees only `t`)."""
        try:
            html = self.env.get_template("_mou.html").render(t=terms)
        except TemplateError as err:
            raise template_failure(err, "_mou.html") from err
        return Markup(html)

    def page(self, template: str, root: str, **context: Any) -> bytes:
        """One HTML page; `root` is the relative way back to the site's top."""
        try:
            html = self.env.get_template(template).render(
                site=self.config,
                root=root,
                today=self.today,
                version=__version__,
                **{"source": None, **context},
            )
        except TemplateError as err:
            raise template_failure(err, template) from err
        return html.encode("utf-8")

    def fragment(self, template: str, **context: Any) -> str:
        """Part of a page, made with the same context as `page` at the site's top."""
        return self.page(template, "", **context).decode("utf-8")

    def find(self, name: str) -> Path:
        """The file a template name resolves to: the workspace's, else the built-in one."""
        for folder in self.template_dirs:
            candidate = folder / name
            if candidate.is_file():
                check_fenced(candidate, folder)
                return candidate
        raise PlaybookError(f"template {name} is missing")

    def packet_files(self) -> dict[str, bytes]:
        """Every file the packet is made from, by template name."""
        names = [
            "packet/packet.html",
            "packet/briefing.html",
            "packet/packet.css",
            "packet/draft.svg",
            "_mou.html",
            "_words.html",
        ]
        fonts: set[str] = set()
        for folder in self.template_dirs:
            if (folder / "packet" / "fonts").is_dir():
                fonts.update(
                    f"packet/fonts/{p.name}" for p in (folder / "packet" / "fonts").iterdir()
                )
        return {name: self.find(name).read_bytes() for name in sorted([*names, *fonts])}

    def templates_hash(self) -> str:
        """SHA-256 over the packet's templates and fonts, as recorded in every packet."""
        digest = hashlib.sha256()
        for name, data in self.packet_files().items():
            digest.update(name.encode() + b"\0" + hashlib.sha256(data).digest())
        return digest.hexdigest()

    def site_templates_hash(self) -> str:
        """SHA-256 over every template and asset the site pages are made from."""
        digest = hashlib.sha256()
        seen: set[str] = set()
        for folder in self.template_dirs:
            for path in sorted(folder.rglob("*")):
                name = path.relative_to(folder).as_posix()
                if path.is_file() and not name.startswith("packet/") and name not in seen:
                    seen.add(name)
                    digest.update(
                        name.encode() + b"\0" + hashlib.sha256(read_fenced(path, folder)).digest()
                    )
        return digest.hexdigest()

    def packet_html(
        self,
        view: CoalitionFacts,
        revision: str,
        templates_hash: str,
        kind: Literal["mou", "briefing"] = "mou",
    ) -> str:
        """The signing packet (`mou`) or the internal briefing of one coalition, as HTML."""
        fonts = self.find("packet/fonts/DejaVuSerif.ttf").parent
        html = self.page(
            "packet/packet.html" if kind == "mou" else "packet/briefing.html",
            "",
            kind=kind,
            draft_url=self.find("packet/draft.svg").as_uri(),
            v=view,
            t=view.terms,
            agreement=self.agreement(view.terms),
            scheme=SCHEME,
            revision=revision,
            templates_hash=templates_hash,
            fonts_url=fonts.as_uri() + "/",
            paper=self.config.paper,
            nav=(),
        )
        return html.decode("utf-8")

    def assets(self) -> dict[str, bytes]:
        """Files under templates/assets/, the workspace's winning over the built-in ones."""
        found: dict[str, bytes] = {}
        for folder in self.template_dirs:
            base = folder / "assets"
            if not base.is_dir():
                continue
            for path in sorted(base.rglob("*")):
                name = "assets/" + path.relative_to(base).as_posix()
                if path.is_file() and name not in found:
                    found[name] = read_fenced(path, folder)
        return found


def _common(guide: Sequence[GuidePage]) -> dict[str, Any]:
    return {"nav": [(page.name, page.title) for page in guide]}


def coalition_pages(
    renderer: Renderer,
    view: CoalitionFacts,
    guide: Sequence[GuidePage],
    packet: bool,
    events: bytes | None = None,
) -> dict[str, bytes]:
    """The pages of one coalition: they depend on its own file (and its advisories) only.

    `events` are its calendar events when the caller has them already.
    """
    common = {**_common(guide), "source": view.item.path}
    if events is None:
        events = renderer.calendar_events(view)
    base = f"coalitions/{view.slug}/"
    return {
        base + "index.html": renderer.page(
            "coalition.html", "../../", v=view, packet=packet, **common
        ),
        base + "mou.html": renderer.page(
            "mou.html",
            "../../",
            v=view,
            agreement=renderer.agreement(view.terms),
            packet=packet,
            **common,
        ),
        base + "history.html": renderer.page("history.html", "../../", v=view, **common),
        base + "decisions.html": renderer.page(
            "decisions.html",
            "../../",
            v=view,
            log=[(view, j) for j in view.decisions],
            show_coalition=False,
            **common,
        ),
        base + "changes.html": renderer.page("changes.html", "../../", v=view, **common),
        base + "coalition.json": _json(view),
        base + "calendar.ics": ical.calendar(view.c.name, [events]),
    }


def guide_pages(renderer: Renderer, guide: Sequence[GuidePage]) -> dict[str, bytes]:
    """The guidance pages."""
    common = _common(guide)
    pages = {}
    for index, page in enumerate(guide):
        pages[f"guide/{page.name}.html"] = renderer.page(
            "guide.html",
            "../",
            page=page,
            pages=guide,
            page_before=guide[index - 1] if index > 0 else None,
            page_after=guide[index + 1] if index + 1 < len(guide) else None,
            source=page.edit,
            **common,
        )
    return pages


def shared_part(renderer: Renderer, view: CoalitionFacts) -> bytes:
    """What one coalition adds to the pages about every coalition, as JSON: its rows on the
    dashboard, the partners, reviews and decision log pages and in the search, made now,
    with what the shared pages sort, group and count them by.

    It is made with the coalition's own pages and kept beside them, so that the shared
    pages are put together from these parts alone: a build that changes one coalition
    needs nothing else of the others.
    """
    try:
        return _shared_part(renderer, view)
    except TemplateError as err:
        raise template_failure(err, "_shared_rows.html") from err


def _shared_part(renderer: Renderer, view: CoalitionFacts) -> bytes:
    rows: Any = renderer.env.get_template("_shared_rows.html").module
    c = view.c
    name = c.name.casefold()
    soon = (
        ()
        if c.status == "dissolved"
        else schedule.upcoming(view.events, renderer.today, UPCOMING_DAYS)
    )
    part = {
        "slug": view.slug,
        "order": [
            0 if view.overdue else 1,
            view.next_review.isoformat() if view.next_review else "9999",
            name,
        ],
        "row": str(rows.dashboard_row(view)),
        "status": c.status,
        "model": c.model,
        "overdue": view.overdue,
        "advisories": len(view.advisories),
        "signed": view.signed,
        "search": str(rows.search_item(view)),
        "index": _search_entries(view),
        "late": [
            [row.day.isoformat(), name, str(rows.overdue_row(view, row))]
            for row in view.reviews
            if row.state == "overdue"
        ],
        "soon": [
            [event.day.isoformat(), name, event.kind, str(rows.upcoming_row(event, view))]
            for event in soon
        ],
        "decisions": [
            [
                j.decision.date.isoformat(),
                j.index,
                renderer.fragment("_decision_rows.html", log=[(view, j)], show_coalition=True),
            ]
            for j in view.decisions
        ],
        "partners": [
            _membership(view, partner, str(rows.membership(view, partner, _roles(view, partner))))
            for partner in c.partners
        ],
    }
    return json.dumps(part, allow_nan=False, ensure_ascii=False).encode("utf-8")


def _roles(view: CoalitionFacts, partner: Partner) -> tuple[str, ...]:
    return tuple(role.title for role in view.c.roles if role.partner == partner.id)


def _membership(view: CoalitionFacts, partner: Partner, row: str) -> list[Any]:
    """[organisation key, name, sector, staff hours, [currency, funding] or None,
    coalition name for sorting, the row]"""
    given = partner.commitment
    funding = [given.currency or "", given.funding] if given and given.funding else None
    hours = (given.staff_hours_per_month or 0) if given else 0
    return [
        advise.org_key(partner.name),
        partner.name,
        partner.sector or "",
        hours,
        funding,
        view.c.name.casefold(),
        row,
    ]


def shared_pages(
    renderer: Renderer,
    parts: Sequence[Mapping[str, Any]],
    events: Iterable[bytes],
    guide: Sequence[GuidePage],
) -> dict[str, bytes]:
    """The pages about every coalition at once: dashboard, partners, reviews, decision
    log and search, put together from each coalition's part (`shared_part`, loaded) and
    its calendar events, both in the order of the coalitions."""
    common = _common(guide)
    organisations = _organisations(parts)
    statuses = _present(part["status"] for part in parts)
    models = _present(part["model"] for part in parts)
    pages: dict[str, bytes] = {}
    pages["index.html"] = renderer.page(
        "index.html",
        "",
        rows=_Rows(part["row"] for part in sorted(parts, key=lambda part: part["order"])),
        stats={
            "coalitions": len(parts),
            "organisations": len(organisations),
            "overdue": sum(1 for part in parts if part["overdue"]),
            "advisories": sum(part["advisories"] for part in parts),
            "unsigned": sum(1 for part in parts if not part["signed"]),
        },
        statuses=statuses,
        models=models,
        **common,
    )
    pages["assets/filters.css"] = renderer.page("filters.css", "", statuses=statuses, models=models)
    pages["calendar.ics"] = ical.calendar(renderer.config.title, events)
    pages["partners.html"] = renderer.page(
        "partners.html", "", organisations=organisations, **common
    )
    late = sorted((row for part in parts for row in part["late"]), key=lambda row: row[:2])
    soon = sorted((row for part in parts for row in part["soon"]), key=lambda row: row[:3])
    pages["reviews.html"] = renderer.page(
        "reviews.html",
        "",
        overdue=_Rows(row[-1] for row in late),
        upcoming=_Rows(row[-1] for row in soon),
        within_days=UPCOMING_DAYS,
        **common,
    )
    pages["search.html"] = renderer.page(
        "search.html",
        "",
        coalitions=_Rows(part["search"] for part in parts),
        guide=guide,
        **common,
    )
    log = sorted(
        ((row[0], part["slug"], row[1], row[2]) for part in parts for row in part["decisions"]),
        reverse=True,
    )
    rows = _Rows(row[-1] for row in log)
    pages["decisions.html"] = renderer.page(
        "decisions.html", "", v=None, log=rows, rows=rows, show_coalition=True, **common
    )
    pages["assets/search-index.js"] = _search_index(parts, guide)
    return pages


class _Rows:
    """Rows of HTML that each coalition's own rendering made (escaped there). Printed
    whole (`{{ rows }}`, as the built-in templates do) they are one string: a thousand
    coalitions' shared pages hold 40,000 rows, and putting each in its page apart took
    longer than the rest of those pages. A workspace's own template may still take them
    one by one."""

    def __init__(self, rows: Iterable[str]) -> None:
        self._rows = list(rows)

    def __html__(self) -> str:
        return "".join(self._rows)

    def __len__(self) -> int:
        return len(self._rows)

    def __iter__(self) -> Iterator[Markup]:
        return (Markup(row) for row in self._rows)

    @overload
    def __getitem__(self, index: int) -> Markup: ...
    @overload
    def __getitem__(self, index: slice) -> list[Markup]: ...
    def __getitem__(self, index: int | slice) -> Markup | list[Markup]:
        if isinstance(index, slice):
            return [Markup(row) for row in self._rows[index]]
        return Markup(self._rows[index])


def _present(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(sorted(set(values)))


def host_of(config: SiteConfig) -> str:
    """The host name in calendar identifiers."""
    return urlsplit(config.base_url).hostname or "playbook.invalid"


def _json(view: CoalitionFacts) -> bytes:
    derived = {
        "fingerprint": {"short": view.print_.short, "full": view.print_.full},
        "matrix": [
            {
                "partner": row.partner.id,
                "scores": dict(zip(CRITERIA, row.scores, strict=True)),
                "total": row.total,
            }
            for row in view.grid.rows
        ],
        "recommended_model": view.rec.model,
        "recommendation": view.rec.reasoning,
        "decision_rule": list(view.rule_lines),
        "reviews": [{"date": r.day.isoformat(), "state": r.state} for r in view.reviews],
        "next_review": view.next_review.isoformat() if view.next_review else None,
        "review_overdue": view.overdue,
        "sunset": view.sunset.isoformat() if view.sunset else None,
        "signed": view.signed,
        "revision": view.revision,
        "signatures_stale": list(view.stale),
        "signatures_missing": list(view.missing),
        "decisions": [
            {
                "index": j.index,
                "date": j.decision.date.isoformat(),
                "title": j.decision.title,
                "rule": j.rule,
                "applies_to": j.applies_to,
                "agreement": j.version,
                "voters": list(j.voters),
                "for": j.votes_for,
                "against": j.against,
                "abstained": j.abstained,
                "absent": j.absent,
                "not_counted": list(j.ignored),
                "quorum": j.quorum,
                "needed": j.needed,
                "recorded": j.decision.outcome,
                "supported": j.supported,
                "sound": j.sound,
            }
            for j in view.decisions
        ],
        "advisories": [
            {
                "code": a.code,
                "line": a.line,
                "column": a.column,
                "message": a.message,
                "guide": a.link,
            }
            for a in view.advisories
        ],
    }
    payload = {"slug": view.slug, "coalition": json_ready(view.c), "derived": derived}
    # compact: the C encoder is many times faster than the indenting one on large sites
    text = json.dumps(
        payload, allow_nan=False, sort_keys=True, ensure_ascii=False, separators=(",", ":")
    )
    return (text + "\n").encode("utf-8")


@dataclass(frozen=True, slots=True, kw_only=True)
class Organisation:
    name: str
    sectors: tuple[str, ...]
    memberships: _Rows
    """A row per coalition it is in (the coalition, its status and roles there), made by
    that coalition's rendering: 4,786 rows at 1,000 coalitions."""
    hours: int
    funding: tuple[str, ...]


def _organisations(parts: Sequence[Mapping[str, Any]]) -> tuple[Organisation, ...]:
    """Every organisation, matched by name, from the memberships in each part."""
    grouped: dict[str, list[list[Any]]] = defaultdict(list)
    for part in parts:
        for entry in part["partners"]:
            grouped[entry[0]].append(entry)
    result = []
    for entries in grouped.values():
        funding: dict[str, float] = defaultdict(float)
        for entry in entries:
            if entry[4] is not None:
                currency, amount = entry[4]
                funding[currency] += amount
        result.append(
            Organisation(
                name=entries[0][1],
                sectors=_present(entry[2] for entry in entries if entry[2]),
                memberships=_Rows(
                    entry[6] for entry in sorted(entries, key=lambda entry: entry[5])
                ),
                hours=sum(entry[3] for entry in entries),
                funding=tuple(money(v, k) for k, v in sorted(funding.items())),
            )
        )
    return tuple(sorted(result, key=lambda o: o.name.casefold()))


def _search_entries(view: CoalitionFacts) -> list[dict[str, str]]:
    """A coalition's entries in the search index: itself, its decisions, its partners."""
    c = view.c
    text = " ".join(
        [c.purpose, c.bridge_value or "", c.model, c.status]
        + [f"{p.name} {p.sector or ''} {p.decision_maker.name}" for p in c.partners]
    )
    entries = [
        {
            "t": c.name,
            "u": f"coalitions/{view.slug}/index.html",
            "k": "Coalition",
            "x": " ".join(text.split()),
        }
    ]
    for judgement in view.decisions:
        entries.append(
            {
                "t": judgement.decision.title,
                "u": f"coalitions/{view.slug}/decisions.html",
                "k": f"Decision in {c.name}, {judgement.decision.date.isoformat()}",
                "x": " ".join(f"{judgement.decision.outcome} {judgement.reason}".split()),
            }
        )
    for partner in c.partners:
        entries.append(
            {
                "t": partner.name,
                "u": f"coalitions/{view.slug}/index.html#partners",
                "k": f"Partner in {c.name}",
                "x": f"{partner.sector or ''} {partner.decision_maker.name}".strip(),
            }
        )
    return entries


def _search_index(parts: Sequence[Mapping[str, Any]], guide: Sequence[GuidePage]) -> bytes:
    """The search index as a script (a JSON file cannot be fetched from file:// pages)."""
    entries: list[dict[str, str]] = []
    for part in sorted(parts, key=lambda part: part["slug"]):
        entries.extend(part["index"])
    for page in guide:
        for section in page.sections:
            anchor = f"#{section.anchor}" if section.anchor else ""
            title = (
                section.title if section.title == page.title else (f"{page.title}: {section.title}")
            )
            entries.append(
                {
                    "t": title,
                    "u": f"guide/{page.name}.html{anchor}",
                    "k": "Guide",
                    "x": section.words[:400],
                }
            )
    body = json.dumps(
        entries, allow_nan=False, ensure_ascii=False, sort_keys=True, separators=(",", ":")
    )
    # `</` cannot end the script early when the index is inlined or read as a script
    body = body.replace("</", "<\\/")
    return f"window.PLAYBOOK_SEARCH = {body};\n".encode()


# --- the MOU as text, and redlines -----------------------------------------------------------

_BLOCKS = {"p", "li", "h1", "h2", "h3", "tr", "dt", "dd"}


class _TextBlocks(HTMLParser):
    """HTML -> one line of text per block element."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = []
        self.current: list[str] = []

    def _flush(self) -> None:
        text = " ".join("".join(self.current).split())
        if text:
            self.lines.append(text)
        self.current = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _BLOCKS:
            self._flush()
        elif tag in ("td", "th"):
            self.current.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in _BLOCKS:
            self._flush()

    def handle_data(self, data: str) -> None:
        self.current.append(data)


def mou_text(renderer: Renderer, terms: SignedTerms) -> list[str]:
    """The MOU's words, a line per paragraph, list item or table row."""
    html = str(renderer.agreement(terms))
    parser = _TextBlocks()
    parser.feed(html)
    parser.close()
    parser._flush()
    return parser.lines


@dataclass(frozen=True, slots=True, kw_only=True)
class Redline:
    """Word-level changes between two MOU texts, laid out as HTML paragraphs."""

    html: Markup
    inserted: int
    deleted: int
    paragraphs: int
    """How many paragraphs changed (each has an id change-N)."""


def redline(before: Sequence[str], after: Sequence[str]) -> Redline:
    """Word-level insertions and deletions between two MOU texts, as HTML paragraphs.

    Paragraphs with a change get ids change-1, change-2... so the page can link to them.
    """
    old = [word for line in before for word in [*line.split(" "), "\n"]]
    new = [word for line in after for word in [*line.split(" "), "\n"]]
    matcher = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
    paragraphs: list[tuple[list[str], bool]] = [([], False)]
    inserted = deleted = 0

    def words(items: Sequence[str], tag: str = "") -> None:
        for word in items:
            if word == "\n":
                paragraphs.append(([], False))
                continue
            text = str(escape(word))
            parts, changed = paragraphs[-1]
            parts.append(f"<{tag}>{text}</{tag}>" if tag else text)
            paragraphs[-1] = (parts, changed or bool(tag))

    for op, a1, a2, b1, b2 in matcher.get_opcodes():
        if op == "equal":
            words(old[a1:a2])
        if op in ("delete", "replace"):
            words(old[a1:a2], "del")
            deleted += sum(1 for w in old[a1:a2] if w != "\n")
        if op in ("insert", "replace"):
            words(new[b1:b2], "ins")
            inserted += sum(1 for w in new[b1:b2] if w != "\n")
    html = []
    number = 0
    for parts, changed in paragraphs:
        if not parts:
            continue
        if changed:
            number += 1
            html.append(f'<p id="change-{number}" class="changed">{" ".join(parts)}</p>')
        else:
            html.append(f"<p>{' '.join(parts)}</p>")
    # every word was escaped above
    return Redline(
        html=Markup("\n".join(html)), inserted=inserted, deleted=deleted, paragraphs=number
    )
