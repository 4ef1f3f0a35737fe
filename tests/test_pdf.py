"""The MOU packets: text, outline, metadata, page size, DRAFT marks, signature blocks,
determinism, refused resources, and `playbook verify`."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner
from pypdf import PdfReader

from playbook_builder import checks
from playbook_builder.cli import cli
from playbook_builder.fingerprint import fingerprint
from tests.conftest import REPO, Counting, Run

pytestmark = pytest.mark.slow  # end to end: the CLI, builds, WeasyPrint or a browser

TODAY = "2026-11-25"
SECTIONS = (
    "1. The parties", "2. Shared goal", "3. The alliance", "4. Commitments",
    "5. Roles and responsibilities", "6. How decisions are made", "7. Communication",
    "8. Review", "9. Leaving and ending", "10. Provisions", "11. Further clauses",
    "12. Legal status and signing", "Signatures",
)  # fmt: skip


def _workspace(root: Path) -> Path:
    root.mkdir(parents=True)
    shutil.copy(REPO / "playbook.yaml", root / "playbook.yaml")
    shutil.copytree(REPO / "coalitions", root / "coalitions")
    return root


def _build(root: Path, *extra: str) -> str:
    result = CliRunner().invoke(
        cli, ["build", "--root", str(root), "--today", TODAY, *extra], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    return result.stderr


@pytest.fixture(scope="module")
def packets(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = _workspace(tmp_path_factory.mktemp("packets") / "ws")
    _build(root)
    return root / "site" / "coalitions"


def _reader(packets: Path, slug: str) -> PdfReader:
    return PdfReader(io.BytesIO((packets / slug / f"{slug}-mou.pdf").read_bytes()))


def _meta(reader: PdfReader) -> dict[str, str]:
    return {str(key): str(value) for key, value in (reader.metadata or {}).items()}


def _pages(reader: PdfReader) -> list[str]:
    return [" ".join(page.extract_text().split()) for page in reader.pages]


def test_every_section_is_in_the_packet(packets: Path) -> None:
    text = " ".join(_pages(_reader(packets, "housing-for-health")))
    for heading in SECTIONS:
        assert heading in text, heading
    for fragment in (
        "Halve repeat emergency visits",
        "What success means for each partner",
        "The partners create a pooled fund",
        "60 staff hours a month, 400,000 USD",
        "Fiscal agent, held by Riverside Health System",
        "3 of 4 when all take part, 2 of 3 at quorum",
        "6 January 2027",
        "A partner may leave by giving 90 days' notice",
        "The partners may suspend or expel a partner in breach.",
        "11.1 Data sharing",
        "de-identified",
        "Riverside Health System, Inc. (“Riverside Health System”)",
        "notices to 400 Harbor Avenue, Riverside, CA 92501",
        "10.1 Confidentiality",
        "10.6 Fiscal agent",
        "10.9 Governing law This memorandum is read under the law of the State of California.",
        "It creates no legal obligations except its provisions on confidentiality and fiscal "
        "agent (section 10), which bind the partners.",
        "may sign it electronically",
    ):
        assert fragment in text, fragment


def test_the_signing_packet_does_not_show_how_partners_were_vetted(packets: Path) -> None:
    text = " ".join(_pages(_reader(packets, "housing-for-health")))
    for vetting in ("13 of 25", "least-ready", "trust", "Total", "A201", "A202", "red flag",
                    "reputational", "Appendix", "decision matrix", "@"):  # fmt: skip
        assert vetting not in text, vetting
    assert not re.search(r"\bA[1-9]\d\d\b", text)  # no advisory code at all


def test_the_briefing_carries_the_assessment(packets: Path) -> None:
    reader = PdfReader(packets / "housing-for-health/housing-for-health-briefing.pdf")
    text = " ".join(_pages(reader))
    assert "Briefing: internal, not for signature" in text
    for fragment in ("totals 13 of 25", "A201", "A202", "Timeline", "not signed yet"):
        assert fragment in text, fragment
    assert not reader.attachments  # it carries no coalition file, and verify refuses it


def test_draft_is_a_picture_not_text(packets: Path) -> None:
    text = subprocess.run(
        ["pdftotext", "-layout", str(packets / "housing-for-health/housing-for-health-mou.pdf"),
         "-"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    # DRAFT appears where it is written (the cover's status and each page's footer), never
    # as the watermark's letters scattered through the body
    assert text.count("DRAFT") == 1 + text.count("· DRAFT")
    assert not re.search(r"\bD\s*R\s*A\s*F\s*T\b", text.replace("DRAFT", ""))


def test_contents_has_real_page_numbers(packets: Path) -> None:
    reader = _reader(packets, "housing-for-health")
    pages = _pages(reader)
    lines = reader.pages[1].extract_text().splitlines()
    listed = {
        match.group(1): int(match.group(2))
        for line in lines
        if (match := re.match(r"^(.+?)(?: *\.){3,} *(\d+)$", line.strip()))
    }
    assert list(listed) == list(SECTIONS)
    for heading, number in listed.items():
        assert heading in pages[number - 1], heading
        assert heading not in " ".join(pages[2 : number - 1]).replace("Contents", ""), heading


def test_outline_lists_the_sections(packets: Path) -> None:
    outline = _reader(packets, "housing-for-health").outline
    titles = [item.title for item in outline if not isinstance(item, list)]
    assert titles == list(SECTIONS)


def test_signature_page_names_every_decision_maker(packets: Path) -> None:
    pages = _pages(_reader(packets, "housing-for-health"))
    signature_pages = " ".join(p for p in pages if "Printed name" in p)
    for name in ("Dr. Elena Marsh", "Marcus Oyelaran", "Keisha Abernathy", "Dr. Samuel Iwu"):
        assert f"Printed name {name}" in signature_pages
    assert "Needs re-signature" in signature_pages
    assert "Signature on record: Dr. Elena Marsh" in signature_pages


def test_fingerprint_on_every_page(packets: Path) -> None:
    for slug in ("housing-for-health", "dignity-in-detention"):
        short = _meta(_reader(packets, slug))["/playbookfingerprint"][:8]
        for number, page in enumerate(_pages(_reader(packets, slug)), start=1):
            assert f"MOU fingerprint {short}" in page, (slug, number)


def test_draft_mark_exactly_when_signatures_are_missing(packets: Path) -> None:
    draft = _pages(_reader(packets, "housing-for-health"))
    assert all("DRAFT" in page for page in draft)
    signed = _pages(_reader(packets, "dignity-in-detention"))
    assert not any("DRAFT" in page for page in signed)
    assert "SIGNED" in signed[0]
    forming = _pages(_reader(packets, "fair-trade-pact"))
    assert all("DRAFT" in page for page in forming)


def test_metadata_and_provenance(packets: Path) -> None:
    reader = _reader(packets, "housing-for-health")
    assert reader.metadata is not None
    assert reader.metadata.title == "Memorandum of understanding: Riverside Housing for Health Fund"
    meta = _meta(reader)
    assert reader.metadata.author == "Riverbend Community Foundation"
    assert meta["/Subject"].startswith("Halve repeat emergency visits")
    assert meta["/CreationDate"] == "D:20261125"
    source = (REPO / "coalitions" / "housing-for-health.yaml").read_text()
    assert reader.attachments["housing-for-health.yaml"] == [source.encode()]
    assert meta["/playbookfingerprint"].startswith("24301be3")
    assert len(meta["/playbooktemplates"]) == 64
    assert meta["/playbookrevision"].startswith("source file coalitions/housing-for-health.yaml")
    catalog = reader.trailer["/Root"].get_object()
    assert isinstance(catalog, dict)
    assert "/StructTreeRoot" in catalog  # tagged for assistive technology


def test_page_size_follows_the_settings(tmp_path: Path) -> None:
    root = _workspace(tmp_path / "a4")
    settings = root / "playbook.yaml"
    settings.write_text(settings.read_text().replace("paper: letter", "paper: a4"))
    result = CliRunner().invoke(
        cli, ["pdf", "--root", str(root), "fair-trade-pact", "--today", TODAY]
    )
    assert result.exit_code == 0, result.output
    reader = PdfReader(root / "site/coalitions/fair-trade-pact/fair-trade-pact-mou.pdf")
    box = reader.pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (595, 842)


def test_letter_size_by_default(packets: Path) -> None:
    box = _reader(packets, "fair-trade-pact").pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (612, 792)


def _grey_pages(pdf: Path, out: Path) -> list[list[bytes]]:
    """Every page as rows of grey pixels, rendered by pdftoppm."""
    out.mkdir()
    subprocess.run(["pdftoppm", "-r", "100", "-gray", str(pdf), str(out / "p")], check=True)
    pages = []
    for image in sorted(out.glob("p-*.pgm"), key=lambda p: int(p.stem.split("-")[1])):
        data = image.read_bytes()
        parts = data.split(maxsplit=4)  # P5, width, height, maxval, pixels
        width, height = int(parts[1]), int(parts[2])
        pixels = parts[4]
        pages.append([pixels[row * width : (row + 1) * width] for row in range(height)])
    return pages


def _box_edges(rows: list[bytes]) -> int:
    """Horizontal lines of a signature box's grey border, spanning most of the text width."""
    count, previous = 0, False
    for row in rows:
        width = len(row)
        run = best = 0
        for value in row:
            run = run + 1 if 100 <= value <= 215 else 0
            best = max(best, run)
        line = best > width * 0.77  # the box spans 79.6% of the page width; its rows 75.5%
        if line and not previous:
            count += 1
        previous = line
    return count


