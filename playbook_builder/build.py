"""The stages in order: what every command calls."""

from __future__ import annotations

import concurrent.futures
import dataclasses
import datetime
import json
import multiprocessing
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Literal
from zoneinfo import ZoneInfo

from markupsafe import Markup

from playbook_builder import __version__, advise, history, load, render, schedule, workspace, write
from playbook_builder.advise import Advisory
from playbook_builder.cache import Cache, digest
from playbook_builder.content import GuidePage, Markdown, load_guide
from playbook_builder.errors import PlaybookError, Problem
from playbook_builder.fingerprint import Fingerprint, fingerprint
from playbook_builder.load import Loaded
from playbook_builder.model import Coalition, CoalitionFile, json_ready
from playbook_builder.terms import signed_terms

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
    cached: int = 0
    """Coalitions whose outputs all came from the cache."""


@dataclass(frozen=True, slots=True)
class Facts:
    """What git says about one coalition file, computed once per build in the parent."""

    revision: str
    entries: tuple[render.HistoryEntry, ...]
    base: tuple[str, str] | None
    """(path, text) of the signed version, when it differs from the current one."""


@dataclass(frozen=True, slots=True)
class Prepared:
    """A loaded, advised workspace with everything rendering needs."""

    found: workspace.Workspace
    loaded: Loaded
    today: datetime.date
    views: tuple[render.CoalitionView, ...]
    """Full views, or light ones (no pictures, calendar or redline) for the shared pages."""
    renderer: render.Renderer
    markdown: Markdown
    past: history.History
    prints: dict[str, Fingerprint]
    advisories: dict[str, tuple[Advisory, ...]]
    facts: dict[str, Facts]


def prepare(
    root: Path | None,
    today: datetime.date | None,
    *,
    light: bool = False,
    store: Cache | None = None,
) -> Prepared:
    """Load, advise and read git; raises ContractError on bad input."""
    found = workspace.find(root)
    loaded = load.load_workspace(found, store)
    day = resolve_today(today, loaded.config.timezone)
    prints = {item.slug: fingerprint(item.coalition) for item in loaded.coalitions}
    advisories = advise.advise_all(loaded.coalitions, day, prints=prints)
    markdown = Markdown()
    renderer = render.Renderer(found.layered("templates"), loaded.config, day)
    past = history.read(found.root, [item.path for item in loaded.coalitions])
    facts = _facts(loaded, past, prints)
    ready = Prepared(found, loaded, day, (), renderer, markdown, past, prints, advisories, facts)
    views = tuple(view_of(ready, item, light=light) for item in loaded.coalitions)
    return dataclasses.replace(ready, views=views)


def view_of(ready: Prepared, item: CoalitionFile, *, light: bool = False) -> render.CoalitionView:
    """Everything a coalition's pages show; `light` leaves out pictures, calendar, redline."""
    view = render.coalition_view(
        item,
        ready.advisories[item.slug],
        ready.today,
        ready.markdown,
        render.host_of(ready.loaded.config),
        ready.prints[item.slug],
        light=light,
    )
    facts = ready.facts[item.slug]
    view = dataclasses.replace(
        view, revision=facts.revision, history=facts.entries, git=ready.past.available
    )
    if light:
        return view
    return dataclasses.replace(view, changes=_changes(ready, view, facts))


def full_view(ready: Prepared, light: render.CoalitionView) -> render.CoalitionView:
    """A light view completed with its pictures, calendar events and redline."""
    view = render.complete_view(light, ready.today, render.host_of(ready.loaded.config))
    return dataclasses.replace(view, changes=_changes(ready, view, ready.facts[view.slug]))


def _facts(
    loaded: Loaded, past: history.History, prints: dict[str, Fingerprint]
) -> dict[str, Facts]:
    """Revision stamps and history marks of every file, from one read of git."""
    # the newest commit of a clean file holds the text already loaded: no need to read it
    wanted = [
        (c.hash, c.path)
        for item in loaded.coalitions
        for i, c in enumerate(past.commits.get(item.path, ()))
        if i or item.path in past.dirty
    ]
    texts = history.versions(past, wanted)
    result = {}
    for item in loaded.coalitions:
        commits = past.commits.get(item.path, ())
        clean = item.path not in past.dirty
        versions: list[str] = []
        for index, commit in enumerate(commits):
            if index == 0 and clean:
                versions.append(prints[item.slug].full)
                continue
            text = texts.get((commit.hash, commit.path))
            old = load.quick_coalition(text, loaded.config) if text is not None else None
            versions.append(fingerprint(old).full if old is not None else "")
        signed = _signed_fingerprint(item.coalition)
        entries = tuple(
            render.HistoryEntry(
                short=commit.short,
                full=commit.hash,
                day=commit.date.date().isoformat(),
                author=commit.author,
                subject=commit.subject,
                fingerprint=versions[i][:8],
                agreement_changed=i + 1 == len(commits) or versions[i] != versions[i + 1],
                signed=bool(signed) and versions[i].startswith(signed),
            )
            for i, commit in enumerate(commits)
        )
        stamp = past.revision(item.path)
        revision = stamp.label() if stamp is not None else render.source_revision(item)
        base = None
        if signed and not prints[item.slug].matches(signed):
            signed_at = next((i for i, e in enumerate(entries) if e.signed), None)
            if signed_at is not None:
                commit = commits[signed_at]
                text = texts.get((commit.hash, commit.path))
                if text is None and signed_at == 0:
                    text = item.source
                if text is not None:
                    base = (commit.path, text)
        result[item.slug] = Facts(revision, entries, base)
    return result


