"""The build index: what the last build read and left, so that a rebuild with nothing
changed costs a stat of each input.

Like git's index, it keeps for every input file its size, modification time and inode
beside the hash of its bytes. A file whose stat is the same is taken as the same; one
whose stat changed is hashed, and only a different hash is a change. With the git commit,
the date the build judged on, its options, the tool's version and the output folder as
the build left it, that decides whether a build would make exactly what is there: if so,
nothing is loaded, rendered or written. When only some coalition files changed, it
says which, and its detail (what each coalition's outputs are, what advice across files
sees of it, every output file's hash, what the spare folder holds) lets the build load
those alone. The index and its detail are two sealed cache entries (the index names the
hash of its detail; a no-op reads only the index), so a planted or edited one is simply
not found. The detail is plain values in `marshal`'s format (four times as quick to write
as JSON, and only ever read under the seal); the pages' by-products (each coalition's
calendar events and shared-page rows: most of its bytes) are framed rather than escaped,
in sixteen entries of their own by the first digit of their bundles' keys, each named by
the hash of its bytes, so that a build after one change writes up to four of them
again, not 9 MB (at 1,000 coalitions). A build after a change starts reading the detail
in a thread as soon as it knows what changed.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import marshal
import os
import re
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from playbook_builder import __version__, workspace, write
from playbook_builder.cache import Cache, digest
from playbook_builder.history import head

if TYPE_CHECKING:
    from concurrent.futures import Future

FORMAT = 2
Stamp = tuple[int, int, int]
"""(size, modification time in ns, inode) of a file."""


@dataclass(frozen=True, slots=True)
class Summary:
    """What the last build made, to be said again when nothing changed."""

    files: int
    bytes: int
    coalitions: int
    advisories: int
    packets: int
    pages: int
    notices: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The inputs of a build as found on disk, and what else its outputs depend on."""

    files: dict[str, tuple[Stamp, str]]
    """Every input file: its stamp and the SHA-256 of its bytes."""
    setting: str
    """Options, tool, git commit and date, as one string."""
    zone: str
    """The time zone of the settings, which the date was read in."""


def inputs(found: workspace.Workspace) -> Iterator[Path]:
    """Every file a build may read: settings, coalitions, content and templates (the
    workspace's and the built-in ones) and the tool's own code."""
    yield found.config_path
    yield from found.coalition_files()
    for kind in ("content", "templates"):
        for folder in found.layered(kind):
            yield from _tree(folder)
    yield from _tree(Path(__file__).resolve().parent, ".py")


def _tree(folder: Path, suffix: str = "") -> Iterator[Path]:
    for base, folders, names in os.walk(folder):
        folders.sort()
        for name in sorted(names):
            if name.endswith(suffix) and not name.startswith("."):
                yield Path(base, name)


def _stamp(path: Path) -> Stamp | None:
    try:
        info = path.stat()
    except OSError:
        return None
    return (info.st_size, info.st_mtime_ns, info.st_ino)


def _hash(path: Path) -> str:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return "unreadable"


def setting(found: workspace.Workspace, out: Path, pdf: bool, today: datetime.date) -> str:
    """Everything besides the input files that the outputs depend on."""
    return json.dumps(
        [
            FORMAT,
            __version__,
            weasyprint_version() if pdf else "",
            str(out),
            pdf,
            today.isoformat(),
            head(found.root),
        ]
    )


def weasyprint_version() -> str:
    """The installed WeasyPrint's version (it decides how packets look), without importing it.

    Every build asks, first thing. The packaging standard names an installed project's
    record `<name>-<version>.dist-info`, beside the package: one listing of that folder
    says it. `importlib.metadata` reads the record with the email package, 25-30 ms at
    the start of every build (measured), and is asked only when the listing does not
    tell (another layout, or two records).
    """
    import importlib.util

    spec = importlib.util.find_spec("weasyprint")
    if spec is not None and spec.origin is not None:
        try:
            with os.scandir(Path(spec.origin).parent.parent) as entries:
                found = [e.name for e in entries if _RECORD.fullmatch(e.name.lower())]
        except OSError:
            found = []
        if len(found) == 1:
            return found[0][len("weasyprint-") : -len(".dist-info")]
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("weasyprint")
    except PackageNotFoundError:
        return "none"


