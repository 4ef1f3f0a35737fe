"""A finished build -> the output folder, all or nothing; the only module that writes it.

Files go to a fresh folder beside the output, which then trades places with the old one
in a single atomic rename, so a build that fails, or is killed at any instant, leaves
the previous site exactly as it was, and pages of deleted coalitions disappear. One
build at a time holds the output's lock; the next one clears what a killed build left.

The site a build replaces is kept beside the output as its spare (`.site.spare`), and
the next build fills that in place of a fresh folder: it writes only the files that
differ from it and deletes those it no longer has, instead of making every folder and
linking every file again (a thousand coalitions are ten thousand files). A build that
replaces no site (the first) makes the spare of links to its own files, each linked as
it is written, by the process that wrote it. The build index vouches for what the spare
holds; a spare that is not exactly as it was left is not used.

What a folder is on disk (every file's name, size, times and inode) is taken by walking
it: before a build, to know that the output and the spare are as they were left. After
the swap, the new site's state and the spare's are told from those two walks and the
files the build touched, not by walking the ten thousand files again.
"""

from __future__ import annotations

import ctypes
import errno
import fcntl
import hashlib
import operator
import os
import shutil
import tempfile
from collections.abc import Collection, Iterator, Mapping, Set
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from playbook_builder.errors import PlaybookError


def refuse_links(out: Path, root: Path | None = None) -> None:
    """Refuse to write through a symbolic link: the output folder, a folder above it inside
    the workspace `root`, its lock, its state file, or what a killed build left beside it.

    Each of these is renamed, replaced or deleted by a build; a link committed in their
    place would send those writes and deletes wherever it points.
    """
    out = Path(os.path.abspath(out))  # noqa: PTH100 - absolute without following links
    beside = [out.parent / f".{out.name}.{what}" for what in ("lock", "state", "spare")]
    beside += sorted(out.parent.glob(f".{out.name}.old-*"))
    beside += sorted(out.parent.glob(f".{out.name}.new-*"))
    beside += sorted(out.parent.glob(f".{out.name}.spare-*"))
    refuse_link_path(out, root)
    for path in beside:
        refuse_link_path(path)


def refuse_link_path(path: Path, root: Path | None = None) -> None:
    """Raise if `path`, or a folder between it and the workspace `root`, is a link."""
    path = Path(os.path.abspath(path))  # noqa: PTH100 - absolute without following links
    candidates = [path]
    if root is not None:
        top = Path(os.path.abspath(root))  # noqa: PTH100
        candidates += [p for p in path.parents if p.is_relative_to(top) and p != top]
    for candidate in candidates:
        if candidate.is_symlink():
            raise PlaybookError(
                f"refusing to write through the symbolic link {candidate}: a build replaces "
                f"and deletes what is there; remove the link, or write elsewhere"
            )


def replace_file(path: Path, data: bytes, root: Path) -> None:
    """Write one file in a single rename (keeping the permissions of the file it replaces);
    never through a link between it and the workspace `root`."""
    refuse_link_path(path, root)
    try:
        mode = path.stat().st_mode & 0o777 if path.exists() else 0o644
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
        os.chmod(temporary, mode)  # noqa: PTH101 - on the name mkstemp gave
        Path(temporary).replace(path)
    except OSError as err:
        raise PlaybookError(f"cannot write {path}: {err.strerror or err}") from err


def check_target(out: Path, root: Path) -> None:
    """Refuse an output folder that would replace the workspace or its inputs, or that is
    reached through a symbolic link."""
    refuse_links(out, root)
    out = out.resolve()
    protected = [root, root / "coalitions", root / "content", root / "templates"]
    for folder in protected:
        if out == folder or folder.is_relative_to(out):
            raise PlaybookError(
                f"{out} cannot be the output folder: building there would replace "
                f"{folder}; choose a folder of its own, such as {root / 'site'}"
            )
    if out.exists() and not out.is_dir():
        raise PlaybookError(f"{out} cannot be the output folder: it is a file")


