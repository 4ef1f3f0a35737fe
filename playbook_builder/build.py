"""The stages in order, for every command: load, gather facts, lay out, write.

`prepare` loads the workspace and gathers every coalition's facts; `render_outputs` lays
out every page and packet of the site in memory, taking what it can from a cache and
rendering the rest in a pool of workers; `build` writes that to the output folder. The
preview server calls the same two functions, so a page cannot differ between the two.
"""

from __future__ import annotations

import dataclasses
import datetime
import gc
import json
from collections.abc import Callable, Generator, Iterator, Mapping, Sequence
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from playbook_builder import (
    __version__,
    advise,
    collector,
    facts,
    history,
    index,
    load,
    pool,
    printer,
    render,
    workspace,
    write,
)
from playbook_builder.cache import Cache, digest
from playbook_builder.cached import cached_loader, store_loaded
from playbook_builder.checks import Stages, decision_problems
from playbook_builder.clock import resolve_today
from playbook_builder.content import GuidePage, Markdown, load_guide
from playbook_builder.errors import ContractError, Problem
from playbook_builder.facts import CoalitionFacts
from playbook_builder.fingerprint import Fingerprint
from playbook_builder.load import Loaded
from playbook_builder.model import CoalitionFile, SiteConfig, json_ready
from playbook_builder.printed import Rendered

# --- preparing: load and gather the facts ---------------------------------------------------


@dataclass(frozen=True, slots=True)
class Prepared:
    """A loaded workspace with the facts of every coalition and what laying out needs."""

    found: workspace.Workspace
    loaded: Loaded
    today: datetime.date
    facts: tuple[CoalitionFacts, ...]
    """In the order of the coalitions (by slug)."""
    renderer: render.Renderer
    markdown: Markdown
    past: history.History
    unstored: Mapping[str, str] = field(default_factory=dict)
    """Coalition files loaded afresh and not yet in the load cache: the key of each, by
    slug (see `prepare(store_later=True)`)."""
    load_keys: Mapping[str, str] = field(default_factory=dict)
    """The load cache's key of each coalition file loaded, by slug."""
    others: tuple[index.Recorded, ...] = ()
    """The coalitions left unloaded, as the last build recorded them: their files did not
    change since, so their outputs stay as they are (see `prepare(changed=...)`)."""
    _by_slug: dict[str, CoalitionFacts] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_slug", {f.slug: f for f in self.facts})

    @property
    def count(self) -> int:
        """How many coalitions the workspace has, loaded or not."""
        return len(self.facts) + len(self.others)

    @property
    def advisories(self) -> int:
        """How many advisories all coalitions have together, loaded or not."""
        loaded = sum(len(f.advisories) for f in self.facts)
        return loaded + sum(recorded.advisories for recorded in self.others)

    def of(self, slug: str) -> CoalitionFacts | None:
        """The facts of one coalition, if there is such a coalition."""
        return self._by_slug.get(slug)

    @property
    def prints(self) -> dict[str, Fingerprint]:
        """The MOU fingerprint of every coalition, by slug."""
        return {f.slug: f.print_ for f in self.facts}


def prepare(
    root: Path | None,
    today: datetime.date | None,
    *,
    store: Cache | None = None,
    stages: Stages | None = None,
    store_later: bool = False,
    recorded: Sequence[index.Recorded] = (),
    changed: frozenset[str] = frozenset(),
    jobs: int | None = None,
) -> Prepared:
    """Load (through the cache `store`, if any, with up to `jobs` processes), read git and
    gather every coalition's facts; raises ContractError on bad input. With `store_later`,
    files loaded afresh are left for the caller to store (`Prepared.unstored`).

    With `changed`, the files of the coalitions `recorded` by the last build whose text
    changed since (and nothing else did), only those are loaded: the others come as
    `Prepared.others`. Unless what advice across files sees of a changed coalition (its
    name, the organisations voting in it) changed too: then every file is loaded.
    """
    with collector.paused():  # what is loaded and gathered lives to the end
        return _prepare(
            workspace.find(root), today, store, stages, store_later, recorded, changed, jobs
        )