_RECORD = re.compile(r"weasyprint-[^-]+\.dist-info")


def _key(out: Path, pdf: bool) -> str:
    return digest(["index", str(out), str(pdf)])


def _detail_key(out: Path, pdf: bool) -> str:
    return digest(["index detail", str(out), str(pdf)])


def _extras_key(out: Path, pdf: bool, name: str) -> str:
    """The entry of a shard of by-products, `name` being the SHA-256 of its bytes."""
    return digest(["index by-products", str(out), str(pdf), name])


@dataclass(frozen=True, slots=True)
class Bundle:
    """The outputs one cache entry made: each file's SHA-256 by its name in the output,
    and the small by-products other pages are made from (calendar events, page counts)."""

    files: dict[str, str]
    extra: dict[str, str]


@dataclass(frozen=True, slots=True)
class Recorded:
    """One coalition as the last build left it: what a build that does not load it again
    needs of it (its outputs are then kept as they are)."""

    slug: str
    path: str
    """Its file, as shown (coalitions/<slug>.yaml)."""
    keys: tuple[str, str]
    """The cache keys of its pages and of its packet."""
    loaded: str
    """The cache key of its file as loaded."""
    name: str
    voters: tuple[str, ...]
    """The organisations that vote in it, matched by name (none once dissolved): with
    `name`, all that advice across files sees of it."""
    advisories: int


@dataclass(frozen=True, slots=True)
class Detail:
    """What a build left in the output folder and beside it, in detail: what a build
    that follows a change needs, and a no-op does not (it is a cache entry of its own)."""

    bundles: dict[str, Bundle]
    """By cache key."""
    coalitions: Sequence[Recorded]
    """In the order of their files."""
    site: dict[str, str]
    """Every file of the output folder: SHA-256 by name."""
    spare: write.Spare | None
    """What the spare folder beside the output holds, as the build set it aside."""
    shards: Mapping[str, str] = field(default_factory=dict, compare=False)
    """Where the bundles' by-products were read from: each shard's name (`_shards`)."""


@dataclass(frozen=True, slots=True)
class Saved:
    """The index as the last build left it."""

    summary: Summary
    snapshot: Snapshot
    state: str
    """The output folder's state file as that build wrote it."""
    detail: str
    """The SHA-256 of its detail (see `details`)."""


def read(store: Cache, out: Path, pdf: bool) -> Saved | None:
    """The index of the last build into `out` (with or without packets), if a sound one."""
    entry = store.get(_key(out, pdf))
    if entry is None:
        return None
    try:
        saved = json.loads(entry["index.json"])
        summary = Summary(**{**saved["summary"], "notices": tuple(saved["summary"]["notices"])})
        files = {name: (tuple(value[0]), str(value[1])) for name, value in saved["files"].items()}
        return Saved(
            summary=summary,
            snapshot=Snapshot(files, str(saved["setting"]), str(saved["zone"])),
            state=str(saved["state"]),
            detail=str(saved["detail"]),
        )
    except (KeyError, TypeError, ValueError):
        return None


