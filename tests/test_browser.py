"""The built site in a real headless Chromium (Debian's), driven by Playwright."""

from __future__ import annotations

import functools
import http.server
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page, sync_playwright

from tests.conftest import REPO

pytestmark = pytest.mark.slow  # end to end: the CLI, builds, WeasyPrint or a browser

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PREFIX = "/intranet/playbook/"
"""The site is served from a sub-path, as an intranet would."""


def _chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if not found:
        pytest.fail("Chromium is needed: apt-get install chromium (tests/run.sh does it as root)")
    return found


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from click.testing import CliRunner

    from playbook_builder.cli import cli

    root = tmp_path_factory.mktemp("browser") / "workspace"
    root.mkdir()
    shutil.copy(REPO / "playbook.yaml", root / "playbook.yaml")
    shutil.copytree(REPO / "coalitions", root / "coalitions")
    served = root.parent / "www" / PREFIX.strip("/")
    result = CliRunner().invoke(
        cli, ["build", "--root", str(root), "--out", str(served), "--today", "2026-11-25"]
    )
    assert result.exit_code == 0, result.output
    return served


@pytest.fixture(scope="module")
def base_url(site: Path) -> Iterator[str]:
    docroot = site.parents[1]
    handler = functools.partial(QuietHandler, directory=str(docroot))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}{PREFIX}"
    server.shutdown()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the stdlib's name
        pass


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=_chromium(), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    yield context.new_page()
    context.close()


