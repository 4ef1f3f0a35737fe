"""`playbook sign`: record a signature in a coalition file, changing nothing else in it.

The new entry is inserted as text after the last signature (or as a new `signatures:`
block at the end), in the style of the entries already there, so comments, order,
quoting and layout stay exactly as they were. The insert is then proven: the new text is
the old text with only the inserted lines added, it loads through the same loader and
limits as any coalition file, and it gives the same coalition with one more signature.
"""

from __future__ import annotations

import datetime
import json
import re
from dataclasses import dataclass
from pathlib import PurePosixPath

import yaml

from playbook_builder.decisions import Judgement, judge_added
from playbook_builder.errors import PlaybookError, Problem
from playbook_builder.fingerprint import Fingerprint, fingerprint
from playbook_builder.load import coalition_from_text
from playbook_builder.model import CoalitionFile, Decision, SiteConfig, json_ready


@dataclass(frozen=True, slots=True, kw_only=True)
class Signing:
    partner: str
    signer: str
    title: str
    date: datetime.date


def sign(item: CoalitionFile, config: SiteConfig, signing: Signing) -> tuple[str, Fingerprint]:
    """The coalition file's new text with the signature recorded, and the fingerprint signed.

    Raises PlaybookError when the signature cannot or should not be recorded.
    """
    c = item.coalition
    current = fingerprint(c)
    partner = c.partner(signing.partner)
    if partner is None:
        known = ", ".join(p.id for p in c.partners)
        raise PlaybookError(
            f"{item.path} has no partner {signing.partner!r}; its partners: {known}"
        )
    if not partner.must_sign:
        raise PlaybookError(
            f"{partner.name} has status {partner.status}: its signature does not count; "
            f"set its status first if it rejoined"
        )
    latest = c.latest_signatures().get(partner.id)
    if latest is not None and current.matches(latest.mou_version):
        raise PlaybookError(
            f"{partner.name} already signed MOU {current.short} "
            f"({latest.signer}{f', {latest.date.isoformat()}' if latest.date else ''}); "
            f"nothing to record"
        )
    entry = {
        "partner": signing.partner,
        "signer": signing.signer,
        "title": signing.title,
        "date": signing.date,
        "mou_version": current.short,
    }
    text = insert(item.source, "signatures", entry)
    prove(item, config, text, "signatures", entry)
    return text, current


def as_written(text: str, raw: bytes) -> bytes:
    """The new text encoded as the file was: with its byte-order mark and CRLF line ends."""
    data = text.replace("\n", "\r\n") if b"\r\n" in raw else text
    bom = "\ufeff" if raw.startswith(b"\xef\xbb\xbf") else ""
    return (bom + data).encode("utf-8")


def insert(source: str, field: str, entry: dict[str, object]) -> str:
    """The source with one more item in the top-level list `field`, as inserted text."""
    root = yaml.compose(source, Loader=yaml.SafeLoader)
    if not isinstance(root, yaml.MappingNode):
        raise PlaybookError("the coalition file is not a mapping")
    node = next((value for key, value in root.value if getattr(key, "value", None) == field), None)
    ending = "" if source.endswith("\n") else "\n"
    if node is None or (isinstance(node, yaml.ScalarNode) and node.value in ("", "~", "null")):
        block = f"{field}:\n{_item(entry, 2)}"
        if node is None:
            return f"{source}{ending}\n{block}"
        key = next(k for k, v in root.value if v is node)
        start = _line_start(source, key.start_mark.index)
        end = _line_end(source, node.end_mark.index)
        return source[:start] + block + source[end:]
    if not isinstance(node, yaml.SequenceNode):
        raise PlaybookError(f"{field} is not a list")
    if node.flow_style:  # signatures: [] or [{...}]: rewrite just that list, as a block
        if node.value:
            raise PlaybookError(f"{field} is written as a one-line list; write it as a block")
        key = next(k for k, v in root.value if v is node)
        start = _line_start(source, key.start_mark.index)
        end = _line_end(source, node.end_mark.index)
        return source[:start] + f"{field}:\n{_item(entry, 2)}" + source[end:]
    last = node.value[-1]
    dash = node.start_mark.column
    at = _line_end(source, _last_mark(last))
    if isinstance(last, yaml.MappingNode) and not last.flow_style:
        inner = " " * (dash + 2)
        lines = [f"{' ' * dash}- {_pair(next(iter(entry.items())))}"]
        lines += [f"{inner}{_pair(pair)}" for pair in list(entry.items())[1:]]
        addition = "\n".join(lines) + "\n"
    else:
        addition = f"{' ' * dash}- {_flow(entry)}\n"
    if at == len(source) and not source.endswith("\n"):
        return source + "\n" + addition
    return source[:at] + addition + source[at:]