def _prepare(
    found: workspace.Workspace,
    today: datetime.date | None,
    store: Cache | None,
    stages: Stages | None,
    store_later: bool,
    recorded: Sequence[index.Recorded],
    changed: frozenset[str],
    jobs: int | None,
) -> Prepared:
    hits = store.hits if store is not None else 0
    later: dict[str, str] | None = {} if store_later else None
    load_keys: dict[str, str] = {}
    inner = cached_loader(store, later, load_keys) if store is not None else load.load_files
    gatherings: list[facts.Gathering] = []
    loader = _gathering(inner, today, gatherings)
    partly = _load_changed(found, loader, recorded, changed) if changed else None
    loaded, others = partly or (load.load_workspace(found, loader, jobs=jobs), ())
    if store is not None:  # the others' files are in the load cache: they stay there
        store.used.update(r.loaded for r in others)
    if stages is not None:
        cached = (store.hits if store is not None else 0) - hits
        kept = f" ({len(others)} unchanged, not loaded)" if others else ""
        stages.mark(
            "load", f"{len(loaded.coalitions)} coalition files, {cached} from the cache{kept}"
        )
    gathering = gatherings[-1]  # of the files loaded last (see _load_changed)
    day, past = gathering.today, gathering.past
    if stages is not None:
        commits = len({c.hash for found_ in past.commits.values() for c in found_})
        stages.mark("git", f"{commits} commits" if past.available else "not a git repository")
    members = [advise.Member(r.path, r.name, r.voters) for r in others]
    gathered = gathering.done(loaded.coalitions, members)
    wrong = decision_problems(loaded.coalitions, gathered)
    if wrong:
        raise ContractError(wrong)
    if stages is not None:
        count = sum(len(f.advisories) for f in gathered.values())
        stages.mark("facts", f"{len(gathered)} coalitions, {count} advisories")
    renderer = render.Renderer(found.layered("templates"), loaded.config, day)
    return Prepared(
        found=found,
        loaded=loaded,
        today=day,
        facts=tuple(gathered[item.slug] for item in loaded.coalitions),
        renderer=renderer,
        markdown=Markdown(),
        past=past,
        unstored=later or {},
        load_keys=load_keys,
        others=others,
    )


def _gathering(
    inner: load.FileLoader, today: datetime.date | None, into: list[facts.Gathering]
) -> load.FileLoader:
    """`inner`, gathering the facts of the files as they are loaded: a `facts.Gathering`
    for each call, put in `into` (git read first, the date resolved in the settings'
    zone)."""

    def load_gathering(
        found: workspace.Workspace,
        paths: Sequence[Path],
        config: SiteConfig,
        problems: list[Problem],
        jobs: int | None = None,
        each: load.Each | None = None,
    ) -> list[CoalitionFile | None]:
        day = resolve_today(today, config.timezone)
        past = history.read(found.root, [str(found.shown(path)) for path in paths])
        gathering = facts.Gathering(config, day, past)
        into.append(gathering)

        def add(items: Sequence[CoalitionFile]) -> None:
            gathering.add(items)
            if each is not None:
                each(items)

        return inner(found, paths, config, problems, jobs, add)

    return load_gathering


def _load_changed(
    found: workspace.Workspace,
    loader: load.FileLoader | None,
    recorded: Sequence[index.Recorded],
    changed: frozenset[str],
) -> tuple[Loaded, tuple[index.Recorded, ...]] | None:
    """The changed files loaded, and the coalitions left as recorded; None when what
    advice across files sees of a changed one is not what was recorded."""
    files = [found.root / r.path for r in recorded if str(found.root / r.path) in changed]
    if len(files) != len(changed):  # a changed file the last build did not load
        return None
    loaded = load.load_workspace(found, loader, files)
    before = {r.path: r for r in recorded}
    for item in loaded.coalitions:
        member = advise.Member.of(item)
        was = before.get(item.path)
        if was is None or (was.name, was.voters) != (member.name, member.voters):
            return None
    return loaded, tuple(r for r in recorded if str(found.root / r.path) not in changed)


# --- laying out: every page and packet --------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Outputs:
    """Every file of the site, and what making them noticed."""

    files: dict[str, bytes]
    """Files in memory: all of them, or those not yet put in the staging folder."""
    packets: int
    pages: int
    """Pages in all packets together."""
    notices: tuple[str, ...]
    cached: int
    """Coalitions whose outputs all came from the cache."""
    kept: dict[str, str] = field(default_factory=dict)
    """Files the output folder already holds and keeps as they are: SHA-256 by name."""
    owned: dict[str, list[str]] = field(default_factory=dict)
    """The output names each cache entry made, by cache key."""
    extra: dict[str, dict[str, str]] = field(default_factory=dict)
    """The by-products of each cache entry (calendar events, page counts), by cache key."""
    keys: dict[str, tuple[str, str]] = field(default_factory=dict)
    """(pages key, packet key) of every coalition, by slug."""


_ICS = ".ics-events"
_PART = ".shared-part"
_PAGES = ".packet-pages"
_BY_PRODUCTS = (_ICS, _PART, _PAGES)
_PAGES_ENTRY = "pages 2"
"""What a pages entry holds, in its key: a new one when the by-products change."""
_OTHER_PARTS = ("briefing", "docx")
"""A packet's parts besides the signing packet itself, made as a task of their own."""
_PACKET_FILES = 4
"""Files in a finished packet entry: signing packet, briefing, Word agreement, page count."""
_FEW_PACKETS = 4
"""Coalitions whose packets the printers started with the build print (see printer.py);
with more, the workers forked from the prepared build lay out pages and print."""