@contextmanager
def locked(out: Path) -> Iterator[None]:
    """Hold the output folder's lock for a whole build; a second build is refused.

    The lock also makes it safe to clear what a killed build left beside the output.
    """
    refuse_links(out)
    out = out.resolve()
    lock = out.parent / f".{out.name}.lock"
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        handle = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o644)
    except OSError as err:
        raise PlaybookError(_cannot_write(out, err)) from err
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(handle, 32, 0).decode(errors="replace").strip() or "unknown"
            raise PlaybookError(
                f"another playbook build (process {holder}) is writing {out}; "
                "nothing was written: wait for it to finish, then build again"
            ) from None
        os.ftruncate(handle, 0)
        os.pwrite(handle, f"{os.getpid()}\n".encode(), 0)
        _recover(out)
        yield
    finally:
        os.close(handle)


def _recover(out: Path) -> None:
    """Put back the previous site if a build died mid-swap; delete its leftovers."""
    retired = sorted(out.parent.glob(f".{out.name}.old-*"))
    if retired and not out.exists():
        retired.pop().rename(out)
    unfinished = [*out.parent.glob(f".{out.name}.new-*"), *out.parent.glob(f".{out.name}.spare-*")]
    for leftover in [*retired, *unfinished]:
        shutil.rmtree(leftover, ignore_errors=True)


def _cannot_write(out: Path, err: OSError) -> str:
    blocker = next((p for p in (out, *out.parents) if p.exists() and not p.is_dir()), None)
    if blocker is not None:
        return f"cannot write the output folder {out}: {blocker} is a file, not a folder"
    where = f" ({err.filename})" if err.filename else ""
    return f"cannot write the output folder {out}: {err.strerror or err}{where}"


@dataclass(frozen=True, slots=True)
class Spare:
    """What the spare folder beside an output holds (SHA-256 by name), and the state of
    its files on disk (names, sizes, times, inodes) when it was set aside."""

    files: Mapping[str, str]
    tree: str


def digests(files: Mapping[str, bytes]) -> dict[str, str]:
    """The SHA-256 of each file, by name."""
    return {name: hashlib.sha256(data).hexdigest() for name, data in files.items()}


