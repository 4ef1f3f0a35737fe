"""The stages in order: what every command calls."""

from __future__ import annotations

import dataclasses
import datetime
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Literal
from zoneinfo import ZoneInfo

from markupsafe import Markup

from playbook_builder import advise, history, load, render, schedule, workspace, write
from playbook_builder.advise import Advisory
from playbook_builder.content import Markdown, load_guide
from playbook_builder.errors import PlaybookError, Problem
from playbook_builder.fingerprint import fingerprint
from playbook_builder.load import Loaded
from playbook_builder.model import Coalition, SiteConfig

if TYPE_CHECKING:  # WeasyPrint loads only when a packet is rendered
    from playbook_builder import pdf as pdf_module


@dataclass(frozen=True, slots=True)
class Report:
    """What `playbook check` found: errors, and advisories for the files that loaded."""

    loaded: Loaded | None
    """The valid part of the workspace (None when playbook.yaml itself is invalid)."""
    problems: tuple[Problem, ...]
    advisories: tuple[Advisory, ...]
    """In the order of the files, then of the lines."""
    today: datetime.date

    def advisories_for(self, slug: str) -> tuple[Advisory, ...]:
        return tuple(a for a in self.advisories if a.slug == slug)


def resolve_today(
    given: datetime.date | None, zone: str, environ: Mapping[str, str] = os.environ
) -> datetime.date:
    """`--today`, else SOURCE_DATE_EPOCH, else the clock; both read in the playbook's zone."""
    if given is not None:
        return given
    tz = ZoneInfo(zone)
    epoch = environ.get("SOURCE_DATE_EPOCH", "").strip()
    if epoch:
        try:
            return datetime.datetime.fromtimestamp(int(epoch), tz).date()
        except (ValueError, OverflowError, OSError) as err:
            raise PlaybookError(
                f"SOURCE_DATE_EPOCH={epoch!r} is not a number of seconds since 1970"
            ) from err
    return datetime.datetime.now(tz).date()  # the one reading of the clock


def check(root: Path | None, today: datetime.date | None = None) -> Report:
    """Load the workspace and advise on every coalition that loaded."""
    found = workspace.find(root)
    loaded, problems = load.read_workspace(found)
    zone = loaded.config.timezone if loaded else "UTC"
    day = resolve_today(today, zone)
    advisories: list[Advisory] = []
    if loaded is not None:
        by_slug = advise.advise_all(loaded.coalitions, day)
        for item in loaded.coalitions:
            advisories.extend(by_slug[item.slug])
    return Report(loaded, tuple(problems), tuple(advisories), day)


def load_valid(root: Path | None) -> Loaded:
    """The whole workspace, valid; raises ContractError with every problem otherwise."""
    return load.load_workspace(workspace.find(root))


@dataclass(frozen=True, slots=True)
class Built:
    """What a build wrote."""

    out: Path
    files: int
    bytes: int
    coalitions: int
    advisories: int
    packets: int
    pages: int
    """Pages in all packets together."""
    today: datetime.date
    notices: tuple[str, ...]
    """Things the user should know that did not stop the build (refused resources...)."""


@dataclass(frozen=True, slots=True)
class Prepared:
    """A loaded workspace with everything rendering needs."""

    found: workspace.Workspace
    loaded: Loaded
    today: datetime.date
    views: tuple[render.CoalitionView, ...]
    renderer: render.Renderer
    markdown: Markdown
    past: history.History


def prepare(root: Path | None, today: datetime.date | None) -> Prepared:
    """Load and advise; raises ContractError on bad input."""
    found = workspace.find(root)
    loaded = load.load_workspace(found)
    day = resolve_today(today, loaded.config.timezone)
    advisories = advise.advise_all(loaded.coalitions, day)
    markdown = Markdown()
    renderer = render.Renderer(found.layered("templates"), loaded.config, day)
    views = tuple(
        render.coalition_view(item, advisories[item.slug], day, markdown)
        for item in loaded.coalitions
    )
    past = history.read(found.root, [item.path for item in loaded.coalitions])
    views = _with_history(views, past, loaded.config, renderer, markdown, day)
    return Prepared(found, loaded, day, views, renderer, markdown, past)


