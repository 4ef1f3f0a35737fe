"""cache.py: sealed entries; anything not sealed by this key is a miss."""

from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path

import pytest

from playbook_builder.cache import Cache, MemoryCache, digest
from playbook_builder.errors import PlaybookError


def test_parts_are_length_prefixed() -> None:
    assert digest(["ab", "c"]) != digest(["a", "bc"])


def test_an_entry_opens_only_with_its_key_and_secret(tmp_path: Path) -> None:
    secret = os.urandom(32)
    store = Cache(tmp_path, secret)
    key = digest(["x"])
    store.put(key, {"a.html": b"page"})
    assert Cache(tmp_path, secret).get(key) == {"a.html": b"page"}
    assert Cache(tmp_path, os.urandom(32)).get(key) is None
    entry = next(p for p in tmp_path.rglob("*") if p.is_file())
    entry.write_bytes(entry.read_bytes()[:-1])
    assert Cache(tmp_path, secret).get(key) is None


def test_prune_keeps_what_was_used(tmp_path: Path) -> None:
    secret = os.urandom(32)
    first = Cache(tmp_path, secret)
    first.put(digest(["old"]), {"a": b"1"})
    second = Cache(tmp_path, secret)
    second.put(digest(["new"]), {"a": b"2"})
    second.prune()
    assert Cache(tmp_path, secret).get(digest(["old"])) is None
    assert Cache(tmp_path, secret).get(digest(["new"])) == {"a": b"2"}


def test_the_workspace_cache_lives_outside_the_workspace(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PLAYBOOK_CACHE_DIR", str(tmp_path / "user-cache"))
    workspace = tmp_path / "ws"
    workspace.mkdir()
    store = Cache.for_workspace(workspace)
    assert store.folder is not None
    assert not store.folder.is_relative_to(workspace)
    key = tmp_path / "user-cache" / "key"
    assert key.stat().st_mode & 0o777 == 0o600
    assert Cache.for_workspace(workspace).secret == store.secret


def test_a_linked_cache_folder_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "user-cache").symlink_to(tmp_path / "real")
    monkeypatch.setenv("PLAYBOOK_CACHE_DIR", str(tmp_path / "user-cache"))
    with pytest.raises(PlaybookError, match="symbolic link"):
        Cache.for_workspace(tmp_path / "ws")


def test_the_memory_cache_forgets_what_a_rebuild_did_not_use() -> None:
    store = MemoryCache()
    store.put("a", {"x": b"1"})
    store.put("b", {"x": b"2"})
    store.prune()
    assert store.get("a") == {"x": b"1"}
    store.prune()  # only "a" was used since the last prune
    assert store.get("b") is None


def test_a_store_leaves_the_entry_alone_in_its_folder(tmp_path: Path) -> None:
    store = Cache(tmp_path, os.urandom(32))
    keys = [digest([str(n)]) for n in range(40)]
    for key in keys:
        store.put(key, {"a.html": key.encode()})
    assert sorted(p.parent.name + p.name for p in tmp_path.rglob("*") if p.is_file()) == sorted(
        keys
    )
    assert all(store.get(key) == {"a.html": key.encode()} for key in keys)
    store.put(keys[0], {"a.html": b"again"})  # stored again: replaced whole
    assert store.get(keys[0]) == {"a.html": b"again"}


def test_a_linked_bucket_is_never_written_through(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    key = digest(["x"])
    (tmp_path / "cache" / "v2").mkdir(parents=True)
    (tmp_path / "cache" / "v2" / key[:2]).symlink_to(elsewhere)
    store = Cache(tmp_path / "cache", os.urandom(32))
    store.put(key, {"a.html": b"page"})
    assert list(elsewhere.iterdir()) == []
    assert store.get(key) is None


def test_a_store_that_cannot_be_written_leaves_nothing_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = Cache(tmp_path, os.urandom(32))
    store.put(digest(["first"]), {"a": b"1"})  # the bucket's folder is made

    def full(handle: int, data: object) -> int:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "write", full)
    store.put(digest(["second"]), {"a": b"2"})  # no error: the cache is simply not used
    monkeypatch.undo()
    assert [p.name for p in tmp_path.rglob("*") if p.is_file()] == [digest(["first"])[2:]]
    assert store.get(digest(["second"])) is None


def test_a_cache_folder_deleted_meanwhile_is_made_again(tmp_path: Path) -> None:
    store = Cache(tmp_path / "cache", os.urandom(32))
    key = digest(["x"])
    store.put(key, {"a": b"1"})
    shutil.rmtree(tmp_path / "cache")
    store.put(key, {"a": b"2"})  # not stored: its folder had gone
    store.put(key, {"a": b"3"})
    assert store.get(key) == {"a": b"3"}


def test_an_entry_put_aside_is_used_at_once_and_stored_once_settled(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = Cache(tmp_path, os.urandom(32))
    started = threading.Event()
    release = threading.Event()
    put = Cache.put

    def slow(self: Cache, key: str, files: object) -> None:
        started.set()
        release.wait(5)
        put(self, key, files)  # type: ignore[arg-type]

    monkeypatch.setattr(Cache, "put", slow)
    key = digest(["dashboard pages"])
    store.put_aside(key, {"index.html": b"all"})
    assert started.wait(5)
    assert key in store.used  # before it is written: a prune now keeps it
    assert store.get(key) is None  # the caller went on meanwhile
    release.set()
    store.prune()  # waits for it first
    assert not any(t.name == "cache store" for t in threading.enumerate())
    assert Cache(tmp_path, store.secret).get(key) == {"index.html": b"all"}


def test_an_entry_put_aside_that_cannot_be_written_is_simply_not_stored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = Cache(tmp_path, os.urandom(32))

    def full(handle: int, data: object) -> int:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "write", full)
    store.put_aside(digest(["x"]), {"a": b"1"})
    store.settle()  # no error
    monkeypatch.undo()
    assert store.get(digest(["x"])) is None
    assert not [p for p in tmp_path.rglob("*") if p.is_file()]
    memory = MemoryCache()
    memory.put_aside("a", {"x": b"1"})  # in memory: stored at once
    assert memory.get("a") == {"x": b"1"}
