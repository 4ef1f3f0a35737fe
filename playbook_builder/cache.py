"""The build cache: finished outputs stored under the hash of everything they depend on.

A cache may cost time, never correctness. It lives outside the workspace, in the user's
cache folder (one folder per workspace), so nothing committed, copied or downloaded into
a workspace is ever read as a cache entry. Each entry is a plain container, never pickle
(a magic line, its own key, the files with their lengths), sealed with an HMAC under a
secret key that this machine's builds keep beside the cache and nowhere else: an entry
that is truncated, altered, planted, copied from another machine or stored under another
key fails the seal and is rebuilt. Nothing is written or deleted through a symbolic link.
The entries are data (the load cache keeps positions in `marshal`'s format for plain
values), except compiled templates (template_code.py), which are code as Python's
__pycache__ is, and are loaded only under the seal.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import itertools
import os
import shutil
import threading
from collections.abc import Iterable, Mapping
from pathlib import Path

from playbook_builder.errors import PlaybookError

MAGIC = b"playbook-cache 2\n"
KEY_BYTES = 32
_ENTRIES = "v2"
"""The folder, in a cache's folder, of the entries in this format (older ones are pruned)."""
_NEW = itertools.count()
"""Numbers the new files of stores, unique in a process (its id is in their names)."""
_NEW_FILE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC


def base_folder() -> Path:
    """The user's cache folder for playbook; `PLAYBOOK_CACHE_DIR` moves it."""
    given = os.environ.get("PLAYBOOK_CACHE_DIR")
    if given:
        return Path(given)
    from platformdirs import user_cache_path

    return user_cache_path("playbook", appauthor=False)


def location(root: Path) -> Path:
    """The cache folder of the workspace at `root`: in the user's cache folder (each
    workspace keeps a folder of its own)."""
    name = hashlib.sha256(os.fsencode(root.resolve())).hexdigest()[:24]
    return base_folder() / "workspaces" / name


def refuse_links(path: Path, stop: Path | None = None) -> None:
    """Raise if `path`, or a folder above it up to `stop`, is a symbolic link."""
    for candidate in (path, *path.parents):
        if stop is not None and candidate == stop:
            return
        if candidate.is_symlink():
            raise PlaybookError(
                f"refusing to write through the symbolic link {candidate}: playbook never "
                f"writes or deletes through a link; remove it, or build elsewhere"
            )
        if stop is None:
            return


def digest(parts: Iterable[bytes | str]) -> str:
    """SHA-256 over parts, each length-prefixed so that no two part lists collide."""
    h = hashlib.sha256()
    for part in parts:
        data = part.encode("utf-8") if isinstance(part, str) else part
        h.update(len(data).to_bytes(8, "big"))
        h.update(data)
    return h.hexdigest()


