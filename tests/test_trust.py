"""What a build trusts: a cache may cost time, never correctness, and no link committed into
the workspace redirects what a build writes or deletes.

Each attack is made the way an attacker with the repository (but not this machine) would
make it: entries computed the way the code computes keys, committed, cloned, built.
"""

from __future__ import annotations

import hashlib
import json
import marshal
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from playbook_builder import __version__
from playbook_builder.model import PLACE, SiteConfig, json_ready
from tests.conftest import REPO, Run, git

pytestmark = pytest.mark.slow  # end to end: the CLI, builds, WeasyPrint or a browser

TODAY = "2026-11-25"
FORGED = "FORGED PURPOSE nobody agreed to"


def _workspace(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    root.mkdir()
    shutil.copy(REPO / "playbook.yaml", root / "playbook.yaml")
    shutil.copytree(REPO / "coalitions", root / "coalitions")
    git(root, "init", "-q")
    git(root, "add", ".")
    git(root, "commit", "-qm", "samples")
    return root


def _outputs(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()
    }


def _digest(parts: list[str]) -> str:
    h = hashlib.sha256()
    for part in parts:
        data = part.encode()
        h.update(len(data).to_bytes(8, "big"))
        h.update(data)
    return h.hexdigest()


def _entry(magic: bytes, key: str, files: dict[str, bytes]) -> bytes:
    """A cache entry in the container format, sealed with a plain SHA-256 (no secret)."""
    parts = [magic, key.encode(), b"\n", len(files).to_bytes(4, "big")]
    for name in sorted(files):
        parts += [len(name.encode()).to_bytes(4, "big"), name.encode()]
        parts += [len(files[name]).to_bytes(8, "big"), files[name]]
    body = b"".join(parts)
    return body + hashlib.sha256(body).digest()


def _forged_load_entries(root: Path, slug: str) -> list[tuple[str, dict[str, bytes]]]:
    """(key, files) of a loaded coalition whose purpose and clauses are forged, in each
    format the load cache has had."""
    path = f"coalitions/{slug}.yaml"
    text = (root / path).read_text()
    settings = yaml.safe_load((root / "playbook.yaml").read_text())
    config_json = json.dumps(json_ready(SiteConfig(**settings)), sort_keys=True)
    data = yaml.safe_load(text)
    data["purpose"] = FORGED
    data.setdefault("mou", {})["clauses"] = [{"title": "Forged", "text": "Each pays 50,000."}]
    from playbook_builder.load import coalition_from_text

    problems: list[object] = []
    from pathlib import PurePosixPath

    forged = coalition_from_text(
        yaml.safe_dump(data),
        slug,
        PurePosixPath(path),
        SiteConfig(**settings),
        problems,  # type: ignore[arg-type]
    )
    assert forged is not None
    record = {
        "slug": slug,
        "path": path,
        "source": text,
        "coalition": json_ready(forged.coalition),
    }
    places = (forged.located.values, forged.located.keys)
    # before positions were kept as one number (`model.place`): (line, column) pairs
    values, keys = ({k: divmod(v, PLACE) for k, v in table.items()} for table in places)
    located = (values, keys)
    as_json = {
        **record,
        "values": [[list(k), list(v)] for k, v in values.items()],
        "keys": [[list(k), list(v)] for k, v in keys.items()],
    }
    return [
        (
            _digest(["load", __version__, path, text, config_json]),
            {"coalition.json": json.dumps(as_json).encode()},
        ),
        (
            _digest(["load, positions in marshal", __version__, path, text, config_json]),
            {
                "coalition.json": json.dumps(record).encode(),
                "located.marshal": marshal.dumps(located),
            },
        ),
        (
            _digest(["load, in marshal", __version__, path, text, config_json]),
            {"loaded.marshal": marshal.dumps((slug, path, text, record["coalition"], *located))},
        ),
        (
            _digest(
                ["load, in marshal, positions as places", __version__, path, text, config_json]
            ),
            {"loaded.marshal": marshal.dumps((slug, path, text, record["coalition"], *places))},
        ),
    ]


def _plant(root: Path, cache_home: Path) -> None:
    """Forged entries where any version of playbook might look: in the workspace (committed)
    and in this user's cache folder, in each format, each key computed as the code does."""
    for slug in ("dignity-in-detention", "housing-for-health"):
        for key, files in _forged_load_entries(root, slug):
            places = [
                (root / ".playbook-cache" / "v1", b"playbook-cache 1\n"),
                (root / ".playbook-cache" / "v2", b"playbook-cache 2\n"),
            ]
            name = hashlib.sha256(os.fsencode(root.resolve())).hexdigest()[:24]
            places.append((cache_home / "workspaces" / name / "v2", b"playbook-cache 2\n"))
            for folder, magic in places:
                entry = folder / key[:2] / key[2:]
                entry.parent.mkdir(parents=True, exist_ok=True)
                entry.write_bytes(_entry(magic, key, files))


def _build(run: Run, root: Path, *extra: str) -> None:
    result = run("build", "--root", root, "--today", TODAY, "--no-pdf", *extra)
    assert result.exit_code == 0, result.output


def test_a_committed_cache_never_changes_the_agreement(
    tmp_path: Path, run: Run, own_cache: Path
) -> None:
    root = _workspace(tmp_path)
    _plant(root, own_cache)
    git(root, "add", "-f", ".playbook-cache")
    git(root, "commit", "-qm", "a helpful cache")
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(root), str(clone)], check=True)
    _plant(clone, own_cache)  # and in this user's cache, under the clone's keys
    _build(run, clone)
    site = _outputs(clone / "site")
    assert not any(FORGED.encode() in data for data in site.values())
    _build(run, clone, "--no-cache", "--out", str(tmp_path / "clean"))
    assert site == _outputs(tmp_path / "clean")
    check = run("check", "--root", clone, "--today", TODAY)
    assert check.exit_code == 0


