"""Plain values -> typed records, or Problems that say what was found and what is allowed.

pydantic checks the declarations in `model.py`; this module translates each complaint
into our terms: the field path, the position in the file, the value as written, and a
description of what the field accepts, read from the same declarations.
"""

from __future__ import annotations

import dataclasses
import datetime
import difflib
import types
import typing
from fractions import Fraction
from pathlib import PurePosixPath
from typing import Any, TypeVar

from annotated_types import Ge, Gt, Le
from pydantic import TypeAdapter, ValidationError
from pydantic_core import ErrorDetails

from playbook_builder.errors import Problem
from playbook_builder.model import SLUG_PATTERN
from playbook_builder.source import Parsed, describe, field_path

T = TypeVar("T")

_PATTERNS = {
    SLUG_PATTERN: "an id of lower-case letters and digits joined by hyphens, like `mercy-health`",
    r"^[A-Z]{3}$": "a three-letter ISO 4217 currency code, like USD or EUR",
    r"^[0-9a-f]{8,64}$": "the MOU fingerprint as printed: 8 or more lower-case hex digits",
}


_OWN_KINDS = frozenset({"fraction", "date", "text", "url"})
"""Errors raised by the validators in model.py, whose message says what is allowed."""

_ADAPTERS: dict[type, TypeAdapter[Any]] = {}


def adapter(model: type[T]) -> TypeAdapter[T]:
    """The pydantic validator of a record type, built once per process."""
    if model not in _ADAPTERS:
        _ADAPTERS[model] = TypeAdapter(model)
    return _ADAPTERS[model]


def validate(
    model: type[T], parsed: Parsed, shown: PurePosixPath
) -> tuple[T | None, list[Problem]]:
    """The record `parsed` describes, or the Problems that stop it."""
    from playbook_builder.compiled import validator

    try:
        return validator(model).validate_python(parsed.data), []
    except ValidationError as err:
        problems: dict[tuple[Any, ...], Problem] = {}
        errors = err.errors(include_url=False)
        for error in errors:
            problem = _translate(model, error, parsed, shown)
            problems.setdefault(tuple(error["loc"]), problem)
        return None, _one_per_typo(problems, errors)


def _translate(model: type, error: ErrorDetails, parsed: Parsed, shown: PurePosixPath) -> Problem:
    loc = tuple(error["loc"])
    kind = error["type"]
    if kind in ("unexpected_keyword_argument", "extra_forbidden"):
        path, name = loc[:-1], str(loc[-1])
        names = _field_names(_type_at(model, path))
        line, column = parsed.located.at(loc, key=True)
        return Problem(
            shown,
            line,
            column,
            field_path(loc),
            f"an unknown field `{name}`",
            _suggest(name, names),
        )
    if loc and loc[-1] == "[key]":
        path = loc[:-1]
        key = str(path[-1])
        keys = typing.get_args(_unwrap(typing.get_args(_unwrap(_type_at(model, path[:-1])))[0]))
        line, column = parsed.located.at(path, key=True)
        return Problem(
            shown, line, column, field_path(path), f"the key `{key}`", _suggest(key, keys)
        )
    expected = _type_at(model, loc)
    line, column = parsed.located.at(loc)
    if kind == "missing":
        found = "nothing"
        allowed = f"{describe_type(expected)} (required here)"
        line, column = parsed.located.at(loc[:-1])
    else:
        found = describe(parsed.nodes.get(loc))
        # our own validators already say what they accept (and, for text, what they found)
        allowed = error["msg"] if kind in _OWN_KINDS else describe_type(expected)
        ctx = error.get("ctx") or {}
        if kind == "text":
            found = str(ctx.get("found", found))
        if kind == "too_long":
            found = f"{ctx.get('actual_length')} items"
            allowed = f"at most {ctx.get('max_length')} items (a documented limit)"
        elif kind == "string_too_long":
            size = len(str(getattr(parsed.nodes.get(loc), "value", "")))
            found = f"text of {size:,} characters"
            allowed = f"at most {ctx.get('max_length'):,} characters (a documented limit)"
    if kind == "literal_error":
        options = typing.get_args(_unwrap(expected))
        raw = parsed.nodes.get(loc)
        written = str(getattr(raw, "value", "")).casefold()
        close = difflib.get_close_matches(written, [str(o) for o in options], n=1)
        if close:
            allowed += f" (did you mean {close[0]}?)"
    return Problem(shown, line, column, field_path(loc), found, allowed)


