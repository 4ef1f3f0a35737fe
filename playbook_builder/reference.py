"""The field reference of coalition files and playbook.yaml, from the model's declarations.

Every field's name, what it accepts and what it means come from `model.py` (its types and
the docstring under each field), so the reference cannot drift from what `check`
enforces; a test fails when docs/coalition-file.md is not what this module writes.
Regenerate it with `python -m playbook_builder.reference > docs/coalition-file.md`.
"""

from __future__ import annotations

import dataclasses
import sys
import typing
from typing import Any

from playbook_builder.model import Coalition, SiteConfig
from playbook_builder.validate import adapter, describe_type

INTRO = """\
# The coalition file

One file per coalition: `coalitions/<slug>.yaml`, where the slug (lower-case letters and
digits joined by hyphens) is the coalition's id. UTF-8, with a byte-order mark and CRLF
line ends accepted. `playbook check` reports every field that breaks these rules, with
its line and column; `playbook schema` prints the same rules as a JSON Schema for
editors.{example}

This page is written from the model's own declarations (`playbook_builder/model.py`):
regenerate it with `python -m playbook_builder.reference > docs/coalition-file.md`.

Text may need quotes when it would otherwise read as a number, a date or yes/no
(`"2026"`, `"no"`). A text that starts with `TODO` is a placeholder: allowed, but named
by `check` (A105), and a packet whose agreement holds one stays a draft. What the MOU
prints, and so what a signature covers, is listed in the README ("What a signature
covers").
"""


_QUOTES = " (put it in quotes if it reads as a number, a date or yes/no)"


def _records(tp: Any) -> list[type]:
    """The record types a field holds, directly or in a list or mapping."""
    if dataclasses.is_dataclass(tp) and isinstance(tp, type):
        return [tp]
    found: list[type] = []
    for arg in typing.get_args(tp):
        found += _records(arg)
    return found


EXAMPLE = (
    " [`tests/data/example-coalition.yaml`](../tests/data/example-coalition.yaml)\n"
    "uses every field."
)


def reference(example: str = EXAMPLE) -> str:
    """The whole reference, as Markdown (`example`: the sentence pointing at an example)."""
    lines = [INTRO.format(example=example)]
    lines += _tables(Coalition, "The coalition")
    lines += _tables(SiteConfig, "The settings: `playbook.yaml`")
    return "\n".join(lines).rstrip("\n") + "\n"


def _tables(top: type, title: str) -> list[str]:
    """A table of `top`'s fields, then one for each record it holds, in first-use order."""
    schema = adapter(top).json_schema()
    definitions = schema.get("$defs", {})
    lines: list[str] = []
    order: list[type] = [top]
    for record in order:
        hints = typing.get_type_hints(record, include_extras=True)
        described = (schema if record is top else definitions.get(record.__name__, {})).get(
            "properties", {}
        )
        heading = title if record is top else f"`{record.__name__}`"
        lines.append(f"## {heading}\n")
        lines.append(f"{(record.__doc__ or '').strip()}\n")
        lines.append("| field | required | accepts | meaning |")
        lines.append("|---|---|---|---|")
        for field in dataclasses.fields(record):
            hint = hints[field.name]
            required = field.default is dataclasses.MISSING and (
                field.default_factory is dataclasses.MISSING
            )
            meaning = str(described.get(field.name, {}).get("description", "")).replace("|", "/")
            meaning = " ".join(meaning.split())
            accepts = describe_type(hint).replace("|", "/").replace(_QUOTES, "")
            records = _records(hint)
            if not meaning and records:
                meaning = (records[0].__doc__ or "").strip()
            nested = [r for r in records if r not in order]
            order += nested
            if nested:
                accepts += " (" + ", ".join(f"`{r.__name__}` below" for r in nested) + ")"
            lines.append(
                f"| `{field.name}` | {'yes' if required else ''} | {accepts} | {meaning} |"
            )
        lines.append("")
    return lines


if __name__ == "__main__":
    sys.stdout.write(reference())
