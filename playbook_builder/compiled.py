"""Validators that start at once: pydantic's compiled form of a record type, kept between runs.

Pydantic needs a few hundred milliseconds to turn model.py's annotations into a validator,
which `playbook check` in a pre-commit hook or an editor would pay on every run; turning
the intermediate form (the *core schema*) into a validator takes well under one. The core
schema is plain data apart from references to model.py's own record classes and validator
functions, so it is stored as JSON with each reference written as its name, in the user's
cache folder, sealed like every cache entry. Reading it back looks up only names defined
in model.py (and `dict`): nothing is imported, unpickled or run. The entry is keyed by the
pydantic-core version and model.py's text; anything amiss and the validator is built
afresh from the annotations, as it would be without the cache.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pydantic_core
from pydantic_core import SchemaValidator

from playbook_builder import model
from playbook_builder.cache import Cache, digest

_REF = "$model"
_TUPLE = "$tuple"
_LEFT_OUT = frozenset({"serialization", "metadata"})
"""Keys that only serialising and JSON Schema use; the validator never reads them."""


_BUILT: dict[type, SchemaValidator] = {}


def validator(record: type) -> SchemaValidator:
    """The validator of a record type of model.py, built once per process."""
    if record not in _BUILT:
        _BUILT[record] = _validator(record)
    return _BUILT[record]


def _validator(record: type) -> SchemaValidator:
    store = Cache.for_tool()
    key = digest(
        [
            "validator",
            record.__qualname__,
            pydantic_core.__version__,
            Path(model.__file__).read_bytes(),
        ]
    )
    entry = store.get(key)
    if entry is not None:
        schema = decode(entry.get("schema.json", b""))
        if schema is not None:
            return SchemaValidator(schema)
    from pydantic import TypeAdapter

    schema = TypeAdapter(record).core_schema
    text = encode(schema)
    if text is not None:
        store.put(key, {"schema.json": text})
    return SchemaValidator(schema)


def encode(schema: Any) -> bytes | None:
    """The core schema as JSON, or None when it holds anything that cannot be named."""
    try:
        return json.dumps(_named(schema), sort_keys=True, allow_nan=False).encode("utf-8")
    except (TypeError, ValueError):
        return None


def decode(data: bytes) -> Any | None:
    """A core schema from `encode`'s JSON, or None when a reference is not model.py's."""
    try:
        return _resolved(json.loads(data))
    except (ValueError, LookupError, TypeError):
        return None


def _named(value: Any) -> Any:
    if isinstance(value, dict):
        if _REF in value or _TUPLE in value:
            raise ValueError("the schema holds a marker of this encoding itself")
        return {k: _named(v) for k, v in value.items() if k not in _LEFT_OUT}
    if isinstance(value, tuple):  # defaults such as `()` must stay tuples
        return {_TUPLE: [_named(v) for v in value]}
    if isinstance(value, list):
        return [_named(v) for v in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if value is dict:
        return {_REF: "dict"}
    name = getattr(value, "__qualname__", "")
    if _own(value) and vars(model).get(name) is value:
        return {_REF: name}
    raise TypeError(f"cannot name {value!r}")


def _resolved(value: Any) -> Any:
    if isinstance(value, dict):
        if _REF in value:
            name = value[_REF]
            if name == "dict":
                return dict
            found = vars(model).get(name) if isinstance(name, str) else None
            if not (isinstance(found, type) or callable(found)) or not _own(found):
                raise LookupError(f"{name!r} is not a record or validator of model.py")
            return found
        if _TUPLE in value:
            return tuple(_resolved(v) for v in value[_TUPLE])
        return {k: _resolved(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolved(v) for v in value]
    return value


def _own(found: Any) -> bool:
    return getattr(found, "__module__", None) == model.__name__
