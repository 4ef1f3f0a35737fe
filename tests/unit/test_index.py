"""index.py: the detail a build records is the detail the next one reads, by-products and
all; by-products cut short are never read as something else."""

from __future__ import annotations

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


def test_a_detail_whose_by_products_are_missing_is_not_used(tmp_path: Path) -> None:
    store, out, saved = _recorded(tmp_path)
    key = index._detail_key(out, False)
    entry = store.get(key)
    assert entry is not None
    cut = {"detail.json": entry["detail.json"], "extras": entry["extras"][:-3]}
    store.put(key, cut)
    forged = index.Saved(saved.summary, saved.snapshot, saved.state, index._detail_digest(cut))
    assert index.details(store, out, False, forged) is None


@pytest.mark.parametrize("data", [b"\x00\x00\x00\x05ab", b"\x00\x00", b"\x00\x00\x00\x01\xff"])
def test_garbled_by_products_are_an_error(data: bytes) -> None:
    with pytest.raises(ValueError, match=r"end early|decode"):  # UnicodeDecodeError is one
        index._unframe(data)
