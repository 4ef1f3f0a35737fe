"""The build cache: each kind of input changes exactly the outputs that depend on it, a
cached build is byte for byte a clean build, and a corrupt or foreign cache is ignored."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from playbook_builder import build, cache, index
from tests.conftest import REPO

pytestmark = pytest.mark.slow  # end to end: the CLI, builds, WeasyPrint or a browser

TODAY = "2026-11-25"
SLUGS = ("dignity-in-detention", "fair-trade-pact", "housing-for-health")


def _outputs(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()
    }


def _build(root: Path, out: Path, *, pdf: bool = False, cache: bool = True) -> build.Built:
    import datetime

    day = datetime.date.fromisoformat(TODAY)
    return build.build(root, out, day, pdf=pdf, use_cache=cache, jobs=2)


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    root.mkdir()
    shutil.copy(REPO / "playbook.yaml", root / "playbook.yaml")
    shutil.copytree(REPO / "coalitions", root / "coalitions")
    return root


def _coalition_pages(slug: str) -> set[str]:
    names = (
        "index.html",
        "mou.html",
        "history.html",
        "changes.html",
        "coalition.json",
        "calendar.ics",
    )
    return {f"coalitions/{slug}/{name}" for name in names}


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text() if path.is_file() else ""
    assert old in text or not old, old
    path.write_text(text.replace(old, new, 1) if old else new)


def _template(root: Path, name: str, old: str, new: str) -> None:
    target = root / "templates" / name
    target.parent.mkdir(parents=True, exist_ok=True)
    if not target.exists():
        shutil.copy(REPO / "templates" / name, target)
    _edit(target, old, new)


def _content(root: Path, name: str, old: str, new: str) -> None:
    target = root / "content" / name
    target.parent.mkdir(parents=True, exist_ok=True)
    if not target.exists():
        shutil.copy(REPO / "content" / name, target)
    _edit(target, old, new)


Change = Callable[[Path], None]
CHANGES: list[tuple[str, Change, Callable[[set[str]], set[str]]]] = [
    (
        "coalition file",
        lambda root: _edit(
            root / "coalitions/fair-trade-pact.yaml", "cadence: weekly", "cadence: biweekly"
        ),
        # its own pages but history.html, both calendars, and the upcoming check-ins
        lambda every: (
            (_coalition_pages("fair-trade-pact") - {"coalitions/fair-trade-pact/history.html"})
            | {"calendar.ics", "reviews.html"}
        ),
    ),
    (
        "coalition file, outside the agreement",
        lambda root: _edit(
            root / "coalitions/fair-trade-pact.yaml",
            "exploratory-meeting: {done: 2026-11-02}",
            "exploratory-meeting: {done: 2026-11-03}",
        ),
        lambda every: {
            "coalitions/fair-trade-pact/index.html",
            "coalitions/fair-trade-pact/coalition.json",
        },
    ),
    (
        "template",
        lambda root: _template(
            root,
            "mou.html",
            "Memorandum of understanding",
            "Memorandum of understanding (working copy)",
        ),
        lambda every: {f"coalitions/{slug}/mou.html" for slug in SLUGS},
    ),
    (
        "content file",
        lambda root: _content(root, "faq.md", "A clear purpose.", "A clear, shared purpose."),
        lambda every: {"guide/faq.html", "assets/search-index.js"},
    ),
    (
        "setting",
        lambda root: _edit(
            root / "playbook.yaml", "Riverbend Community Foundation", "Riverbend Foundation"
        ),
        lambda every: {name for name in every if name.endswith(".html")},
    ),
]


@pytest.mark.parametrize(
    ("change", "expected"), [c[1:] for c in CHANGES], ids=[c[0] for c in CHANGES]
)
def test_a_change_rebuilds_exactly_what_depends_on_it(
    workspace: Path, tmp_path: Path, change: Change, expected: Callable[[set[str]], set[str]]
) -> None:
    out = tmp_path / "site"
    _build(workspace, out)
    before = _outputs(out)
    again = _build(workspace, out)
    assert again.cached == 3
    assert _outputs(out) == before  # a no-op rebuild changes nothing
    change(workspace)
    _build(workspace, out)
    after = _outputs(out)
    changed = {name for name in after if before.get(name) != after[name]}
    assert changed == expected(set(after))
    clean = tmp_path / "clean"
    _build(workspace, clean, cache=False)
    assert _outputs(clean) == after  # cached == clean, byte for byte


def test_cached_packets_equal_clean_packets(workspace: Path, tmp_path: Path) -> None:
    first = _build(workspace, tmp_path / "a", pdf=True)
    assert first.cached == 0
    _edit(workspace / "coalitions/fair-trade-pact.yaml", "cadence: weekly", "cadence: biweekly")
    second = _build(workspace, tmp_path / "a", pdf=True)
    assert second.cached == 2  # only the edited coalition rendered again
    assert second.pages == first.pages
    _build(workspace, tmp_path / "b", pdf=True, cache=False)
    assert _outputs(tmp_path / "a") == _outputs(tmp_path / "b")


def test_a_corrupt_or_foreign_cache_is_ignored(workspace: Path, tmp_path: Path) -> None:
    _build(workspace, tmp_path / "a")
    entries = sorted(p for p in cache.location(workspace).rglob("*") if p.is_file())
    assert entries
    for number, entry in enumerate(entries):
        data = bytearray(entry.read_bytes())
        if number % 3 == 0:
            data = data[: len(data) // 2]  # truncated
        elif number % 3 == 1:
            data[len(data) // 2] ^= 0xFF  # altered
        else:
            entry.rename(entries[0].parent / ("ff" + entry.name[2:]))  # stored under a foreign key
            continue
        entry.write_bytes(bytes(data))
    rebuilt = _build(workspace, tmp_path / "a")
    assert rebuilt.cached == 0
    _build(workspace, tmp_path / "b", cache=False)
    assert _outputs(tmp_path / "a") == _outputs(tmp_path / "b")


def test_cached_loading_equals_fresh_loading(workspace: Path) -> None:
    from playbook_builder import load
    from playbook_builder import workspace as ws
    from playbook_builder.cache import Cache
    from playbook_builder.cached import cached_loader

    found = ws.find(workspace)
    store = Cache.for_workspace(workspace)
    first = load.load_workspace(found, cached_loader(store))
    again = load.load_workspace(found, cached_loader(store))
    assert store.hits == 3
    assert again == first == load.load_workspace(found)


def test_a_loaded_file_entry_that_does_not_fit_is_loaded_again(workspace: Path) -> None:
    """Sealed entries whose record or positions are not what the load cache writes (as
    after a change of format) are passed over: the file is parsed again."""
    import marshal

    from playbook_builder import load
    from playbook_builder import workspace as ws
    from playbook_builder.cache import Cache
    from playbook_builder.cached import cached_loader

    found = ws.find(workspace)
    store = Cache.for_workspace(workspace)
    keys: dict[str, str] = {}
    fresh = load.load_workspace(found, cached_loader(store, keys=keys))
    entries = [store.get(key) for key in sorted(keys.values())]
    assert all(entry is not None and set(entry) == {"loaded.marshal"} for entry in entries)
    slug, path, source, plain, _, at = marshal.loads(entries[1]["loaded.marshal"])  # type: ignore[index]
    old = {"coalition.json": b"{}", "located.marshal": marshal.dumps(({}, {}))}  # format before
    for unfit in [
        [
            {"loaded.marshal": marshal.dumps(("a", "b", "c", {}, {}, {}))},  # not its record
            {"loaded.marshal": marshal.dumps((slug, path, source, plain, [1, 2], at))},
            {"loaded.marshal": b"\xff not marshal"},
        ],
        [old, old, old],
    ]:
        for key, entry in zip(sorted(keys.values()), unfit, strict=True):
            store.put(key, entry)
        assert load.load_workspace(found, cached_loader(store)) == fresh
        assert [store.get(key) for key in sorted(keys.values())] == entries  # stored again


def test_a_build_stores_every_file_it_loaded(workspace: Path, tmp_path: Path) -> None:
    """Files loaded afresh are stored by the workers beside their pages (nine coalitions
    are enough for a pool), or by the build itself when no page of theirs is made."""
    from playbook_builder import load
    from playbook_builder import workspace as ws
    from playbook_builder.cache import Cache
    from playbook_builder.cached import cached_loader

    for slug in SLUGS:
        for copy in (2, 3):
            source = workspace / "coalitions" / f"{slug}.yaml"
            text = source.read_text().replace("\nname: ", f"\nname: Copy {copy} of ", 1)
            source.with_name(f"{slug}-{copy}.yaml").write_text(text)

    def hits() -> int:  # loads through the cache, storing nothing
        store = Cache.for_workspace(workspace)
        load.load_workspace(ws.find(workspace), cached_loader(store, later={}))
        return store.hits

    _build(workspace, tmp_path / "a")
    assert hits() == 9
    store = Cache.for_workspace(workspace)
    for entry in (store.folder or tmp_path).glob("v2/*/*"):  # forget the loaded files only
        files = store.get(entry.parent.name + entry.name)
        if files is not None and "loaded.marshal" in files:
            entry.unlink()
    assert hits() == 0
    again = _build(workspace, tmp_path / "b")  # elsewhere: not a no-op, pages cached
    assert again.cached == 9
    assert not again.unchanged
    assert hits() == 9  # no page was made: the build stored them itself
    _build(workspace, tmp_path / "c", cache=False)
    assert _outputs(tmp_path / "a") == _outputs(tmp_path / "b") == _outputs(tmp_path / "c")


def test_files_kept_in_place_stay_in_the_cache(workspace: Path, tmp_path: Path) -> None:
    """A build that keeps a coalition's files where they are does not read its cache
    entries, and must not prune them either: they are what a build falls back on."""
    _build(workspace, tmp_path / "a")
    _edit(workspace / "coalitions" / "fair-trade-pact.yaml", "purpose: ", "purpose: Again, ")
    assert _build(workspace, tmp_path / "a").cached == 2  # two kept, one laid out again
    assert _build(workspace, tmp_path / "b").cached == 3  # elsewhere: all from the cache


def test_a_build_without_packets_keeps_the_cached_packets(workspace: Path, tmp_path: Path) -> None:
    import datetime

    _build(workspace, tmp_path / "a", pdf=True)
    _build(workspace, tmp_path / "b")  # a quick look without packets
    printed: list[str] = []
    day = datetime.date.fromisoformat(TODAY)
    build.build(workspace, tmp_path / "c", day, on_packet=lambda *done: printed.append(done[2]))
    assert printed == []  # every packet came from the cache
    assert _outputs(tmp_path / "a") == _outputs(tmp_path / "c")


def test_a_build_leaves_no_copies_of_the_fonts(workspace: Path, tmp_path: Path) -> None:
    """WeasyPrint copies the packet's fonts into a temporary folder: each process that
    prints (the workers, or the build itself for one packet) deletes its copy as it ends."""
    import os
    import subprocess
    import sys

    temporary = tmp_path / "temporary"
    temporary.mkdir()

    def playbook_build() -> None:
        command = [sys.executable, "-m", "playbook_builder", "-q", "build"]
        command += ["--root", str(workspace), "--today", TODAY]
        env = {**os.environ, "TMPDIR": str(temporary)}
        subprocess.run(command, check=True, env=env, capture_output=True)

    playbook_build()  # three packets: the workers print
    assert list(temporary.iterdir()) == []
    _edit(workspace / "coalitions" / "fair-trade-pact.yaml", "purpose: ", "purpose: Again, ")
    playbook_build()  # one packet, in two parts: the workers, or the build itself
    assert list(temporary.iterdir()) == []


# --- the build index: a no-op reads nothing but stamps -------------------------------------


def _git(root: Path, *args: str) -> None:
    import subprocess

    subprocess.run(
        ["git", "-C", str(root), "-c", "user.name=T", "-c", "user.email=t@example.org", *args],
        check=True,
        capture_output=True,
    )


def _copy(source: Path, target: Path) -> None:
    shutil.copy(source, target)


INDEX_CHANGES: list[tuple[str, Change]] = [
    (
        "coalition, same size",
        lambda root: _edit(
            root / "coalitions/fair-trade-pact.yaml",
            "exploratory-meeting: {done: 2026-11-02}",
            "exploratory-meeting: {done: 2026-11-03}",
        ),
    ),
    (
        "coalition added",
        lambda root: _copy(REPO / "tests/data/minimal.yaml", root / "coalitions/new-one.yaml"),
    ),
    ("coalition removed", lambda root: (root / "coalitions/fair-trade-pact.yaml").unlink()),
    (
        "content",
        lambda root: _content(root, "faq.md", "A clear purpose.", "A clear, shared purpose."),
    ),
    (
        "template",
        lambda root: _template(root, "mou.html", "Memorandum of understanding", "MOU"),
    ),
    ("setting", lambda root: _edit(root / "playbook.yaml", "Riverbend Community", "Riverbend")),
    ("git commit", lambda root: _git(root, "commit", "-q", "--allow-empty", "-m", "later")),
    ("site edited", lambda root: _edit(root / "site/index.html", "</html>", "</html>\n")),
    ("site file removed", lambda root: (root / "site/assets/style.css").unlink()),
]


@pytest.fixture
def committed(workspace: Path) -> Path:
    _git(workspace, "init", "-q")
    _git(workspace, "add", ".")
    _git(workspace, "commit", "-q", "-m", "start")
    return workspace


def test_a_no_op_build_loads_renders_and_writes_nothing(
    committed: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = committed / "site"
    first = _build(committed, out)
    assert not first.unchanged
    before = _outputs(out)
    state = (committed / ".site.state").stat().st_mtime_ns
    for path in (committed / "coalitions").iterdir():
        path.touch()  # a new stamp, the same bytes: hashed, found the same
    monkeypatch.setattr(build, "prepare", lambda *a, **k: pytest.fail("loaded the workspace"))
    monkeypatch.setattr(index, "details", lambda *a, **k: pytest.fail("read the index's detail"))
    again = _build(committed, out)
    assert again.unchanged
    assert (again.files, again.coalitions, again.pages) == (first.files, 3, first.pages)
    assert _outputs(out) == before
    assert (committed / ".site.state").stat().st_mtime_ns == state


@pytest.mark.parametrize("change", [c[1] for c in INDEX_CHANGES], ids=[c[0] for c in INDEX_CHANGES])
def test_every_kind_of_change_ends_the_no_op(
    committed: Path, tmp_path: Path, change: Change
) -> None:
    out = committed / "site"
    _build(committed, out)
    assert _build(committed, out).unchanged
    change(committed)
    rebuilt = _build(committed, out)
    assert not rebuilt.unchanged
    assert _build(committed, out).unchanged  # and the next one is a no-op again
    _build(committed, tmp_path / "clean", cache=False)
    assert _outputs(out) == _outputs(tmp_path / "clean")


def test_another_date_or_option_is_not_the_same_build(committed: Path) -> None:
    import datetime

    out = committed / "site"
    _build(committed, out)
    later = build.build(committed, out, datetime.date(2026, 11, 26), pdf=False, jobs=2)
    assert not later.unchanged
    assert later.today == datetime.date(2026, 11, 26)
    assert not _build(committed, out).unchanged  # back to the 25th
    assert not _build(committed, committed / "elsewhere").unchanged


def _forge(root: Path, holding: bytes, old: bytes, new: bytes) -> None:
    """Edit, in place, the cache entries of the workspace `root` that hold `holding`."""
    for entry in cache.location(root).rglob("*"):
        if entry.is_file() and holding in entry.read_bytes():
            entry.write_bytes(entry.read_bytes().replace(old, new))


def test_a_forged_index_is_not_believed(committed: Path) -> None:
    out = committed / "site"
    _build(committed, out)
    _forge(committed, b"index.json", b'"coalitions": 3', b'"coalitions": 9')
    assert not _build(committed, out).unchanged


def test_without_weasyprint_the_site_is_built_and_packets_skipped(
    workspace: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import datetime

    monkeypatch.setattr(build, "weasyprint_missing", lambda *_: "warning: packets skipped (test)")
    out = tmp_path / "site"
    made = build.build(workspace, out, datetime.date.fromisoformat(TODAY), pdf=True, jobs=2)
    assert made.packets == 0
    assert made.notices[-1] == "warning: packets skipped (test)"
    assert not list(out.rglob("*.pdf"))
    _build(workspace, tmp_path / "html")
    assert _outputs(out) == _outputs(tmp_path / "html")  # the site as with --no-pdf
    assert not build.build(workspace, out, datetime.date.fromisoformat(TODAY)).unchanged


def _staged(root: Path, out: Path) -> tuple[build.Built, dict[str, str]]:
    """A build without packets, and what each of its stages said it handled."""
    import datetime

    from playbook_builder.checks import Stages

    stages = Stages()
    day = datetime.date.fromisoformat(TODAY)
    built = build.build(root, out, day, pdf=False, jobs=2, stages=stages)
    return built, {name: what for name, _, what in stages.done}


@pytest.fixture
def crowded(workspace: Path) -> Path:
    """Five coalitions; the organisations of fair-trade-pact are in three of them (A602)."""
    pact = (workspace / "coalitions/fair-trade-pact.yaml").read_text()
    for number in (2, 3):
        copy = pact.replace("name: Clean Jobs Trade Campaign", f"name: Trade Campaign {number}")
        (workspace / f"coalitions/trade-{number}.yaml").write_text(copy)
    return workspace


def test_a_build_loads_only_the_coalition_that_changed(crowded: Path, tmp_path: Path) -> None:
    out = tmp_path / "site"
    first, said = _staged(crowded, out)
    assert said["load"].startswith("5 coalition files")
    _edit(crowded / "coalitions/trade-2.yaml", "purpose: ", "purpose: Again, ")
    again, said = _staged(crowded, out)
    assert said["load"] == "1 coalition files, 0 from the cache (4 unchanged, not loaded)"
    assert (again.coalitions, again.advisories) == (5, first.advisories)
    clean = tmp_path / "clean"
    _build(crowded, clean, cache=False)
    assert _outputs(out) == _outputs(clean)  # its A602 advice counts the unloaded ones
    assert "also in 2 other coalitions" in (out / "coalitions/trade-2/index.html").read_text()

    # the files not loaded stay in the load cache: a build that loads every file again
    # (a template changed) takes them from there
    _template(crowded, "mou.html", "Memorandum of understanding", "MOU")
    _, said = _staged(crowded, out)
    assert said["load"] == "5 coalition files, 5 from the cache"


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("name: United Steelworkers Local 1187", "name: Steelworkers Local 9"),
        ("name: Trade Campaign 2", "name: Trade Campaign Two"),
        (
            "    status: committed\n  - id: valley-makers",
            "    status: suspended\n  - id: valley-makers",
        ),
        ("status: forming", "status: dissolved"),
    ],
    ids=["a partner's name", "the coalition's name", "a partner's vote", "dissolved"],
)
def test_a_change_that_other_coalitions_advice_sees_loads_them_all(
    crowded: Path, tmp_path: Path, old: str, new: str
) -> None:
    out = tmp_path / "site"
    _staged(crowded, out)
    before = (out / "coalitions/trade-3/index.html").read_text()
    _edit(crowded / "coalitions/trade-2.yaml", old, new)
    _, said = _staged(crowded, out)
    assert said["load"].startswith("5 coalition files")
    clean = tmp_path / "clean"
    _build(crowded, clean, cache=False)
    assert _outputs(out) == _outputs(clean)
    assert (out / "coalitions/trade-3/index.html").read_text() != before


def test_a_changed_name_that_another_coalition_has_is_refused(
    crowded: Path, tmp_path: Path
) -> None:
    from playbook_builder.errors import ContractError

    out = tmp_path / "site"
    _staged(crowded, out)
    before = _outputs(out)
    _edit(crowded / "coalitions/trade-3.yaml", "name: Trade Campaign 3", "name: Trade Campaign 2")
    with pytest.raises(ContractError) as failed:
        _staged(crowded, out)
    assert [(p.field, p.found) for p in failed.value.problems] == [
        ("name", '"Trade Campaign 2", the name of coalitions/trade-2.yaml too')
    ]
    assert _outputs(out) == before


def test_a_change_that_changes_no_output_writes_nothing(crowded: Path, tmp_path: Path) -> None:
    _git(crowded, "init", "-q")
    _git(crowded, "add", ".")
    _git(crowded, "commit", "-q", "-m", "start")
    _edit(crowded / "coalitions/trade-2.yaml", "purpose: ", "purpose: Again, ")
    out = tmp_path / "site"
    _staged(crowded, out)  # trade-2 has uncommitted changes
    before = _outputs(out)
    with (crowded / "coalitions/trade-2.yaml").open("a") as stream:
        stream.write("# a note for the team\n")  # more of them, and no page shows it
    _, said = _staged(crowded, out)
    assert said["load"].startswith("1 coalition files")
    assert said["write"] == "already there"
    assert _outputs(out) == before
    assert _build(crowded, out).unchanged  # the output folder is recorded as it is now


def test_a_forged_detail_is_not_believed(crowded: Path, tmp_path: Path) -> None:
    out = tmp_path / "site"
    _staged(crowded, out)
    _forge(crowded, b"detail.marshal", b"advisories", b"advisorieZ")
    _edit(crowded / "coalitions/trade-2.yaml", "purpose: ", "purpose: Again, ")
    built, said = _staged(crowded, out)
    assert said["load"].startswith("5 coalition files")  # everything, as with no index
    clean = tmp_path / "clean"
    _build(crowded, clean, cache=False)
    assert _outputs(out) == _outputs(clean)
    assert built.advisories == _build(crowded, clean, cache=False).advisories


def test_the_detail_read_in_the_background_fails_the_build_as_it_would(
    crowded: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The last build's detail is read in a thread while the build imports what renders:
    what goes wrong there is raised in the build, not lost with the thread."""
    from playbook_builder import index
    from playbook_builder.errors import PlaybookError

    out = tmp_path / "site"
    _staged(crowded, out)
    _edit(crowded / "coalitions/trade-2.yaml", "purpose: ", "purpose: Again, ")
    import datetime

    looked = index.look(crowded, out, False, datetime.date.fromisoformat(TODAY), True)
    assert looked.reading is not None  # a change to build: the detail is being read
    assert looked.saved is not None
    assert looked.detail(False) == index.details(looked.store, looked.out, False, looked.saved)

    def unreadable(*_: object) -> None:
        raise PlaybookError("the index detail cannot be read")

    monkeypatch.setattr(index, "details", unreadable)
    with pytest.raises(PlaybookError, match="cannot be read"):
        _staged(crowded, out)
