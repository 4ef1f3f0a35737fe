"""The build cache as a layer around the loading stage: a coalition file whose text and
settings are the same as when this machine last loaded it is not parsed again.

`load.py` knows nothing of it; the build hands `cached_loader(...)` to `load_workspace`.
"""

from __future__ import annotations

import json
import marshal
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from playbook_builder import __version__
from playbook_builder.cache import Cache, digest
from playbook_builder.compiled import validator
from playbook_builder.errors import Problem
from playbook_builder.load import (
    Each,
    FileLoader,
    load_coalition,
    load_files,
    load_noted,
    read_inside,
)
from playbook_builder.model import Coalition, CoalitionFile, Located, SiteConfig, json_ready
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
        read = _FromCache(store, json.dumps(json_ready(config), sort_keys=True))
        loaded: list[CoalitionFile | None] = []
        for item, (key, hit) in load_noted(workspace, paths, config, problems, jobs, each, read):
            if key:
                store.tally(key, hit)
            if item is not None and key and not hit:
                if later is not None:
                    later[item.slug] = key
                else:
                    store_loaded(store, key, item)
            if item is not None and key and keys is not None:
                keys[item.slug] = key
            loaded.append(item)
        return loaded

    return load


def store_loaded(store: Cache, key: str, item: CoalitionFile) -> None:
    """Store a loaded coalition file under the key `cached_loader` gave it."""
    store.put(key, _freeze(item))


@dataclass(frozen=True, slots=True)
class _FromCache:
    """Loads a file as loaded before, when its text and the settings are the same, else
    afresh; notes its cache key ('' for a file not cached) and whether it was there.

    A `FileReader`: run in the worker processes too, where each file is read once, for
    its key and, on a miss, for loading. (Keyed in the parent beforehand, a cold build
    of 1,000 files spent 55-60 ms on one core reading every file, and its workers read
    each file again.) The worker looks entries up without counting; the parent counts
    from the notes (`Cache.tally`)."""

    store: Cache
    settings: str

    def __call__(
        self, workspace: Workspace, path: Path, config: SiteConfig, problems: list[Problem]
    ) -> tuple[CoalitionFile | None, tuple[str, bool]]:
        text = read_inside(workspace, path)
        if text is None:  # loaded afresh, to say why it cannot be
            return load_coalition(workspace, path, config, problems), ("", False)
        key = digest(
            [
                "load, in marshal, positions as places",
                __version__,
                str(workspace.shown(path)),
                text,
                self.settings,
            ]
        )
        entry = self.store.look(key)
        if entry is not None:
            restored = _restore(entry, path, workspace)
            # an entry is used only for the very text it was made from
            if restored is not None and restored.source == text:
                return restored, (key, True)
        return load_coalition(workspace, path, config, problems, text), (key, False)


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
