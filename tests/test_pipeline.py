"""One pipeline: the preview server lays out exactly what the build writes."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest

from playbook_builder import build
from playbook_builder.serve import LiveSite

pytestmark = pytest.mark.slow  # end to end: the CLI, builds, WeasyPrint or a browser

TODAY = datetime.date(2026, 11, 25)


def _files(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()
    }


def test_serve_and_build_give_the_same_bytes(sample: Path, tmp_path: Path) -> None:
    build.build(sample, tmp_path / "site", TODAY, use_cache=False)
    built = _files(tmp_path / "site")
    site = LiveSite(sample, TODAY)
    site.rebuild()
    assert site.error == ""
    packets = {name: data for name, data in built.items() if name.endswith("-mou.pdf")}
    assert len(packets) == 3
    briefs = {n: d for n, d in built.items() if n.endswith(("-briefing.pdf", "-mou.docx"))}
    assert len(briefs) == 6
    built = {name: data for name, data in built.items() if name not in briefs}
    assert site.pages == {name: data for name, data in built.items() if name not in packets}
    for name, data in packets.items():
        assert site.packet(name.split("/")[1]) == data, name
    for name, data in briefs.items():
        kind = "docx" if name.endswith(".docx") else "briefing"
        assert site.packet(name.split("/")[1], kind) == data, name


def test_a_live_rebuild_lays_out_only_what_changed(sample: Path) -> None:
    lines: list[str] = []
    site = LiveSite(sample, TODAY, lines.append)
    site.rebuild()
    assert lines[-1].endswith("3 of 3 coalitions laid out again.")
    before = dict(site.pages)
    path = sample / "coalitions/fair-trade-pact.yaml"
    path.write_text(path.read_text().replace("cadence: weekly", "cadence: biweekly"))
    site.rebuild([path])
    assert lines[-1].endswith("1 of 3 coalitions laid out again.")
    changed = {name for name in site.pages if site.pages[name] != before.get(name)}
    assert changed
    assert all(not n.startswith("coalitions/") or "/fair-trade-pact/" in n for n in changed)


def test_a_bad_edit_keeps_the_last_good_pages(sample: Path) -> None:
    site = LiveSite(sample, TODAY)
    site.rebuild()
    good = dict(site.pages)
    path = sample / "coalitions/fair-trade-pact.yaml"
    path.write_text(path.read_text().replace("status:", "status: [", 1))
    site.rebuild([path])
    assert "coalitions/fair-trade-pact.yaml" in site.error
    assert site.pages == good