def test_signature_blocks_are_never_split(tmp_path: Path) -> None:
    root = _workspace(tmp_path / "many")
    path = root / "coalitions" / "housing-for-health.yaml"
    text = path.read_text()
    extra = "".join(
        f"  - id: extra-{i}\n    name: Extra Partner Number {i}\n"
        f"    decision_maker: {{name: Person {i}, title: Director}}\n"
        "    scores: {alignment: 4, trust: 4, resources: 4, time_horizon: 4, exit_cost: 4}\n"
        for i in range(5)
    )
    path.write_text(text.replace("\nroles:", extra + "\nroles:", 1))
    result = CliRunner().invoke(
        cli,
        [
            "pdf",
            "--root",
            str(root),
            "housing-for-health",
            "--today",
            TODAY,
            "--out",
            str(tmp_path / "p.pdf"),
        ],
    )
    assert result.exit_code == 0, result.output
    reader = PdfReader(tmp_path / "p.pdf")
    texts = _pages(reader)
    signature_pages = [i for i, t in enumerate(texts) if "Printed name" in t]
    assert len(signature_pages) >= 3  # nine blocks cannot fit on one page
    for index in signature_pages:
        blocks = texts[index].count("Printed name")
        assert texts[index].count("Signs MOU") == blocks  # text of each block stays together
    images = _grey_pages(tmp_path / "p.pdf", tmp_path / "png")
    for index in signature_pages:
        blocks = texts[index].count("Printed name")
        # a whole block has a top and a bottom border; a split one would lose one of them
        assert _box_edges(images[index]) == 2 * blocks, index