def _with_history(
    views: tuple[render.CoalitionView, ...],
    past: history.History,
    config: SiteConfig,
    renderer: render.Renderer,
    markdown: Markdown,
    day: datetime.date,
) -> tuple[render.CoalitionView, ...]:
    """Revision stamps, history marks and redlines since signing, from one read of git."""
    # the newest commit of a clean file holds the text already loaded: no need to read it
    wanted = [
        (c.hash, c.path)
        for v in views
        for i, c in enumerate(past.commits.get(v.item.path, ()))
        if i or v.item.path in past.dirty
    ]
    texts = history.versions(past, wanted)
    result = []
    for view in views:
        commits = past.commits.get(view.item.path, ())
        clean = view.item.path not in past.dirty
        prints: list[str] = []
        for index, commit in enumerate(commits):
            if index == 0 and clean:
                prints.append(view.print_.full)
                continue
            text = texts.get((commit.hash, commit.path))
            old = load.quick_coalition(text, config) if text is not None else None
            prints.append(fingerprint(old).full if old is not None else "")
        signed = _signed_fingerprint(view.c)
        entries = [
            render.HistoryEntry(
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
        ]
        stamp = past.revision(view.item.path)
        revision = stamp.label() if stamp is not None else render.source_revision(view.item)
        changes = _changes(view, entries, texts, commits, past, config, renderer, markdown, day)
        result.append(
            dataclasses.replace(
                view,
                revision=revision,
                history=tuple(entries),
                changes=changes,
                git=past.available,
            )
        )
    return tuple(result)


def _signed_fingerprint(c: Coalition) -> str:
    """The fingerprint most of the current signatures record (the latest among equals)."""
    latest = {s.partner: s.mou_version for s in c.signatures}
    if not latest:
        return ""
    counts: dict[str, int] = {}
    for version in latest.values():
        counts[version] = counts.get(version, 0) + 1
    return max(reversed(list(latest.values())), key=lambda v: counts[v])


def _changes(
    view: render.CoalitionView,
    entries: list[render.HistoryEntry],
    texts: dict[tuple[str, str], str],
    commits: tuple[history.Commit, ...],
    past: history.History,
    config: SiteConfig,
    renderer: render.Renderer,
    markdown: Markdown,
    day: datetime.date,
) -> render.Changes:
    signed = _signed_fingerprint(view.c)
    empty = Markup("")
    if not signed:
        return render.Changes(
            state="unsigned", signed="", base=None, redline=empty, inserted=0, deleted=0
        )
    if view.print_.matches(signed):
        return render.Changes(
            state="unchanged", signed=signed[:8], base=None, redline=empty, inserted=0, deleted=0
        )
    index = next((i for i, e in enumerate(entries) if e.signed), None)
    if index is None:
        state: Literal["base-missing", "no-history"] = (
            "base-missing" if past.available else "no-history"
        )
        return render.Changes(
            state=state, signed=signed[:8], base=None, redline=empty, inserted=0, deleted=0
        )
    commit = commits[index]
    problems: list[Problem] = []
    base_text = texts.get((commit.hash, commit.path)) or ""
    base_item = load.coalition_from_text(
        base_text,
        view.slug,
        PurePosixPath(commit.path),
        config,
        problems,
    )
    if base_item is None:
        return render.Changes(
            state="base-missing",
            signed=signed[:8],
            base=None,
            redline=empty,
            inserted=0,
            deleted=0,
        )
    base_view = render.coalition_view(base_item, (), day, markdown)
    html, inserted, deleted = render.redline(
        render.mou_text(renderer, base_view), render.mou_text(renderer, view)
    )
    return render.Changes(
        state="changed",
        signed=signed[:8],
        base=entries[index],
        redline=html,
        inserted=inserted,
        deleted=deleted,
        paragraphs=html.count('class="changed"'),
    )


def build(
    root: Path | None,
    out: Path | None = None,
    today: datetime.date | None = None,
    *,
    pdf: bool = True,
    on_packet: Callable[[int, int, str], None] | None = None,
) -> Built:
    """Load, advise, render and write the site and packets; raises ContractError on bad input.

    Nothing in the output folder changes unless the whole build succeeds.
    """
    ready = prepare(root, today)
    target = out if out is not None else ready.found.root / "site"
    write.check_target(target, ready.found.root)
    guide = load_guide(ready.found.layered("content"), {"t": advise.THRESHOLDS}, ready.markdown)
    files: dict[str, bytes] = {}
    notices: list[str] = []
    pages = 0
    if ready.past.shallow:
        notices.append(f"warning: {history.SHALLOW_ADVICE}")
    missing = _weasyprint_missing() if pdf else None
    if missing:
        notices.append(missing)
        pdf = False
    if pdf:
        for done, view in enumerate(ready.views, start=1):
            packet = render_packet(ready, view)
            if on_packet is not None:
                on_packet(done, len(ready.views), view.slug)
            files[packet_path(view.slug)] = packet.pdf
            pages += packet.pages
            notices.extend(f"{view.slug}: {line}" for line in packet_notices(packet))
        notices.extend(_subsetting_notice())
    site = render.render_site(
        ready.renderer,
        ready.views,
        ready.loaded.coalitions,
        guide,
        ready.markdown,
        packets=[v.slug for v in ready.views] if pdf else (),
    )
    files.update(site)
    write.write_site(files, target)
    return Built(
        out=target.resolve(),
        files=len(files),
        bytes=sum(len(data) for data in files.values()),
        coalitions=len(ready.views),
        advisories=sum(len(v.advisories) for v in ready.views),
        packets=len(ready.views) if pdf else 0,
        pages=pages,
        today=ready.today,
        notices=tuple(notices),
    )


def packet_path(slug: str) -> str:
    """Where a coalition's packet lives in the output folder."""
    return f"coalitions/{slug}/{slug}-mou.pdf"


def render_packet(ready: Prepared, view: render.CoalitionView) -> pdf_module.Rendered:
    """One coalition's MOU packet as PDF bytes."""
    from playbook_builder import pdf as pdf_module

    renderer = ready.renderer
    html = renderer.packet_html(view, view.revision, renderer.templates_hash())
    return pdf_module.render_pdf(
        html,
        base_url=ready.found.root,
        allowed=(ready.found.root, *renderer.template_dirs),
        today=ready.today,
        attachment=(
            f"{view.slug}.yaml",
            view.item.source.encode("utf-8"),
            f"The coalition file this packet was printed from ({view.item.path})",
        ),
    )


def packet_notices(packet: pdf_module.Rendered) -> list[str]:
    notices = [f"advisory A901: the packet refused {what}" for what in packet.refused]
    notices.extend(f"WeasyPrint: {message}" for message in packet.warnings)
    return notices


def _weasyprint_missing() -> str | None:
    """Why packets cannot be rendered on this machine, or None when they can."""
    try:
        from playbook_builder import pdf as pdf_module  # noqa: F401
    except (ImportError, OSError) as err:
        return (
            f"warning: packets skipped, WeasyPrint cannot start ({err}); install the Debian "
            f"packages libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 and build again"
        )
    return None


def _subsetting_notice() -> list[str]:
    from playbook_builder import pdf as pdf_module

    if pdf_module.fast_subsetting():
        return []
    return [
        "warning: HarfBuzz font subsetting is missing (Debian package libharfbuzz-subset0); "
        "packets are slower to write and fall back to fontTools"
    ]


@dataclass(frozen=True, slots=True)
class Verification:
    """How a printed packet compares with the workspace today."""

    slug: str
    printed: str
    """The fingerprint printed on the packet."""
    current: str | None
    """The workspace's fingerprint for the same coalition (None: no such coalition now)."""
    templates_match: bool
    source_match: bool
    """Whether the coalition file is byte for byte the one embedded in the packet."""
    rebuilt_identical: bool
    """Whether rebuilding from the embedded source and today's templates gives the same PDF."""
    changed_terms: tuple[str, ...]
    """Agreement fields that differ between the packet and the workspace."""

    @property
    def matches(self) -> bool:
        return self.printed == self.current and self.templates_match


def verify(packet: Path, root: Path | None) -> Verification:
    """Compare a packet with the workspace; raises PlaybookError if it is not a packet."""
    import io

    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    from playbook_builder import fingerprint as fp

    try:
        reader = PdfReader(io.BytesIO(packet.read_bytes()))
        info: dict[str, object] = dict(reader.metadata or {})
        attachments = dict(reader.attachments)
    except (OSError, PdfReadError, ValueError) as err:
        raise PlaybookError(f"{packet}: cannot read it as a PDF ({err})") from err
    slug = str(info.get("/playbookcoalition", ""))
    printed = str(info.get("/playbookfingerprint", ""))
    day = str(info.get("/playbooktoday", ""))
    embedded = attachments.get(f"{slug}.yaml")
    if not slug or not printed or not embedded:
        raise PlaybookError(f"{packet}: not a playbook MOU packet (no embedded coalition file)")
    text = embedded[0].decode("utf-8")
    ready = prepare(root, datetime.date.fromisoformat(day) if day else None)
    problems: list[Problem] = []
    shown = workspace.Workspace(ready.found.root).shown(ready.found.root / "coalitions")
    item = load.coalition_from_text(
        text, slug, shown / f"{slug}.yaml", ready.loaded.config, problems
    )
    if item is None:
        raise PlaybookError(f"{packet}: the embedded coalition file no longer loads")
    now = ready.loaded.coalition(slug)
    current = fp.fingerprint(now.coalition).full if now else None
    changed: tuple[str, ...] = ()
    if now is not None:
        before, after = fp.terms(item.coalition), fp.terms(now.coalition)
        changed = tuple(key for key in sorted(before) if before[key] != after.get(key))
    recorded_templates = str(info.get("/playbooktemplates", ""))
    others = [c for c in ready.loaded.coalitions if c.slug != slug]
    advisories = advise.advise_all([*others, item], ready.today)[slug]
    view = render.coalition_view(item, advisories, ready.today, ready.markdown)
    view = dataclasses.replace(view, revision=str(info.get("/playbookrevision", "")))
    rebuilt = render_packet(ready, view).pdf
    return Verification(
        slug=slug,
        printed=printed,
        current=current,
        templates_match=recorded_templates == ready.renderer.templates_hash(),
        source_match=now is not None and now.source == item.source,
        rebuilt_identical=rebuilt == packet.read_bytes(),
        changed_terms=changed,
    )


@dataclass(frozen=True, slots=True)
class Due:
    """A dated obligation across the playbook."""

    day: datetime.date
    slug: str
    coalition: str
    what: str
    overdue: bool


def due(
    root: Path | None, today: datetime.date | None, within_days: int
) -> tuple[list[Due], datetime.date, tuple[str, ...]]:
    """Overdue reviews, passed sunsets, and what comes up within `within_days`."""
    found = workspace.find(root)
    loaded = load.load_workspace(found)
    day = resolve_today(today, loaded.config.timezone)
    items: list[Due] = []
    for item in loaded.coalitions:
        c = item.coalition
        if c.status == "dissolved":
            continue
        upcoming = schedule.next_review(c)
        if schedule.is_overdue(c, day) and upcoming is not None:
            items.append(Due(upcoming, item.slug, c.name, "review overdue", True))
        sunset = schedule.sunset_date(c)
        if sunset is not None and sunset < day:
            items.append(Due(sunset, item.slug, c.name, "sunset passed without renewal", True))
        for event in schedule.upcoming(c, day, within_days):
            what = {"review": "review", "check-in": "check-in", "sunset": "sunset"}[event.kind]
            items.append(Due(event.day, item.slug, c.name, what, False))
    items.sort(key=lambda d: (not d.overdue, d.day, d.coalition.casefold(), d.what))
    notices = (f"warning: {history.SHALLOW_ADVICE}",) if _is_shallow(found.root) else ()
    return items, day, notices


def _is_shallow(root: Path) -> bool:
    return history.read(root, []).shallow


@dataclass(frozen=True, slots=True)
class MouDiff:
    """The MOU text of one coalition at two revisions."""

    before_label: str
    after_label: str
    before: list[str]
    after: list[str]


def mou_diff(root: Path | None, slug: str, rev_a: str | None, rev_b: str | None) -> MouDiff:
    """The MOU's text at REV_A (default HEAD) and REV_B (default the working tree)."""
    ready = prepare(root, None)
    item = ready.loaded.coalition(slug)
    if item is None:
        known = ", ".join(c.slug for c in ready.loaded.coalitions) or "none"
        raise PlaybookError(f"no coalition {slug!r}; the coalitions are: {known}")
    if not ready.past.available:
        raise PlaybookError(
            f"{ready.found.root} is not in a git repository, so there are no revisions to compare"
        )

    def text_at(revision: str | None) -> tuple[str, list[str]]:
        if revision is None:
            view = next(v for v in ready.views if v.slug == slug)
            return "working tree", render.mou_text(ready.renderer, view)
        full = history.resolve(ready.past, revision)
        if full is None:
            raise PlaybookError(f"git does not know the revision {revision!r}")
        names = dict.fromkeys([item.path, *(c.path for c in ready.past.commits.get(item.path, ()))])
        found = ((p, history.revision_text(ready.past, full, p)) for p in names)
        path, text = next(((p, t) for p, t in found if t is not None), (item.path, None))
        if text is None:
            return f"{revision} (no such file then)", []
        problems: list[Problem] = []
        old = load.coalition_from_text(
            text, slug, PurePosixPath(path), ready.loaded.config, problems
        )
        if old is None:
            raise PlaybookError(
                f"{path} at {revision} does not load: " + "; ".join(str(p) for p in problems[:3])
            )
        view = render.coalition_view(old, (), ready.today, ready.markdown)
        return f"{revision} ({full[:7]})", render.mou_text(ready.renderer, view)

    before_label, before = text_at(rev_a or "HEAD")
    after_label, after = text_at(rev_b)
    return MouDiff(before_label, after_label, before, after)