class Staging:
    """The new output folder, filled beside `out` while a build runs and then swapped in
    its place by `finish`; dropped, leaving `out` as it was, if the build fails.

    Files can be handed over as soon as they are made (`add`), so that a build need not
    hold every page and packet in memory until the end. Create it under `locked(out)`.
    """

    def __init__(
        self,
        out: Path,
        spare: Spare | None = None,
        *,
        keep_replaced: bool = False,
        seen: Tree | None = None,
        spare_new: bool = False,
    ) -> None:
        refuse_links(out)
        self.out = out.resolve()
        self.folder: Path | None = None
        self._spare = _SpareFolder(self.out, spare)
        self.keep_replaced = keep_replaced
        """Set the site that `finish` replaces aside as the next build's spare: the
        caller knows what it holds (it is as the previous build left it)."""
        self.spare_new = spare_new
        """When no replaced site is set aside (there was none, or it was not as left),
        make the next build's spare of links to the new site's files."""
        self.spare_files: Mapping[str, str] | None = None
        """What the spare holds when `finish` made it of the new site (SHA-256 by name)."""
        self._twin: str | None = None
        """The next build's spare under way, when this build will make it of links to the
        new site (see `_root`): `add` links each file there as it writes it, so that the
        links are made in the workers, beside the rendering, not all at the end."""
        self._twinned: set[str] = set()
        """The names linked in `_twin` so far (by this process, or by workers: `adopt`)."""
        self._twin_whole = True
        """False once a file written was not linked there: `finish` then links afresh."""
        self._seen = seen
        """`out` as the caller walked it (`looked`), if nothing touched it since."""
        self._touched: set[str] = set()
        """The names whose files this build wrote, linked or deleted in the new folder
        (and, through shared inodes, perhaps changed in `out`)."""
        self.set_aside: str | None = None
        """Once `finish` has set the replaced site aside as the spare: its state."""
        self.shas: dict[str, str] = {}
        """The SHA-256 of every file in the folder so far, by name."""
        self.bytes = 0
        """Bytes written so far (files kept from `out` do not count)."""
        self.size = 0
        """Bytes of all the files in `out`, once `finish` (or `unchanged`) has looked."""
        self._folders: set[str] = set()
        self._out = str(self.out)

    def __enter__(self) -> Staging:
        return self

    def __exit__(self, kind: object, error: object, trace: object) -> None:
        if self.folder is not None:  # not swapped in: the build failed
            self.discard()

    def add(self, name: str, data: bytes, sha: str | None = None, *, reuse: bool = False) -> None:
        """Put one file in the new folder. With `reuse`, the previous build's file is
        linked when it holds exactly these bytes (which changes its inode's change time,
        so not before `unchanged` has been asked)."""
        target = self._target(name)
        sha = sha or hashlib.sha256(data).hexdigest()
        if self._spare.holds(name, sha, target):
            self.shas[name] = sha
            return
        self._touched.add(name)
        try:
            if not (reuse and _link_unchanged(Path(self.out, name), Path(target), data)):
                _write(target, data)
        except OSError as err:
            raise PlaybookError(_cannot_write(self.out, err)) from err
        self.shas[name] = sha
        self.bytes += len(data)
        if self._twin is not None and self._twin_whole:
            self._link_twin(self._twin, name, target)

    def _link_twin(self, folder: str, name: str, target: str) -> None:
        """Link the file just written in the next build's spare under way (`folder`); if
        that fails, `finish` makes the spare as before, of links to every file."""
        twin = os.path.join(folder, name)  # noqa: PTH118
        parent = os.path.dirname(twin)  # noqa: PTH120
        try:
            if parent not in self._folders:
                os.makedirs(parent, exist_ok=True)  # noqa: PTH103
                self._folders.add(parent)
            os.link(target, twin)
        except OSError:
            self._twin_whole = False
        else:
            self._twinned.add(name)

    def open(self) -> Path:
        """Make the new folder now (before forking workers that write into it)."""
        return self._root

    @property
    def twinned(self) -> bool:
        """Whether every file this process wrote is linked in the next build's spare
        under way (a worker's result says so: see `adopt`)."""
        return self._twin is not None and self._twin_whole

    def adopt(self, shas: Mapping[str, str], size: int, twinned: bool = False) -> None:
        """Count the files another process put in the folder (`size` bytes in all), once;
        `twinned` when it also linked them in the next build's spare (see `add`)."""
        if twinned:
            self._twinned.update(shas)
        else:
            self._twin_whole = False
        self._touched.update(shas)
        fresh = {name: sha for name, sha in shas.items() if name not in self.shas}
        if fresh:
            self.shas.update(fresh)
            self.bytes += size

    def keep(self, name: str, sha: str) -> None:
        """Carry a file of `out` over unread; the caller vouches that `out` holds it with
        this SHA-256, untouched since it was written (see index.py)."""
        target = self._target(name)
        if not self._spare.holds(name, sha, target):
            self._touched.add(name)
            try:
                _keep(os.path.join(self._out, name), target)  # noqa: PTH118 - faster
            except OSError as err:
                raise PlaybookError(_cannot_write(self.out, err)) from err
        self.shas[name] = sha

    def keep_all(self, kept: Mapping[str, str]) -> None:
        """`keep` each file, those the new folder holds already (taken from the spare)
        only counted: a build after a change keeps thousands of them."""
        held = self._spare.held
        for name, sha in kept.items():
            if held.get(name) != sha:
                self.keep(name, sha)
        self.shas.update(kept)

    def unchanged(self, shas: Mapping[str, str]) -> bool:
        """Whether `out` holds exactly the files `shas` describes, as the previous build
        left them (same contents; no file touched, added or removed since)."""
        before = state_of(self.out).split("\n")
        if before[:1] != [_contents_digest(shas)]:
            return False
        # the tree is walked only when the contents are the same as last time
        walked = _walk(self.out)
        self.size = walked.size
        return before[1:] == [walked.state, ""]

    def finish(self) -> None:
        """Swap the new folder in place of `out`, set the replaced site aside as the next
        build's spare, and record what `out` holds."""
        folder = self._root
        try:
            self._touched.update(self._spare.drop_the_rest(folder, self.shas))
            folder.chmod(0o755)
            retired = _swap(folder, self.out)
            self.folder = None
            if retired is not None and self.keep_replaced:
                self.set_aside = self._spare.set_aside(retired, self._seen, self._touched)
            elif retired is not None:
                shutil.rmtree(retired, ignore_errors=True)
                self._spare.removed = True
            # a first build (or one after the site was touched) leaves a spare too, so
            # that the next one fills it instead of linking every file anew
            linked = self.set_aside is None and self.spare_new
            twin, twinned = (self._twin, self._twinned) if self._twin_whole else (None, set())
            linked = linked and self._spare.link(self.out, self.shas, twin, twinned)
            if self._twin is not None and not (linked and twin is not None):
                shutil.rmtree(self._twin, ignore_errors=True)  # not used: moves ctimes
                self._spare.removed = True
            self._twin = None
            tree = _walk(self.out) if linked else self._new_tree()  # a link moves ctimes
            if linked:
                self.set_aside = _state(str(self._spare.path), tree.stamps)
                self.spare_files = dict(self.shas)
            self.size = tree.size
            _state_file(self.out).write_text(f"{_contents_digest(self.shas)}\n{tree.state}\n")
        except OSError as err:
            raise PlaybookError(_cannot_write(self.out, err)) from err

    def _new_tree(self) -> Tree:
        """The swapped-in folder as a walk would find it: the spare's walk with the files
        this build touched stamped again, when the spare was the new folder and nothing
        was deleted since that could share an inode with one of its files (deleting a
        link changes the change time of the file's other links); else walked."""
        taken = self._spare.tree
        if taken is not None and not self._spare.removed:
            told = _restamped(taken, self._out, self.shas.keys(), self._touched)
            if told is not None:
                return told
        return _walk(self.out)

    def stamp_again(self) -> None:
        """Record `out` as it is now, after `unchanged` found it as the last build left
        it: deleting the new folder, when it was the spare, moved the change times of
        the files it shared with `out` (the next build would take them as touched)."""
        state = _state_file(self.out)
        try:
            contents = state.read_text().split("\n")[0]
            state.write_text(f"{contents}\n{_walk(self.out).state}\n")
        except OSError as err:
            raise PlaybookError(_cannot_write(self.out, err)) from err

    def discard(self) -> None:
        """Delete the new folder and all that was put in it."""
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)
            self.folder = None
        if self._twin is not None:
            shutil.rmtree(self._twin, ignore_errors=True)
            self._twin = None
        self.shas.clear()
        self.bytes = 0
        self._folders.clear()

    @property
    def _root(self) -> Path:
        if self.folder is None:
            try:
                self.out.parent.mkdir(parents=True, exist_ok=True)
                prefix = f".{self.out.name}.new-"
                self.folder = Path(tempfile.mkdtemp(prefix=prefix, dir=self.out.parent))
                self._folders.update(self._spare.take(self.folder))
                # no site to set aside as the spare when this one is swapped in: it will
                # be made of links to this build's files (`finish`), begun as they come
                if self.spare_new and not (self.keep_replaced and self.out.exists()):
                    self._twin = tempfile.mkdtemp(
                        prefix=f".{self.out.name}.spare-", dir=self.out.parent
                    )
            except OSError as err:
                raise PlaybookError(_cannot_write(self.out, err)) from err
        return self.folder

    def _target(self, name: str) -> str:
        """Where the file `name` goes in the new folder, its folder made (as a string:
        a site has thousands of files, and paths as objects cost more than the I/O)."""
        parts = name.split("/")
        if name.startswith("/") or ".." in parts or "" in parts:
            raise PlaybookError(f"refusing to write {name!r} outside the output folder")
        target = os.path.join(self._root, name)  # noqa: PTH118
        parent = os.path.dirname(target)  # noqa: PTH120
        if parent not in self._folders:
            try:
                os.makedirs(parent, exist_ok=True)  # noqa: PTH103
            except OSError as err:
                raise PlaybookError(_cannot_write(self.out, err)) from err
            self._folders.add(parent)
        return target