def details(store: Cache, out: Path, pdf: bool, saved: Saved) -> Detail | None:
    """The detail of the index `saved`, if it is the one that build recorded."""
    entry = store.get(_detail_key(out, pdf))
    if entry is None or _detail_digest(entry) != saved.detail:
        return None
    try:
        body = marshal.loads(entry["detail.marshal"])
        site = {str(name): str(sha) for name, sha in body["site"].items()}
        shards = {str(shard): str(name) for shard, name in body["shards"].items()}
        extras: dict[str, dict[str, str]] = {}
        for name in shards.values():
            # sealed under the hash of its bytes, which the detail names: as written
            part = store.get(_extras_key(out, pdf, name))
            if part is None:
                return None
            extras.update(_unframe(part["extras"]))
        bundles = {
            key: Bundle({name: site[name] for name in value["names"]}, extras[key])
            for key, value in body["bundles"].items()
        }
        coalitions = tuple(
            Recorded(
                slug=str(c["slug"]),
                path=str(c["path"]),
                keys=(str(c["keys"][0]), str(c["keys"][1])),
                loaded=str(c["loaded"]),
                name=str(c["name"]),
                voters=tuple(str(voter) for voter in c["voters"]),
                advisories=int(c["advisories"]),
            )
            for c in body["coalitions"]
        )
        spare = body["spare"]
        return Detail(
            bundles=bundles,
            coalitions=coalitions,
            site=site,
            spare=write.Spare(dict(spare["files"]), str(spare["tree"])) if spare else None,
            shards=shards,
        )
    except (AttributeError, EOFError, KeyError, TypeError, ValueError):
        return None


def _detail_digest(entry: dict[str, bytes]) -> str:
    """What the index records of its detail, to know it is the one it was written with
    (the detail names its shards of by-products by the hashes of their bytes)."""
    return digest([entry.get("detail.marshal", b"")])


def _shards(
    store: Cache, out: Path, pdf: bool, bundles: dict[str, Bundle], before: Detail | None
) -> dict[str, str]:
    """Store the bundles' by-products in shards, by the first character of their keys;
    the name of each. A shard of the same bundles with the same by-products as in the
    detail read `before` (and so read from the cache this build) keeps its entry."""

    def grouped(keys: Iterable[str]) -> dict[str, list[str]]:
        groups: dict[str, list[str]] = {}
        for key in sorted(keys):
            groups.setdefault(key[:1], []).append(key)
        return groups

    was = grouped(before.bundles) if before is not None else {}
    names = {}
    for shard, keys in grouped(bundles).items():
        name = before.shards.get(shard) if before is not None else None
        if (
            name is not None
            and before is not None
            and was.get(shard) == keys
            and all(bundles[key].extra == before.bundles[key].extra for key in keys)
        ):
            names[shard] = name
            continue
        data = _framed({key: bundles[key] for key in keys})
        names[shard] = hashlib.sha256(data).hexdigest()
        store.put(_extras_key(out, pdf, names[shard]), {"extras": data})
    return names


def _framed(bundles: dict[str, Bundle]) -> bytes:
    """The bundles' by-products (calendar events, pages' parts), each text length-prefixed:
    as JSON, the HTML in them is escaped, and encoding and decoding 10 MB of them at 1,000
    coalitions took three times as long."""
    parts: list[bytes] = []

    def text(value: str) -> None:
        data = value.encode("utf-8")
        parts.extend((len(data).to_bytes(4, "big"), data))

    for key in sorted(bundles):
        extra = bundles[key].extra
        text(key)
        parts.append(len(extra).to_bytes(4, "big"))
        for name in sorted(extra):
            text(name)
            text(extra[name])
    return b"".join(parts)


def _unframe(data: bytes) -> dict[str, dict[str, str]]:
    """The by-products `_framed` wrote, by bundle key; ValueError (UnicodeDecodeError is
    one) where the data cannot be what it wrote."""
    view = memoryview(data)
    position = 0

    def number() -> int:
        nonlocal position
        if position + 4 > len(view):
            raise ValueError("the by-products end early")
        position += 4
        return int.from_bytes(view[position - 4 : position], "big")

    def text() -> str:
        nonlocal position
        size = number()
        if position + size > len(view):
            raise ValueError("the by-products end early")
        position += size
        return str(view[position - size : position], "utf-8")

    extras: dict[str, dict[str, str]] = {}
    while position < len(view):
        key = text()
        extras[key] = {text(): text() for _ in range(number())}
    return extras


@dataclass(frozen=True, slots=True)
class Comparison:
    """How the workspace now stands to the last build: its date, the coalition files
    whose bytes changed since (nothing else did), and the snapshot to record again when
    files were touched but kept their bytes."""

    day: datetime.date
    changed: frozenset[str]
    refreshed: Snapshot | None
    site: write.Tree
    """The output folder as walked to find it untouched."""