def render_outputs(
    ready: Prepared,
    store: Cache,
    *,
    pdf: bool,
    packet_links: bool,
    jobs: int | None = None,
    on_packet: Callable[[int, int, str], None] | None = None,
    kept: Mapping[str, index.Bundle] | None = None,
    staging: write.Staging | None = None,
    printers: printer.Printers | None = None,
) -> Outputs:
    """Lay out the whole site: cached where the inputs are unchanged, rendered otherwise.

    `pdf` renders the packets; `packet_links` makes pages link to them (a preview serves
    packets on request, so it links to them without rendering them here). `kept` are the
    cache entries whose files the output folder holds as they are: those stay, unread.
    With `staging`, each coalition's files go into that new output folder as soon as they
    are made instead of into `Outputs.files`, so that they are not all held in memory.
    `printers`, started before the build, print the packets when there are few of them
    (see printer.py); they are closed otherwise.
    """
    kept = kept or {}

    def without_packets(missing: str) -> Outputs:
        made = render_outputs(
            ready, store, pdf=False, packet_links=False, jobs=jobs, kept=kept, staging=staging
        )
        return dataclasses.replace(made, notices=(*made.notices, missing))

    # A build that loaded few coalitions hands their packets to the printers first: which
    # need printing its packet keys tell, before the guidance pages are loaded for the
    # pages' keys (0.05 s of the time to the printers at 1,000 coalitions, traced).
    print_jobs: list[PrintJob] = []
    printing = None
    if printers is not None and pdf and len(ready.facts) <= _FEW_PACKETS:
        keys = _packet_keys(ready)
        unprinted = [
            f for f in ready.facts if keys[f.slug] not in kept and store.get(keys[f.slug]) is None
        ]
        if unprinted:
            missing = weasyprint_missing(printers)  # the printers' import done: ready to print
            if missing:
                return without_packets(missing)
            print_jobs = _packet_jobs(
                ready, [pool.Task(f.slug, False, ("mou", "briefing")) for f in unprinted]
            )
            printing = printers.print_all([job for _, job in print_jobs])

    layout = _Layout(ready, store, packet_links, staging)
    tasks, found = layout.look_up(kept, pdf)
    if printers is not None and len({t.slug for t in tasks if t.packet}) > _FEW_PACKETS:
        printers.close()  # the workers print, from this process's prepared workspace
        printers = None
    wanted = {(t.slug, _pdf_kind(part)) for t in tasks for part in t.packet if part != "docx"}
    if printing is not None and not wanted <= {place for place, _ in print_jobs}:
        for _ in printing:  # the cache changed meanwhile (another build): start again
            pass
        printing = None
    total = sum(1 for task in tasks if "mou" in task.packet)
    if printing is None and total:  # WeasyPrint is imported only to print
        missing = weasyprint_missing(printers)  # the printers' import done: ready to print
        if missing:
            return without_packets(missing)
        if printers is not None:  # handed out now: the rest is done while they print
            print_jobs = _packet_jobs(ready, tasks)
            printing = printers.print_all([job for _, job in print_jobs])
    for key, entry in found:
        layout.settle(key, entry)
    del found
    if staging is not None:
        staging.open()  # before the workers start, so that they all write into it
    layout.store_loaded({task.slug for task in tasks if task.pages})

    done = 0
    said: dict[str, list[str]] = {}
    waiting = {task.slug for task in tasks if task.pages}
    shared: dict[str, bytes] | None = None
    if waiting:
        ready.renderer.warm()  # before the workers are forked, for all of them
    if printing is not None:
        results = _printed(layout, tasks, printing, print_jobs)
    else:
        results = pool.run(layout.render, tasks, jobs)  # workers start now
        if waiting:
            layout.begin_shared()
    # closed as soon as this stops taking results (an error, Ctrl-C): the workers then
    # take on no more of what was handed out, instead of laying it all out first
    with closing(results):
        if not waiting:  # every page is in already: the shared pages while packets print
            shared = layout.shared()
        for result in results:
            said.setdefault(result.slug, []).extend(result.notices)
            if layout.take_pages(result):
                waiting.discard(result.slug)
                if shared is None and not waiting:  # the last page is in
                    shared = layout.shared()
            if layout.take_packet(result):
                done += 1
                if on_packet is not None:
                    on_packet(done, total, result.slug)
    assert shared is not None

    notices = [f"warning: {history.SHALLOW_ADVICE}"] if ready.past.shallow else []
    for slug, lines in sorted(said.items()):
        notices.extend(f"{slug}: {line}" for line in dict.fromkeys(lines))
    if pdf and total:
        notices.extend(_subsetting_notice(printers))
    return Outputs(
        files={**layout.files, **shared},
        packets=ready.count if pdf else 0,
        pages=sum(int(by.get(_PAGES, "0")) for by in layout.extra.values()),
        notices=tuple(notices),
        cached=ready.count - len({task.slug for task in tasks}),
        kept=layout.carried,
        owned=layout.owned,
        extra=layout.extra,
        keys=layout.keys,
    )