class _SpareFolder:
    """The spare beside an output folder: the site the last build replaced, which the
    next build fills instead of a new folder (see the module's docstring)."""

    def __init__(self, out: Path, known: Spare | None) -> None:
        self.out = out
        self.path = out.parent / f".{out.name}.spare"
        self.known = known
        """What the spare holds, as the caller vouches (see index.py); it is used only
        if its files are still exactly as they were when it was set aside."""
        self.held: Mapping[str, str] = {}
        """What the new folder held when it was taken from the spare: SHA-256 by name."""
        self.tree: Tree | None = None
        """The spare as walked when it was taken, if it was."""
        self.removed = False
        """Whether a folder beside the output was deleted since the build began."""

    def take(self, folder: Path) -> set[str]:
        """Make the spare the new `folder` (just made, empty), when it is what the caller
        says it is, and return the folders it has; else delete it (the new folder is
        then filled from nothing)."""
        if not self.path.is_dir() or self.path.is_symlink():
            return set()
        walked = _walk(self.path) if self.known is not None else None
        if walked is None or self.known is None or walked.state != self.known.tree:
            shutil.rmtree(self.path, ignore_errors=True)
            self.removed = True
            return set()
        self.path.replace(folder)
        self.held = self.known.files
        self.tree = walked
        return {
            os.path.dirname(os.path.join(folder, name))  # noqa: PTH118, PTH120
            for name in self.held
        }

    def holds(self, name: str, sha: str, target: str) -> bool:
        """Whether the new folder holds `name` with these bytes already; a file there
        that differs is unlinked (never written into: the live site may share it)."""
        if name not in self.held:
            return False
        if self.held[name] == sha:
            return True
        try:
            os.unlink(target)  # noqa: PTH108
        except OSError as err:
            raise PlaybookError(_cannot_write(self.out, err)) from err
        return False

    def drop_the_rest(self, folder: Path, made: Mapping[str, str]) -> list[str]:
        """Delete what the new folder held and the build did not make, and the folders
        that leaves empty; the names deleted."""
        dropped = [name for name in self.held if name not in made]
        emptied = set()
        for name in dropped:
            os.unlink(os.path.join(folder, name))  # noqa: PTH108, PTH118
            emptied.add(os.path.dirname(name))  # noqa: PTH120
        for relative in sorted(emptied, key=len, reverse=True):
            while relative:
                try:
                    os.rmdir(os.path.join(folder, relative))  # noqa: PTH106, PTH118
                except OSError:  # not empty: it has files of this build
                    break
                relative = os.path.dirname(relative)  # noqa: PTH120
        return dropped

    def _clear(self) -> None:
        """Delete what is at the spare's path (deleting links moves other links' ctimes)."""
        if self.path.is_symlink() or self.path.is_file():
            self.path.unlink()
        elif self.path.exists():
            self.removed = True
            shutil.rmtree(self.path)

    def link(
        self,
        out: Path,
        names: Collection[str],
        begun: str | None = None,
        linked: Set[str] = frozenset(),
    ) -> bool:
        """Make the spare of hard links to the files `names` of `out`, in the folder
        `begun` when given (which holds the links `linked` already); False if it cannot be
        made (what was begun is deleted)."""
        made = begun
        try:
            self._clear()
            made = made or tempfile.mkdtemp(prefix=f".{out.name}.spare-", dir=out.parent)
            folders: set[str] = set()
            for name in sorted(names):
                if name in linked:
                    continue
                target = os.path.join(made, name)  # noqa: PTH118
                parent = os.path.dirname(target)  # noqa: PTH120
                if parent not in folders:
                    os.makedirs(parent, exist_ok=True)  # noqa: PTH103
                    folders.add(parent)
                os.link(os.path.join(out, name), target)  # noqa: PTH118
            os.rename(made, self.path)  # noqa: PTH104
        except OSError:
            if made is not None:
                shutil.rmtree(made, ignore_errors=True)
                self.removed = True
            return False
        return True

    def set_aside(self, retired: Path, seen: Tree | None, touched: Set[str]) -> str | None:
        """Keep the replaced site as the spare; the state of its files, or None if it
        cannot be kept (it is then deleted). `seen` is the site as walked before the
        build (`looked`): its files the build did not touch are as they were then."""
        try:
            self._clear()
            retired.rename(self.path)
            told = None
            if seen is not None and not self.removed:
                told = _restamped(seen, str(self.path), None, touched)
            return (told or _walk(self.path)).state
        except OSError:
            shutil.rmtree(retired, ignore_errors=True)
            shutil.rmtree(self.path, ignore_errors=True)
            self.removed = True
            return None