def _item(entry: dict[str, object], dash: int) -> str:
    """A new list item: on one line when short, else one field a line."""
    line = f"{' ' * dash}- {_flow(entry)}"
    if len(line) <= 100 and not any(isinstance(v, dict) for v in entry.values()):
        return line + "\n"
    pairs = list(entry.items())
    lines = [f"{' ' * dash}- {_pair(pairs[0])}"]
    lines += [f"{' ' * (dash + 2)}{_pair(pair)}" for pair in pairs[1:]]
    return "\n".join(lines) + "\n"


def _last_mark(node: yaml.Node) -> int:
    """Where the last character of a node's own text is (a block mapping ends late)."""
    if isinstance(node, yaml.MappingNode) and not node.flow_style and node.value:
        return _last_mark(node.value[-1][1])
    if isinstance(node, yaml.SequenceNode) and not node.flow_style and node.value:
        return _last_mark(node.value[-1])
    return max(node.end_mark.index - 1, node.start_mark.index)


def _line_start(source: str, index: int) -> int:
    return source.rfind("\n", 0, index) + 1


def _line_end(source: str, index: int) -> int:
    found = source.find("\n", index)
    return len(source) if found < 0 else found + 1


_PLAIN = re.compile(r"[A-Za-z0-9][A-Za-z0-9 .'()&/-]*")


def _scalar(value: object) -> str:
    """A YAML scalar that reads back as exactly this value (plain where that is safe)."""
    if isinstance(value, dict):
        return _flow(value)
    if isinstance(value, datetime.date):
        return value.isoformat()
    text = str(value)
    if _PLAIN.fullmatch(text) and not text.endswith(" "):
        try:
            if yaml.safe_load(f"[{text}]") == [text]:
                return text
        except yaml.YAMLError:
            pass
    return json.dumps(text, ensure_ascii=False)


def _pair(pair: tuple[str, object]) -> str:
    return f"{pair[0]}: {_scalar(pair[1])}"


def _flow(entry: dict[str, object]) -> str:
    return "{" + ", ".join(_pair(pair) for pair in entry.items()) + "}"


def prove(
    item: CoalitionFile, config: SiteConfig, text: str, field: str, entry: dict[str, object]
) -> None:
    """Refuse unless the new text is the old plus inserted lines, and loads to the old
    coalition with exactly this entry added to `field`."""
    old, new = item.source.splitlines(keepends=True), text.splitlines(keepends=True)
    import difflib

    for op, *_ in difflib.SequenceMatcher(a=old, b=new, autojunk=False).get_opcodes():
        if op not in ("equal", "insert"):
            raise PlaybookError(f"recording it would change other lines of {item.path}")
    problems: list[Problem] = []
    signed = coalition_from_text(text, item.slug, PurePosixPath(item.path), config, problems)
    if signed is None:
        first = str(problems[0]) if problems else "it does not load"
        raise PlaybookError(f"recording it would break {item.path}: {first}")
    before = json_ready(item.coalition)
    after = json_ready(signed.coalition)
    added = after.get(field, [])[-1] if after.get(field) else None
    after[field] = after.get(field, [])[:-1]
    expected = json_ready(entry)
    same = isinstance(added, dict) and all(added.get(k) == v for k, v in expected.items())
    others = isinstance(added, dict) and all(
        v in (None, (), [], {}) for k, v in added.items() if k not in expected
    )
    if before != after or not (same and others):
        raise PlaybookError(f"recording it would change {item.path} in other ways")


def decide(
    item: CoalitionFile,
    config: SiteConfig,
    decision: Decision,
) -> tuple[str, Judgement]:
    """The coalition file's new text with a decision appended to its log, and how it was
    judged; the outcome must be the one the votes support under the rule it names."""
    c = item.coalition
    unknown = [pid for pid in decision.votes if c.partner(pid) is None]
    if unknown:
        known = ", ".join(p.id for p in c.partners)
        raise PlaybookError(
            f"no partner {', '.join(unknown)} in {item.path}; its partners: {known}"
        )
    ids = [o.id for o in c.decision_rule.overrides if o.id]
    if decision.under is not None and decision.under not in ids:
        listing = ", ".join(ids) or "none (give an override an id first)"
        raise PlaybookError(f"--under {decision.under!r} names no override; the ids: {listing}")
    judged = judge_added(c, decision)
    if not judged.sound:
        raise PlaybookError(
            f"the votes do not support '{decision.outcome}': {judged.reason} under "
            f"{judged.applies_to}; the outcome they support is {judged.supported}"
        )
    entry: dict[str, object] = {"date": decision.date, "title": decision.title}
    if decision.under is not None:
        entry["under"] = decision.under
    entry["votes"] = dict(decision.votes)
    entry["outcome"] = decision.outcome
    if decision.notes:
        entry["notes"] = decision.notes
    text = insert(item.source, "decisions", entry)
    prove(item, config, text, "decisions", entry)
    return text, judged