PrintJob = tuple[tuple[str, Literal["mou", "briefing"]], dict[str, Any]]
"""A PDF to print: (coalition, kind), and `pdf.render_pdf`'s arguments."""


def _packet_jobs(ready: Prepared, tasks: list[pool.Task]) -> list[PrintJob]:
    """The PDFs the tasks print, laid out as HTML (while the printers import WeasyPrint)."""
    jobs: list[PrintJob] = []
    for task in tasks:
        fact = ready.of(task.slug)
        assert fact is not None
        for part in task.packet:
            if part != "docx":
                kind = _pdf_kind(part)
                jobs.append(((task.slug, kind), packet_job(ready, fact, kind)))
    return jobs


def _pdf_kind(part: str) -> Literal["mou", "briefing"]:
    """The PDF a packet part other than "docx" is."""
    return "briefing" if part == "briefing" else "mou"


def _printed(
    layout: _Layout,
    tasks: list[pool.Task],
    printing: Iterator[tuple[int, Rendered]],
    jobs: list[PrintJob],
) -> Generator[pool.Result, None, None]:
    """The tasks' results, their PDFs (`jobs`, handed to the printers already) coming from
    `printing` while this process lays out the pages (and its caller the shared pages) and
    makes the Word agreements."""
    for task in tasks:
        if task.pages:
            yield layout.render(task)
    ready = layout.ready
    docx = {}
    for task in tasks:
        if "docx" in task.packet:
            fact = ready.of(task.slug)
            assert fact is not None
            docx[task.slug] = agreement_docx(ready, fact)
    pdfs = {jobs[position][0]: rendered for position, rendered in printing}
    for task in tasks:
        if task.packet:
            yield layout.render(task, Printed(pdfs, docx))


