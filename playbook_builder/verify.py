"""`playbook verify`: whether a printed packet is a true print of an agreement, and whether
that agreement is still the workspace's.

Nothing in the packet is taken on trust. The fingerprint is computed again from the
coalition file embedded in the packet; the packet is printed again from that file (builds
are byte-identical) and compared page by page; only then is the agreement compared with
the workspace's. Input is hostile until proven otherwise: its size is checked before it
is read, every decompression is bounded, and the PDF library's own warnings stay quiet.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import difflib
import io
import logging
import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from playbook_builder import advise, build, facts, load, workspace
from playbook_builder.errors import PlaybookError, Problem
from playbook_builder.fingerprint import fingerprint, terms
from playbook_builder.model import SLUG_PATTERN
from playbook_builder.source import MAX_FILE_BYTES
from playbook_builder.terms import SCHEME

MAX_PACKET_BYTES = 16 * 1024 * 1024
"""A packet larger than this is refused before it is read (real ones are well under 1 MiB)."""
MAX_STREAM_BYTES = 16 * 1024 * 1024
"""No stream of a packet is decompressed beyond this."""


@dataclass(frozen=True, slots=True)
class Verdict:
    """What `verify` found, in the order it is said."""

    slug: str
    printed: str
    """The fingerprint the packet says it carries."""
    findings: tuple[str, ...]
    matches: bool
    """True only when the packet is a true print and its agreement is the workspace's."""


def verify(packet: Path, root: Path | None) -> Verdict:
    """Check a packet; raises PlaybookError (one line) when it is not a readable packet."""
    data = _read_bounded(packet)
    with _quiet_pdf():
        reader = _open(packet, data)
        info = _metadata(packet, reader)
        slug = info.get("/playbookcoalition", "")
        printed = info.get("/playbookfingerprint", "")
        if not re.fullmatch(SLUG_PATTERN, slug) or not re.fullmatch(r"[0-9a-f]{64}", printed):
            raise PlaybookError(f"{packet}: not a playbook MOU packet (no coalition metadata)")
        source = _embedded(packet, reader, f"{slug}.yaml")
    found: list[str] = []

    def verdict(matches: bool = False) -> Verdict:
        return Verdict(slug, printed, tuple(found), matches)

    scheme = info.get("/playbookfingerprintscheme", "1")
    if scheme != str(SCHEME):
        found.append(
            f"This packet was printed under fingerprint scheme {scheme}; this playbook uses "
            f"scheme {SCHEME}, so its fingerprint cannot be compared. That is not a sign of "
            f"tampering: print the packet again, and have it signed again."
        )
        return verdict()
    try:
        text = source.decode("utf-8")
    except UnicodeDecodeError:
        found.append("The coalition file embedded in the packet is not UTF-8 text: altered.")
        return verdict()
    day = info.get("/playbooktoday", "")
    try:
        today = datetime.date.fromisoformat(day) if day else None
    except ValueError:
        today = None
    ready = build.prepare(root, today)
    problems: list[Problem] = []
    shown = workspace.Workspace(ready.found.root).shown(ready.found.root / "coalitions")
    item = load.coalition_from_text(
        text, slug, shown / f"{slug}.yaml", ready.loaded.config, problems
    )
    if item is None:
        first = str(problems[0]) if problems else "it does not load"
        found.append(f"The coalition file embedded in the packet does not load: {first}.")
        return verdict()
    recomputed = fingerprint(item.coalition)
    if recomputed.full != printed:
        found.append(
            f"The coalition file embedded in the packet gives MOU {recomputed.short}, but the "
            f"packet says {printed[:8]}: the packet or its attachment was altered."
        )
        return verdict()
    found.append(f"Fingerprint: {printed[:8]}, computed again from the embedded coalition file.")

    recorded_templates = info.get("/playbooktemplates", "")
    if recorded_templates != ready.renderer.templates_hash():
        found.append(
            "Pages: printed with other packet templates than this workspace's, so they cannot "
            "be compared with a fresh print; print the packet again to check it."
        )
        return verdict()
    others = [c for c in ready.loaded.coalitions if c.slug != slug]
    advisories = advise.advise_all([*others, item], ready.today)[slug]
    printed_facts = dataclasses.replace(
        facts.coalition_facts(item, advisories, ready.today),
        revision=info.get("/playbookrevision", ""),
    )
    fresh = build.render_packet(ready, printed_facts).pdf
    if fresh != data:
        with _quiet_pdf():
            difference = _first_difference(_open(packet, data), _open(packet, fresh))
        found.append(f"Pages: NOT a true print. {difference}")
        return verdict()
    found.append(f"Pages: all {len(reader.pages)} identical to a fresh print of the embedded file.")

    now = ready.loaded.coalition(slug)
    if now is None:
        author = info.get("/Author", "")
        found.append(
            f"This workspace has no coalition {slug}: the packet comes from another workspace"
            f"{f' ({author})' if author else ''}, or the coalition was removed from this one."
        )
        return verdict()
    current = fingerprint(now.coalition)
    if current.full != printed:
        changed = describe_changes(terms(item.coalition), terms(now.coalition))
        found.append(
            f"Agreement: CHANGED since printing; the workspace's MOU is now {current.short}. "
            + "; ".join(changed[:12])
            + (f"; and {len(changed) - 12} more" if len(changed) > 12 else "")
            + ". Print it again."
        )
        return verdict()
    found.append(f"Agreement: unchanged; the workspace's MOU is still {current.short}.")
    if now.source != item.source:
        found.append(
            "The coalition file was edited since printing, outside the agreement "
            "(status, notes, scores or signatures)."
        )
    return verdict(matches=True)


