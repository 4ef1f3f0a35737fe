"""Guidance pages from content/*.md, and the configured Markdown renderers.

Guidance pages are our own Markdown (or the workspace's, file by file). Before Markdown,
each page is rendered as a sandboxed Jinja template with the advisor's thresholds as `t`,
so the numbers printed in the guide are the numbers the advisor uses.
Text from coalition files (MOU clauses) goes through a stricter renderer: no raw HTML,
no images, no heading anchors, and only safe link schemes.
"""

from __future__ import annotations

import dataclasses
import marshal
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path, PurePosixPath
from typing import Annotated, Any

from jinja2 import StrictUndefined, TemplateError
from jinja2.sandbox import SandboxedEnvironment
from markdown_it import MarkdownIt
from markdown_it.token import Token
from mdit_py_plugins.anchors import anchors_plugin
from mdit_py_plugins.attrs import attrs_block_plugin
from pydantic import ConfigDict, Field, Strict, with_config

from playbook_builder import __version__
from playbook_builder.cache import Cache, digest
from playbook_builder.errors import ContractError, PlaybookError
from playbook_builder.model import Line
from playbook_builder.source import parse, read_text
from playbook_builder.validate import validate
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
    words: str = ""
    """That text without its Markdown (for the search index), worked out once with the
    page rather than at every build."""


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
    edit: str | None = None
    """Its path in the workspace, when it comes from the workspace (not the tool)."""


_SCHEME = re.compile(r"^\s*([a-z][a-z0-9+.-]*):", re.IGNORECASE)
_USER_SCHEMES = frozenset({"http", "https", "mailto", "tel"})


_LOCAL_IMAGE = re.compile(r"^(?![a-z][a-z0-9+.-]*:|/|\\)[^\\]+$", re.I)


def _only_id_and_class(token: Token) -> None:
    for name in list(token.attrs):
        if name not in ("id", "class", "href", "src", "alt", "title"):
            del token.attrs[name]


def _safe_user_link(url: str) -> bool:
    """A link in a coalition file may lead to a web page, an address or an anchor; no
    `data:` (markdown-it lets data: images through), `javascript:`, `file:` or others."""
    match = _SCHEME.match(url)
    return match is None or match.group(1).lower() in _USER_SCHEMES


_USER_TEXTS_KEPT = 4096
"""At most this many user texts' HTML are kept (a few MB at most)."""


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
        self._user_html: dict[str, str] = {}
        """User text laid out so far: the standard clauses of the MOU are the same text
        in every coalition of a workspace (4 of the 9 texts of each coalition's MOU)."""

    def guide(self, text: str) -> tuple[str, tuple[Section, ...]]:
        """Guidance Markdown -> HTML, with `.md` links pointing at the built pages.

        `{#id .class}` attributes keep only id and class; images come only from the site
        itself (a relative address), never from another server or the file system.
        """
        tokens = self.guide_md.parse(text)
        for token in tokens:
            _only_id_and_class(token)
            for child in token.children or ():
                _only_id_and_class(child)
                if child.type == "image" and not _LOCAL_IMAGE.match(str(child.attrGet("src"))):
                    child.attrSet("src", "")
                    child.attrSet("data-refused", "an image from outside the site")
                if child.type == "link_open":
                    href = str(child.attrGet("href") or "")
                    match = _LOCAL_MD.match(href)
                    if match:
                        child.attrSet("href", f"{match.group(1)}.html{match.group(2) or ''}")
        html = self.guide_md.renderer.render(tokens, self.guide_md.options, {})
        sections = tuple(replace(s, words=self.plain(s.text)) for s in _sections(tokens))
        return html, sections

    def user(self, text: str) -> str:
        """A coalition file's Markdown (an MOU clause) -> HTML, as strictly as possible."""
        html = self._user_html.get(text)
        if html is None:
            if len(self._user_html) >= _USER_TEXTS_KEPT:
                self._user_html.clear()
            html = self._user_html[text] = self._user(text)
        return html

    def _user(self, text: str) -> str:
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


