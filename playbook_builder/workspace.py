"""Find the workspace and list its inputs, sorted; workspace files override built-ins."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from playbook_builder.errors import WorkspaceError

CONFIG_NAME = "playbook.yaml"
COALITIONS_DIR = "coalitions"


def builtin_dir(kind: str) -> Path:
    """The package's own `templates` or `content`: inside a wheel, or in the source tree."""
    package = Path(__file__).resolve().parent
    for candidate in (package / "_builtin" / kind, package.parent / kind):
        if candidate.is_dir():
            return candidate
    raise WorkspaceError(f"the built-in {kind}/ folder is missing from the installation")


def read_fenced(path: Path, folder: Path) -> bytes:
    """The bytes of `path`, a file found in `folder` (a workspace's or the built-in
    `templates` or `content`), refused when it is a link that leads out of the folder's
    parent: a file committed to git as a symlink must not publish the machine's files."""
    check_fenced(path, folder)
    return path.read_bytes()


def check_fenced(path: Path, folder: Path) -> None:
    """Raise WorkspaceError when `path` resolves outside the parent of `folder`, or into
    a `.git` folder (a CI checkout keeps its token in .git/config)."""
    fence = folder.parent.resolve()
    target = path.resolve()
    if not target.is_relative_to(fence):
        raise WorkspaceError(
            f"{path}: found a link to {target}, outside {fence}; allowed only files inside "
            "the workspace (replace the link with a copy of the file)"
        )
    if in_git_folder(target, fence):
        raise WorkspaceError(
            f"{path}: found a link into git's own folder ({target}); allowed only the "
            "workspace's files, never what is under .git/"
        )


def in_git_folder(path: Path, fence: Path) -> bool:
    """Whether `path` (resolved) lies inside a `.git` folder below `fence`."""
    try:
        return ".git" in path.relative_to(fence).parts
    except ValueError:
        return False


@dataclass(frozen=True, slots=True)
class Workspace:
    """A folder holding playbook.yaml and coalitions/*.yaml."""

    root: Path
    """Absolute, resolved."""

    @property
    def config_path(self) -> Path:
        return self.root / CONFIG_NAME

    def contains(self, path: Path) -> bool:
        """Whether `path`, links followed, is inside the workspace (and not inside .git)."""
        target = path.resolve()
        return target.is_relative_to(self.root) and not in_git_folder(target, self.root)

    def shown(self, path: Path) -> PurePosixPath:
        """A path as printed in messages: relative to the root, forward slashes."""
        try:
            return PurePosixPath(path.relative_to(self.root).as_posix())
        except ValueError:
            return PurePosixPath(path.as_posix())

    def coalition_files(self) -> list[Path]:
        """Every file in coalitions/ that is meant as a coalition, sorted by name.

        Hidden files and editor backups are left out; `.yml` files are listed so that the
        loader can say they need renaming rather than ignoring them silently.
        """
        folder = self.root / COALITIONS_DIR
        if not folder.is_dir():
            return []
        return sorted(
            path
            for path in folder.iterdir()
            if not path.name.startswith(".") and path.suffix in (".yaml", ".yml")
        )

    def layered(self, kind: str) -> tuple[Path, ...]:
        """Folders to look in for `templates` or `content`: the workspace's first."""
        own = self.root / kind
        builtin = builtin_dir(kind)
        if own.is_dir() and own.resolve() != builtin.resolve():
            return (own, builtin)
        return (builtin,)


def find(root: Path | None, start: Path | None = None) -> Workspace:
    """The workspace at `root`, or the nearest folder upward from `start` with playbook.yaml."""
    if root is not None:
        resolved = root.resolve()
        if not (resolved / CONFIG_NAME).is_file():
            raise WorkspaceError(
                f"{root}: no {CONFIG_NAME} here; a workspace is a folder with {CONFIG_NAME} "
                f"and {COALITIONS_DIR}/ (`playbook init DIR` makes one)"
            )
        return Workspace(resolved)
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / CONFIG_NAME).is_file():
            return Workspace(folder)
    raise WorkspaceError(
        f"no {CONFIG_NAME} in {here} or any folder above it; run the command inside a "
        f"workspace or pass --root DIR"
    )
