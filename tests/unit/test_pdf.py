"""pdf.py: what the printer gives WeasyPrint besides the HTML."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from playbook_builder import pdf
from tests.conftest import REPO


def test_a_file_comes_with_its_type(tmp_path: Path) -> None:
    """As WeasyPrint's own fetcher gives it: an SVG is read as SVG, not tried as a raster."""
    (tmp_path / "mark.svg").write_text("<svg xmlns='http://www.w3.org/2000/svg'/>")
    (tmp_path / "notes").write_text("no suffix")
    fetcher = pdf.SafeFetcher([tmp_path])
    assert fetcher.fetch((tmp_path / "mark.svg").as_uri()).content_type == "image/svg+xml"
    assert fetcher.fetch((tmp_path / "notes").as_uri()).read() == b"no suffix"
    assert fetcher.read == [str(tmp_path / "mark.svg"), str(tmp_path / "notes")]


def test_an_array_given_its_values_is_the_same_array_without_its_length() -> None:
    from weasyprint.text.ffi import ffi

    arrays = pdf._OpenArrays(ffi)
    values = [3, 1, 4, 1, 5]
    made = arrays.new("hb_codepoint_t[5]", values)
    assert ffi.typeof(made) is ffi.typeof("hb_codepoint_t[]")
    assert list(made) == values
    assert ffi.sizeof(made) == ffi.sizeof(ffi.new("hb_codepoint_t[5]", values))
    # anything else is declared as asked: no values, fewer values, or no array at all
    assert ffi.typeof(arrays.new("hb_codepoint_t[4]")) is ffi.typeof("hb_codepoint_t[4]")
    assert list(arrays.new("hb_codepoint_t[4]", [7])) == [7, 0, 0, 0]
    assert arrays.new("unsigned int *", 100)[0] == 100
    assert arrays.NULL is ffi.NULL


def test_weasyprint_subsets_fonts_with_them() -> None:
    """The wrapper is in place in the WeasyPrint this was measured on (68 to 70)."""
    import weasyprint.pdf.fonts

    if not hasattr(weasyprint.pdf.fonts, "ffi"):
        pytest.fail("WeasyPrint's font subsetting no longer names `ffi`: look at pdf.py again")
    assert isinstance(weasyprint.pdf.fonts.ffi, pdf._OpenArrays)


def test_the_declarations_a_packet_needs_are_parsed_ahead() -> None:
    """After `parse_declarations`, printing the samples' packets (in a fresh process)
    makes cffi parse no declaration of its own: the list is what WeasyPrint asks for."""
    code = f"""
import pathlib
from playbook_builder import build, pdf
from weasyprint.text.ffi import ffi
ready = build.prepare(pathlib.Path({str(REPO)!r}), None)
jobs = [build.packet_job(ready, v, kind) for v in ready.facts for kind in ("mou", "briefing")]
pdf.parse_declarations()
ahead = set(ffi._parsed_types)
for job in jobs:
    pdf.render_pdf(**job)
print(sorted(set(ffi._parsed_types) - ahead))
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "[]"