@with_config(ConfigDict(extra="forbid"))
@dataclass(frozen=True, slots=True, kw_only=True)
class FrontMatter:
    """The fields a guidance page may set between its `---` lines."""

    title: Line | None = None
    """The page's title (default: its first heading)."""
    order: Annotated[int, Strict(), Field(ge=0, le=10_000)] = 100
    """Where the page comes in the guide's navigation, lowest first."""


def _front_matter(text: str, shown: PurePosixPath) -> FrontMatter:
    """The front matter, through the same loader and limits as a coalition file; its
    problems are located in the page (the front matter starts on its second line)."""
    parsed, problems = parse(text, shown)
    meta = None
    if parsed is not None and not problems:
        meta, problems = validate(FrontMatter, parsed, shown)
    if meta is None or problems:
        raise ContractError([dataclasses.replace(p, line=p.line + 1) for p in problems])
    return meta


def load_guide(
    folders: Sequence[Path],
    context: dict[str, Any],
    markdown: Markdown,
    root: Path | None = None,
    store: Cache | None = None,
) -> tuple[GuidePage, ...]:
    """Every guidance page, the first folder's file winning for each name; sorted by order.

    Pages from files inside the workspace `root` know their path there (for edit links).
    With `store`, each page laid out before from the same bytes is taken from it (a
    build lays out the guide's eight pages in 15-29 ms, measured).
    """
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
    pages = [
        _stored_page(path, context, store, partial(_page, path, env, context, markdown))
        for _, path in sorted(chosen.items())
    ]
    if root is not None:
        top = root.resolve()
        pages = [
            dataclasses.replace(page, edit=page.source.resolve().relative_to(top).as_posix())
            if page.source.resolve().is_relative_to(top)
            else page
            for page in pages
        ]
    return tuple(sorted(pages, key=lambda page: (page.order, page.name)))


def _stored_page(
    path: Path, context: dict[str, Any], store: Cache | None, make: Callable[[], GuidePage]
) -> GuidePage:
    """The page at `path` as `make` lays it out, kept in `store` under its bytes, the
    context its template sees and the tool's version."""
    try:
        key = digest(
            ["guide page, with its words", __version__, repr(context), path.name, path.read_bytes()]
        )
    except OSError:  # `make` says what is wrong with it
        key = None
    found = store.get(key) if store is not None and key is not None else None
    if found is not None:
        try:
            title, order, html, sections = marshal.loads(found["page.marshal"])
            return GuidePage(
                name=path.stem,
                title=title,
                order=order,
                html=html,
                sections=tuple(Section(a, t, x, w) for a, t, x, w in sections),
                source=path,
            )
        except (EOFError, KeyError, TypeError, ValueError):
            pass  # not what this function stores: laid out again
    page = make()
    if store is not None and key is not None:
        sections = [(s.anchor, s.title, s.text, s.words) for s in page.sections]
        data = marshal.dumps((page.title, page.order, page.html, sections))
        store.put(key, {"page.marshal": data})
    return page


def _page(
    path: Path, env: SandboxedEnvironment, context: dict[str, Any], markdown: Markdown
) -> GuidePage:
    shown = PurePosixPath(f"{path.parent.name}/{path.name}")
    text, problems = read_text(path, shown)
    if text is None:
        raise ContractError(problems)
    meta = FrontMatter()
    match = _FRONT_MATTER.match(text)
    if match:
        meta = _front_matter(match.group(1), shown)
        text = text[match.end() :]
    try:
        body = env.from_string(text).render(**context)
    except TemplateError as err:
        line = getattr(err, "lineno", None)
        where = f":{line + (match.group(0).count(chr(10)) if match else 0)}" if line else ""
        raise PlaybookError(f"{path}{where}: {err}") from err
    html, sections = markdown.guide(body)
    title = meta.title or (sections[0].title if sections else path.stem)
    return GuidePage(
        name=path.stem,
        title=title,
        order=meta.order,
        html=html,
        sections=sections,
        source=path,
    )