def _signed_fingerprint(c: Coalition) -> str:
    """The fingerprint most of the current signatures record (the latest among equals)."""
    latest = {s.partner: s.mou_version for s in c.signatures}
    if not latest:
        return ""
    counts: dict[str, int] = {}
    for version in latest.values():
        counts[version] = counts.get(version, 0) + 1
    return max(reversed(list(latest.values())), key=lambda v: counts[v])


def _changes(ready: Prepared, view: render.CoalitionView, facts: Facts) -> render.Changes:
    """The MOU since the version the partners signed, as a redline."""
    signed = _signed_fingerprint(view.c)
    empty = Markup("")

    def plain(
        state: Literal["unsigned", "unchanged", "base-missing", "no-history"],
    ) -> render.Changes:
        return render.Changes(
            state=state, signed=signed[:8], base=None, redline=empty, inserted=0, deleted=0
        )

    if not signed:
        return plain("unsigned")
    if view.print_.matches(signed):
        return plain("unchanged")
    base_entry = next((e for e in facts.entries if e.signed), None)
    if facts.base is None or base_entry is None:
        return plain("base-missing" if ready.past.available else "no-history")
    path, text = facts.base
    problems: list[Problem] = []
    base_item = load.coalition_from_text(
        text, view.slug, PurePosixPath(path), ready.loaded.config, problems
    )
    if base_item is None:
        return plain("base-missing")
    html, inserted, deleted = render.redline(
        render.mou_text(ready.renderer, signed_terms(base_item.coalition)),
        render.mou_text(ready.renderer, view.terms),
    )
    return render.Changes(
        state="changed",
        signed=signed[:8],
        base=base_entry,
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
    jobs: int | None = None,
    use_cache: bool = True,
    on_packet: Callable[[int, int, str], None] | None = None,
) -> Built:
    """Load, advise, render and write the site and packets; raises ContractError on bad input.

    Outputs whose inputs are unchanged come from the cache; the rest render in a pool of
    `jobs` worker processes started once per build. Nothing in the output folder changes
    unless the whole build succeeds.
    """
    found = workspace.find(root)
    store = Cache.for_workspace(found.root) if use_cache else Cache(None)
    ready = prepare(found.root, today, light=True, store=store)
    target = out if out is not None else ready.found.root / "site"
    write.check_target(target, ready.found.root)
    with write.locked(target):
        return _build_locked(ready, store, target, pdf, jobs, on_packet)


def _build_locked(
    ready: Prepared,
    store: Cache,
    target: Path,
    pdf: bool,
    jobs: int | None,
    on_packet: Callable[[int, int, str], None] | None,
) -> Built:
    notices: list[str] = []
    if ready.past.shallow:
        notices.append(f"warning: {history.SHALLOW_ADVICE}")
    missing = _weasyprint_missing() if pdf else None
    if missing:
        notices.append(missing)
        pdf = False
    guide = load_guide(ready.found.layered("content"), {"t": advise.THRESHOLDS}, ready.markdown)
    keys = _keys(ready, guide, pdf)

    bundles: dict[str, dict[str, bytes]] = {}
    work: list[tuple[str, bool, bool]] = []
    for view in ready.views:
        pages_key, packet_key = keys[view.slug]
        pages = store.get(pages_key)
        packet = store.get(packet_key) if pdf else {}
        if pages is not None and packet is not None:
            bundles[view.slug] = {**pages, **packet}
        else:
            bundles[view.slug] = {**(pages or {}), **(packet or {})}
            work.append((view.slug, pages is None, pdf and packet is None))

    job = _Job(ready, tuple(guide), pdf)
    total = sum(1 for _, _, packet in work if packet)
    done = 0
    for result in _run(job, work, jobs):
        pages_key, packet_key = keys[result.slug]
        if result.pages:
            store.put(pages_key, result.pages)
        if result.packet is not None:
            store.put(packet_key, result.packet)
            done += 1
            if on_packet is not None:
                on_packet(done, total, result.slug)
        bundles[result.slug].update(result.pages)
        bundles[result.slug].update(result.packet or {})
        notices.extend(f"{result.slug}: {line}" for line in result.notices)
    if pdf:
        notices.extend(_subsetting_notice() if total else [])

    files: dict[str, bytes] = dict(ready.renderer.assets())
    page_count = 0
    for bundle in bundles.values():
        for name, data in bundle.items():
            if name == _ICS:
                continue
            if name == _PAGES:
                page_count += int(data)
                continue
            files[name] = data
    events = {slug: bundle[_ICS] for slug, bundle in bundles.items()}
    views = [dataclasses.replace(v, ics_events=events[v.slug]) for v in ready.views]
    shared_key = digest([*sorted(k for pair in keys.values() for k in pair), _guide_digest(guide)])
    shared = store.get(shared_key)
    if shared is None:
        shared = render.shared_pages(
            ready.renderer, views, ready.loaded.coalitions, guide, ready.markdown
        )
        shared.update(render.guide_pages(ready.renderer, guide))
        store.put(shared_key, shared)
    files.update(shared)
    write.write_site(files, target)
    store.prune()
    return Built(
        out=target.resolve(),
        files=len(files),
        bytes=sum(len(data) for data in files.values()),
        coalitions=len(ready.views),
        advisories=sum(len(v.advisories) for v in ready.views),
        packets=len(ready.views) if pdf else 0,
        pages=page_count,
        today=ready.today,
        notices=tuple(notices),
        cached=len(ready.views) - len(work),
    )


