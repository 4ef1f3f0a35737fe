"""The printers `playbook build` starts with the command: a build that follows a change
prints its packets there (the build itself never imports WeasyPrint), byte for byte as a
clean build prints them; a build that needs no printer lets them go; none outlives the
command; and a printer that cannot import WeasyPrint or cannot print is reported as the
build would report it."""

from __future__ import annotations

import datetime
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from playbook_builder import build, printer

pytestmark = [
    pytest.mark.slow,  # end to end: the CLI, WeasyPrint
    pytest.mark.skipif(sys.platform != "linux", reason="forked printers; /proc"),
]

TODAY = "2026-11-25"


def _outputs(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()
    }


def _playbook(root: Path, *args: str, env: dict[str, str] | None = None) -> set[str]:
    """Run `playbook -q build` on `root`; the modules the command's own process imported."""
    code = (  # told by an exit handler: `main` ends the process
        "import atexit, json, sys\nfrom playbook_builder.cli import main\n"
        "atexit.register(lambda: sys.stderr.write('\\n@@' + json.dumps(sorted(sys.modules))))\n"
        f"sys.argv = ['playbook', '-q', 'build', '--root', {str(root)!r}, '--today', "
        f"{TODAY!r}, *{list(args)!r}]\n"
        "main()\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=False
    )
    assert done.returncode == 0, done.stderr
    return set(json.loads(done.stderr.rsplit("@@", 1)[1]))


def _edit(path: Path) -> None:
    path.write_text(path.read_text().replace("purpose: ", "purpose: Again, ", 1))


def test_a_change_is_printed_by_the_printers_as_a_clean_build_prints_it(
    sample: Path, tmp_path: Path
) -> None:
    first = _playbook(sample)  # three packets, few enough for the printers
    _edit(sample / "coalitions" / "fair-trade-pact.yaml")
    after = _playbook(sample)  # one packet and its briefing
    for imported in (first, after):
        assert "weasyprint" not in imported
        assert "playbook_builder.pdf" not in imported
    clean = tmp_path / "clean"
    _playbook(sample, "--out", str(clean), "--no-cache")
    assert _outputs(sample / "site") == _outputs(clean)


def _ours(marker: str) -> list[int]:
    """Processes whose environment holds `marker`: those the command started."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if marker.encode() in (entry / "environ").read_bytes():
                    found.append(int(entry.name))
            except OSError:  # ended meanwhile, or not ours to read
                pass
    return found


def test_no_printer_outlives_the_command_and_none_leaves_its_fonts(
    sample: Path, tmp_path: Path
) -> None:
    temporary = tmp_path / "temporary"
    temporary.mkdir()
    marker = f"PLAYBOOK_TEST_RUN={uuid.uuid4()}"
    name, _, value = marker.partition("=")
    env = {**os.environ, "TMPDIR": str(temporary), name: value}
    _playbook(sample, env=env)  # the printers print three packets
    _edit(sample / "coalitions" / "housing-for-health.yaml")
    _playbook(sample, env=env)  # and one
    _playbook(sample, env=env)  # a no-op: let go while they still import WeasyPrint
    deadline = time.monotonic() + 20
    while _ours(marker) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _ours(marker) == []
    assert list(temporary.iterdir()) == []


def test_the_fonts_copies_are_gone_when_the_printers_are_closed(
    sample: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each printer that printed has deleted its copies of the fonts by the time `close`
    returns, not some time after (on a busy machine a printer let go late was seen to
    leave them behind the command)."""
    import tempfile

    temporary = tmp_path / "temporary"
    temporary.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temporary))  # forked with the printers
    day = datetime.date.fromisoformat(TODAY)
    with printer.started(2) as printers:
        made = build.build(sample, tmp_path / "site", day, pdf=True, jobs=2, printers=printers)
        assert made.packets == 3
        assert len(list(temporary.iterdir())) == 2  # both printed
    assert list(temporary.iterdir()) == []