class Cache:
    """Entries under `folder`, sealed with `secret`; nothing at all when `folder` is None."""

    in_memory = False

    def __init__(self, folder: Path | None, secret: bytes = b"") -> None:
        if folder is not None and len(secret) < KEY_BYTES:
            raise ValueError("a cache needs a secret key of 32 bytes")
        self.folder = folder
        self.secret = secret
        self.used: set[str] = set()
        self._made: set[str] = set()
        """The buckets' folders made (or found) by this cache's stores so far."""
        self._writing: list[threading.Thread] = []
        """Stores under way beside the caller (`put_aside`)."""
        self.hits = 0
        self.misses = 0

    @classmethod
    def for_workspace(cls, root: Path) -> Cache:
        """The workspace's cache in the user's cache folder, with this machine's key.

        Raises PlaybookError when that folder or its key is reached through a link.
        """
        return cls._under(location(root), base_folder())

    @classmethod
    def for_tool(cls) -> Cache:
        """Entries that belong to the installed tool, not to a workspace (validators)."""
        try:
            return cls._under(base_folder() / "tool", base_folder())
        except PlaybookError:
            return cls(None)

    @classmethod
    def _under(cls, folder: Path, base: Path) -> Cache:
        """A cache in `folder`, below `base`, sealed with the key kept in `base`."""
        refuse_links(folder, stop=base.parent)
        try:
            folder.mkdir(parents=True, exist_ok=True)
            secret = _secret(base / "key")
        except OSError:
            return cls(None)  # a cache that cannot be kept is simply not used
        return cls(folder, secret)

    def _bucket(self, key: str) -> str:
        """The folder of `key`'s entry (a string: a build stores two entries a coalition)."""
        assert self.folder is not None
        return f"{self.folder}/{_ENTRIES}/{key[:2]}"

    def _path(self, key: str) -> Path:
        return Path(self._bucket(key), key[2:])

    def get(self, key: str) -> dict[str, bytes] | None:
        """The files stored under `key`, if a sound entry is there."""
        files = self.look(key)
        self.tally(key, files is not None)
        return files

    def look(self, key: str) -> dict[str, bytes] | None:
        """`get` without counting: for a worker process, whose counts would be lost (the
        process that forked it counts with `tally`)."""
        if self.folder is None:
            return None
        try:
            data = self._path(key).read_bytes()
        except OSError:
            return None
        return _decode(data, key, self.secret)

    def tally(self, key: str, hit: bool) -> None:
        """Count a look-up of `key` (and keep its entry from being pruned)."""
        self.used.add(key)
        if hit:
            self.hits += 1
        else:
            self.misses += 1

    def put(self, key: str, files: Mapping[str, bytes]) -> None:
        """Store files under `key`; a cache that cannot be written is simply not used.

        Each entry is written to a new file beside it and renamed into place, so that a
        reader never sees half of one. A build stores two entries per coalition: made
        with plain calls on strings, and each bucket's folder made once, a store took
        46 us instead of 78 (a temporary file from `tempfile`, paths as objects)."""
        self.used.add(key)
        if self.folder is None:
            return
        bucket = self._bucket(key)
        if os.path.islink(bucket):  # noqa: PTH114 - never written through
            return
        temporary = f"{bucket}/.new-{os.getpid()}-{next(_NEW)}"
        try:
            if bucket not in self._made:
                os.makedirs(bucket, exist_ok=True)  # noqa: PTH103 - strings are quicker
                self._made.add(bucket)
            handle = os.open(temporary, _NEW_FILE, 0o600)
        except OSError:
            self._made.discard(bucket)  # gone meanwhile, perhaps: made again next time
            return
        try:
            try:
                data = memoryview(_encode(files, key, self.secret))
                while data:
                    data = data[os.write(handle, data) :]
            finally:
                os.close(handle)
            os.replace(temporary, f"{bucket}/{key[2:]}")  # noqa: PTH105
        except OSError:
            with contextlib.suppress(OSError):
                os.unlink(temporary)  # noqa: PTH108

    def put_aside(self, key: str, files: Mapping[str, bytes]) -> None:
        """`put`, in a thread of its own: the caller goes on while the entry is written.

        For a large entry that only a later build reads (the shared pages, 10 MB at 1,000
        coalitions: 0.014 s to store on a quiet disk, up to 0.15 s while the system writes
        back the build's other files), which the build's last steps need not wait for.
        Its sealing and writing let go of Python's lock; `settle` waits for it."""
        self.used.add(key)  # counted as used now: `prune` never races it
        if self.folder is None:
            self.put(key, files)
            return
        thread = threading.Thread(target=self.put, args=(key, files), name="cache store")
        thread.start()
        self._writing.append(thread)

    def settle(self) -> None:
        """Wait for the stores under way (`put_aside`)."""
        while self._writing:
            self._writing.pop().join()

    def prune(self) -> None:
        """Delete entries this build did not use, so the cache does not grow forever."""
        self.settle()
        entries = None if self.folder is None else self.folder / _ENTRIES
        if entries is None or entries.is_symlink() or not entries.is_dir():
            return
        for bucket in entries.iterdir():
            if bucket.is_symlink() or not bucket.is_dir():
                continue
            for entry in bucket.iterdir():
                if bucket.name + entry.name not in self.used:
                    entry.unlink(missing_ok=True)  # unlinks a link itself, never its target
        assert self.folder is not None
        for stale in self.folder.iterdir():
            if stale.name != _ENTRIES and stale.is_dir() and not stale.is_symlink():
                shutil.rmtree(stale, ignore_errors=True)


def _secret(path: Path) -> bytes:
    """This machine's cache key: made once, readable by its owner only, never in a workspace."""
    try:
        handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    except FileExistsError:
        handle = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
        with os.fdopen(handle, "rb") as stream:
            secret = stream.read()
        if len(secret) != KEY_BYTES:
            raise OSError(f"{path} is not a cache key") from None
        return secret
    secret = os.urandom(KEY_BYTES)
    with os.fdopen(handle, "wb") as stream:
        stream.write(secret)
    return secret


def _seal(body: bytes, secret: bytes) -> bytes:
    return hmac.new(secret, body, hashlib.sha256).digest()


def _encode(files: Mapping[str, bytes], key: str, secret: bytes) -> bytes:
    parts = [MAGIC, key.encode("ascii"), b"\n", len(files).to_bytes(4, "big")]
    for name in sorted(files):
        encoded = name.encode("utf-8")
        parts += [len(encoded).to_bytes(4, "big"), encoded]
        parts += [len(files[name]).to_bytes(8, "big"), files[name]]
    body = b"".join(parts)
    return body + _seal(body, secret)


def _decode(data: bytes, key: str, secret: bytes) -> dict[str, bytes] | None:
    if len(data) < 32 or not hmac.compare_digest(_seal(data[:-32], secret), data[-32:]):
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


class MemoryCache(Cache):
    """Entries in this process's memory (`playbook serve`): the same keys, no files."""

    in_memory = True

    def __init__(self) -> None:
        super().__init__(None)
        self.entries: dict[str, dict[str, bytes]] = {}

    def look(self, key: str) -> dict[str, bytes] | None:
        return self.entries.get(key)

    def put(self, key: str, files: Mapping[str, bytes]) -> None:
        self.used.add(key)
        self.entries[key] = dict(files)

    def prune(self) -> None:
        """Forget entries the last build did not use; start counting afresh."""
        self.entries = {k: v for k, v in self.entries.items() if k in self.used}
        self.used = set()