def test_two_builds_give_identical_packets(tmp_path: Path) -> None:
    one = _workspace(tmp_path / "one")
    two = _workspace(tmp_path / "two")
    _build(one)
    _build(two)
    for slug in ("housing-for-health", "dignity-in-detention", "fair-trade-pact"):
        name = f"site/coalitions/{slug}/{slug}-mou.pdf"
        assert (one / name).read_bytes() == (two / name).read_bytes(), slug


def test_a_packet_does_not_depend_on_what_was_printed_before_it(tmp_path: Path) -> None:
    """A process prints all its packets with one font configuration: printing others
    first changes no byte (compared with a process that prints only this one)."""
    import sys

    root = _workspace(tmp_path / "ws")
    code = (
        "import datetime, sys\n"
        "from pathlib import Path\n"
        "from playbook_builder import build\n"
        "ready = build.prepare(Path(sys.argv[1]), datetime.date(2026, 11, 25))\n"
        "for slug in sys.argv[2:]:\n"
        "    packet = build.render_packet(ready, ready.of(slug)).pdf\n"
        "sys.stdout.buffer.write(packet)\n"
    )

    def printed(*slugs: str) -> bytes:
        command = [sys.executable, "-c", code, str(root), *slugs]
        return subprocess.run(command, capture_output=True, check=True).stdout

    alone = printed("housing-for-health")
    assert alone.startswith(b"%PDF")
    assert printed("fair-trade-pact", "dignity-in-detention", "housing-for-health") == alone


