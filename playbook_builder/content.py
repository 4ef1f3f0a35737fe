"""Guidance pages from content/*.md, and the configured Markdown renderers.

Guidance pages are our own Markdown (or the workspace's, file by file). Before Markdown,
each page is rendered as a sandboxed Jinja template with the advisor's thresholds as `t`,
so the numbers printed in the guide are the numbers the advisor uses.
Text from coalition files (MOU clauses) goes through a stricter renderer: no raw HTML,
no images, no heading anchors, and only safe link schemes.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from jinja2 import StrictUndefined, TemplateError
from jinja2.sandbox import SandboxedEnvironment
from markdown_it import MarkdownIt
from markdown_it.token import Token
from mdit_py_plugins.anchors import anchors_plugin
from mdit_py_plugins.attrs import attrs_block_plugin

from playbook_builder.errors import PlaybookError
from playbook_builder.workspace import check_fenced

_FRONT_MATTER = re.compile(r"\A---\n(.*?)\n---\n", re.S)
_LOCAL_MD = re.compile(r"^(?![a-z][a-z0-9+.-]*:|/|#)([^#?]*?)\.md(#.*)?$", re.I)


@dataclass(frozen=True, slots=True)
class Section:
    """A heading of a guidance page, for navigation and search."""

    anchor: str
    title: str
    text: str
    """The plain text under the heading, up to the next heading."""


@dataclass(frozen=True, slots=True)
class GuidePage:
    """One rendered guidance page."""

    name: str
    """The file name without `.md`; the page is guide/<name>.html."""
    title: str
    order: int
    html: str
    """The page body, safe HTML from our Markdown renderer."""
    sections: tuple[Section, ...] = field(default=())
    source: Path = Path()
    """The file it came from."""


_SCHEME = re.compile(r"^\s*([a-z][a-z0-9+.-]*):", re.IGNORECASE)
_USER_SCHEMES = frozenset({"http", "https", "mailto", "tel"})


def _safe_user_link(url: str) -> bool:
    """A link in a coalition file may lead to a web page, an address or an anchor; no
    `data:` (markdown-it lets data: images through), `javascript:`, `file:` or others."""
    match = _SCHEME.match(url)
    return match is None or match.group(1).lower() in _USER_SCHEMES


class Markdown:
    """The two Markdown renderers: guidance (ours) and user text (coalition files)."""

    def __init__(self) -> None:
        # js-default: raw HTML off, tables and strikethrough on, unsafe link schemes refused
        self.guide_md = (
            MarkdownIt("js-default")
            .use(anchors_plugin, min_level=2, max_level=3)
            .use(attrs_block_plugin)
        )
        self.user_md = MarkdownIt("js-default").disable("image")
        self.user_md.validateLink = _safe_user_link  # type: ignore[method-assign]

    def guide(self, text: str) -> tuple[str, tuple[Section, ...]]:
        """Guidance Markdown -> HTML, with `.md` links pointing at the built pages."""
        tokens = self.guide_md.parse(text)
        for token in tokens:
            for child in token.children or ():
                if child.type == "link_open":
                    href = str(child.attrGet("href") or "")
                    match = _LOCAL_MD.match(href)
                    if match:
                        child.attrSet("href", f"{match.group(1)}.html{match.group(2) or ''}")
        html = self.guide_md.renderer.render(tokens, self.guide_md.options, {})
        return html, _sections(tokens)

    def user(self, text: str) -> str:
        """A coalition file's Markdown (an MOU clause) -> HTML, as strictly as possible."""
        tokens = self.user_md.parse(text)
        for token in tokens:
            for child in token.children or ():
                if child.type == "link_open":
                    child.attrSet("rel", "nofollow noopener noreferrer")
        html: str = self.user_md.renderer.render(tokens, self.user_md.options, {})
        return html

    def plain(self, text: str) -> str:
        """The words of a Markdown text, without markup (for search and PDFs' metadata)."""
        words = []
        for token in self.user_md.parse(text):
            for child in token.children or ():
                if child.type in ("text", "code_inline"):
                    words.append(child.content)
        return " ".join(" ".join(words).split())


def _sections(tokens: Sequence[Token]) -> tuple[Section, ...]:
    found: list[Section] = []
    anchor, title = "", ""
    words: list[str] = []
    for index, token in enumerate(tokens):
        if token.type == "heading_open" and token.tag in ("h1", "h2", "h3"):
            if title:
                found.append(Section(anchor, title, " ".join(words)))
            anchor = str(token.attrGet("id") or "")
            title = tokens[index + 1].content
            words = []
        elif token.type == "inline" and (index == 0 or tokens[index - 1].type != "heading_open"):
            words.append(token.content)
    if title:
        found.append(Section(anchor, title, " ".join(words)))
    return tuple(found)


def load_guide(
    folders: Sequence[Path], context: dict[str, Any], markdown: Markdown
) -> tuple[GuidePage, ...]:
    """Every guidance page, the first folder's file winning for each name; sorted by order."""
    chosen: dict[str, Path] = {}
    for folder in folders:
        for path in sorted(folder.glob("*.md")):
            if path.stem not in chosen:
                check_fenced(path, folder)
                chosen[path.stem] = path
    env = SandboxedEnvironment(
        undefined=StrictUndefined,
        autoescape=False,  # the output is Markdown, rendered with raw HTML off
        keep_trailing_newline=True,
        # `{#id}` is Markdown's attribute syntax here, so Jinja comments get other marks
        comment_start_string="<#--",
        comment_end_string="--#>",
    )
    pages = [_page(path, env, context, markdown) for _, path in sorted(chosen.items())]
    return tuple(sorted(pages, key=lambda page: (page.order, page.name)))


def _page(
    path: Path, env: SandboxedEnvironment, context: dict[str, Any], markdown: Markdown
) -> GuidePage:
    text = path.read_text(encoding="utf-8-sig").replace("\r\n", "\n")
    meta: dict[str, Any] = {}
    match = _FRONT_MATTER.match(text)
    if match:
        try:
            loaded = yaml.safe_load(match.group(1))
        except yaml.YAMLError as err:
            raise PlaybookError(f"{path}: the front matter is not valid YAML: {err}") from err
        meta = loaded if isinstance(loaded, dict) else {}
        text = text[match.end() :]
    try:
        body = env.from_string(text).render(**context)
    except TemplateError as err:
        line = getattr(err, "lineno", None)
        where = f":{line + (match.group(0).count(chr(10)) if match else 0)}" if line else ""
        raise PlaybookError(f"{path}{where}: {err}") from err
    html, sections = markdown.guide(body)
    title = str(meta.get("title") or (sections[0].title if sections else path.stem))
    order = meta.get("order", 100)
    return GuidePage(
        name=path.stem,
        title=title,
        order=order if isinstance(order, int) else 100,
        html=html,
        sections=sections,
        source=path,
    )
