"""A finished build -> the output folder, all or nothing; the only module that writes it.

Files go to a fresh folder beside the output, which then replaces the old one, so a build
that fails leaves the previous site exactly as it was, and pages of deleted coalitions
disappear.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path, PurePosixPath

from playbook_builder.errors import PlaybookError


def check_target(out: Path, root: Path) -> None:
    """Refuse an output folder that would replace the workspace or its inputs."""
    out = out.resolve()
    protected = [root, root / "coalitions", root / "content", root / "templates"]
    for folder in protected:
        if out == folder or folder.is_relative_to(out):
            raise PlaybookError(
                f"{out} cannot be the output folder: building there would replace "
                f"{folder}; choose a folder of its own, such as {root / 'site'}"
            )


def write_site(files: Mapping[str, bytes], out: Path) -> None:
    """Write every file into a new folder, then swap it in place of `out`."""
    out = out.resolve()
    parent = out.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.new-", dir=parent))
    except OSError as err:
        raise PlaybookError(f"cannot write the output next to {out}: {err.strerror}") from err
    try:
        folders: set[Path] = set()
        for name in sorted(files):
            relative = PurePosixPath(name)
            if relative.is_absolute() or ".." in relative.parts:
                raise PlaybookError(f"refusing to write {name!r} outside the output folder")
            target = staging.joinpath(*relative.parts)
            if target.parent not in folders:
                target.parent.mkdir(parents=True, exist_ok=True)
                folders.add(target.parent)
            if not _link_unchanged(out.joinpath(*relative.parts), target, files[name]):
                target.write_bytes(files[name])
        staging.chmod(0o755)
        _swap(staging, out)
    except OSError as err:
        shutil.rmtree(staging, ignore_errors=True)
        raise PlaybookError(f"cannot write {out}: {err.strerror or err}") from err
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _link_unchanged(old: Path, target: Path, data: bytes) -> bool:
    """Hard-link the previous build's file when its bytes are exactly these (cheaper I/O)."""
    try:
        if old.is_symlink() or old.stat().st_size != len(data) or old.read_bytes() != data:
            return False
        os.link(old, target)
    except OSError:
        return False
    return True


def _swap(staging: Path, out: Path) -> None:
    if not out.exists():
        staging.rename(out)
        return
    if not out.is_dir():
        raise PlaybookError(f"{out} exists and is not a folder")
    retired = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
    retired.rmdir()
    out.rename(retired)
    try:
        staging.rename(out)
    except OSError:
        retired.rename(out)
        raise
    shutil.rmtree(retired, ignore_errors=True)
