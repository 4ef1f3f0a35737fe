"""write.py: the output folder, all or nothing, never through a link."""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest

from playbook_builder import write
from playbook_builder.errors import PlaybookError


def _tree(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()
    }


def test_a_site_replaces_the_previous_one_whole(tmp_path: Path) -> None:
    out = tmp_path / "site"
    assert write.write_site({"a.html": b"1", "x/b.html": b"2"}, out)
    assert write.write_site({"a.html": b"1", "c.html": b"3"}, out)
    assert _tree(out) == {"a.html": b"1", "c.html": b"3"}  # x/b.html of the old site is gone
    assert sorted(p.name for p in tmp_path.iterdir()) == [".site.state", "site"]


def test_an_unchanged_site_is_not_written_again(tmp_path: Path) -> None:
    out = tmp_path / "site"
    write.write_site({"a.html": b"1"}, out)
    assert not write.write_site({"a.html": b"1"}, out)
    (out / "a.html").write_bytes(b"edited by hand")
    assert write.write_site({"a.html": b"1"}, out)
    assert _tree(out) == {"a.html": b"1"}


def test_names_cannot_leave_the_output(tmp_path: Path) -> None:
    with pytest.raises(PlaybookError, match="outside the output folder"):
        write.write_site({"../escape.html": b"x"}, tmp_path / "site")
    assert not (tmp_path / "escape.html").exists()


@pytest.mark.parametrize(
    "name", ["site", ".site.lock", ".site.state", ".site.old-1", ".site.spare-1"]
)
def test_links_where_a_build_writes_are_refused(tmp_path: Path, name: str) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (tmp_path / name).symlink_to(elsewhere)
    with pytest.raises(PlaybookError, match="refusing to write through the symbolic link"):
        write.check_target(tmp_path / "site", tmp_path)


def test_a_linked_folder_inside_the_workspace_is_refused(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "public").symlink_to(tmp_path / "real")
    with pytest.raises(PlaybookError, match=str(tmp_path / "public")):
        write.check_target(tmp_path / "public" / "site", tmp_path)


def test_the_workspace_cannot_be_the_output(tmp_path: Path) -> None:
    with pytest.raises(PlaybookError, match="cannot be the output folder"):
        write.check_target(tmp_path, tmp_path)


def test_replace_file_keeps_permissions(tmp_path: Path) -> None:
    path = tmp_path / "a.yaml"
    path.write_text("old")
    path.chmod(0o640)
    write.replace_file(path, b"new", tmp_path)
    assert path.read_bytes() == b"new"
    assert path.stat().st_mode & 0o777 == 0o640
    assert [p.name for p in tmp_path.iterdir()] == ["a.yaml"]


def test_files_handed_over_early_land_with_the_rest(tmp_path: Path) -> None:
    out = tmp_path / "site"
    write.write_site({"a.html": b"old"}, out)
    with write.Staging(out) as staging:
        staging.add("coalitions/x/x-mou.pdf", b"%PDF")
        assert _tree(out) == {"a.html": b"old"}  # nothing shows before the swap
        assert write.write_site({"a.html": b"new"}, out, staging=staging)
    assert _tree(out) == {"a.html": b"new", "coalitions/x/x-mou.pdf": b"%PDF"}
    assert sorted(p.name for p in tmp_path.iterdir()) == [".site.state", "site"]
    with write.Staging(out) as staging:  # the same files again: nothing is swapped
        staging.add("coalitions/x/x-mou.pdf", b"%PDF")
        assert not write.write_site({"a.html": b"new"}, out, staging=staging)
    assert sorted(p.name for p in tmp_path.iterdir()) == [".site.state", "site"]


def test_a_build_that_fails_after_handing_over_files_leaves_the_site(tmp_path: Path) -> None:
    out = tmp_path / "site"
    write.write_site({"a.html": b"old"}, out)

    def half_a_build() -> None:
        with write.Staging(out) as staging:
            staging.add("b.html", b"half a build")
            raise RuntimeError("a template failed")

    with pytest.raises(RuntimeError):
        half_a_build()
    assert _tree(out) == {"a.html": b"old"}
    assert sorted(p.name for p in tmp_path.iterdir()) == [".site.state", "site"]