class _Layout:
    """One laying out of the site, under way: what was found or made so far and where it
    went. `render_outputs` calls its steps in order; `render` runs in the workers."""

    def __init__(
        self,
        ready: Prepared,
        store: Cache,
        packet_links: bool,
        staging: write.Staging | None,
    ) -> None:
        self.ready = ready
        self.store = store
        self.packet_links = packet_links
        self.staging = staging
        self.guide = tuple(
            load_guide(
                ready.found.layered("content"),
                {"t": advise.THRESHOLDS},
                ready.markdown,
                ready.found.root,
                store,
            )
        )
        self.keys = _keys(ready, self.guide, packet_links)
        """(pages key, packet key) of each coalition, by slug."""
        self.order = [
            slug
            for _, slug in sorted(
                [
                    *((f.item.path, f.slug) for f in ready.facts),
                    *((r.path, r.slug) for r in ready.others),
                ]
            )
        ]
        """Every coalition's slug, in the order of their files."""
        self.files: dict[str, bytes] = dict(ready.renderer.assets())
        """Files in memory (those not put in `staging`)."""
        self.extra: dict[str, dict[str, str]] = {}
        """The by-products of each cache entry (calendar events, page counts), by key."""
        self.owned: dict[str, list[str]] = {}
        """The output names each cache entry made, by key."""
        self.carried: dict[str, str] = {}
        """Files the output folder keeps as they are: SHA-256 by name."""
        self.parts: dict[str, dict[str, bytes]] = {}
        """The parts in so far of packets not yet whole, by slug."""
        self.unstored = dict(ready.unstored)
        self.items = {item.slug: item for item in ready.loaded.coalitions}
        self._shared: tuple[str, dict[str, bytes] | None] | None = None
        """The shared pages' cache key and entry, once looked up (`begin_shared`)."""
        self._guidance: dict[str, bytes] = {}
        """The guidance pages, made when the shared pages' entry was not in the cache."""
        self._read: dict[str, Any] = {}
        """Each shared part read as its worker's result came in, by pages key."""

    def look_up(
        self, kept: Mapping[str, index.Bundle], pdf: bool
    ) -> tuple[list[pool.Task], list[tuple[str, dict[str, bytes]]]]:
        """The tasks to render what neither the output folder keeps nor the cache holds,
        and the cache entries found (by key)."""
        tasks: list[pool.Task] = []
        found: list[tuple[str, dict[str, bytes]]] = []
        for fact in self.ready.facts:
            pages_key, packet_key = self.keys[fact.slug]
            pages = self._carry(kept, pages_key) or self.store.get(pages_key)
            if pdf:
                packet = self._carry(kept, packet_key) or self.store.get(packet_key)
            else:  # not read, and not pruned: the next build with packets wants it
                packet = {}
                self.store.used.add(packet_key)
            if pages is not None:
                found.append((pages_key, pages))
            if pdf and packet is not None:
                found.append((packet_key, packet))
            if pages is None:
                tasks.append(pool.Task(fact.slug, True))
            if pdf and packet is None:
                tasks.append(pool.Task(fact.slug, False, ("mou",)))
                tasks.append(pool.Task(fact.slug, False, _OTHER_PARTS))
        for recorded in self.ready.others:  # the output folder holds what they made
            pages_key, packet_key = recorded.keys
            for key in [pages_key, packet_key] if pdf else [pages_key]:
                carried = self._carry(kept, key)
                assert carried is not None  # else every file was loaded (see _all_carried)
                found.append((key, carried))
            if not pdf:
                self.store.used.add(packet_key)
        return tasks, found

    def _carry(self, kept: Mapping[str, index.Bundle], key: str) -> dict[str, bytes] | None:
        """The by-products of the cache entry `key` when the output folder still holds
        what it made (its files are then kept where they are, never read), else None. The
        entry itself stays in the cache, unread: it is what a build falls back on once
        the output folder is touched, or when it builds elsewhere."""
        bundle = kept.get(key)
        if bundle is None:
            return None
        self.store.used.add(key)  # not pruned
        self.carried.update(bundle.files)
        self.owned[key] = list(bundle.files)
        return {name: text.encode() for name, text in bundle.extra.items()}

    def settle(
        self, key: str, entry: Mapping[str, bytes], written: Mapping[str, str] | None = None
    ) -> None:
        """One cache entry complete: its files to the output (unless `written` there
        already, SHA-256 by name), its by-products kept."""
        names = list(written or ()) or [name for name in entry if name not in _BY_PRODUCTS]
        self.owned.setdefault(key, names)
        self.extra[key] = {name: entry[name].decode() for name in _BY_PRODUCTS if name in entry}
        for name in [] if written else names:
            if self.staging is None:
                self.files[name] = entry[name]
            else:
                self.staging.add(name, entry[name])

    def store_loaded(self, laid_out: set[str]) -> None:
        """Store the coalition files loaded afresh whose pages are not to be laid out;
        the workers store the others, beside their pages."""
        for slug in sorted(set(self.unstored) - laid_out):
            store_loaded(self.store, self.unstored.pop(slug), self.items[slug])

    def render(self, task: pool.Task, printed: Printed | None = None) -> pool.Result:
        """One task (in a worker, or here when there are few); with `printed`, its
        packet's parts are those (see `_printed`)."""
        made = _render(self.ready, self.guide, self.packet_links, task, printed)
        if task.pages and task.slug in self.unstored:  # its loaded file too
            store_loaded(self.store, self.unstored[task.slug], self.items[task.slug])
        if self.staging is None or not made.pages:
            return made
        # A coalition's pages are stored and written by the process that made them, so
        # that this I/O is shared among the workers; only the by-products come back.
        self.store.put(self.keys[task.slug][0], made.pages)
        written = {}
        for name, data in made.pages.items():
            if name not in _BY_PRODUCTS:
                self.staging.add(name, data)
                written[name] = self.staging.shas[name]
        size = sum(len(made.pages[name]) for name in written)
        kept_back = {name: made.pages[name] for name in _BY_PRODUCTS if name in made.pages}
        twinned = self.staging.twinned
        return dataclasses.replace(
            made, pages=kept_back, written=written, size=size, twinned=twinned
        )

    def take_pages(self, result: pool.Result) -> bool:
        """Take a result's pages, if it has any (whether it had)."""
        pages_key = self.keys[result.slug][0]
        if result.written:  # stored and written by the worker
            self.store.used.add(pages_key)
            assert self.staging is not None
            self.staging.adopt(result.written, result.size, result.twinned)
            self.settle(pages_key, result.pages, result.written)
            if _PART in result.pages:  # read now, while the other workers lay out
                self._read[pages_key] = json.loads(result.pages[_PART])
        elif result.pages:
            self.store.put(pages_key, result.pages)
            self.settle(pages_key, result.pages)
        return bool(result.pages or result.written)

    def take_packet(self, result: pool.Result) -> bool:
        """Take a result's part of a packet, if it has one (whether the packet is whole)."""
        if result.packet is None:
            return False
        packet = self.parts.setdefault(result.slug, {})
        packet.update(result.packet)
        if len(packet) < _PACKET_FILES:  # the other part is still to come
            return False
        packet_key = self.keys[result.slug][1]
        self.store.put(packet_key, packet)
        self.settle(packet_key, self.parts.pop(result.slug))
        return True

    def begin_shared(self) -> tuple[str, dict[str, bytes] | None]:
        """What of the shared pages needs no coalition's pages, while the workers lay
        those out: their cache entry looked up and, when it is not there, the guidance
        pages made (in this process, otherwise idle until the workers' results come).
        The entry's key, and the entry if the cache held it."""
        if self._shared is None:
            pairs = self.keys.values()
            key = digest([*sorted(k for pair in pairs for k in pair), _guide_digest(self.guide)])
            found = self.store.get(key)
            if found is None:
                self._guidance = render.guide_pages(self.ready.renderer, self.guide)
            self._shared = key, found
        return self._shared

    def shared(self) -> dict[str, bytes]:
        """The pages about every coalition at once, and the guidance pages."""
        shared_key, shared = self.begin_shared()
        if shared is None:
            keys = [self.keys[slug][0] for slug in self.order]
            read = self._read
            ready = self.ready
            shared = render.shared_pages(
                ready.renderer,
                [read[key] if key in read else json.loads(self.extra[key][_PART]) for key in keys],
                [self.extra[key][_ICS].encode() for key in keys],
                self.guide,
            )
            shared.update(self._guidance)
            # A build that loaded only the changed files meets these inputs again only if
            # the change is undone: storing them (10 MB at 1,000 coalitions) took 28 ms
            # of every such build, beside the printers. A cold build stores them beside
            # its last steps.
            if not ready.others:
                self.store.put_aside(shared_key, shared)
        return shared