def compare(
    saved: Saved,
    found: workspace.Workspace,
    out: Path,
    pdf: bool,
    today: datetime.date | None,
) -> Comparison | None:
    """What changed since the last build, when all that changed is the text of some of
    the coalition files it loaded (none added or removed); None when anything else did:
    the settings, content, templates, the tool, git's commit, the date, the options, or
    the output folder. Hashes only the files whose stamp changed."""
    from playbook_builder.clock import resolve_today

    known = saved.snapshot.files
    day = resolve_today(today, saved.snapshot.zone)
    if setting(found, out, pdf, day) != saved.snapshot.setting:
        return None
    coalitions = {str(path) for path in found.coalition_files()}
    files: dict[str, tuple[Stamp, str]] = {}
    changed = set()
    refreshed = False
    now = time.time_ns()
    for path in inputs(found):
        name = str(path)
        stamp = _stamp(path)
        before = known.get(name)
        if stamp is None or before is None:
            return None
        sha = before[1]
        if stamp != before[0]:
            sha = _hash(path)
            if sha != before[1]:
                if name not in coalitions:
                    return None
                changed.add(name)
            refreshed = True
        files[name] = (_trusted(stamp, now), sha)
    if files.keys() != known.keys():
        return None
    site = write.looked(out, saved.state)  # last: it stats every output file
    if site is None:
        return None
    snapshot = Snapshot(files, saved.snapshot.setting, saved.snapshot.zone)
    return Comparison(day, frozenset(changed), snapshot if refreshed else None, site)


def no_op(
    found: workspace.Workspace,
    out: Path,
    pdf: bool,
    today: datetime.date | None,
    store: Cache,
) -> tuple[Saved | None, Comparison | None]:
    """The index of the last build into `out`, and how the workspace compares with it
    (see `compare`). When nothing changed, inputs touched but the same are stamped anew,
    so that they are not hashed next time.

    Needs nothing of the rendering: `playbook build` asks it before importing any."""
    saved = read(store, out, pdf)
    if saved is None:
        return None, None
    compared = compare(saved, found, out, pdf, today)
    if compared is not None and not compared.changed and compared.refreshed is not None:
        record(store, out, pdf, compared.refreshed, saved.summary, saved.detail)
    return saved, compared


@dataclass(frozen=True, slots=True)
class Look:
    """What the index says of a build before it starts: where it goes, and whether the
    output folder already holds what it would make."""

    found: workspace.Workspace
    target: Path
    """The output folder as given (links are refused on this path)."""
    out: Path
    """The same, resolved: the index's key."""
    store: Cache
    saved: Saved | None
    same: tuple[Summary, datetime.date] | None
    """The last build's summary and date when nothing changed since."""
    changed: frozenset[str] | None = None
    """The coalition files whose text changed since the last build, when nothing else
    did (the build then loads only those; see `compare`)."""
    seen: dict[str, tuple[Stamp, str]] | None = None
    """Every input's stamp and hash as `compare` found them, when `changed` is given."""
    reading: Future[Detail | None] | None = None
    """The last build's detail, being read in a thread (see `look`)."""
    site: write.Tree | None = None
    """The output folder as walked to find it untouched, when `changed` is given."""

    def detail(self, pdf: bool) -> Detail | None:
        """The detail of the index `saved`, if it is the one that build recorded: read
        in the background since `look` returned, when there was a change to build."""
        if self.reading is not None:
            return self.reading.result()
        return details(self.store, self.out, pdf, self.saved) if self.saved else None