@pytest.fixture
def page_without_js(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(java_script_enabled=False)
    yield context.new_page()
    context.close()


def test_every_page_loads_without_errors(site: Path, base_url: str, page: Page) -> None:
    problems: list[str] = []
    page.on(
        "console",
        lambda m: (
            problems.append(f"console {m.type}: {m.text}")
            if m.type in ("error", "warning")
            else None
        ),
    )
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on("requestfailed", lambda r: problems.append(f"failed: {r.url}"))
    page.on(
        "request",
        lambda r: problems.append(f"outside: {r.url}") if not r.url.startswith(base_url) else None,
    )
    names = sorted(p.relative_to(site).as_posix() for p in site.rglob("*.html"))
    assert len(names) >= 17
    for name in names:
        response = page.goto(base_url + name, wait_until="networkidle")
        assert response is not None, name
        assert response.ok, name
    assert problems == []


def _visible_rows(page: Page) -> list[str]:
    rows = page.locator("#coalitions tbody tr")
    return [
        rows.nth(i).get_attribute("data-model") or ""
        for i in range(rows.count())
        if rows.nth(i).is_visible()
    ]


def test_dashboard_filter_with_javascript(base_url: str, page: Page) -> None:
    page.goto(base_url + "index.html")
    assert len(_visible_rows(page)) == 3
    page.get_by_text("structural", exact=True).first.click()
    assert _visible_rows(page) == ["structural"]
    page.locator("label[for=model-all]").click()
    page.fill("#filter-text", "steelworkers")
    assert _visible_rows(page) == ["opportunistic"]
    page.fill("#filter-text", "")
    page.locator("label[for=status-active]").click()
    assert sorted(_visible_rows(page)) == ["structural", "values-bridge"]


def test_dashboard_filter_without_javascript(base_url: str, page_without_js: Page) -> None:
    page = page_without_js
    page.goto(base_url + "index.html")
    assert len(_visible_rows(page)) == 3
    assert not page.locator("#filter-text").is_visible()  # the JS-only filter stays hidden
    page.locator("label[for=model-values-bridge]").click()
    assert _visible_rows(page) == ["values-bridge"]
    page.locator("label[for=status-forming]").click()
    assert _visible_rows(page) == []
    page.locator("label[for=model-all]").click()
    assert _visible_rows(page) == ["opportunistic"]


def test_dashboard_sorts_by_column(base_url: str, page: Page) -> None:
    page.goto(base_url + "index.html")
    page.get_by_role("button", name="Partners").click()
    counts = page.locator("#coalitions tbody td.num:nth-child(4)").all_inner_texts()
    assert counts == ["2", "3", "4"]
    page.get_by_role("button", name="Partners").click()
    counts = page.locator("#coalitions tbody td.num:nth-child(4)").all_inner_texts()
    assert counts == ["4", "3", "2"]


def test_search_finds_a_partner_by_name(base_url: str, page: Page) -> None:
    page.goto(base_url + "index.html")
    page.fill("#site-q", "Northside Tenants")
    page.press("#site-q", "Enter")
    page.wait_for_url("**/search.html?q=*")
    first = page.locator("#search-results li a").first
    assert first.inner_text() == "Northside Tenants Union"
    first.click()
    assert page.url.endswith("coalitions/housing-for-health/index.html#partners")
    page.goto(base_url + "search.html")
    page.fill("#search-q", "consensus")
    titles = page.locator("#search-results li a").all_inner_texts()
    assert "Advisory reference: A301: Consensus as a decision rule" in titles


def test_search_results_show_the_match_highlighted_in_context(base_url: str, page: Page) -> None:
    page.goto(base_url + "search.html?q=quorum")
    snippets = page.locator("#search-results li p")
    assert snippets.count() > 0
    first = snippets.first
    assert first.locator("mark").first.inner_text().lower() == "quorum"
    text = first.inner_text()
    assert len(text) < 240  # a window around the match, not the whole section
    assert text.startswith(("… ", "Q", "q")) or text[:1].isupper()  # cut at a word


@pytest.mark.parametrize(
    "name",
    [
        "index.html",
        "coalitions/housing-for-health/index.html",
        "guide/criteria.html",
        "coalitions/housing-for-health/mou.html",
    ],
)
def test_no_serious_accessibility_violations(base_url: str, page: Page, name: str) -> None:
    page.goto(base_url + name)
    results = Axe().run(page)
    violations = [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    assert violations == []


def test_phone_width_has_no_horizontal_scroll(base_url: str, browser: Browser) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    names = (
        "index.html",
        "coalitions/housing-for-health/index.html",
        "guide/models.html",
        "coalitions/housing-for-health/mou.html",
        "partners.html",
        "reviews.html",
    )
    for name in names:
        page.goto(base_url + name)
        wide = page.evaluate(
            "[...document.querySelectorAll('body *')].filter(e => "
            "e.getBoundingClientRect().right > window.innerWidth + 1 && "
            "!e.closest('.table-scroll, .chart-figure, .prose table, .mou table'))"
            ".map(e => e.tagName)"
        )
        assert wide == [], name
    context.close()


_WATCH_CSP = (
    "window.__csp = [];"
    "document.addEventListener('securitypolicyviolation',"
    " e => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));"
)


def test_no_page_breaks_its_content_security_policy(
    site: Path, base_url: str, browser: Browser
) -> None:
    context = browser.new_context()
    context.add_init_script(_WATCH_CSP)
    page = context.new_page()
    violations: list[str] = []
    names = sorted(p.relative_to(site).as_posix() for p in site.rglob("*.html"))
    for url in [base_url + name for name in names] + [
        base_url + "search.html?q=housing",
        site.joinpath("index.html").as_uri(),  # opened from the disk, as people do
        site.joinpath("search.html").as_uri() + "?q=tenants",
    ]:
        page.goto(url, wait_until="networkidle")
        violations += [f"{url}: {v}" for v in page.evaluate("window.__csp")]
    assert violations == []
    assert page.locator("#search-results li").count() > 0  # the scripts ran under the policy
    # and the policy is in force: a script slipped into a page does not run
    page.goto(base_url + "index.html", wait_until="networkidle")
    page.evaluate(
        "() => { const s = document.createElement('script');"
        " s.textContent = 'window.__ran = 1'; document.body.appendChild(s); }"
    )
    assert page.evaluate("window.__ran") is None
    assert page.evaluate("window.__csp") != []
    context.close()


def test_a_compact_header_on_phones(base_url: str, browser: Browser) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    page.goto(base_url + "index.html")
    header = page.locator("header.top").bounding_box()
    assert header is not None
    assert header["height"] <= 70
    assert not page.locator(".main-nav").is_visible()
    page.click(".menu-toggle")
    assert page.locator(".main-nav a", has_text="Decisions").is_visible()
    assert page.get_attribute(".menu-toggle", "aria-expanded") == "true"
    context.close()
