"""render.py: laying out facts; the MOU from the signed terms alone; redlines."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import markupsafe
import pytest
from hypothesis import given
from hypothesis import strategies as st
from markupsafe import Markup

from playbook_builder import render
from playbook_builder.errors import PlaybookError
from playbook_builder.model import Clause, Mou, SiteConfig
from playbook_builder.terms import signed_terms
from playbook_builder.workspace import builtin_dir
from tests.unit.make import coalition

CONFIG = SiteConfig(title="T", organization="Org")


def _renderer(*extra: Path) -> render.Renderer:
    return render.Renderer([*extra, builtin_dir("templates")], CONFIG, date(2026, 11, 25))


def test_dates_read_the_same_everywhere() -> None:
    assert render.long_date(date(2027, 1, 5)) == "5 January 2027"
    assert render.long_date(None) == ""


def test_the_agreement_escapes_text_and_renders_clause_markdown() -> None:
    clause = Clause(title="Data", text="Share **de-identified** data [x](javascript:1).")
    c = coalition(purpose="Stop <script>alert(1)</script> now.", mou=Mou(clauses=(clause,)))
    html = str(_renderer().agreement(signed_terms(c)))
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<strong>de-identified</strong>" in html
    assert "javascript:" not in html.replace("[x](javascript:1)", "")


def test_the_mou_template_cannot_reach_the_coalition(tmp_path: Path) -> None:
    (tmp_path / "_mou.html").write_text("{{ v.c.partners[0].contact }}{{ site.organization }}")
    with pytest.raises(PlaybookError, match=r"_mou\.html"):
        _renderer(tmp_path).agreement(signed_terms(coalition()))


class _Html:
    def __html__(self) -> str:
        return "<i>safe</i>"


_OUTPUTS = st.one_of(
    st.text(),
    st.text().map(Markup),
    st.text().map(markupsafe.escape),
    st.integers(),
    st.floats(allow_nan=False),
    st.none(),
    st.booleans(),
    st.just(_Html()),
)


@given(_OUTPUTS)
def test_output_is_escaped_exactly_as_markupsafe_escapes(value: object) -> None:
    escaped = render._escape(value)
    assert type(escaped) is Markup
    assert escaped == markupsafe.escape(value)


@pytest.mark.parametrize("workspace_templates", [False, True])
def test_both_environments_escape_every_output_once(
    tmp_path: Path, workspace_templates: bool
) -> None:
    r = _renderer(tmp_path) if workspace_templates else _renderer()
    page = r.env.from_string("{{ a }}|{{ b }}|{{ c }}|{{ d }}|{{ e }}|{{ a|e }}")
    out = page.render(a="<a href='x'>&", b=Markup("<b>ok</b>"), c=-3, d=None, e=_Html())
    plain = "&lt;a href=&#39;x&#39;&gt;&amp;"
    assert out == f"{plain}|<b>ok</b>|-3|None|<i>safe</i>|{plain}"


def test_mou_text_has_a_line_per_block() -> None:
    lines = render.mou_text(_renderer(), signed_terms(coalition()))
    assert lines[0] == "1. The parties"
    assert "Pass the levy." in lines
    assert any(line.startswith("Alpha Group ") for line in lines)  # the commitments table


def test_a_redline_marks_words_and_numbers_changed_paragraphs() -> None:
    red = render.redline(["Notice is 90 days.", "Same."], ["Notice is 30 days.", "Same."])
    assert red.inserted == 1
    assert red.deleted == 1
    assert red.paragraphs == 1
    assert (
        '<p id="change-1" class="changed">Notice is <del>90</del> <ins>30</ins> days.</p>'
        in red.html
    )
    assert isinstance(red.html, Markup)


def test_a_redline_escapes_what_it_shows() -> None:
    red = render.redline(["a"], ["a <b>"])
    assert "&lt;b&gt;" in red.html
