"""content.py: the guidance pages, laid out or taken from the cache, are the same."""

from __future__ import annotations

from pathlib import Path

from playbook_builder import advise, content
from playbook_builder.cache import Cache
from playbook_builder.workspace import builtin_dir

CONTEXT = {"t": advise.THRESHOLDS}


def _guide(folder: Path, store: Cache | None) -> tuple[content.GuidePage, ...]:
    return content.load_guide(
        [folder, builtin_dir("content")], CONTEXT, content.Markdown(), folder.parent, store
    )


def test_the_guide_taken_from_the_cache_is_the_guide_laid_out(tmp_path: Path) -> None:
    folder = tmp_path / "content"
    folder.mkdir()
    page = folder / "models.md"
    page.write_text(
        "---\norder: 3\n---\n# Our models\n\n"
        "Bridge from {{ t.values_bridge_from }}.\n\n## More\n\nText.\n"
    )
    store = Cache(tmp_path / "cache", b"k" * 32)
    laid_out = _guide(folder, None)
    assert _guide(folder, store) == laid_out  # stored
    hits = store.hits
    assert _guide(folder, store) == laid_out  # taken from the store
    assert store.hits == hits + len(laid_out)
    assert "Bridge from 12." in next(p for p in laid_out if p.name == "models").html
    page.write_text("# Our models, again\n\nOther text.\n")  # laid out again
    again = _guide(folder, store)
    assert again == _guide(folder, None)
    mine = next(p for p in again if p.name == "models")
    assert mine.title == "Our models, again"
    assert mine.edit == "content/models.md"
