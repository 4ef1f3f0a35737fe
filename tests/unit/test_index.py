"""index.py: the detail a build records is the detail the next one reads, by-products and
all; by-products cut short are never read as something else."""

from __future__ import annotations

import marshal
from pathlib import Path

import pytest

from playbook_builder import index, write
from playbook_builder.cache import Cache

EXTRAS = {
    ".shared-part": '{"row": "<tr><td>Caf\u00e9 \\"Nord\\" &amp; co</td></tr>"}',
    ".ics-events": "BEGIN:VEVENT\r\nSUMMARY:Review \u2014 \u00fc\r\nEND:VEVENT\r\n",
}


def _detail() -> index.Detail:
    site = {"coalitions/a/index.html": "1" * 64, "coalitions/b/index.html": "2" * 64}
    return index.Detail(
        bundles={
            "key-a": index.Bundle({"coalitions/a/index.html": "1" * 64}, dict(EXTRAS)),
            "key-b": index.Bundle({"coalitions/b/index.html": "2" * 64}, {}),
        },
        coalitions=(
            index.Recorded("a", "coalitions/a.yaml", ("key-a", "p-a"), "l-a", "A", ("x",), 2),
        ),
        site=site,
        spare=write.Spare(dict(site), "tree"),
    )


def _recorded(tmp_path: Path) -> tuple[Cache, Path, index.Saved]:
    """A cache holding the index of a build into tmp_path/site that left `_detail()`."""
    store = Cache(tmp_path / "cache", b"k" * 32)
    out = tmp_path / "site"
    summary = index.Summary(2, 10, 2, 2, 0, 0, ())
    index.record(store, out, False, index.Snapshot({}, "setting", "UTC"), summary, _detail())
    saved = index.read(store, out, False)
    assert saved is not None
    return store, out, saved


def test_the_detail_recorded_is_the_detail_read(tmp_path: Path) -> None:
    store, out, saved = _recorded(tmp_path)
    assert index.details(store, out, False, saved) == _detail()


def test_by_products_cut_short_are_refused_or_fewer() -> None:
    framed = index._framed(_detail().bundles)
    assert index._unframe(framed) == {"key-a": EXTRAS, "key-b": {}}
    for cut in range(len(framed)):
        try:
            read = index._unframe(framed[:cut])
        except ValueError:
            continue
        assert read in ({}, {"key-a": EXTRAS})  # ends between two bundles: one is missing


def _shard(store: Cache, out: Path) -> Path:
    """The file of the one shard of by-products `_detail()` has."""
    entry = store.get(index._detail_key(out, False))
    assert entry is not None
    (name,) = marshal.loads(entry["detail.marshal"])["shards"].values()
    return store._path(index._extras_key(out, False, name))


def test_a_detail_whose_by_products_are_missing_is_not_used(tmp_path: Path) -> None:
    store, out, saved = _recorded(tmp_path)
    _shard(store, out).unlink()
    assert index.details(store, out, False, saved) is None


def test_a_detail_whose_by_products_are_cut_short_is_not_used(tmp_path: Path) -> None:
    store, out, saved = _recorded(tmp_path)
    shard = _shard(store, out)
    shard.write_bytes(shard.read_bytes()[:-40])  # the seal no longer matches
    assert index.details(store, out, False, saved) is None


def test_only_the_shards_of_changed_by_products_are_written_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = Cache(tmp_path / "cache", b"k" * 32)
    out = tmp_path / "site"
    rows = {f"{digit}{n}": {".rows": f"row {digit}{n}"} for digit in "0af" for n in range(3)}
    bundles = {key: index.Bundle({}, extra) for key, extra in rows.items()}
    summary = index.Summary(0, 0, 0, 0, 0, 0, ())
    snapshot = index.Snapshot({}, "setting", "UTC")

    def recorded() -> index.Detail:
        saved = index.read(store, out, False)
        assert saved is not None
        detail = index.details(store, out, False, saved)
        assert detail is not None
        return detail

    index.record(store, out, False, snapshot, summary, index.Detail(bundles, (), {}, None))
    before = recorded()
    assert before == index.Detail(bundles, (), {}, None)
    assert sorted(before.shards) == ["0", "a", "f"]
    written: list[str] = []
    put = store.put

    def counted(key: str, files: dict[str, bytes]) -> None:
        written.append(key)
        put(key, files)

    monkeypatch.setattr(store, "put", counted)
    changed = {**bundles, "a1": index.Bundle({}, {".rows": "row a1, changed"})}
    index.record(store, out, False, snapshot, summary, index.Detail(changed, (), {}, None), before)
    after = recorded()
    assert written == [
        index._extras_key(out, False, after.shards["a"]),  # the one shard that changed
        index._detail_key(out, False),
        index._key(out, False),
    ]
    assert after == index.Detail(changed, (), {}, None)
    assert {shard: after.shards[shard] for shard in "0f"} == {s: before.shards[s] for s in "0f"}


@pytest.mark.parametrize("data", [b"\x00\x00\x00\x05ab", b"\x00\x00", b"\x00\x00\x00\x01\xff"])
def test_garbled_by_products_are_an_error(data: bytes) -> None:
    with pytest.raises(ValueError, match=r"end early|decode"):  # UnicodeDecodeError is one
        index._unframe(data)


def test_the_weasyprint_version_is_the_one_its_record_gives(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import importlib.util
    from importlib.metadata import version

    assert index.weasyprint_version() == version("weasyprint")
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)  # not found that way
    assert index.weasyprint_version() == version("weasyprint")
