"""WeasyPrint is imported without running the C compiler to find its libraries, and still
imports when the loader's cache alone would not do. Each case runs in a fresh process,
where nothing has imported WeasyPrint yet."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="a Linux search")


def run(code: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_no_compiler_or_linker_is_run_to_import_weasyprint() -> None:
    out = run(
        """
        import ctypes.util
        ran = []
        ctypes.util._findLib_gcc = lambda name: ran.append(("gcc", name))
        ctypes.util._findLib_ld = lambda name: ran.append(("ld", name))
        from playbook_builder import pdf
        html = "<p>Hello</p>"
        print(pdf.weasyprint.HTML(string=html).write_pdf()[:5].decode(), ran)
        """
    )
    assert out.split() == ["%PDF-", "[]"]


def test_the_full_search_is_used_when_the_loader_cache_is_not_enough() -> None:
    # Every library the quick search offers fails to open: the import goes on with the
    # full search (the compiler's paths), as it would without playbook.
    out = run(
        """
        import ctypes.util, cffi
        opened = cffi.FFI.dlopen
        def dlopen(self, name, flags=0):
            if ctypes.util.find_library.__name__ == "cache_only":
                raise OSError("refused for the test: " + str(name))
            return opened(self, name, flags)
        cffi.FFI.dlopen = dlopen
        from playbook_builder import pdf
        print(ctypes.util.find_library.__name__, pdf.weasyprint.__version__ > "")
        """
    )
    assert out.split() == ["find_library", "True"]
