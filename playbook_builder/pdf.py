"""Packet HTML -> PDF bytes with WeasyPrint; the only module that imports it.

Every resource goes through SafeFetcher: files inside the allowed folders (the workspace
and the package's own templates), and small data: URLs. Everything else (http, https,
other files, big data: URLs) is refused and recorded, so that the build can report it;
nothing is ever fetched from the network. Dates in the PDF come from the build's
`today`, the fonts ship with the templates, and the PDF/A-3a identifier is derived from
the content, so the same inputs give the same bytes.
"""

from __future__ import annotations

import logging
import mimetypes
import multiprocessing.util
import os
import re
import shutil
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit
from urllib.request import url2pathname

from playbook_builder.libraries import loader_cache_only
from playbook_builder.printed import Rendered
from playbook_builder.workspace import in_git_folder

try:
    with loader_cache_only():
        import weasyprint
except OSError:  # a library only the compiler's search finds: raises as before if none does
    import weasyprint
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import URLFetcher, URLFetcherResponse

MAX_DATA_URL = 256 * 1024
"""Characters of a data: URL the packet accepts."""
PDF_VARIANT = "pdf/a-3a"
"""PDF/A-3 allows the embedded source file; level A makes the PDF tagged (accessible)."""


class SafeFetcher(URLFetcher):  # type: ignore[misc]
    """Serves files under `allowed` folders and small data: URLs; refuses the rest."""

    def __init__(self, allowed: Sequence[Path]) -> None:
        super().__init__(timeout=1, allowed_protocols=("file", "data"), allow_redirects=False)
        self.allowed = tuple(folder.resolve() for folder in allowed)
        self.refused: list[str] = []
        self.read: list[str] = []

    def fetch(self, url: str, headers: Any = None) -> URLFetcherResponse:
        scheme = urlsplit(url).scheme.lower()
        if scheme == "data":
            if len(url) > MAX_DATA_URL:
                return self._refuse(url[:60] + "...", f"data: URL over {MAX_DATA_URL:,} characters")
            return super().fetch(url, headers)
        if scheme == "file":
            path = Path(url2pathname(unquote(urlsplit(url).path))).resolve()
            if any(in_git_folder(path, folder) for folder in self.allowed):
                return self._refuse(url, "a file in git's own folder")
            if any(path.is_relative_to(folder) for folder in self.allowed) and path.is_file():
                self.read.append(str(path))
                # the type, as WeasyPrint's own fetcher gives it: an SVG picture then goes
                # to the SVG reader at once, not through Pillow's readers first
                kind, _ = mimetypes.guess_type(path.name)
                headers = {"Content-Type": kind} if kind else None
                return URLFetcherResponse(url, body=path.read_bytes(), headers=headers)
            return self._refuse(url, "a file outside the workspace")
        return self._refuse(url, "a network address")

    def _refuse(self, url: str, why: str) -> URLFetcherResponse:
        self.refused.append(f"{url} ({why})")
        raise ValueError(f"refused {url}: {why}")


class _OpenArrays:
    """WeasyPrint's C functions with one difference: an array given its values is
    declared without its length.

    WeasyPrint (68 to 70) subsets each font with arrays declared by their length
    (`ffi.new(f"hb_codepoint_t[{n}]", values)`), and cffi parses a declaration it has not
    seen with pycparser: 1.6 ms for each new length, about twelve a packet, 20 ms of a
    printer's first packet (measured). `hb_codepoint_t[]` with the same values is the same
    array, and its declaration is parsed once.
    """

    _SIZED = re.compile(r"(\w+)\[(\d+)\]")

    def __init__(self, ffi: Any) -> None:
        self._ffi = ffi

    def __getattr__(self, name: str) -> Any:
        return getattr(self._ffi, name)

    def new(self, cdecl: Any, init: Any = None) -> Any:
        sized = self._SIZED.fullmatch(cdecl) if isinstance(cdecl, str) else None
        if sized is not None and hasattr(init, "__len__") and len(init) == int(sized[2]):
            return self._ffi.new(f"{sized[1]}[]", init)
        return self._ffi.new(cdecl, init)


def _declare_arrays_once() -> None:
    """Give WeasyPrint's font subsetting `_OpenArrays` (where it is the module it was
    measured on: otherwise nothing changes)."""
    import weasyprint.pdf.fonts
    from weasyprint.text import ffi

    if getattr(weasyprint.pdf.fonts, "ffi", None) is ffi.ffi:
        weasyprint.pdf.fonts.ffi = _OpenArrays(ffi.ffi)


_declare_arrays_once()
mimetypes.init()  # the system's table of file types, read once before a printer forks