def _build(out: Path, files: dict[str, bytes], spare: write.Spare | None) -> write.Staging:
    """One build through a staging folder that may take the spare; what it set aside."""
    with write.Staging(out, spare, keep_replaced=True) as staging:
        assert write.write_site(files, out, staging=staging)
    return staging


def test_the_replaced_site_is_the_next_builds_spare(tmp_path: Path) -> None:
    out = tmp_path / "site"
    first = {"a.html": b"1", "x/b.html": b"2", "x/c.html": b"3", "y/d.html": b"4"}
    second = {"a.html": b"1", "x/b.html": b"two", "x/c.html": b"3", "z/e.html": b"5"}
    third = {"a.html": b"one", "x/b.html": b"two", "x/c.html": b"3", "z/e.html": b"5"}
    _build(out, first, None)
    made = _build(out, second, None)
    assert made.set_aside is not None
    assert _tree(tmp_path / ".site.spare") == first  # the replaced site, whole
    kept = (tmp_path / ".site.spare/x/c.html").stat().st_ino
    live_b = (out / "x/b.html").stat().st_ino
    # the third build fills the spare: it rewrites what differs and deletes what is gone
    again = _build(out, third, write.Spare(write.digests(first), made.set_aside))
    assert _tree(out) == third
    assert (out / "x/c.html").stat().st_ino == kept  # the same file, not written again
    assert not (out / "y").exists()  # its only file went, and the folder with it
    assert _tree(tmp_path / ".site.spare") == second  # never written through a shared inode
    assert (tmp_path / ".site.spare/x/b.html").stat().st_ino == live_b
    assert again.set_aside is not None


def test_a_spare_touched_since_it_was_set_aside_is_not_used(tmp_path: Path) -> None:
    out = tmp_path / "site"
    first = {"a.html": b"1", "x/b.html": b"2"}
    _build(out, first, None)
    made = _build(out, {"a.html": b"new", "x/b.html": b"2"}, None)
    assert made.set_aside is not None
    (tmp_path / ".site.spare/x/b.html").write_bytes(b"2 edited")
    (tmp_path / ".site.spare/planted.html").write_bytes(b"<script>")
    spare = write.Spare(write.digests(first), made.set_aside)
    _build(out, {"a.html": b"3", "x/b.html": b"2"}, spare)
    assert _tree(out) == {"a.html": b"3", "x/b.html": b"2"}


def test_without_knowing_the_replaced_site_no_spare_is_kept(tmp_path: Path) -> None:
    out = tmp_path / "site"
    write.write_site({"a.html": b"1"}, out)
    with write.Staging(out) as staging:
        assert write.write_site({"a.html": b"2"}, out, staging=staging)
    assert staging.set_aside is None
    assert sorted(p.name for p in tmp_path.iterdir()) == [".site.state", "site"]


def test_a_site_is_untouched_until_a_file_or_folder_in_it_changes(tmp_path: Path) -> None:
    out = tmp_path / "site"
    write.write_site({"a.html": b"1", "x/b.html": b"2", "x/y/c.html": b"3"}, out)
    state = write.state_of(out)
    assert write.untouched(out, state)
    (out / "x" / "y" / "c.html").write_bytes(b"4")
    assert not write.untouched(out, state)
    write.write_site({"a.html": b"1", "x/b.html": b"2", "x/y/c.html": b"3"}, out)
    state = write.state_of(out)
    (out / "elsewhere").symlink_to(tmp_path, target_is_directory=True)  # a link counts too
    assert not write.untouched(out, state)
    (out / "elsewhere").unlink()
    (out / "x" / "y" / "c.html").rename(out / "x" / "c.html")
    assert not write.untouched(out, state)