def describe_changes(before: Any, after: Any, path: str = "") -> list[str]:
    """`exit.notice_days: 60 → 30` for every value that differs between two term records."""
    if isinstance(before, dict) and isinstance(after, dict):
        found = []
        for key in sorted(set(before) | set(after)):
            found += describe_changes(
                before.get(key), after.get(key), f"{path}.{key}" if path else key
            )
        return found
    if isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        found = []
        for index, (old, new) in enumerate(zip(before, after, strict=True)):
            found += describe_changes(old, new, f"{path}[{index}]")
        return found
    if before == after:
        return []
    return [f"{path}: {_short(before)} → {_short(after)}"]


def _short(value: Any) -> str:
    if value is None:
        return "(none)"
    if isinstance(value, list):
        return f"{len(value)} items"
    text = str(value)
    return (
        repr(text[:60] + "…") if len(text) > 60 else repr(text) if isinstance(value, str) else text
    )


# --- reading a PDF that may be hostile -------------------------------------------------------


def _read_bounded(packet: Path) -> bytes:
    try:
        size = packet.stat().st_size
        if size > MAX_PACKET_BYTES:
            raise PlaybookError(
                f"{packet}: {size / 1024 / 1024:.0f} MiB is too large for an MOU packet (at most "
                f"{MAX_PACKET_BYTES // 1024 // 1024} MiB); refused without reading it"
            )
        with packet.open("rb") as stream:
            data = stream.read(MAX_PACKET_BYTES + 1)
    except OSError as err:
        raise PlaybookError(f"{packet}: cannot read it ({err.strerror or err})") from err
    if len(data) > MAX_PACKET_BYTES:
        raise PlaybookError(f"{packet}: too large for an MOU packet; refused")
    if not data.startswith(b"%PDF-"):
        raise PlaybookError(f"{packet}: not a PDF file")
    return data


@contextlib.contextmanager
def _quiet_pdf() -> Iterator[None]:
    """Bounded decompression, and no library warnings on the user's terminal."""
    import pypdf

    logger = logging.getLogger("pypdf")
    level, propagate = logger.level, logger.propagate
    logger.setLevel(logging.CRITICAL + 1)
    logger.propagate = False
    limits = pypdf.apply_configuration(
        maximum_declared_stream_length=MAX_STREAM_BYTES,
        zlib_maximum_output_length=MAX_STREAM_BYTES,
        lzw_maximum_output_length=MAX_STREAM_BYTES,
        run_length_maximum_output_length=MAX_STREAM_BYTES,
        array_based_stream_maximum_output_length=MAX_STREAM_BYTES,
        brotli_maximum_output_length=MAX_STREAM_BYTES,
        image_maximum_buffer_size=MAX_STREAM_BYTES,
    )
    try:
        with warnings.catch_warnings(), limits:
            warnings.simplefilter("ignore")
            yield
    finally:
        logger.setLevel(level)
        logger.propagate = propagate


def _open(packet: Path, data: bytes) -> Any:
    from pypdf import PdfReader

    try:
        reader = PdfReader(io.BytesIO(data))
        _ = len(reader.pages)
    except Exception as err:  # hostile bytes may fail anywhere inside the parser
        raise PlaybookError(f"{packet}: cannot read it as a PDF ({_reason(err)})") from None
    return reader


