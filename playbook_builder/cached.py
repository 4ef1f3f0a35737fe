"""The build cache as a layer around the loading stage: a coalition file whose text and
settings are the same as when this machine last loaded it is not parsed again.

`load.py` knows nothing of it; the build hands `cached_loader(...)` to `load_workspace`.
"""

from __future__ import annotations

import json
import marshal
from collections.abc import Sequence
from pathlib import Path

from pydantic import ValidationError

from playbook_builder import __version__
from playbook_builder.cache import Cache, digest
from playbook_builder.compiled import validator
from playbook_builder.errors import Problem
from playbook_builder.load import Each, FileLoader, load_files
from playbook_builder.model import Coalition, CoalitionFile, Located, SiteConfig, json_ready
from playbook_builder.source import MAX_FILE_BYTES
from playbook_builder.workspace import Workspace

_ENTRY = "loaded.marshal"


def cached_loader(
    store: Cache, later: dict[str, str] | None = None, keys: dict[str, str] | None = None
) -> FileLoader:
    """`load_files` behind the cache `store` (or `load_files` itself, uncached).

    With `later`, files loaded afresh are not stored at once: their cache keys are put in
    `later` by slug, for `store_loaded` to store them when it suits the caller (the
    build has its workers do it, beside laying out the pages). `keys` gets the cache key
    of every file loaded, by slug.
    """
    if store.folder is None and not store.in_memory:
        return load_files

    def load(
        workspace: Workspace,
        paths: Sequence[Path],
        config: SiteConfig,
        problems: list[Problem],
        jobs: int | None = None,
        each: Each | None = None,
    ) -> list[CoalitionFile | None]:
        settings = json.dumps(json_ready(config), sort_keys=True)
        found = [_cached_coalition(workspace, path, settings, store) for path in paths]
        missed = [path for path, (item, _) in zip(paths, found, strict=True) if item is None]
        if each is not None:
            each([item for item, _ in found if item is not None])
        fresh = iter(load_files(workspace, missed, config, problems, jobs, each))
        loaded: list[CoalitionFile | None] = []
        for item, key in found:
            if item is None:
                item = next(fresh)
                if item is not None and key and later is not None:
                    later[item.slug] = key
                elif item is not None and key:
                    store_loaded(store, key, item)
            if item is not None and key and keys is not None:
                keys[item.slug] = key
            loaded.append(item)
        return loaded

    return load


def store_loaded(store: Cache, key: str, item: CoalitionFile) -> None:
    """Store a loaded coalition file under the key `cached_loader` gave it."""
    store.put(key, _freeze(item))


def _cached_coalition(
    workspace: Workspace, path: Path, config_json: str, store: Cache
) -> tuple[CoalitionFile | None, str]:
    """A valid file as loaded before (same text, same settings), else None (it is to be
    loaded); and its cache key ('' for a file that is not cached)."""
    try:
        text = path.read_bytes().decode("utf-8-sig") if workspace.contains(path) else None
    except (OSError, UnicodeDecodeError):
        text = None
    if text is None or path.stat().st_size > MAX_FILE_BYTES:
        return None, ""
    key = digest(
        [
            "load, in marshal, positions as places",
            __version__,
            str(workspace.shown(path)),
            text,
            config_json,
        ]
    )
    entry = store.get(key)
    if entry is not None:
        restored = _restore(entry, path, workspace)
        # an entry is used only for the very text it was made from
        if restored is not None and restored.source == text.replace("\r\n", "\n").replace(
            "\r", "\n"
        ):
            return restored, key
    return None, key


def _freeze(item: CoalitionFile) -> dict[str, bytes]:
    """A loaded file as a cache entry: its record made plain (`json_ready`) and where each
    value stands, in Python's `marshal` format. (As JSON, the record took four times as
    long to write and twice as long to read; `marshal` is safe to read here because the
    cache reads only entries sealed with this machine's key.)"""
    plain = (
        item.slug,
        item.path,
        item.source,
        json_ready(item.coalition),
        item.located.values,
        item.located.keys,
    )
    return {_ENTRY: marshal.dumps(plain)}


def _restore(entry: dict[str, bytes], path: Path, workspace: Workspace) -> CoalitionFile | None:
    """A CoalitionFile from a cache entry; None for anything that does not fit exactly."""
    try:
        slug, shown, source, plain, values, keys = marshal.loads(entry[_ENTRY])
        if not all(isinstance(text, str) for text in (slug, shown, source)):
            return None
        if not isinstance(values, dict) or not isinstance(keys, dict):
            return None
        item = CoalitionFile(
            slug=slug,
            path=shown,
            coalition=validator(Coalition).validate_python(plain),
            located=Located(values=values, keys=keys),
            source=source,
        )
    except (KeyError, TypeError, ValueError, EOFError, ValidationError):
        return None
    if item.slug != path.stem or item.path != str(workspace.shown(path)):
        return None
    return item