def test_packets_handed_out_early_that_fall_short_are_printed_again(
    sample: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A build that loaded few coalitions hands their packets to the printers before it
    looks up every key; should the look-up then want a packet that was not handed out
    (another build changed the cache meanwhile: here the cache says, the first time it is
    asked, that it holds one), the build still prints every packet it wants."""
    from playbook_builder.cache import Cache

    day = datetime.date.fromisoformat(TODAY)
    out = tmp_path / "site"
    build.build(sample, out, day, pdf=True, jobs=2)
    for name in ("fair-trade-pact", "housing-for-health"):
        _edit(sample / "coalitions" / f"{name}.yaml")
    keys = build._packet_keys(build.prepare(sample, day))
    asked: set[str] = set()
    get = Cache.get

    def changing(self: Cache, key: str) -> dict[str, bytes] | None:
        if key == keys["housing-for-health"] and key not in asked:
            asked.add(key)
            return {"stale": b""}  # there at first, gone when asked again
        return get(self, key)

    monkeypatch.setattr(Cache, "get", changing)
    with printer.started(2) as printers:
        made = build.build(sample, out, day, pdf=True, jobs=2, printers=printers)
    assert asked  # the early hand-out was fooled, and the look-up was not
    assert made.packets == 3
    monkeypatch.setattr(Cache, "get", get)
    clean = tmp_path / "clean"
    build.build(sample, clean, day, pdf=True, jobs=2, use_cache=False)
    assert _outputs(out) == _outputs(clean)


def test_printers_that_cannot_import_weasyprint_skip_the_packets(
    sample: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    day = datetime.date.fromisoformat(TODAY)
    out = tmp_path / "site"
    build.build(sample, out, day, pdf=True, jobs=2)
    _edit(sample / "coalitions" / "fair-trade-pact.yaml")
    # the printers are forked from this process: this makes their import of WeasyPrint fail
    import playbook_builder

    monkeypatch.delitem(sys.modules, "playbook_builder.pdf", raising=False)
    monkeypatch.delattr(playbook_builder, "pdf", raising=False)
    monkeypatch.setitem(sys.modules, "weasyprint", None)
    with printer.started(2) as printers:
        made = build.build(sample, out, day, pdf=True, jobs=2, printers=printers)
    assert made.packets == 0
    assert any("packets skipped, WeasyPrint cannot start" in n for n in made.notices)
    assert not (out / "coalitions" / "fair-trade-pact" / "fair-trade-pact-mou.pdf").exists()


def test_a_packet_the_printer_cannot_print_is_an_error_not_a_hang() -> None:
    with printer.started(1) as printers:
        assert printers is not None
        assert printers.missing() is None
        job = {"html": None, "base_url": Path("/nonexistent"), "allowed": (), "today": None}
        with pytest.raises(printer.PrinterFailed, match="Error"):
            list(printers.print_all([job]))


def test_printers_let_go_after_saying_hello_end_quietly() -> None:
    """The build closes its pipe with the printer's hello unread (a no-op after a slow
    index): the printer's socket is reset, which ends it like a closed pipe, not with a
    traceback on the terminal."""
    printers = printer.Printers(1)
    deadline = time.monotonic() + 30
    while not printers.pipes[0].poll() and time.monotonic() < deadline:
        time.sleep(0.05)  # until the hello waits, unread
    printers.close()
    printers.process.join(timeout=30)
    assert printers.process.exitcode == 0


def _ended_inside_a_callback(handler: Any, pdf: object) -> None:
    """In a forked process: with `handler` for SIGTERM, the signal arrives while a weak
    reference's callback runs, as it can when the command exits during a printer's import
    of WeasyPrint. The process should be gone at once, saying nothing, its fonts' copies
    deleted. `pdf` stands in for the module (the real one would delete the copies this
    test process made)."""
    import weakref

    sys.modules["playbook_builder.pdf"] = pdf  # type: ignore[assignment]
    sys.unraisablehook = sys.__unraisablehook__  # as in a printer (pytest's collects them)
    signal.signal(signal.SIGTERM, handler)

    class Thing:
        pass

    def callback(_: object) -> None:
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(0.05)  # the handler runs here, inside the callback

    thing = Thing()
    kept = weakref.ref(thing, callback)
    del thing  # the callback runs
    assert kept() is None
    time.sleep(1)  # still here: the signal did not end the process
    os._exit(3)


def _ended(handler: Any, pdf: object) -> int:
    """`_ended_inside_a_callback` in a forked process: its exit code."""
    child = os.fork()
    if child == 0:
        try:
            _ended_inside_a_callback(handler, pdf)
        finally:
            os._exit(4)
    _, status = os.waitpid(child, 0)
    return os.waitstatus_to_exitcode(status)


def test_a_printer_ended_by_sigterm_ends_at_once_and_quietly(
    capfd: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    import types

    marker = tmp_path / "fonts forgotten"
    # ended by the printer's handler (0), not after the sleep (3), its fonts forgotten
    assert _ended(printer._end, types.SimpleNamespace(forget_fonts=marker.touch)) == 0
    assert marker.exists()
    assert capfd.readouterr().err == ""
    # the same while `pdf` is half imported, before it has `forget_fonts`
    assert _ended(printer._end, types.ModuleType("playbook_builder.pdf")) == 0
    assert capfd.readouterr().err == ""
    # raising SystemExit, as the printers did: the failure this guards against
    assert _ended(lambda *_: sys.exit(0), types.ModuleType("playbook_builder.pdf")) == 3
    assert "Exception ignored" in capfd.readouterr().err