_ICS = ".ics-events"
_PAGES = ".packet-pages"


def _keys(ready: Prepared, guide: Sequence[GuidePage], pdf: bool) -> dict[str, tuple[str, str]]:
    """(pages key, packet key) of every coalition: hashes of everything each depends on."""
    renderer = ready.renderer
    common = [
        "playbook " + __version__,
        ready.today.isoformat(),
        json.dumps(json_ready(ready.loaded.config), sort_keys=True),
    ]
    site = renderer.site_templates_hash()
    nav = json.dumps([(page.name, page.title) for page in guide])
    packet_templates = renderer.templates_hash()
    weasyprint = _weasyprint_version()
    keys = {}
    for view in ready.views:
        facts = ready.facts[view.slug]
        own = [
            view.item.path,
            view.item.source,
            repr(view.advisories),
            repr(facts),
            str(ready.past.available),
        ]
        pages = digest(["pages", *common, site, nav, str(pdf), *own])
        packet = digest(["packet", *common, packet_templates, weasyprint, *own])
        keys[view.slug] = (pages, packet)
    return keys


def _guide_digest(guide: Sequence[GuidePage]) -> str:
    return digest([part for page in guide for part in (page.name, page.title, page.html)])


def _weasyprint_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("weasyprint")
    except PackageNotFoundError:
        return "none"


@dataclass(frozen=True, slots=True)
class _Job:
    """What every worker needs; inherited by forked workers, never pickled."""

    ready: Prepared
    guide: tuple[GuidePage, ...]
    pdf: bool


@dataclass(frozen=True, slots=True)
class _Result:
    slug: str
    pages: dict[str, bytes]
    packet: dict[str, bytes] | None
    notices: tuple[str, ...]


_WORKER_JOB: list[_Job] = []
"""The job of a worker process (set by the pool's initializer, in the worker only)."""


def _install(job: _Job) -> None:
    _WORKER_JOB[:] = [job]


def _render_one(slug: str, pages: bool, packet: bool) -> _Result:
    return _render(_WORKER_JOB[0], slug, pages, packet)


def _render(job: _Job, slug: str, want_pages: bool, want_packet: bool) -> _Result:
    """One coalition's pages and packet, from its full view."""
    ready = job.ready
    item = ready.loaded.coalition(slug)
    assert item is not None
    light = next(v for v in ready.views if v.slug == slug)
    view = full_view(ready, light)
    pages: dict[str, bytes] = {}
    if want_pages:
        pages = render.coalition_pages(ready.renderer, view, job.guide, job.pdf)
        pages[_ICS] = view.ics_events
    packet = None
    notices: tuple[str, ...] = ()
    if want_packet:
        rendered = render_packet(ready, view)
        packet = {packet_path(slug): rendered.pdf, _PAGES: str(rendered.pages).encode()}
        notices = tuple(packet_notices(rendered))
    return _Result(slug, pages, packet, notices)


def _run(job: _Job, work: list[tuple[str, bool, bool]], jobs: int | None) -> Iterator[_Result]:
    """Render the work, in a pool of worker processes when there is enough of it."""
    workers = max(1, min(jobs or os.cpu_count() or 1, len(work)))
    heavy = sum(4 if packet else 1 for _, _, packet in work)
    if workers == 1 or heavy < 8 or "fork" not in multiprocessing.get_all_start_methods():
        for slug, pages, packet in work:
            yield _render(job, slug, pages, packet)
        return
    context = multiprocessing.get_context("fork")
    with concurrent.futures.ProcessPoolExecutor(
        max_workers=workers, mp_context=context, initializer=_install, initargs=(job,)
    ) as pool:
        # packets first: they take longest, so the pool stays busy to the end
        ordered = sorted(work, key=lambda w: not w[2])
        futures = [pool.submit(_render_one, *item) for item in ordered]
        for future in concurrent.futures.as_completed(futures):
            yield future.result()


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
            return "working tree", render.mou_text(ready.renderer, signed_terms(item.coalition))
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
        terms = signed_terms(old.coalition)
        return f"{revision} ({full[:7]})", render.mou_text(ready.renderer, terms)

    before_label, before = text_at(rev_a or "HEAD")
    after_label, after = text_at(rev_b)
    return MouDiff(before_label, after_label, before, after)