def test_entries_edited_without_the_key_are_ignored(
    tmp_path: Path, run: Run, own_cache: Path
) -> None:
    root = _workspace(tmp_path)
    _build(run, root)
    entries = [p for p in own_cache.rglob("*") if p.is_file() and p.name != "key"]
    assert entries, "the build keeps its cache in the user's cache folder"
    assert not (root / ".playbook-cache").exists()
    real = (root / "coalitions/dignity-in-detention.yaml").read_text()
    purpose = yaml.safe_load(real)["purpose"]
    forged_purpose = ("X" * len(purpose)).encode()
    edited = 0
    for entry in entries:
        data = entry.read_bytes()[:-32]  # re-seal with a plain hash: all an attacker can do
        if purpose.encode() in data:
            data = data.replace(purpose.encode(), forged_purpose)
            edited += 1
        entry.write_bytes(data + hashlib.sha256(data).digest())
    assert edited
    _build(run, root)
    assert not any(forged_purpose in d for d in _outputs(root / "site").values())
    _build(run, root, "--no-cache", "--out", str(tmp_path / "clean"))
    assert _outputs(root / "site") == _outputs(tmp_path / "clean")


def test_a_cache_from_another_machine_is_ignored(tmp_path: Path, run: Run, own_cache: Path) -> None:
    root = _workspace(tmp_path)
    _build(run, root)
    key = own_cache / "key"
    key.write_bytes(os.urandom(32))  # another machine's key: every entry fails its seal
    _plant(root, own_cache)
    _build(run, root)
    assert not any(FORGED.encode() in d for d in _outputs(root / "site").values())


def _refused(run: Run, root: Path, link: Path) -> None:
    result = run("build", "--root", root, "--today", TODAY, "--no-pdf")
    assert result.exit_code == 1
    message = result.output.strip()
    assert "\n" not in message
    assert f"refusing to write through the symbolic link {link}" in message


@pytest.mark.parametrize("name", ["site", ".site.lock", ".site.state", ".site.spare"])
def test_a_link_in_place_of_the_output_is_refused(tmp_path: Path, run: Run, name: str) -> None:
    root = _workspace(tmp_path)
    victim = tmp_path / "home"
    victim.mkdir()
    (victim / "thesis.txt").write_text("years of work")
    (root / name).symlink_to(victim if name == "site" else victim / "thesis.txt")
    _refused(run, root, root / name)
    assert (victim / "thesis.txt").read_text() == "years of work"
    assert sorted(p.name for p in victim.iterdir()) == ["thesis.txt"]


def test_a_cache_link_to_the_workspace_deletes_nothing(tmp_path: Path, run: Run) -> None:
    root = _workspace(tmp_path)
    (root / ".playbook-cache").symlink_to(root)
    _build(run, root)
    _build(run, root)
    assert (root / ".git").is_dir()
    assert sorted(p.name for p in (root / "coalitions").iterdir()) == [
        "dignity-in-detention.yaml",
        "fair-trade-pact.yaml",
        "housing-for-health.yaml",
    ]


def test_a_linked_user_cache_folder_is_refused(tmp_path: Path, run: Run, own_cache: Path) -> None:
    root = _workspace(tmp_path)
    name = hashlib.sha256(os.fsencode(root.resolve())).hexdigest()[:24]
    (own_cache / "workspaces").mkdir()
    (own_cache / "workspaces" / name).symlink_to(root)
    _refused(run, root, own_cache / "workspaces" / name)
    assert (root / "coalitions").is_dir()