@dataclass(frozen=True)
class Printed:
    """Parts of packets made elsewhere than in `_render` (see `_printed`)."""

    pdfs: Mapping[tuple[str, Literal["mou", "briefing"]], Rendered]
    docx: Mapping[str, bytes]


def _render(
    ready: Prepared,
    guide: tuple[GuidePage, ...],
    packet_links: bool,
    task: pool.Task,
    printed: Printed | None = None,
) -> pool.Result:
    """One coalition's pages and packet, laid out from its facts (the PDFs and the Word
    agreement taken from `printed` when given)."""
    fact = ready.of(task.slug)
    assert fact is not None
    pages: dict[str, bytes] = {}
    if task.pages:
        events = ready.renderer.calendar_events(fact)
        pages = render.coalition_pages(ready.renderer, fact, guide, packet_links, events)
        pages[_ICS] = events
        pages[_PART] = render.shared_part(ready.renderer, fact)
    packet: dict[str, bytes] | None = None
    notices: list[str] = []
    if task.packet:
        packet = {}
        for part in task.packet:
            if part == "docx":
                docx = printed.docx[task.slug] if printed else agreement_docx(ready, fact)
                packet[packet_path(task.slug, "docx")] = docx
                continue
            kind = _pdf_kind(part)
            if printed is not None:
                rendered = printed.pdfs[task.slug, kind]
            else:
                rendered = render_packet(ready, fact, kind)
            packet[packet_path(task.slug, kind)] = rendered.pdf
            notices += packet_notices(rendered)
            if part == "mou":
                packet[_PAGES] = str(rendered.pages).encode()
    return pool.Result(task.slug, pages, packet, tuple(notices))


def _keys(
    ready: Prepared, guide: tuple[GuidePage, ...], packet_links: bool
) -> dict[str, tuple[str, str]]:
    """(pages key, packet key) of every coalition: hashes of everything each depends on."""
    common = _common_parts(ready)
    site = ready.renderer.site_templates_hash()
    nav = json.dumps([(page.name, page.title) for page in guide])
    packets = _packet_parts(ready, common)
    keys = {recorded.slug: recorded.keys for recorded in ready.others}
    for fact in ready.facts:
        own = _own_digest(fact)
        pages = digest([_PAGES_ENTRY, *common, site, nav, str(packet_links), own])
        keys[fact.slug] = (pages, digest([*packets, own]))
    return keys


def _packet_keys(ready: Prepared) -> dict[str, str]:
    """The packet key of each coalition loaded, as `_keys` makes it: no guidance page is
    among what a packet depends on."""
    packets = _packet_parts(ready, _common_parts(ready))
    return {fact.slug: digest([*packets, _own_digest(fact)]) for fact in ready.facts}


def _common_parts(ready: Prepared) -> list[str]:
    """What every key of the build hashes: the tool's version, the date, the settings."""
    return [
        "playbook " + __version__,
        ready.today.isoformat(),
        json.dumps(json_ready(ready.loaded.config), sort_keys=True),
    ]


def _packet_parts(ready: Prepared, common: list[str]) -> list[str]:
    """What every packet key hashes besides: the packet's templates and WeasyPrint."""
    return ["packet", *common, ready.renderer.templates_hash(), index.weasyprint_version()]


def _own_digest(fact: CoalitionFacts) -> str:
    """What a coalition's keys hash of the coalition itself, hashed once for both (its
    file's text, its advisories, its git history: 37 -> 30 ms for the keys of 1,000)."""
    return digest(
        [
            "own",
            fact.item.path,
            fact.item.source,
            repr(fact.advisories),
            fact.revision,
            repr(fact.history),
            repr(fact.changes),
            str(fact.git),
        ]
    )