def write_site(
    files: Mapping[str, bytes],
    out: Path,
    *,
    kept: Mapping[str, str] | None = None,
    shas: Mapping[str, str] | None = None,
    staging: Staging | None = None,
) -> bool:
    """Write every file into a new folder, then swap it in place of `out`.

    `kept` names files that `out` holds already and that stay exactly as they are (their
    SHA-256 by name): they are linked into the new folder, never read. The caller vouches
    that `out` was not touched since it was written (see index.py). `shas` are the hashes
    of `files` and `kept` when the caller has them already. `staging` is the new folder
    when the build has put files in it already (as they were made).

    Returns False, writing nothing, when `out` already holds exactly these files as the
    previous build left them (same contents, and no file touched, added or removed since).
    """
    kept = kept or {}
    with staging if staging is not None else Staging(out) as new:
        every = {**new.shas, **(shas if shas is not None else {**digests(files), **kept})}
        if new.unchanged(every):
            new.discard()
            new.stamp_again()
            return False
        for name in sorted(files):
            new.add(name, files[name], every.get(name), reuse=True)
        new.keep_all({name: kept[name] for name in sorted(kept) if name not in files})
        new.finish()
    return True


def state_of(out: Path) -> str:
    """What the output folder's state file says of the folder the last build left."""
    try:
        return _state_file(Path(os.path.abspath(out))).read_text()  # noqa: PTH100 - no links followed
    except OSError:
        return ""


