"""Read a YAML file into plain values, remembering where each value stands.

PyYAML's safe composer gives nodes with positions; this module turns them into plain
Python values itself, so that duplicate keys, unknown tags, impossible dates and alias
bombs become Problems with a line and column instead of silent surprises or crashes.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, ClassVar

import yaml

from playbook_builder.errors import Problem
from playbook_builder.model import Located, character_name, place

MAX_FILE_BYTES = 1024 * 1024
"""A coalition file larger than this is refused."""
MAX_VALUES = 20_000
"""Values in one file, counting every repetition through an alias."""
MAX_DEPTH = 40
"""Levels of nesting in one file."""

_YAML = "tag:yaml.org,2002:"
_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_SafeLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_TAGS_KEPT = 16_384
_SHORT = 64

Path_ = tuple[str | int, ...]


class _Loader(_SafeLoader):  # type: ignore[valid-type,misc]  # C or Python, found at run time
    """PyYAML's safe loader with the tags of short values remembered. Its C parser asks
    the Python resolver for the tag of every node, which tries a list of regular
    expressions on each plain value; a workspace's files repeat their keys and most short
    values (4,700 distinct among 330,000 nodes in 1,000 files): 11% of a parse."""

    _tags: ClassVar[dict[tuple[Any, Any, Any], str]] = {}

    def resolve(self, kind: Any, value: Any, implicit: Any) -> str:
        if value is not None and len(value) > _SHORT:
            tag: str = super().resolve(kind, value, implicit)
            return tag
        key = (kind, value, implicit)
        known = self._tags.get(key)
        if known is None:
            if len(self._tags) >= _TAGS_KEPT:
                self._tags.clear()
            known = self._tags[key] = super().resolve(kind, value, implicit)
        return known

    # the safe loader has no path resolvers: these would look for them at every node
    def descend_resolver(self, current_node: Any, current_index: Any) -> None:
        pass

    def ascend_resolver(self) -> None:
        pass


@dataclass(frozen=True, slots=True)
class Parsed:
    """A YAML file as plain values, with the node behind each value."""

    data: Any
    """dicts, lists, str, int, float, bool, None and datetime.date."""
    located: Located
    """Positions by field path."""
    nodes: dict[Path_, yaml.Node]
    """The node of each value, to describe what was found."""
    text: str
    """The text that was parsed."""


def field_path(path: Path_) -> str:
    """`("partners", 1, "scores")` -> `partners[1].scores`."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else part
    return text or "(file)"


def describe(node: yaml.Node | None) -> str:
    """How a value reads in an error message: `6`, `"five"`, `a list of 3 items`."""
    if node is None:
        return "nothing"
    if isinstance(node, yaml.MappingNode):
        return "a mapping (field: value lines)"
    if isinstance(node, yaml.SequenceNode):
        count = len(node.value)
        return f"a list of {count} item{'s' if count != 1 else ''}"
    text = str(node.value)
    if len(text) > 60:
        text = text[:57] + "..."
    if node.tag == _YAML + "null":
        return "an empty value" if text in ("", "~") else text
    if node.tag == _YAML + "str":
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
    return text


def read_text(path: Path, shown: PurePosixPath) -> tuple[str | None, list[Problem]]:
    """A file's text as UTF-8 without BOM, with \\n line ends; or why it can't be read."""
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            return None, [
                Problem(shown, 1, 1, "(file)", f"{size:,} bytes", f"at most {MAX_FILE_BYTES:,}")
            ]
        raw = path.read_bytes()
    except OSError as err:
        return None, [
            Problem(
                shown, 1, 1, "(file)", f"an unreadable file ({err.strerror})", "a readable file"
            )
        ]
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        before = raw[: err.start]
        line = before.count(b"\n") + 1
        column = len(before) - (before.rfind(b"\n") + 1) + 1
        return None, [
            Problem(
                shown,
                line,
                column,
                "(file)",
                f"the byte 0x{raw[err.start]:02x}, which is not UTF-8",
                "UTF-8 text (save the file as UTF-8)",
            )
        ]
    return text.replace("\r\n", "\n").replace("\r", "\n"), []


_YAML_ONLY_BREAKS = re.compile("[\x85\u2028\u2029]")
"""Characters YAML reads as line breaks and editors do not: positions after them would be
wrong, so they are refused where an editor shows them."""