def _one_per_typo(
    problems: dict[tuple[Any, ...], Problem], errors: list[ErrorDetails]
) -> list[Problem]:
    """A misspelt required field is one mistake: the unknown field, on its own line, says
    which field it should be, and the field is not reported missing as well."""
    unknown = {
        tuple(e["loc"]): str(e["loc"][-1])
        for e in errors
        if e["type"] in ("unexpected_keyword_argument", "extra_forbidden")
    }
    dropped = set()
    for error in errors:
        loc = tuple(error["loc"])
        if error["type"] != "missing":
            continue
        name, parent = str(loc[-1]), loc[:-1]
        near = [k for k, typo in unknown.items() if k[:-1] == parent]
        typo = next((k for k in near if difflib.get_close_matches(unknown[k], [name])), None)
        if typo is not None:
            dropped.add(loc)
            problems[typo] = dataclasses.replace(
                problems[typo], allowed=f"`{name}`, a required field (did you mean it?)"
            )
    return [problem for loc, problem in problems.items() if loc not in dropped]


def _suggest(name: str, names: typing.Sequence[str]) -> str:
    close = difflib.get_close_matches(name, names, n=1, cutoff=0.6)
    listing = ", ".join(names)
    if close:
        return f"`{close[0]}` (did you mean it?); the fields here: {listing}"
    return f"the fields {listing}" if listing else "no fields here"


def _unwrap(tp: Any) -> Any:
    """The type inside `Annotated[...]` and `X | None`."""
    while True:
        if typing.get_origin(tp) is typing.Annotated:
            tp = typing.get_args(tp)[0]
            continue
        if typing.get_origin(tp) in (typing.Union, types.UnionType):
            members = [arg for arg in typing.get_args(tp) if arg is not type(None)]
            if len(members) == 1:
                tp = members[0]
                continue
        return tp


def _metadata(tp: Any) -> list[Any]:
    """Constraints attached with `Annotated`, through `| None`."""
    found: list[Any] = []
    while True:
        if typing.get_origin(tp) is typing.Annotated:
            for item in tp.__metadata__:
                found.append(item)
                found.extend(getattr(item, "metadata", ()))  # a FieldInfo's constraints
            tp = typing.get_args(tp)[0]
            continue
        if typing.get_origin(tp) in (typing.Union, types.UnionType):
            members = [arg for arg in typing.get_args(tp) if arg is not type(None)]
            if len(members) == 1:
                tp = members[0]
                continue
        return found


def _hints(cls: Any) -> dict[str, Any]:
    return typing.get_type_hints(cls, include_extras=True)


def _type_at(model: Any, loc: tuple[Any, ...]) -> Any:
    """The declared type of the value at `loc`, with its constraints."""
    tp = model
    for part in loc:
        base = _unwrap(tp)
        origin = typing.get_origin(base)
        if dataclasses.is_dataclass(base) and isinstance(part, str):
            tp = _hints(base).get(part, Any)
        elif origin is tuple:
            tp = typing.get_args(base)[0]
        elif origin is dict:
            tp = typing.get_args(base)[1]
        else:
            return Any
    return tp


def _field_names(tp: Any) -> list[str]:
    base = _unwrap(tp)
    if dataclasses.is_dataclass(base):
        return [f.name for f in dataclasses.fields(base)]
    return []


def describe_type(tp: Any) -> str:
    """What a declared type accepts, in words a coalition builder reads easily."""
    meta = _metadata(tp)
    base = _unwrap(tp)
    origin = typing.get_origin(base)
    for item in meta:
        pattern = getattr(item, "pattern", None)
        if isinstance(pattern, str) and pattern in _PATTERNS:
            return _PATTERNS[pattern]
    if origin is typing.Literal:
        return "one of: " + ", ".join(str(arg) for arg in typing.get_args(base))
    if dataclasses.is_dataclass(base):
        return "a mapping with the fields " + ", ".join(f.name for f in dataclasses.fields(base))
    if origin is tuple:
        inner = describe_type(typing.get_args(base)[0])
        return f"a list, each {inner}"
    if origin is dict:
        return f"a mapping, each value {describe_type(typing.get_args(base)[1])}"
    if base is bool:
        return "true or false"
    if base is Fraction:
        return "a fraction such as 2/3"
    if base is datetime.date:
        return "a date as YYYY-MM-DD"
    if base in (int, float):
        noun = "a whole number" if base is int else "a number"
        low = next((m.ge for m in meta if isinstance(m, Ge)), None)
        above = next((m.gt for m in meta if isinstance(m, Gt)), None)
        high = next((m.le for m in meta if isinstance(m, Le)), None)
        if low is not None and high is not None:
            return f"{noun} from {_number(low)} to {_number(high)}"
        if low is not None:
            return f"{noun} of at least {low}"
        if above is not None:
            return f"{noun} above {above}"
        return noun
    if base is str:
        return "text (put it in quotes if it reads as a number, a date or yes/no)"
    return "a value of the documented kind"


def _number(value: Any) -> str:
    """`1,000,000,000,000`, not `1000000000000.0`."""
    return f"{value:,.0f}" if float(value).is_integer() and abs(value) >= 10_000 else f"{value:g}"


def coalition_schema() -> dict[str, Any]:
    """The JSON Schema of a coalition file, with each field's documentation."""
    from playbook_builder.model import Coalition

    schema = adapter(Coalition).json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "playbook coalition file"
    return schema