def _state_file(out: Path) -> Path:
    """Where the state of the output folder `out` is recorded: beside it."""
    return out.parent / f".{out.name}.state"


def untouched(out: Path, state: str) -> bool:
    """Whether `out` is still exactly as the build that wrote `state` left it."""
    return looked(out, state) is not None


def looked(out: Path, state: str) -> Tree | None:
    """`out` as walked now, when it is still exactly as the build that wrote `state`
    left it; else None."""
    if not state or state_of(out) != state:
        return None
    walked = _walk(out.resolve())
    return walked if state.split("\n")[1:2] == [walked.state] else None


def _contents_digest(shas: Mapping[str, str]) -> str:
    digest = hashlib.sha256()
    for name in sorted(shas):
        digest.update(f"{name}\0{shas[name]}\n".encode())
    return digest.hexdigest()


def _keep(old: str, target: str) -> None:
    """Carry a file of the previous output over unread: a hard link, else a copy."""
    if os.path.islink(old):  # noqa: PTH114
        raise PlaybookError(f"refusing to keep {old}: it is a symbolic link")
    try:
        os.link(old, target)
    except OSError:
        shutil.copyfile(old, target)


@dataclass(frozen=True, slots=True)
class Tree:
    """The files under a folder as one walk found them."""

    state: str
    """A digest of every file's path, size, modification and change times and inode,
    in the order walked: files by name, then each folder by name."""
    size: int
    """Their bytes together."""
    stamps: dict[str, tuple[str, int]]
    """Each file's stamp as hashed after its path, and its size, by its name inside the
    folder, in the order walked."""


_NAME = operator.attrgetter("name")


def _walk(out: Path | str) -> Tree:
    """What the files under `out` are on disk."""
    root = str(out)
    inside = len(os.path.join(root, ""))  # noqa: PTH118 - where a name inside begins
    stamps: dict[str, tuple[str, int]] = {}
    size = 0

    def visit(folder: str) -> None:  # files by name, then each folder by name
        nonlocal size
        files: list[os.DirEntry[str]] = []
        folders: list[os.DirEntry[str]] = []
        try:
            with os.scandir(folder) as entries:
                for entry in entries:
                    (folders if entry.is_dir(follow_symlinks=False) else files).append(entry)
        except OSError:  # not there (no site yet), or not to be read: nothing in it counts
            return
        for entry in sorted(files, key=_NAME):
            info = entry.stat(follow_symlinks=False)  # the entry's path: not joined again
            stamps[entry.path[inside:]] = (_stamp(info), info.st_size)
            size += info.st_size
        for entry in sorted(folders, key=_NAME):
            visit(entry.path)

    visit(root)
    return Tree(_state(root, stamps), size, stamps)