def test_a_missing_site_is_an_empty_one(tmp_path: Path) -> None:
    write.write_site({}, tmp_path / "site")
    state = write.state_of(tmp_path / "site")
    (tmp_path / "site").rmdir()
    assert write.untouched(tmp_path / "site", state)


def test_the_states_a_build_tells_without_walking_are_what_a_walk_finds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Builds that change, add and remove files, carry others over from the live site,
    and fill the spare: the new site's state and the spare's, told from the walks before
    the build and the files it touched, are the states a walk finds afterwards."""
    names = ["a.html", "B.html", "x.html", "x/a.html", "x/y/z.html", "x-1/b.html", "x0/c"]
    names += [f"c/{n}/index.html" for n in range(12)] + [f"c/{n}.ics" for n in range(12)]
    rng = random.Random(7)
    out = tmp_path / "site"
    walks: list[str] = []
    walk = write._walk

    def counted(folder: Path | str) -> write.Tree:
        walks.append(Path(folder).name)
        return walk(folder)

    monkeypatch.setattr(write, "_walk", counted)
    site: dict[str, bytes] = {}
    spare = None
    for build in range(16):
        wanted = rng.sample(names, rng.randint(20, len(names)))
        files = {n: site[n] if n in site and rng.random() < 0.8 else os.urandom(8) for n in wanted}
        kept = {n: write.digests({n: b})[n] for n, b in files.items() if site.get(n) == b}
        kept = {n: sha for n, sha in kept.items() if rng.random() < 0.7}  # the rest rewritten
        seen = write.looked(out, write.state_of(out))
        walks.clear()
        with write.Staging(
            out, spare, keep_replaced=seen is not None, seen=seen, spare_new=True
        ) as staging:
            fresh = {n: b for n, b in files.items() if n not in kept}
            assert write.write_site(fresh, out, kept=kept, staging=staging)
        assert _tree(out) == files
        assert write.state_of(out).split("\n")[1] == walk(out.resolve()).state
        assert staging.set_aside == walk(tmp_path / ".site.spare").state
        # the first build links a spare of its own site; the others set the replaced one aside
        held = staging.spare_files if staging.spare_files is not None else write.digests(site)
        assert _tree(tmp_path / ".site.spare") == (files if build == 0 else site)
        assert held == write.digests(_tree(tmp_path / ".site.spare"))
        if build:
            assert walks == [".site.spare"]  # the spare, to take it; nothing after the swap
        spare = write.Spare(held, staging.set_aside)
        site = files


def _linked_pairs(out: Path, spare: Path) -> dict[str, bool]:
    """Each file of `out`: whether the spare holds it as a link to the same file."""
    return {
        name: (spare / name).exists() and (spare / name).samefile(out / name) for name in _tree(out)
    }


def test_a_first_build_links_its_spare_as_it_writes(tmp_path: Path) -> None:
    """No site to set aside: each file is linked in the spare under way when written,
    and the rest (files another process wrote) when the new site is swapped in."""
    out = tmp_path / "site"
    with write.Staging(out, spare_new=True) as staging:
        staging.add("coalitions/a/index.html", b"1")
        under_way = [p for p in tmp_path.iterdir() if p.name.startswith(".site.spare-")]
        assert [_tree(p) for p in under_way] == [{"coalitions/a/index.html": b"1"}]
        assert staging.twinned
        (staging.open() / "coalitions/b").mkdir()
        (staging.open() / "coalitions/b/index.html").write_bytes(b"2")  # by a worker
        staging.adopt({"coalitions/b/index.html": "sha"}, 1, twinned=False)
        assert write.write_site({"index.html": b"3"}, out, staging=staging)
    assert _linked_pairs(out, tmp_path / ".site.spare") == dict.fromkeys(_tree(out), True)
    assert len(_tree(out)) == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == [".site.spare", ".site.state", "site"]
    assert staging.set_aside == write._walk(tmp_path / ".site.spare").state


def test_links_a_worker_made_in_the_spare_are_not_made_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "site"
    made: list[str] = []
    real_link = os.link

    def link(source: str, target: str) -> None:
        made.append(os.path.basename(target))  # noqa: PTH119
        real_link(source, target)

    with write.Staging(out, spare_new=True) as staging:
        folder = staging.open()
        pid = os.fork()
        if pid == 0:  # a worker writes and links its files
            staging.add("coalitions/a/index.html", b"1")
            staging.add("coalitions/a/mou.html", b"2")
            os._exit(0 if staging.twinned else 1)
        assert os.waitpid(pid, 0)[1] == 0
        monkeypatch.setattr(os, "link", link)
        staging.adopt({"coalitions/a/index.html": "1", "coalitions/a/mou.html": "2"}, 2, True)
        assert write.write_site({"index.html": b"3"}, out, staging=staging)
    assert made == ["index.html"]  # the site's own, linked as it was written
    assert _linked_pairs(out, tmp_path / ".site.spare") == dict.fromkeys(_tree(out), True)
    assert not folder.exists()  # swapped in
    assert not list(tmp_path.glob(".site.spare-*"))


def test_a_spare_not_linked_whole_as_files_came_is_linked_afresh(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "site"
    real_link = os.link

    def link(source: str, target: str) -> None:
        if ".site.spare-" in target and target.endswith("b.html"):
            raise OSError(28, "No space left on device")
        real_link(source, target)

    with write.Staging(out, spare_new=True) as staging:
        monkeypatch.setattr(os, "link", link)
        staging.add("a.html", b"1")
        staging.add("b.html", b"2")  # not linked: the rest is not even tried
        staging.add("c.html", b"3")
        assert not staging.twinned
        monkeypatch.setattr(os, "link", real_link)
        assert write.write_site({}, out, staging=staging)
    assert _linked_pairs(out, tmp_path / ".site.spare") == dict.fromkeys(_tree(out), True)
    assert sorted(p.name for p in tmp_path.iterdir()) == [".site.spare", ".site.state", "site"]


def test_a_site_set_aside_as_the_spare_leaves_no_spare_under_way(tmp_path: Path) -> None:
    out = tmp_path / "site"
    with write.Staging(out, spare_new=True) as staging:
        write.write_site({"a.html": b"1"}, out, staging=staging)
    assert staging.set_aside is not None
    spare = write.Spare(write.digests({"a.html": b"1"}), staging.set_aside)
    with write.Staging(out, spare, keep_replaced=True, spare_new=True) as staging:
        staging.add("a.html", b"2")
        assert not list(tmp_path.glob(".site.spare-*"))
        assert write.write_site({}, out, staging=staging)
    assert _tree(tmp_path / ".site.spare") == {"a.html": b"1"}  # the replaced site
    assert not list(tmp_path.glob(".site.spare-*"))


def test_a_build_that_fails_leaves_no_spare_under_way(tmp_path: Path) -> None:
    out = tmp_path / "site"

    def half_a_build() -> None:
        with write.Staging(out, spare_new=True) as staging:
            staging.add("a.html", b"1")
            raise RuntimeError("a template failed")

    with pytest.raises(RuntimeError):
        half_a_build()
    assert list(tmp_path.iterdir()) == []


def test_a_build_that_makes_what_is_there_leaves_the_site_untouched(tmp_path: Path) -> None:
    """It took the spare, which shares files with the site, and deletes it unused:
    the site's state is taken again, so that it still counts as untouched."""
    out = tmp_path / "site"
    files = {"a.html": b"1", "x/b.html": b"2"}
    with write.Staging(out, spare_new=True) as staging:
        write.write_site(files, out, staging=staging)
    assert staging.set_aside is not None
    spare = write.Spare(write.digests(files), staging.set_aside)
    with write.Staging(out, spare, keep_replaced=True, spare_new=True) as staging:
        staging.add("a.html", b"1")
        assert not write.write_site({"x/b.html": b"2"}, out, staging=staging)
    assert write.untouched(out, write.state_of(out))
    assert _tree(out) == files