def test_names_in_every_script(tmp_path: Path) -> None:
    root = _workspace(tmp_path / "intl")
    path = root / "coalitions" / "dignity-in-detention.yaml"
    text = path.read_text().replace("Sister Maureen Doyle", "Zoë Øvergaard-Müller")
    text = text.replace("Jonah Alvarez", "Анна Кузнецова")
    text = text.replace("Civil Liberties Project of Lake County", "人权法律援助中心")
    path.write_text(text)
    result = CliRunner().invoke(
        cli,
        [
            "pdf",
            "--root",
            str(root),
            "dignity-in-detention",
            "--today",
            TODAY,
            "--out",
            str(tmp_path / "i.pdf"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "WeasyPrint" not in result.stderr
    text = " ".join(_pages(PdfReader(tmp_path / "i.pdf")))
    for name in ("Zoë Øvergaard-Müller", "Анна Кузнецова", "人权法律援助中心"):
        assert name in text


def test_outside_resources_are_never_read(tmp_path: Path, server: str) -> None:
    root = _workspace(tmp_path / "ws")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "evil.css").write_text("body::after { content: 'READ-FROM-OUTSIDE'; }")
    (outside / "secret.png").write_bytes(b"\x89PNG not really")
    # a clause (user text): Markdown image and raw HTML never even reach the fetcher
    path = root / "coalitions" / "fair-trade-pact.yaml"
    path.write_text(
        path.read_text().replace(
            "mou:\n  effective: 2026-12-01\n",
            "mou:\n  effective: 2026-12-01\n  clauses:\n    - title: Tricks\n      text: |\n"
            f"        ![x]({server}/clause.png) ![y](file://{outside}/secret.png)\n"
            f'        <link rel="stylesheet" href="{server}/clause.css">\n'
            f'        <img src="file://{outside}/secret.png">\n',
        )
    )
    # a workspace template (trusted more, still fenced): the fetcher refuses
    (root / "templates" / "packet").mkdir(parents=True)
    packet = (REPO / "templates" / "packet" / "packet.html").read_text()
    packet = packet.replace(
        "</head>",
        f'<link rel="stylesheet" href="{server}/template.css">\n'
        f'<link rel="stylesheet" href="file://{outside}/evil.css">\n</head>',
    ).replace(
        "<body",
        f'<body><img src="{server}/t.png" alt=""><img src="file://{outside}'
        '/secret.png" alt=""></body><body',
        1,
    )
    (root / "templates" / "packet" / "packet.html").write_text(packet)
    stderr = _build(root)
    assert Counting.hits == []
    text = " ".join(
        _pages(PdfReader(root / "site/coalitions/fair-trade-pact/fair-trade-pact-mou.pdf"))
    )
    assert "FETCHED-FROM-NETWORK" not in text
    assert "READ-FROM-OUTSIDE" not in text
    assert "Tricks" in text
    assert '<link rel="stylesheet"' in text  # raw HTML in a clause is printed as text
    refused = [line for line in stderr.splitlines() if "A901" in line]
    assert any(f"{server}/template.css (a network address)" in line for line in refused)
    assert any("evil.css (a file outside the workspace)" in line for line in refused)
    assert not any("clause" in line for line in refused)


def test_verify_a_current_packet(packets: Path, run: Run) -> None:
    root = packets.parents[1]
    result = run(
        "verify", "--root", root, packets / "housing-for-health/housing-for-health-mou.pdf"
    )
    assert result.exit_code == 0, result.output
    assert "The printed packet matches the workspace." in result.stdout
    assert "Pages: all 9 identical to a fresh print of the embedded file." in result.stdout


def test_verify_catches_a_changed_agreement(tmp_path: Path, run: Run) -> None:
    root = _workspace(tmp_path / "ws")
    _build(root)
    printed = tmp_path / "printed.pdf"
    shutil.copy(root / "site/coalitions/housing-for-health/housing-for-health-mou.pdf", printed)
    path = root / "coalitions" / "housing-for-health.yaml"
    original = path.read_text()
    path.write_text(
        original.replace("outreach: {done: 2026-04-08,", "outreach: {done: 2026-04-09,")
    )
    result = run("verify", "--root", root, printed)
    assert result.exit_code == 0
    assert "The coalition file was edited since printing, outside the agreement" in result.stdout
    path.write_text(original.replace("notice_days: 90", "notice_days: 60"))
    result = run("verify", "--root", root, printed)
    assert result.exit_code == 1
    assert "Agreement: CHANGED" in result.stdout
    assert "exit.notice_days: 90 → 60" in result.stdout
    path.write_text(original)
    (root / "templates").mkdir()
    shutil.copy(REPO / "templates" / "_mou.html", root / "templates" / "_mou.html")
    with (root / "templates" / "_mou.html").open("a") as handle:
        handle.write("<p>One more line.</p>\n")
    result = run("verify", "--root", root, printed)
    assert result.exit_code == 1
    assert "printed with other packet templates than this workspace's" in result.stdout


def test_verify_refuses_other_pdfs(tmp_path: Path, run: Run, sample: Path) -> None:
    other = tmp_path / "other.pdf"
    import weasyprint

    weasyprint.HTML(string="<p>Not a packet</p>").write_pdf(other)
    result = run("verify", "--root", sample, other)
    assert result.exit_code == 1
    assert "not a playbook MOU packet" in result.stderr


def test_the_fingerprint_printed_is_the_workspace_fingerprint(packets: Path) -> None:

    loaded = checks.load_valid(packets.parents[1])
    for item in loaded.coalitions:
        meta = _meta(_reader(packets, item.slug))
        assert meta["/playbookfingerprint"] == fingerprint(item.coalition).full