_DECLARATIONS = (
    "PangoFcFontMap *",
    "FcChar8 **",
    "char[]",
    "PangoRectangle *",
    "PangoLogAttr[]",
    "unsigned int *",
    "hb_tag_t[100]",
    "char[4]",
    "hb_codepoint_t[]",
)
"""The C declarations WeasyPrint 70 asks cffi for while it prints a packet (recorded
from the samples' packets: no others, with `_OpenArrays`)."""


def parse_declarations() -> None:
    """Have cffi parse now the declarations a packet will need: a printer that forks
    another does it once for both, while the build is not yet ready to hand it a packet
    (cffi parses each with pycparser, 1.6 ms; 15 ms of a printer's first packet)."""
    from cffi import CDefError
    from weasyprint.text.ffi import ffi

    for declaration in _DECLARATIONS:
        try:
            ffi.typeof(declaration)
        except CDefError:  # another WeasyPrint: it parses its own when it needs them
            continue


def fast_subsetting() -> bool:
    """Whether HarfBuzz subsetting is available (deterministic and faster than fontTools)."""
    from weasyprint.text import ffi

    return getattr(ffi, "harfbuzz_subset", None) is not None


_FONTTOOLS = threading.Lock()


@contextmanager
def _pinned_epoch(today: date) -> Iterator[None]:
    """Fonts without a clock in them.

    HarfBuzz subsetting (Debian's libharfbuzz-subset0, which the README asks for) writes no
    timestamp, and then nothing is changed. Without it WeasyPrint falls back to fontTools,
    which stamps fonts with the clock unless SOURCE_DATE_EPOCH is set: only in that case is
    the variable set, for one rendering at a time, so that threads (the preview server)
    never see it come and go under them.
    """
    if fast_subsetting() or "SOURCE_DATE_EPOCH" in os.environ:
        yield
        return
    stamp = datetime(today.year, today.month, today.day, tzinfo=UTC)
    with _FONTTOOLS:
        os.environ["SOURCE_DATE_EPOCH"] = str(int(stamp.timestamp()))
        try:
            yield
        finally:
            os.environ.pop("SOURCE_DATE_EPOCH", None)


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


_FONTS: dict[tuple[Path, ...], FontConfiguration] = {}


def _fonts(allowed: tuple[Path, ...]) -> FontConfiguration:
    """One font configuration for every packet this process prints from these folders.

    A new one per packet (fontconfig's set-up, and a temporary copy of each font the
    templates name) was never freed: a process grew by about 0.3 MiB a packet and left
    the copies behind in the temporary folder (measured: 97 -> 139 MiB over 120 packets,
    and 631 folders of 2.5 MB after a day's builds). The fonts of one set of templates
    are the same for every packet, and WeasyPrint adds a font face once per
    configuration, so sharing it changes no byte of a packet (tested).
    """
    if allowed not in _FONTS:
        config = FontConfiguration()
        _FONTS[allowed] = config
        # when this process ends, workers included (multiprocessing runs these at exit)
        multiprocessing.util.Finalize(None, _forget_fonts, args=(config,), exitpriority=10)
    return _FONTS[allowed]


def forget_fonts() -> None:
    """Delete the copies of the fonts this process made (for a process that ends without
    running its finalizers)."""
    for config in _FONTS.values():
        _forget_fonts(config)


def _forget_fonts(config: FontConfiguration) -> None:
    """Delete the configuration's copies of the fonts."""
    folder = getattr(config, "_folder", None)
    if folder:
        shutil.rmtree(folder, ignore_errors=True)


def render_pdf(
    html: str,
    *,
    base_url: Path,
    allowed: Sequence[Path],
    today: date,
    attachment: tuple[str, bytes, str] | None = None,
) -> Rendered:
    """One packet as PDF bytes.

    `base_url` is the folder relative links resolve against; `attachment` is (file name,
    bytes, description) of the file to embed.
    """
    fetcher = SafeFetcher(allowed=allowed)
    fonts = _fonts(tuple(allowed))
    stamp = datetime(today.year, today.month, today.day, tzinfo=UTC)
    attachments = []
    if attachment is not None:
        name, data, description = attachment
        attachments.append(
            weasyprint.Attachment(
                string=data,
                name=name,
                description=description,
                created=stamp,
                modified=stamp,
                relationship="Source",
                url_fetcher=fetcher,
            )
        )
    collector = _Collect()
    logger = logging.getLogger("weasyprint")
    logger.addHandler(collector)
    try:
        with _pinned_epoch(today):
            document = weasyprint.HTML(
                string=html, base_url=base_url.as_uri() + "/", url_fetcher=fetcher
            ).render(font_config=fonts)
            pdf = document.write_pdf(
                attachments=attachments,
                pdf_variant=PDF_VARIANT,
                custom_metadata=True,
            )
    finally:
        logger.removeHandler(collector)
    return Rendered(
        pdf=pdf,
        pages=len(document.pages),
        refused=tuple(fetcher.refused),
        warnings=tuple(m for m in collector.messages if "refused" not in m),
    )