def _guide_digest(guide: tuple[GuidePage, ...]) -> str:
    return digest(
        [part for page in guide for part in (page.name, page.title, page.html, page.edit or "")]
    )


def _all_carried(
    recorded: Sequence[index.Recorded], carried: Mapping[str, index.Bundle], pdf: bool
) -> bool:
    """Whether the output folder holds every output of every coalition `recorded`."""
    return all(key in carried for r in recorded for key in (r.keys if pdf else r.keys[:1]))


def _recorded(ready: Prepared, keys: Mapping[str, tuple[str, str]]) -> list[index.Recorded]:
    """Every coalition as the index keeps it, in the order of their files."""
    fresh = [
        index.Recorded(
            slug=f.slug,
            path=f.item.path,
            keys=keys[f.slug],
            loaded=ready.load_keys.get(f.slug, ""),
            name=f.c.name,
            voters=advise.Member.of(f.item).voters,
            advisories=len(f.advisories),
        )
        for f in ready.facts
    ]
    return sorted([*fresh, *ready.others], key=lambda r: r.path)


# --- packets ---------------------------------------------------------------------------------


def packet_path(slug: str, kind: Literal["mou", "briefing", "docx"] = "mou") -> str:
    """Where a coalition's signing packet, briefing or Word agreement lives in the output."""
    suffix = {"mou": "-mou.pdf", "briefing": "-briefing.pdf", "docx": "-mou.docx"}[kind]
    return f"coalitions/{slug}/{slug}{suffix}"


def render_packet(
    ready: Prepared, fact: CoalitionFacts, kind: Literal["mou", "briefing"] = "mou"
) -> Rendered:
    """One coalition's signing packet (with its coalition file attached), or its briefing."""
    from playbook_builder import pdf as pdf_module

    return pdf_module.render_pdf(**packet_job(ready, fact, kind))


def packet_job(
    ready: Prepared, fact: CoalitionFacts, kind: Literal["mou", "briefing"]
) -> dict[str, Any]:
    """What `pdf.render_pdf` needs to print one packet: its HTML, and where it may read."""
    renderer = ready.renderer
    attachment = (
        f"{fact.slug}.yaml",
        fact.item.source.encode("utf-8"),
        f"The coalition file this packet was printed from ({fact.item.path})",
    )
    return {
        "html": renderer.packet_html(fact, fact.revision, renderer.templates_hash(), kind),
        "base_url": ready.found.root,
        "allowed": (ready.found.root, *renderer.template_dirs),
        "today": ready.today,
        "attachment": attachment if kind == "mou" else None,
    }


def agreement_docx(ready: Prepared, fact: CoalitionFacts) -> bytes:
    """The signing packet's agreement as a Word document, for counsel to mark up."""
    from playbook_builder import word

    html = str(ready.renderer.agreement(fact.terms))
    return word.agreement(fact.terms, fact.print_, html, ready.loaded.config, ready.today)


def packet_notices(packet: Rendered) -> list[str]:
    notices = [f"advisory A901: the packet refused {what}" for what in packet.refused]
    notices.extend(f"WeasyPrint: {message}" for message in packet.warnings)
    return notices


def weasyprint_missing(printers: printer.Printers | None = None) -> str | None:
    """Why packets cannot be rendered on this machine, or None when they can (as the
    printers found, when given: then this process does not import WeasyPrint)."""
    if printers is not None:
        error = printers.missing()
    else:
        try:
            from playbook_builder import pdf as pdf_module  # noqa: F401
        except (ImportError, OSError) as err:
            error = str(err)
        else:
            error = None
    if error is None:
        return None
    return (
        f"warning: packets skipped, WeasyPrint cannot start ({error}); install the Debian "
        f"packages libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 and build again"
    )


def _subsetting_notice(printers: printer.Printers | None) -> list[str]:
    if printers is not None:
        fast = printers.fast_subsetting()
    else:
        from playbook_builder import pdf as pdf_module

        fast = pdf_module.fast_subsetting()
    if fast:
        return []
    return [
        "warning: HarfBuzz font subsetting is missing (Debian package libharfbuzz-subset0); "
        "packets are slower to write and fall back to fontTools"
    ]


# --- writing ---------------------------------------------------------------------------------


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
    unchanged: bool = False
    """Nothing changed since the last build: nothing was loaded, rendered or written."""

    @classmethod
    def of(
        cls,
        out: Path,
        summary: index.Summary,
        today: datetime.date,
        cached: int,
        *,
        unchanged: bool = False,
    ) -> Built:
        """What a build wrote into `out`, from the summary the index keeps of it."""
        return cls(
            out=out,
            files=summary.files,
            bytes=summary.bytes,
            coalitions=summary.coalitions,
            advisories=summary.advisories,
            packets=summary.packets,
            pages=summary.pages,
            today=today,
            notices=summary.notices,
            cached=cached,
            unchanged=unchanged,
        )