def look(
    root: Path | None, out: Path | None, pdf: bool, today: datetime.date | None, use_cache: bool
) -> Look:
    """Find the workspace and the output folder and ask the index about them, once per
    build (`playbook build` asks before importing anything that renders)."""
    found = workspace.find(root)
    target = out if out is not None else found.root / "site"
    write.check_target(target, found.root)
    resolved = target.resolve()
    if not use_cache:
        return Look(found, target, resolved, Cache(None), None, None)
    store = Cache.for_workspace(found.root)
    saved, compared = no_op(found, resolved, pdf, today, store)
    if saved is None or compared is None:
        return Look(found, target, resolved, store, saved, None)
    if not compared.changed:
        return Look(found, target, resolved, store, saved, (saved.summary, compared.day))
    seen = (compared.refreshed or saved.snapshot).files
    # Reading and checking the detail (13 MB at 1,000 coalitions: 0.08 s) is mostly I/O
    # and hashing, which let other threads run: it goes on while `playbook build` imports
    # what renders (0.15 s), and the packets of a change reach the printers that much
    # sooner. (The build imports concurrent.futures anyway.)
    from concurrent.futures import ThreadPoolExecutor

    reader = ThreadPoolExecutor(1, thread_name_prefix="index detail")
    reading = reader.submit(details, store, resolved, pdf, saved)
    reader.shutdown(wait=False)  # the thread ends with the read
    return Look(
        found, target, resolved, store, saved, None, compared.changed, seen, reading, compared.site
    )


def _recorded_json(recorded: Recorded) -> dict[str, Any]:
    # by hand: dataclasses.asdict copies deeply, a tenth of a second for 1,000 coalitions
    return {
        "slug": recorded.slug,
        "path": recorded.path,
        "keys": list(recorded.keys),
        "loaded": recorded.loaded,
        "name": recorded.name,
        "voters": list(recorded.voters),
        "advisories": recorded.advisories,
    }


RACY_NS = 3_000_000_000
"""A file modified this close to the snapshot could change again within the same tick
of the file system's clock and keep its stamp; its stamp is not trusted (git's "racy
clean" entries), so the next build hashes it."""


def snapshot(found: workspace.Workspace) -> dict[str, tuple[Stamp, str]]:
    """Stamp and hash every input, before the build reads them (a file changed while the
    build runs then shows as changed next time)."""
    files = {}
    now = time.time_ns()
    for path in inputs(found):
        stamp = _stamp(path)
        if stamp is not None:
            files[str(path)] = (_trusted(stamp, now), _hash(path))
    return files


def _trusted(stamp: Stamp, now: int) -> Stamp:
    """The stamp to keep: one too recent to trust is kept with no time, so it never matches."""
    return (stamp[0], -1, stamp[2]) if stamp[1] >= now - RACY_NS else stamp


def record(
    store: Cache,
    out: Path,
    pdf: bool,
    seen: Snapshot,
    summary: Summary,
    detail: Detail | str,
    before: Detail | None = None,
) -> None:
    """Keep the index of a build that has just written `out`: its `detail`, or the SHA-256
    of the one recorded already (when only the inputs' stamps are new). `before` is the
    detail this build read, if it did: its shards of by-products still the same are not
    written again."""
    if isinstance(detail, Detail):
        body = {
            # a bundle's files by name: their hashes are in `site`; its by-products are
            # framed in shards (`_shards`)
            "bundles": {k: {"names": list(b.files)} for k, b in detail.bundles.items()},
            "coalitions": [_recorded_json(recorded) for recorded in detail.coalitions],
            "site": detail.site,
            "spare": (
                {"files": dict(detail.spare.files), "tree": detail.spare.tree}
                if detail.spare is not None
                else None
            ),
            "shards": _shards(store, out, pdf, detail.bundles, before),
        }
        entry = {"detail.marshal": marshal.dumps(body)}
        store.put(_detail_key(out, pdf), entry)
        detail = _detail_digest(entry)
    payload: dict[str, Any] = {
        "files": {name: [list(stamp), sha] for name, (stamp, sha) in seen.files.items()},
        "setting": seen.setting,
        "zone": seen.zone,
        "state": write.state_of(out),
        "summary": {**asdict(summary), "notices": list(summary.notices)},
        "detail": detail,
    }
    store.put(_key(out, pdf), {"index.json": json.dumps(payload, sort_keys=True).encode()})
