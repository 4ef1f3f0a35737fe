"""The build cache: finished outputs stored under the hash of everything they depend on.

An entry is a plain container, never pickle: a magic line, its own key, the files
(name and bytes, with their lengths), and a SHA-256 of all of it. An entry that is
truncated, altered, from another version or stored under another key is ignored and
rebuilt, so a corrupt or foreign cache can cost time, never correctness.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path

MAGIC = b"playbook-cache 1\n"
FOLDER = ".playbook-cache"


def digest(parts: Iterable[bytes | str]) -> str:
    """SHA-256 over parts, each length-prefixed so that no two part lists collide."""
    h = hashlib.sha256()
    for part in parts:
        data = part.encode("utf-8") if isinstance(part, str) else part
        h.update(len(data).to_bytes(8, "big"))
        h.update(data)
    return h.hexdigest()


class Cache:
    """Entries under `folder`, or nothing at all when `folder` is None."""

    def __init__(self, folder: Path | None) -> None:
        self.folder = folder
        self.used: set[str] = set()
        self.hits = 0
        self.misses = 0

    def _path(self, key: str) -> Path:
        assert self.folder is not None
        return self.folder / "v1" / key[:2] / key[2:]

    def get(self, key: str) -> dict[str, bytes] | None:
        """The files stored under `key`, if a sound entry is there."""
        self.used.add(key)
        if self.folder is None:
            return None
        try:
            data = self._path(key).read_bytes()
        except OSError:
            self.misses += 1
            return None
        files = _decode(data, key)
        if files is None:
            self.misses += 1
        else:
            self.hits += 1
        return files

    def put(self, key: str, files: Mapping[str, bytes]) -> None:
        """Store files under `key`; a cache that cannot be written is simply not used."""
        self.used.add(key)
        if self.folder is None:
            return
        path = self._path(key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".new-")
            with os.fdopen(handle, "wb") as stream:
                stream.write(_encode(files, key))
            Path(temporary).replace(path)
        except OSError:
            return

    def prune(self) -> None:
        """Delete entries this build did not use, so the cache does not grow forever."""
        if self.folder is None or not (self.folder / "v1").is_dir():
            return
        for bucket in (self.folder / "v1").iterdir():
            if not bucket.is_dir():
                continue
            for entry in bucket.iterdir():
                if bucket.name + entry.name not in self.used:
                    entry.unlink(missing_ok=True)
        for stale in self.folder.iterdir():
            if stale.name != "v1" and stale.is_dir():
                shutil.rmtree(stale, ignore_errors=True)


def _encode(files: Mapping[str, bytes], key: str) -> bytes:
    parts = [MAGIC, key.encode("ascii"), b"\n", len(files).to_bytes(4, "big")]
    for name in sorted(files):
        encoded = name.encode("utf-8")
        parts += [len(encoded).to_bytes(4, "big"), encoded]
        parts += [len(files[name]).to_bytes(8, "big"), files[name]]
    body = b"".join(parts)
    return body + hashlib.sha256(body).digest()


def _decode(data: bytes, key: str) -> dict[str, bytes] | None:
    if len(data) < 32 or hashlib.sha256(data[:-32]).digest() != data[-32:]:
        return None
    body = memoryview(data)[:-32]
    head = MAGIC + key.encode("ascii") + b"\n"
    if bytes(body[: len(head)]) != head:
        return None
    position = len(head)
    try:
        count = int.from_bytes(body[position : position + 4], "big")
        position += 4
        files: dict[str, bytes] = {}
        for _ in range(count):
            size = int.from_bytes(body[position : position + 4], "big")
            name = bytes(body[position + 4 : position + 4 + size]).decode("utf-8")
            position += 4 + size
            size = int.from_bytes(body[position : position + 8], "big")
            files[name] = bytes(body[position + 8 : position + 8 + size])
            position += 8 + size
    except (UnicodeDecodeError, ValueError):
        return None
    return files if position == len(body) else None
