"""Compiled templates kept between runs: a later renderer uses them instead of compiling,
lays out the same bytes, and never uses an entry that is stale, altered or another
environment's."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
from jinja2 import Environment

from playbook_builder import render
from playbook_builder.model import SiteConfig
from playbook_builder.workspace import builtin_dir

CONFIG = SiteConfig(title="T", organization="Org")


def _renderer(*extra: Path) -> render.Renderer:
    return render.Renderer([*extra, builtin_dir("templates")], CONFIG, date(2026, 11, 25))


@pytest.fixture
def compiled(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the templates Jinja compiles from their text, as it compiles them."""
    names: list[str] = []
    compile_ = Environment.compile

    def counting(self: Environment, source: str, name: str | None = None, *a: Any) -> Any:
        names.append(str(name))
        return compile_(self, source, name, *a)

    monkeypatch.setattr(Environment, "compile", counting)
    return names


def _entries(cache: Path) -> list[Path]:
    return [p for p in (cache / "tool").rglob("*") if p.is_file() and p.parent.name != "tool"]


def test_a_later_renderer_uses_the_compiled_templates(compiled: list[str]) -> None:
    first = _renderer().fragment("_words.html")
    assert "_words.html" in compiled
    compiled.clear()
    assert _renderer().fragment("_words.html") == first
    assert compiled == []


def test_an_edited_template_is_compiled_again(tmp_path: Path, compiled: list[str]) -> None:
    ours = tmp_path / "templates"
    ours.mkdir()
    (ours / "note.html").write_text("first {{ 1 + 1 }}")
    assert _renderer(ours).fragment("note.html") == "first 2"
    (ours / "note.html").write_text("second {{ 2 + 2 }}")
    compiled.clear()
    assert _renderer(ours).fragment("note.html") == "second 4"
    assert compiled == ["note.html"]


def test_an_altered_entry_is_compiled_again(
    own_cache: Path, tmp_path: Path, compiled: list[str]
) -> None:
    ours = tmp_path / "templates"
    ours.mkdir()
    (ours / "note.html").write_text("kept {{ 3 * 3 }}")
    assert _renderer(ours).fragment("note.html") == "kept 9"
    entries = _entries(own_cache)
    assert entries
    for entry in entries:  # a byte changed inside the code: the seal no longer fits
        data = bytearray(entry.read_bytes())
        data[len(data) // 2] ^= 0x01
        entry.write_bytes(bytes(data))
    compiled.clear()
    assert _renderer(ours).fragment("note.html") == "kept 9"
    assert compiled == ["note.html"]


def test_the_sandbox_keeps_its_own_compiled_templates(tmp_path: Path, compiled: list[str]) -> None:
    plain = _renderer()  # the built-in templates only: the plain environment
    plain.fragment("_words.html")
    ours = tmp_path / "templates"
    ours.mkdir()
    sandboxed = _renderer(ours)  # a workspace's templates: the sandboxed environment
    assert type(sandboxed.env) is not type(plain.env)
    compiled.clear()
    assert sandboxed.fragment("_words.html") == plain.fragment("_words.html")
    assert compiled == ["_words.html"]
