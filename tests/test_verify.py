"""`playbook verify` cannot be fooled: each altered packet is caught, in one line or with the
first page that differs, and hostile files are refused before they are read whole."""

from __future__ import annotations

import io
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader, PdfWriter

from tests.conftest import REPO, Run

pytestmark = pytest.mark.slow  # end to end: the CLI, builds, WeasyPrint or a browser

TODAY = "2026-11-25"
SLUG = "housing-for-health"


@pytest.fixture(scope="module")
def printed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(workspace, its housing-for-health packet), printed once for the module."""
    root = tmp_path_factory.mktemp("verify") / "ws"
    root.mkdir()
    shutil.copy(REPO / "playbook.yaml", root / "playbook.yaml")
    shutil.copytree(REPO / "coalitions", root / "coalitions")
    packet = root.parent / "packet.pdf"
    subprocess.run(
        [
            str(Path(REPO / ".venv/bin/playbook")) if (REPO / ".venv/bin/playbook").exists()
            else "playbook",
            "pdf", "--root", str(root), "--today", TODAY, SLUG, "--out", str(packet),
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return root, packet


def _verify(run: Run, root: Path, packet: Path) -> tuple[int, str]:
    result = run("verify", "--root", root, packet)
    return result.exit_code, result.output


def _embedded_stream(writer: PdfWriter) -> Any:
    names: Any = writer.root_object["/Names"]
    return names["/EmbeddedFiles"]["/Names"][1].get_object()["/EF"]["/F"].get_object()


def _write(writer: PdfWriter, path: Path) -> Path:
    with path.open("wb") as stream:
        writer.write(stream)
    return path


def test_the_real_packet_matches(run: Run, printed: tuple[Path, Path]) -> None:
    root, packet = printed
    code, output = _verify(run, root, packet)
    assert code == 0, output
    assert "Fingerprint: 24301be3, computed again from the embedded coalition file." in output
    assert "Pages: all 9 identical to a fresh print" in output
    assert "The printed packet matches the workspace." in output


def test_a_missing_last_page_is_caught(
    run: Run, printed: tuple[Path, Path], tmp_path: Path
) -> None:
    root, packet = printed
    writer = PdfWriter(clone_from=packet)
    writer.remove_page(len(writer.pages) - 1)
    code, output = _verify(run, root, _write(writer, tmp_path / "cut.pdf"))
    assert code == 1
    assert "Page 9 of 9 is missing: the packet has 8 pages." in output


def test_a_page_whited_out_with_other_text_is_caught(
    run: Run, printed: tuple[Path, Path], tmp_path: Path
) -> None:
    import weasyprint

    root, packet = printed
    cover = weasyprint.HTML(
        string="<style>@page{size:letter;margin:0}body{margin:0}</style>"
        "<div style='background:white;width:8.5in;height:11in'>"
        "<h1>Memorandum of understanding</h1><p>Each partner pays 50,000 dollars.</p></div>"
    ).write_pdf()
    overlay = PdfReader(io.BytesIO(cover)).pages[0]
    writer = PdfWriter(clone_from=packet)
    writer.pages[0].merge_page(overlay)
    code, output = _verify(run, root, _write(writer, tmp_path / "whited.pdf"))
    assert code == 1
    assert "Page 1 differs:" in output
    assert "Each partner pays 50,000 dollars." in output


def test_a_blank_page_with_the_real_metadata_is_caught(
    run: Run, printed: tuple[Path, Path], tmp_path: Path
) -> None:
    root, packet = printed
    original = PdfReader(packet)
    writer = PdfWriter()
    writer.add_blank_page(612, 792)
    writer.add_metadata({k: str(v) for k, v in (original.metadata or {}).items()})
    for name, contents in original.attachments.items():
        writer.add_attachment(name, contents[0])
    code, output = _verify(run, root, _write(writer, tmp_path / "blank.pdf"))
    assert code == 1
    assert "Page 1 differs:" in output or "Page 2 of 9 is missing" in output


def test_an_edited_embedded_file_is_caught(
    run: Run, printed: tuple[Path, Path], tmp_path: Path
) -> None:
    root, packet = printed
    writer = PdfWriter(clone_from=packet)
    stream = _embedded_stream(writer)
    text = stream.get_data().decode()
    stream.set_data(text.replace("notice_days: 90", "notice_days: 30").encode())
    code, output = _verify(run, root, _write(writer, tmp_path / "edited.pdf"))
    assert code == 1
    assert "the packet or its attachment was altered" in output


def test_an_edit_outside_the_terms_is_still_caught(
    run: Run, printed: tuple[Path, Path], tmp_path: Path
) -> None:
    root, packet = printed
    writer = PdfWriter(clone_from=packet)
    stream = _embedded_stream(writer)
    text = stream.get_data().decode()
    stream.set_data(text.replace("# ", "#  ", 1).encode())  # a comment: same fingerprint
    code, output = _verify(run, root, _write(writer, tmp_path / "comment.pdf"))
    assert code == 1
    assert "NOT a true print" in output


def test_a_decompression_bomb_is_refused_quickly(
    run: Run, printed: tuple[Path, Path], tmp_path: Path
) -> None:
    root, packet = printed
    writer = PdfWriter(clone_from=packet)
    stream = _embedded_stream(writer)
    stream.set_data(b"a: 1\n" * (12 * 1024 * 1024))  # 60 MiB
    bomb = _write(writer, tmp_path / "bomb.pdf")
    assert bomb.stat().st_size < 2 * 1024 * 1024
    started = time.monotonic()
    code, output = _verify(run, root, bomb)
    elapsed = time.monotonic() - started
    assert code == 1
    assert output.count("\n") == 1
    assert "is larger than a coalition file may be" in output
    assert elapsed < 60  # generous: this guards against reading 60 MiB whole, not speed


def test_an_oversized_file_is_refused_before_it_is_read(run: Run, tmp_path: Path) -> None:
    big = tmp_path / "big.pdf"
    with big.open("wb") as stream:
        stream.write(b"%PDF-1.7\n")
        stream.truncate(60 * 1024 * 1024)
    code, output = _verify(run, REPO, big)
    assert code == 1
    assert output.count("\n") == 1
    assert "too large for an MOU packet" in output


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"just some notes\n", "not a PDF file"),
        (b"%PDF-1.7\n garbage \x00\xff", "cannot read it as a PDF"),
        (b"", "not a PDF file"),
    ],
)
def test_other_files_get_one_line(run: Run, tmp_path: Path, content: bytes, expected: str) -> None:
    other = tmp_path / "other.pdf"
    other.write_bytes(content)
    code, output = _verify(run, REPO, other)
    assert code == 1
    assert output.count("\n") == 1, output
    assert expected in output
    assert "Traceback" not in output


def test_a_missing_file_is_a_usage_error(run: Run, tmp_path: Path) -> None:
    assert _verify(run, REPO, tmp_path / "nowhere.pdf")[0] == 2


def test_a_packet_of_another_workspace_says_so(
    run: Run, printed: tuple[Path, Path], tmp_path: Path
) -> None:
    _, packet = printed
    other = tmp_path / "other"
    (other / "coalitions").mkdir(parents=True)
    shutil.copy(REPO / "playbook.yaml", other / "playbook.yaml")
    code, output = _verify(run, other, packet)
    assert code == 1
    assert "the packet comes from another workspace" in output
    assert "print it again" not in output.lower()


def test_a_changed_agreement_names_old_and_new_values(
    run: Run, printed: tuple[Path, Path], tmp_path: Path
) -> None:
    root, packet = printed
    changed = tmp_path / "changed"
    shutil.copytree(root, changed)
    path = changed / "coalitions" / f"{SLUG}.yaml"
    path.write_text(path.read_text().replace("notice_days: 90", "notice_days: 30"))
    code, output = _verify(run, changed, packet)
    assert code == 1
    assert "exit.notice_days: 90 → 30" in output


def test_the_briefing_is_not_a_packet_to_verify(run: Run, tmp_path: Path) -> None:
    root = tmp_path / "ws"
    root.mkdir()
    shutil.copy(REPO / "playbook.yaml", root / "playbook.yaml")
    shutil.copytree(REPO / "coalitions", root / "coalitions")
    assert run("build", "--root", root, "--today", TODAY).exit_code == 0
    code, output = _verify(
        run, root, root / "site/coalitions/fair-trade-pact/fair-trade-pact-briefing.pdf"
    )
    assert code == 1
    assert "not a playbook MOU packet" in output