def _metadata(packet: Path, reader: Any) -> dict[str, str]:
    try:
        return {str(k): str(v) for k, v in dict(reader.metadata or {}).items()}
    except Exception as err:  # as above
        raise PlaybookError(f"{packet}: cannot read its metadata ({_reason(err)})") from None


def _embedded(packet: Path, reader: Any, name: str) -> bytes:
    """The attached file `name`, decompressed no further than a coalition file may be long."""
    import pypdf

    try:
        names = reader.trailer["/Root"]["/Names"]["/EmbeddedFiles"]["/Names"]
        specs = {str(names[i]): names[i + 1].get_object() for i in range(0, len(names) - 1, 2)}
        stream = specs[name]["/EF"]["/F"].get_object()
    except Exception:  # missing or malformed name tree: no attachment
        raise PlaybookError(
            f"{packet}: not a playbook MOU packet (no embedded coalition file)"
        ) from None
    declared = stream.get("/Params", {}).get("/Size") if hasattr(stream, "get") else None
    if isinstance(declared, int) and declared > MAX_FILE_BYTES:
        raise PlaybookError(_too_large(packet, name))
    try:
        with pypdf.apply_configuration(zlib_maximum_output_length=MAX_FILE_BYTES + 1):
            data: bytes = stream.get_data()
    except Exception as err:  # a decompression bomb ends here, at the limit
        if "limit" in str(err).lower() or "exceed" in str(err).lower():
            raise PlaybookError(_too_large(packet, name)) from None
        raise PlaybookError(f"{packet}: cannot read {name} ({_reason(err)})") from None
    if len(data) > MAX_FILE_BYTES:
        raise PlaybookError(_too_large(packet, name))
    return data


def _too_large(packet: Path, name: str) -> str:
    return (
        f"{packet}: the embedded {name} is larger than a coalition file may be "
        f"({MAX_FILE_BYTES // 1024 // 1024} MiB); refused"
    )


def _reason(err: Exception) -> str:
    text = " ".join(str(err).split())
    return (text[:120] + "…") if len(text) > 120 else (text or type(err).__name__)


def _first_difference(printed: Any, fresh: Any) -> str:
    """Where a packet first departs from a fresh print, in words."""
    have, want = len(printed.pages), len(fresh.pages)
    for index in range(max(have, want)):
        number = index + 1
        if index >= have:
            return f"Page {number} of {want} is missing: the packet has {have} pages."
        if index >= want:
            return f"Page {number} is extra: a fresh print has {want} pages."
        old = _page_text(printed, index)
        new = _page_text(fresh, index)
        if old != new:
            return f"Page {number} differs: {_line_difference(new, old)}"
        if _page_drawing(printed, index) != _page_drawing(fresh, index):
            return f"Page {number} differs in what it draws (its text is the same)."
    return "The pages match, but the file differs outside them (metadata or attachments)."


def _page_text(reader: Any, index: int) -> str:
    try:
        return str(reader.pages[index].extract_text())
    except Exception as err:  # as above
        return f"(unreadable: {_reason(err)})"


def _page_drawing(reader: Any, index: int) -> bytes:
    try:
        contents = reader.pages[index].get_contents()
        return b"" if contents is None else bytes(contents.get_data())
    except Exception:  # as above
        return b"(unreadable)"


def _line_difference(expected: str, found: str) -> str:
    """The first run of lines where the packet's text departs from a fresh print's."""
    want = [" ".join(line.split()) for line in expected.splitlines() if line.strip()]
    have = [" ".join(line.split()) for line in found.splitlines() if line.strip()]
    matcher = difflib.SequenceMatcher(a=want, b=have, autojunk=False)
    for op, a1, a2, b1, b2 in matcher.get_opcodes():
        if op == "insert":
            return f"the packet adds {_clip(' / '.join(have[b1:b2]))!r}."
        if op == "delete":
            return f"the packet lacks {_clip(' / '.join(want[a1:a2]))!r}."
        if op == "replace":
            return (
                f"the packet reads {_clip(' / '.join(have[b1:b2]))!r} where a fresh print "
                f"reads {_clip(' / '.join(want[a1:a2]))!r}."
            )
    return "the text differs in its spacing."


def _clip(text: str) -> str:
    return text if len(text) <= 160 else text[:159] + "…"
