"""word.py: the agreement as a Word document, from the same text as the MOU."""

from __future__ import annotations

import io
from datetime import date

import docx

from playbook_builder import render, word
from playbook_builder.fingerprint import fingerprint
from playbook_builder.model import SiteConfig
from playbook_builder.terms import signed_terms
from playbook_builder.workspace import builtin_dir
from tests.unit.make import coalition

CONFIG = SiteConfig(title="T", organization="Org")
TODAY = date(2026, 11, 25)


def _document() -> tuple[bytes, str]:
    terms = signed_terms(coalition(purpose="Pass the **levy**."))
    renderer = render.Renderer([builtin_dir("templates")], CONFIG, TODAY)
    html = str(renderer.agreement(terms))
    return word.agreement(terms, fingerprint(terms), html, CONFIG, TODAY), html


def test_sections_parties_and_fingerprint() -> None:
    data, _ = _document()
    document = docx.Document(io.BytesIO(data))
    headings = [
        p.text for p in document.paragraphs if p.style and str(p.style.name).startswith("Heading")
    ]
    assert headings[:3] == ["1. The parties", "2. Shared goal", "3. The alliance"]
    assert headings[-3:] == ["10.7 Costs", "11. Legal status and signing", "Signatures"]
    assert "10. Provisions" in headings
    styles = [(p.style.name, p.text) for p in document.paragraphs if p.style is not None]
    assert styles[:2] == [("Subtitle", "Memorandum of understanding"), ("Title", "Test Alliance")]
    assert {name for name, _ in styles} == {
        "Subtitle",
        "Title",
        "Heading 1",
        "Heading 2",
        "List Bullet",
        "Normal",
    }
    text = "\n".join(p.text for p in document.paragraphs)
    assert "Alpha Group, represented by Alpha Group Lead, Director." in text
    short = fingerprint(signed_terms(coalition(purpose="Pass the **levy**."))).short
    assert document.sections[0].footer.paragraphs[0].text == f"MOU fingerprint {short}"
    signatures = document.tables[-1]
    assert [row.cells[0].text for row in signatures.rows] == [
        "Partner",
        "Alpha Group",
        "Beta Union",
    ]


def test_the_same_words_as_the_mou() -> None:
    data, _ = _document()
    document = docx.Document(io.BytesIO(data))
    parts = [p.text for p in document.paragraphs]
    parts += ["".join(c.text for c in row.cells) for t in document.tables for row in t.rows]
    squeezed = "".join("".join(parts).split())
    renderer = render.Renderer([builtin_dir("templates")], CONFIG, TODAY)
    lines = render.mou_text(renderer, signed_terms(coalition(purpose="Pass the **levy**.")))
    assert len(lines) > 20
    for line in lines:
        assert "".join(line.split()) in squeezed, line


def test_byte_identical() -> None:
    assert _document()[0] == _document()[0]