_PREPARED: list[Prepared] = []
"""What the last build prepared, not freed when it returns but when the next build
begins: freeing 1,000 loaded coalitions and their facts takes 0.05 s, and the command
ends the process right after a build without freeing anything (cli._exit)."""


def build(
    root: Path | None,
    out: Path | None = None,
    today: datetime.date | None = None,
    *,
    pdf: bool = True,
    jobs: int | None = None,
    use_cache: bool = True,
    on_packet: Callable[[int, int, str], None] | None = None,
    stages: Stages | None = None,
    looked: index.Look | None = None,
    printers: printer.Printers | None = None,
) -> Built:
    """Load, gather, lay out and write the site and packets; raises ContractError on bad
    input. Nothing in the output folder changes unless the whole build succeeds; nothing
    at all happens when no input changed since the last build (see index.py). `looked` is
    what the index said of this build when the caller asked it already; `printers`, when
    the caller started them, print the packets of a build that prints few."""
    _PREPARED.clear()
    looked = looked or index.look(root, out, pdf, today, use_cache)
    found, target, resolved, store, saved = (
        looked.found,
        looked.target,
        looked.out,
        looked.store,
        looked.saved,
    )
    if stages is not None:
        changed = "nothing changed" if looked.same else "inputs changed, or a first build"
        stages.mark("index", changed)
    if looked.same is not None:
        summary, day = looked.same
        return Built.of(resolved, summary, day, summary.coalitions, unchanged=True)
    seen = looked.seen or (index.snapshot(found) if use_cache else {})
    site = looked.site  # walked when `look` told what changed
    if site is None and saved is not None:
        site = write.looked(resolved, saved.state)
    untouched = site is not None
    detail = looked.detail(pdf)
    carried = detail.bundles if detail is not None and untouched else {}
    recorded = detail.coalitions if detail is not None else ()
    ready = prepare(
        found.root,
        today,
        store=store,
        stages=stages,
        store_later=True,
        recorded=recorded,
        changed=(looked.changed or frozenset())
        if _all_carried(recorded, carried, pdf)
        else frozenset(),
        jobs=jobs,
    )
    # What was prepared lives to the end: the collector need not walk it again, in this
    # process or in the workers forked from it (whose memory it would copy by walking it).
    gc.freeze()
    _PREPARED[:] = [ready]
    try:
        spare = detail.spare if detail is not None and use_cache else None
        keep_replaced = detail is not None and untouched and use_cache  # it says what it holds
        with (
            write.locked(target),
            write.Staging(
                target, spare, keep_replaced=keep_replaced, seen=site, spare_new=use_cache
            ) as staging,
        ):
            made = render_outputs(
                ready,
                store,
                pdf=pdf,
                packet_links=pdf,
                jobs=jobs,
                on_packet=on_packet,
                kept=carried,
                staging=staging,
                printers=printers,
            )
            if stages is not None:
                fresh = ready.count - made.cached
                stages.mark(
                    "lay out",
                    f"{len(made.files) + len(made.kept) + len(staging.shas)} files "
                    f"({len(made.kept)} kept as they are); "
                    f"coalitions: {fresh} rendered, {made.cached} from the cache; "
                    f"packets: {made.packets}, of {made.pages} pages",
                )
            shas = {**staging.shas, **write.digests(made.files), **made.kept}
            sizes = staging.bytes + sum(len(data) for data in made.files.values())
            wrote = write.write_site(made.files, target, kept=made.kept, shas=shas, staging=staging)
            if stages is not None:
                stages.mark("write", f"{sizes / 1024:,.0f} KiB new" if wrote else "already there")
            summary = index.Summary(
                files=len(shas),
                bytes=staging.size,
                coalitions=ready.count,
                advisories=ready.advisories,
                packets=made.packets,
                pages=made.pages,
                notices=made.notices,
            )
            if use_cache and (made.packets or not pdf or not ready.count):
                setting = index.setting(found, resolved, pdf, ready.today)
                snapshot = index.Snapshot(seen, setting, ready.loaded.config.timezone)
                bundles = {
                    key: index.Bundle({name: shas[name] for name in names}, made.extra.get(key, {}))
                    for key, names in made.owned.items()
                }
                set_aside = None
                held = staging.spare_files
                if held is None and detail is not None:
                    held = detail.site  # the replaced site: as the last build left it
                if wrote and held is not None and staging.set_aside is not None:
                    set_aside = write.Spare(held, staging.set_aside)
                left = index.Detail(bundles, _recorded(ready, made.keys), shas, set_aside)
                index.record(store, resolved, pdf, snapshot, summary, left, detail)
        store.prune()
        return Built.of(resolved, summary, ready.today, made.cached)
    finally:
        store.settle()  # no store outlives the build that began it
        gc.unfreeze()  # a caller that builds again (a test, a server) collects it as usual