def parse(text: str, shown: PurePosixPath) -> tuple[Parsed | None, list[Problem]]:
    """Plain values and positions of a YAML document, or the Problems that stop it."""
    odd = _YAML_ONLY_BREAKS.search(text)
    if odd is not None:
        before = text[: odd.start()]
        line, column = before.count("\n") + 1, odd.start() - (before.rfind("\n") + 1) + 1
        return None, [
            Problem(
                shown,
                line,
                column,
                "(file)",
                f"the character {character_name(odd.group())}, which YAML reads as a line break",
                "ordinary line breaks (delete the character; press Enter for a new line)",
            )
        ]
    try:
        root = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        line, column = _in_file(text, *((mark.line + 1, mark.column + 1) if mark else (1, 1)))
        what = " ".join(str(part) for part in (err.context, err.problem) if part)
        lines = text.split("\n")
        indent = lines[line - 1][: len(lines[line - 1]) - len(lines[line - 1].lstrip())]
        if "\t" in indent:  # a tab among the spaces that indent the line
            column = indent.index("\t") + 1
        if "'\\t'" in what or "tab character" in what or "\t" in indent:
            return None, [
                Problem(
                    shown,
                    line,
                    column,
                    "(yaml)",
                    "a tab character",
                    "spaces: YAML indents with spaces only (replace the tab with two spaces)",
                )
            ]
        return None, [
            Problem(
                shown,
                line,
                column,
                "(yaml)",
                f"a YAML syntax error ({what})",
                "valid YAML: check the indentation, the colon after each field and the quotes",
            )
        ]
    except yaml.YAMLError as err:
        line, column = _reader_position(text, err)
        character = getattr(err, "character", None)  # a code point, or a byte
        found = (
            f"the control character U+{character:04X}"
            if isinstance(character, int)
            else "unreadable YAML ({})".format(" ".join(str(err).split()))
        )
        return None, [
            Problem(
                shown, line, column, "(yaml)", found, "printable UTF-8 text (delete the character)"
            )
        ]
    if root is None:
        return None, [
            Problem(shown, 1, 1, "(file)", "an empty file", "a mapping of fields (name: ...)")
        ]
    converter = _Converter(shown)
    data = converter.value(root, (), 0)
    located = Located(values=converter.values, keys=converter.keys)
    return Parsed(data, located, converter.nodes, text), converter.problems


def _in_file(text: str, line: int, column: int) -> tuple[int, int]:
    """A position as an editor shows it: PyYAML puts the end of a file that lacks a final
    line break on a line after the last, which no editor has."""
    lines = text.split("\n")
    if line > len(lines):
        return len(lines), len(lines[-1]) + 1
    return line, min(column, len(lines[line - 1]) + 1)


def _reader_position(text: str, err: yaml.YAMLError) -> tuple[int, int]:
    position = getattr(err, "position", None)
    if not isinstance(position, int):
        return 1, 1
    before = text[:position]
    return before.count("\n") + 1, position - (before.rfind("\n") + 1) + 1


class _Converter:
    """Walks the node tree once, building values and recording positions and problems."""

    def __init__(self, shown: PurePosixPath) -> None:
        self.shown = shown
        self.values: dict[Path_, int] = {}
        self.keys: dict[Path_, int] = {}
        self.nodes: dict[Path_, yaml.Node] = {}
        self.problems: list[Problem] = []
        self.count = 0
        self.stopped = False
        self.constructor = yaml.constructor.SafeConstructor()

    def problem(self, node: yaml.Node, path: Path_, found: str, allowed: str) -> None:
        mark = node.start_mark
        self.problems.append(
            Problem(self.shown, mark.line + 1, mark.column + 1, field_path(path), found, allowed)
        )

    def value(self, node: yaml.Node, path: Path_, depth: int) -> Any:
        if self.stopped:
            return None
        self.count += 1
        if self.count > MAX_VALUES or depth > MAX_DEPTH:
            self.stopped = True
            limit = (
                f"at most {MAX_VALUES:,} values"
                if self.count > MAX_VALUES
                else f"at most {MAX_DEPTH} levels of nesting"
            )
            self.problem(node, path, "more values or nesting than a coalition needs", limit)
            return None
        mark = node.start_mark
        self.values[path] = place(mark.line + 1, mark.column + 1)
        self.nodes[path] = node
        if isinstance(node, yaml.MappingNode):
            return self.mapping(node, path, depth)
        if isinstance(node, yaml.SequenceNode):
            if node.tag != _YAML + "seq":
                self.problem(node, path, f"the tag {_short(node.tag)}", "plain YAML, no tags")
            return [self.value(item, (*path, i), depth + 1) for i, item in enumerate(node.value)]
        assert isinstance(node, yaml.ScalarNode)
        return self.scalar(node, path)

    def mapping(self, node: yaml.MappingNode, path: Path_, depth: int) -> dict[str, Any]:
        if node.tag != _YAML + "map":
            self.problem(node, path, f"the tag {_short(node.tag)}", "plain YAML, no tags")
        result: dict[str, Any] = {}
        first_line: dict[str, int] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                self.problem(key_node, path, "a key that is a list or a mapping", "a field name")
                continue
            key = str(key_node.value)
            here = (*path, key)
            if key in result:
                self.problem(
                    key_node,
                    here,
                    f"`{key}` a second time (first on line {first_line[key]})",
                    "each field once",
                )
                continue
            mark = key_node.start_mark
            first_line[key] = mark.line + 1
            self.keys[here] = place(mark.line + 1, mark.column + 1)
            result[key] = self.value(value_node, here, depth + 1)
        return result

    def scalar(self, node: yaml.ScalarNode, path: Path_) -> Any:
        tag = node.tag
        if tag == _YAML + "str":
            return node.value
        if tag == _YAML + "null":
            return None
        if tag == _YAML + "timestamp":
            match = _DATE.fullmatch(node.value)
            if match:
                try:
                    return datetime.date(*(int(part) for part in match.groups()))
                except ValueError:
                    return node.value  # an impossible date: the Date type explains
            return node.value  # a date with a time: the Date type explains
        if tag in (_YAML + "int", _YAML + "float", _YAML + "bool"):
            try:
                return self.constructor.construct_object(node)
            except (yaml.YAMLError, ValueError):
                return node.value
        self.problem(node, path, f"the tag {_short(tag)}", "plain YAML values, no tags")
        return None


def _short(tag: str) -> str:
    return "!!" + tag[len(_YAML) :] if tag.startswith(_YAML) else tag