def _stamp(info: os.stat_result) -> str:
    return f"\0{info.st_size}\0{info.st_mtime_ns}\0{info.st_ctime_ns}\0{info.st_ino}\n"


def _state(root: str, stamps: Mapping[str, tuple[str, int]]) -> str:
    prefix = os.path.join(root, "")  # noqa: PTH118
    lines = [prefix + name + stamp for name, (stamp, _) in stamps.items()]
    return hashlib.sha256("".join(lines).encode(errors="surrogateescape")).hexdigest()


def _restamped(
    before: Tree, root: str, names: Collection[str] | None, touched: Set[str]
) -> Tree | None:
    """The folder at `root` as a walk would find it now, when it held what `before` found
    and since then only the files `touched` were written, linked or deleted: it holds the
    files `names` (None: the same as before). Those touched are stamped again, the rest
    as they were. None if a file is not there."""
    known = before.stamps
    order: Collection[str] = known.keys()
    if names is not None and (len(names) != len(known) or any(n not in known for n in names)):
        order = sorted(names, key=_walk_order)  # files came or went
    prefix = os.path.join(root, "")  # noqa: PTH118
    stamps: dict[str, tuple[str, int]] = {}
    size = 0
    for name in order:
        stamp = None if name in touched else known.get(name)
        if stamp is None:
            try:
                info = os.lstat(prefix + name)
            except OSError:
                return None
            stamp = (_stamp(info), info.st_size)
        stamps[name] = stamp
        size += stamp[1]
    return Tree(_state(root, stamps), size, stamps)


def _walk_order(name: str) -> tuple[tuple[int, str], ...]:
    """Where `_walk` finds the file `name`: in each folder, its files before its folders."""
    *folders, file = name.split("/")
    return (*((1, folder) for folder in folders), (0, file))


_NEW_FILE = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC


def _write(path: str, data: bytes) -> None:
    """Write a file with plain calls on a string path: `open` also asks the new file for
    its size, its place and whether it is a terminal, three calls more for each of the
    7,000 files of a cold build of 1,000 coalitions (and a file object, a path object)."""
    handle = os.open(path, _NEW_FILE, 0o666)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(handle, view) :]
    finally:
        os.close(handle)


def _link_unchanged(old: Path, target: Path, data: bytes) -> bool:
    """Hard-link the previous build's file when its bytes are exactly these (cheaper I/O)."""
    try:
        if old.is_symlink() or old.stat().st_size != len(data) or old.read_bytes() != data:
            return False
        os.link(old, target)
    except OSError:
        return False
    return True


def _swap(staging: Path, out: Path) -> Path | None:
    """Put `staging` where `out` is; at no instant is there no complete site at `out`.
    Returns where the previous site now is, if there was one."""
    if not out.exists():
        staging.rename(out)
        return None
    if not out.is_dir():
        raise PlaybookError(f"{out} exists and is not a folder")
    if _exchange(staging, out):
        return staging  # now holds the previous site
    # Without an atomic exchange there is a moment with no `out`; a killed build is
    # repaired by the next one (see _recover), which finds the previous site retired.
    retired = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
    retired.rmdir()
    out.rename(retired)
    try:
        staging.rename(out)
    except OSError:
        retired.rename(out)
        raise
    return retired


_RENAME_EXCHANGE = 2
_AT_FDCWD = -100
_renameat2 = getattr(ctypes.CDLL(None, use_errno=True), "renameat2", None)


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths atomically (Linux renameat2); False where that is not available."""
    if _renameat2 is None:
        return False
    status = _renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    if status == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.EPERM):
        return False
    raise OSError(code, os.strerror(code), str(b))
