"""Read a built site as a browser would: parse pages, collect links and anchors."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urlsplit


@dataclass
class Page(HTMLParser):
    """The ids, links, text and elements of one HTML page."""

    ids: set[str] = field(default_factory=set)
    links: list[str] = field(default_factory=list)
    text: list[str] = field(default_factory=list)
    tags: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    scripts: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        HTMLParser.__init__(self, convert_charrefs=True)
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        self.tags.append((tag, values))
        if "id" in values:
            self.ids.add(values["id"])
        for name in ("href", "src"):
            if name in values:
                self.links.append(values[name])
        self._in_script = tag == "script"

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.scripts.append(data)
        else:
            self.text.append(data)

    @property
    def words(self) -> str:
        return " ".join(" ".join(self.text).split())


def parse(path: Path) -> Page:
    page = Page()
    page.feed(path.read_text(encoding="utf-8"))
    return page


def broken_links(site: Path) -> list[str]:
    """Every internal link or anchor in the site that leads nowhere."""
    pages = {p: parse(p) for p in sorted(site.rglob("*.html"))}
    broken = []
    for path, page in pages.items():
        for link in page.links:
            parts = urlsplit(link)
            if parts.scheme or link.startswith("//"):
                continue  # outside the site: not ours to check
            target = path if not parts.path else path.parent / unquote(parts.path)
            target = Path(str(PurePosixPath(target.as_posix())))
            resolved = target.resolve()
            shown = f"{path.relative_to(site)} -> {link}"
            if not resolved.is_file():
                broken.append(f"{shown}: no such file")
                continue
            if not resolved.is_relative_to(site.resolve()):
                broken.append(f"{shown}: outside the site")
                continue
            if parts.fragment and resolved.suffix == ".html":
                ids = pages[resolved].ids if resolved in pages else parse(resolved).ids
                if unquote(parts.fragment) not in ids:
                    broken.append(f"{shown}: no anchor #{parts.fragment}")
    return broken
