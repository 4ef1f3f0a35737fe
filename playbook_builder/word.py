"""The agreement as a Word document, for counsel to mark up (python-docx).

It is made from the same HTML as the MOU page and the packet, which is laid out from the
signed terms alone: headings, numbered sections, paragraphs with their emphasis, lists
and tables come across element by element, so the words cannot differ. A signature
table and the fingerprint in every page's footer follow. Output is byte-identical for
the same terms and date: the document's dates are the build's, and the zip is written
with fixed times in a fixed order.
"""

from __future__ import annotations

import datetime
import io
import zipfile
from html.parser import HTMLParser
from typing import Any

from docx import Document
from docx.enum.style import WD_STYLE_TYPE
from docx.shared import Pt

from playbook_builder.fingerprint import Fingerprint
from playbook_builder.model import SiteConfig
from playbook_builder.terms import SignedTerms


def agreement(
    terms: SignedTerms,
    print_: Fingerprint,
    agreement_html: str,
    config: SiteConfig,
    today: datetime.date,
) -> bytes:
    """The Word document of an agreement whose MOU text is `agreement_html`."""
    document = Document()
    style = document.styles["Normal"]
    style.font.name = "DejaVu Serif"
    style.font.size = Pt(10.5)
    paragraphs = _Paragraphs(document)
    paragraphs.add("Subtitle", "Memorandum of understanding")
    paragraphs.add("Title", terms.name)
    document.add_paragraph(
        f"MOU fingerprint {print_.short} ({print_.full}). A signature given to any other "
        f"fingerprint does not cover this text. Prepared by {config.organization} on "
        f"{today.isoformat()} for review; partners sign the printed packet."
    )
    _Converter(document, paragraphs).feed(agreement_html)
    paragraphs.add("Heading 1", "Signatures")
    table = document.add_table(rows=1, cols=5)
    table.style = "Table Grid"
    for cell, heading in zip(
        table.rows[0].cells, ("Partner", "Signature", "Printed name", "Title", "Date"), strict=True
    ):
        cell.text = heading
    for party in terms.parties:
        cells = table.add_row().cells
        cells[0].text = party.legal_name
        cells[2].text = party.representative
        cells[3].text = party.representative_title
    for section in document.sections:
        section.footer.paragraphs[0].text = f"MOU fingerprint {print_.short}"
    properties = document.core_properties
    stamp = datetime.datetime(today.year, today.month, today.day)  # noqa: DTZ001 - as Word stores it
    properties.title = f"Memorandum of understanding: {terms.name}"
    properties.author = config.organization
    properties.last_modified_by = config.organization
    properties.created = stamp
    properties.modified = stamp
    properties.revision = 1
    properties.keywords = f"mou {print_.full}"
    buffer = io.BytesIO()
    document.save(buffer)
    return _fixed_zip(buffer.getvalue(), stamp)


def _fixed_zip(data: bytes, stamp: datetime.datetime) -> bytes:
    """The same zip with every entry's time set to `stamp`: builds are byte-identical."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    when = (stamp.year, stamp.month, stamp.day, 0, 0, 0)
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=when)
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = 0o644 << 16
            target.writestr(fixed, source.read(info.filename))
    return out.getvalue()


class _Paragraphs:
    """New paragraphs of a document in a named style, each name looked up once.

    python-docx's `Paragraph.style = name` looks the name up and then walks every style
    of the document for the default one, at each paragraph: 40% of the time to make an
    agreement (measured). The style's id it finds is the same each time: it is set as
    that setter sets it, so the document is the same byte for byte.
    """

    def __init__(self, document: Any) -> None:
        self.document = document
        self.ids: dict[str, str | None] = {}

    def add(self, style: str, text: str = "") -> Any:
        if style not in self.ids:
            part = self.document.part
            self.ids[style] = part.get_style_id(style, WD_STYLE_TYPE.PARAGRAPH)
        paragraph = self.document.add_paragraph(text)
        paragraph._p.style = self.ids[style]  # as `Paragraph.style` sets it
        return paragraph


class _Converter(HTMLParser):
    """The MOU's HTML -> Word paragraphs: h2/h3 headings, p and li with bold and italic
    runs, tables cell by cell. Anything else contributes its text."""

    def __init__(self, document: Any, paragraphs: _Paragraphs) -> None:
        super().__init__(convert_charrefs=True)
        self.document = document
        self.paragraphs = paragraphs
        self.paragraph: Any = None
        self.bold = 0
        self.italic = 0
        self.lists: list[str] = []
        self.row: list[str] | None = None
        self.rows: list[tuple[list[str], bool]] = []
        self.cell: list[str] | None = None
        self.header = False
        self.in_head = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("h2", "h3"):
            self.paragraph = self.paragraphs.add("Heading 1" if tag == "h2" else "Heading 2")
        elif tag == "p":
            self.paragraph = self.document.add_paragraph()
        elif tag in ("ul", "ol"):
            self.lists.append(tag)
        elif tag == "li":
            kind = "List Number" if self.lists and self.lists[-1] == "ol" else "List Bullet"
            depth = f" {min(len(self.lists), 3)}" if len(self.lists) > 1 else ""
            self.paragraph = self.paragraphs.add(kind + depth)
        elif tag in ("strong", "b"):
            self.bold += 1
        elif tag in ("em", "i"):
            self.italic += 1
        elif tag == "table":
            self.rows = []
        elif tag == "tr":
            self.row = []
        elif tag in ("td", "th"):
            self.cell = []
            self.header = self.header or (tag == "th" and self.in_head)
        elif tag == "thead":
            self.in_head = True
        elif tag == "tbody":
            self.in_head = False
        elif tag == "br" and self.paragraph is not None:
            self.paragraph.add_run().add_break()

    def handle_endtag(self, tag: str) -> None:
        if tag in ("h2", "h3", "p", "li"):
            self.paragraph = None
        elif tag in ("ul", "ol") and self.lists:
            self.lists.pop()
        elif tag in ("strong", "b"):
            self.bold -= 1
        elif tag in ("em", "i"):
            self.italic -= 1
        elif tag in ("td", "th") and self.row is not None and self.cell is not None:
            self.row.append(" ".join("".join(self.cell).split()))
            self.cell = None
        elif tag == "tr" and self.row is not None:
            self.rows.append((self.row, self.header))
            self.row = None
            self.header = False
        elif tag == "table" and self.rows:
            width = max(len(row) for row, _ in self.rows)
            table = self.document.add_table(rows=0, cols=width)
            table.style = "Table Grid"
            for row, heading in self.rows:
                cells = table.add_row().cells
                for index, value in enumerate(row):
                    cells[index].text = value
                    if heading:
                        for run in cells[index].paragraphs[0].runs:
                            run.bold = True
            self.rows = []

    def handle_data(self, data: str) -> None:
        if self.cell is not None:
            self.cell.append(data)
            return
        text = " ".join(data.split())
        if not text:
            return
        if self.paragraph is None:
            self.paragraph = self.document.add_paragraph()
        if data[:1].isspace() and self.paragraph.runs:
            text = " " + text
        if data[-1:].isspace():
            text += " "
        run = self.paragraph.add_run(text)
        run.bold = self.bold > 0 or None
        run.italic = self.italic > 0 or None
