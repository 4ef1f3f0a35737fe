"""content.py: the guidance pages, laid out or taken from the cache, are the same."""

from __future__ import annotations

from pathlib import Path

import pytest

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
    models = next(p for p in laid_out if p.name == "models")
    assert "Bridge from 12." in models.html
    # the words of each section, for the search index, kept with the page
    assert [s.words for s in models.sections] == ["Bridge from 12.", "Text."]
    page.write_text("# Our models, again\n\nOther text.\n")  # laid out again
    again = _guide(folder, store)
    assert again == _guide(folder, None)
    mine = next(p for p in again if p.name == "models")
    assert mine.title == "Our models, again"
    assert mine.edit == "content/models.md"


def test_user_text_laid_out_again_is_what_it_was_the_first_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The HTML of user text is kept and reused (the MOU's standard clauses repeat in every
    coalition): every text, repeated or not, and past the number kept, comes out as a
    renderer that has seen nothing else makes it."""
    monkeypatch.setattr(content, "_USER_TEXTS_KEPT", 3)
    texts = [
        "Each partner bears its own costs.",
        "See [the plan](https://example.org/plan) *now*.",
        "Each partner bears its own costs.",
        "1. first\n2. second",
        "<script>alert(1)</script> & more",
        "See [the plan](https://example.org/plan) *now*.",
        "Each partner bears its own costs.",
    ]
    kept = content.Markdown()
    laid_out = [kept.user(text) for text in texts]
    assert laid_out == [content.Markdown().user(text) for text in texts]
    assert 'rel="nofollow noopener noreferrer"' in laid_out[5]
    assert "<script>" not in laid_out[4]
