"""Hostile input: whatever a coalition file or a committed link says, it is shown as text
or refused with a located error; it never runs, never fetches, never reads outside.

The centre piece poisons every text field of the spec's complete example at once and
then looks at the result as its readers would: the HTML parsed, the pages in Chromium,
the packet's extracted text, the JSON and the calendar.
"""

from __future__ import annotations

import functools
import http.server
import json
import re
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from icalendar import Calendar
from playwright.sync_api import Dialog, Page, Request, sync_playwright
from pypdf import PdfReader

from playbook_builder.cli import cli
from tests.conftest import DATA, REPO, Counting, Run, minimal
from tests.sitecheck import parse
from tests.test_browser import CHROMIUM_ARGS, QuietHandler, _chromium

pytestmark = pytest.mark.slow  # end to end: the CLI, builds, WeasyPrint or a browser

TODAY = "2026-11-25"
EXAMPLE = DATA / "example-coalition.yaml"
PAYLOAD = (
    ' <i class="pwned-{n}">x</i><script>pwn({n})</script>'
    '<img src="file:///etc/passwd" onerror="pwn({n})"> & "quotes" \'too\''
)
MARK = re.compile(r"pwned-(\d+)")

Path_ = tuple[str | int, ...]


def _leaves(data: Any, path: Path_ = ()) -> Iterator[Path_]:
    """The path of every string value (not keys) in the loaded YAML."""
    if isinstance(data, dict):
        for key, value in data.items():
            yield from _leaves(value, (*path, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            yield from _leaves(value, (*path, index))
    elif isinstance(data, str):
        yield path


def _dotted(path: Path_) -> str:
    """A path as the error messages print it: partners[0].decision_maker.name."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else f".{part}" if text else str(part)
    return text


def _put(data: Any, path: Path_, value: str) -> None:
    for part in path[:-1]:
        data = data[part]
    data[path[-1]] = value


def _get(data: Any, path: Path_) -> Any:
    for part in path:
        data = data[part]
    return data


def _invoke(*args: str | Path) -> Any:
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture(scope="module")
def poisoned(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[int, str]]:
    """A workspace whose coalition carries the payload in every field that accepts text;
    fields that refuse it (ids, dates, enumerations, fractions) are put back, and the
    rest are returned by marker number."""
    root = tmp_path_factory.mktemp("hostile") / "ws"
    (root / "coalitions").mkdir(parents=True)
    shutil.copy(REPO / "playbook.yaml", root / "playbook.yaml")
    original = yaml.safe_load(EXAMPLE.read_text())
    fields = dict(enumerate(_leaves(original)))
    accepted = dict(fields)
    path = root / "coalitions" / "everything.yaml"
    for _ in range(5):
        data = yaml.safe_load(EXAMPLE.read_text())
        for n, where in accepted.items():
            _put(data, where, str(_get(data, where)) + PAYLOAD.format(n=n))
        path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
        result = _invoke("check", "--root", root, "--format", "json")
        errors = json.loads(result.stdout)["errors"]
        if not errors:
            break
        # put back the fields that refuse the payload itself; errors that follow from
        # them (a role naming a partner id that was poisoned) go away with them
        refused = {e["field"] for e in errors if "pwned" in e["found"]}
        refused = refused or {e["field"] for e in errors}
        accepted = {n: w for n, w in accepted.items() if _dotted(w) not in refused}
    else:
        pytest.fail(f"the payload could not be placed: {refused}")
    result = _invoke("build", "--root", root, "--today", TODAY)
    assert result.exit_code == 0, result.output
    return root, {n: _dotted(w) for n, w in accepted.items()}


def test_every_text_field_carries_the_payload(poisoned: tuple[Path, dict[int, str]]) -> None:
    _, accepted = poisoned
    names = set(accepted.values())
    for field in (
        "name", "purpose", "partners[0].name", "partners[0].decision_maker.name",
        "partners[0].sector", "partners[0].wants", "roles[0].title", "window.event",
        "mou.clauses[0].title", "mou.clauses[0].text", "success.mercy-health",
        "constraints.deal_breakers[0]", "signatures[0].signer", "exit.breach.major",
    ):  # fmt: skip
        assert field in names, sorted(names)
    assert len(accepted) >= 55, len(accepted)
    # what refused the payload is a closed vocabulary, an id, a date, a number or an address
    everything = {_dotted(w) for w in _leaves(yaml.safe_load(EXAMPLE.read_text()))}
    closed = re.compile(
        r"(^|\.)(id|status|trigger|model|kind|messaging|currency|partner|default|quorum|"
        r"rule|threshold|cadence|mou_version|contact|shared_doc|"
        r"(sanctions|red_flags|committee|binding)\[\d+\]|under|outcome|votes\.[a-z-]+)$"
    )
    assert [f for f in sorted(everything - names) if not closed.search(f)] == []


def test_the_site_shows_the_payload_as_text(poisoned: tuple[Path, dict[int, str]]) -> None:
    root, accepted = poisoned
    shown: set[str] = set()
    pages = sorted((root / "site").rglob("*.html"))
    assert len(pages) >= 15
    for path in pages:
        page = parse(path)
        assert not [s for s in page.scripts if "pwn(" in s], path
        assert not [a for _, a in page.tags if any(k.startswith("on") for k in a)], path
        assert not [a for _, a in page.tags if "pwned" in a.get("class", "")], path
        assert not [link for link in page.links if link.startswith(("file:", "x"))], path
        shown.update(MARK.findall(page.words))
    # the fields the site prints, printed as the characters typed
    everything = (root / "site/coalitions/everything/index.html").read_text()
    assert "&lt;script&gt;pwn(0)&lt;/script&gt;" in everything
    assert len(shown) >= 50, len(shown)
    data = json.loads((root / "site/coalitions/everything/coalition.json").read_text())
    in_json = set(MARK.findall(json.dumps(data)))
    assert in_json == {str(n) for n in accepted}  # every field reached the output, intact
    calendar = Calendar.from_ical((root / "site/coalitions/everything/calendar.ics").read_bytes())
    assert "<script>pwn(" in str(calendar.walk("VEVENT")[0].get("SUMMARY")) + "".join(
        str(e.get("DESCRIPTION", "")) for e in calendar.walk("VEVENT")
    )


def test_the_packet_prints_the_payload_as_text(poisoned: tuple[Path, dict[int, str]]) -> None:
    root, _ = poisoned
    reader = PdfReader(root / "site/coalitions/everything/everything-mou.pdf")
    text = " ".join(" ".join(page.extract_text().split()) for page in reader.pages)
    assert '<script>pwn(0)</script><img src="file:///etc/passwd"' in text
    assert len(set(MARK.findall(text))) >= 35
    assert "root:x:0:0" not in text


@pytest.fixture(scope="module")
def served(poisoned: tuple[Path, dict[int, str]]) -> Iterator[str]:
    root, _ = poisoned
    handler = functools.partial(QuietHandler, directory=str(root / "site"))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()


def test_no_payload_runs_in_chromium(poisoned: tuple[Path, dict[int, str]], served: str) -> None:
    root, _ = poisoned
    pages = sorted(p.relative_to(root / "site").as_posix() for p in (root / "site").rglob("*.html"))
    outside: list[str] = []
    dialogs: list[str] = []

    def watch(request: Request) -> None:
        if not request.url.startswith(served):
            outside.append(request.url)

    def answer(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=_chromium(), args=CHROMIUM_ARGS)
        page: Page = browser.new_page()
        page.add_init_script("window.pwned = []; window.pwn = (n) => window.pwned.push(n);")
        page.on("request", watch)
        page.on("dialog", answer)
        for name in pages:
            page.goto(served + name)
            page.wait_for_load_state("load")
            assert page.evaluate("window.pwned") == [], name
            assert page.locator("[class^=pwned]").count() == 0, name
        # the search index carries the payload too: results must show it as text
        page.goto(served + "search.html?q=pwned")
        page.locator("#search-results li").first.wait_for()
        results = page.locator("#search-results").inner_text()
        assert "<script>pwn(" in results
        assert page.evaluate("window.pwned") == []
        assert page.locator("[class^=pwned]").count() == 0
        browser.close()
    assert outside == []
    assert dialogs == []


# --- Markdown links and images in a clause ----------------------------------------------


def test_links_and_images_in_markdown_are_inert(empty: Path, run: Run, server: str) -> None:
    net = server
    clause = "\n".join(
        [
            "[a](javascript:alert(1)) [b](JaVaScRiPt:alert(2)) [c](vbscript:msgbox(3))",
            "[d](data:text/html;base64,PHNjcmlwdD5hbGVydCg0KTwvc2NyaXB0Pg==)",
            "<javascript:alert(5)> [e](&#106;avascript:alert(6)) [f](file:///etc/passwd)",
            f"![g]({net}/image.png) ![h](file:///etc/passwd) ![i](data:image/png;base64,AAAA)",
            f'<img src="{net}/raw.png"> <iframe src="{net}/frame"></iframe>',
            f'<a href="javascript:alert(7)">j</a> <style>@import "{net}/s.css";</style>',
            f"[ref][k]\n\n[k]: {net}/reference",
        ]
    )
    text = minimal() + "mou:\n  clauses:\n    - title: Tricks\n      text: |\n"
    text += "".join(f"        {line}\n" for line in clause.splitlines())
    (empty / "coalitions" / "m.yaml").write_text(text)
    result = run("build", "--root", empty, "--today", TODAY)
    assert result.exit_code == 0, result.output
    for path in (empty / "site").rglob("*.html"):
        page = parse(path)
        bad = [
            link
            for link in page.links
            if re.match(r"\s*(javascript|vbscript|data|file):", link, re.IGNORECASE)
        ]
        assert bad == [], path
        assert not [t for t, _ in page.tags if t in ("img", "iframe", "object")], path
    mou = parse(empty / "site/coalitions/m/mou.html")
    assert not [t for t, _ in mou.tags if t == "style"]
    assert "<iframe" in mou.words  # raw HTML is printed, not obeyed
    assert '<style>@import "' in mou.words
    packet = PdfReader(empty / "site/coalitions/m/m-mou.pdf")
    printed = " ".join(page.extract_text() for page in packet.pages)
    assert "root:x:0:0" not in printed
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=_chromium(), args=CHROMIUM_ARGS)
        tab = browser.new_page()
        tab.goto((empty / "site/coalitions/m/mou.html").as_uri())
        tab.wait_for_load_state("networkidle")
        browser.close()
    assert Counting.hits == []


# --- refused input ------------------------------------------------------------------------


def _with(text: str, old: str, new: str) -> str:
    assert old in text
    return text.replace(old, new, 1)


BASE = minimal()
REFUSED = {
    "partner id with ../": (
        _with(BASE, "id: alpha", "id: ../../etc/passwd"),
        'partners[0].id: found "../../etc/passwd"; allowed',
    ),
    "role naming ../": (
        BASE + "roles:\n  - {title: Coordinator, partner: ../alpha}\n",
        'roles[0].partner: found "../alpha"; allowed',
    ),
    "success key with ../": (
        BASE + "success:\n  ../alpha: Wins.\n",
        "success.../alpha",
    ),
    "python object tag": (
        _with(
            BASE, "name: Minimal Alliance", "name: !!python/object/apply:os.system [touch {marker}]"
        ),
        "found the tag !!python/object/apply:os.system",
    ),
    "python name tag": (
        _with(BASE, "purpose: Pass the library levy.", "purpose: !!python/name:os.system ''"),
        "found the tag !!python/name:os.system",
    ),
    "include tag": (
        _with(BASE, "purpose: Pass the library levy.", "purpose: !include /etc/passwd"),
        "found the tag !include",
    ),
    "binary tag": (
        _with(BASE, "purpose: Pass the library levy.", "purpose: !!binary aGVsbG8="),
        "found the tag !!binary",
    ),
    "alias bomb": (
        "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
        + "".join(
            f"{c}: &{c} [{', '.join([f'*{p}'] * 10)}]\n"
            for p, c in zip("abcdefgh", "bcdefghi", strict=True)
        )
        + "name: *i\n",
        "allowed at most 20,000 values",
    ),
    "deep nesting": ("name: " + "[" * 60 + "]" * 60 + "\n", "allowed at most 40 levels of nesting"),
    "text beyond the limit": (
        _with(BASE, "Pass the library levy.", "x" * 2_001),
        "purpose: found text of 2,001 characters; allowed at most 2,000 characters",
    ),
    "clause beyond the limit": (
        BASE + f"mou:\n  clauses:\n    - title: Long\n      text: {'y' * 20_001}\n",
        "mou.clauses[0].text: found text of 20,001 characters; allowed at most 20,000",
    ),
    "list beyond the limit": (
        BASE + "constraints:\n  deal_breakers:\n" + "    - No.\n" * 51,
        "constraints.deal_breakers: found 51 items; allowed at most 50 items",
    ),
    "partners beyond the limit": (
        _with(
            BASE,
            "partners:\n",
            "partners:\n"
            + "".join(
                f"  - {{id: p{i}, name: P{i}, decision_maker: {{name: N, title: T}}, scores: "
                "{alignment: 3, trust: 3, resources: 3, time_horizon: 3, exit_cost: 3}}\n"
                for i in range(100)
            ),
        ),
        "partners: found 102 items; allowed at most 100 items",
    ),
    "file beyond the limit": (
        BASE + "# " + "z" * (1024 * 1024) + "\n",
        "allowed at most 1,048,576",
    ),
    "Latin-1 bytes": (None, "which is not UTF-8; allowed UTF-8 text"),
    "UTF-16": (None, "which is not UTF-8; allowed UTF-8 text"),
    "control character": (
        _with(BASE, "Pass the", "Pass\x07the"),
        "m.yaml:3:14: (yaml): found the control character U+0007; allowed printable",
    ),
}


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_hostile_input_is_refused_with_a_location(
    case: str, empty: Path, run: Run, tmp_path: Path
) -> None:
    text, expected = REFUSED[case]
    marker = tmp_path / "pwned"
    path = empty / "coalitions" / "m.yaml"
    if case == "Latin-1 bytes":
        path.write_bytes(BASE.replace("Alpha Group", "Alpha Gr\u00e9up").encode("latin-1"))
    elif case == "UTF-16":
        path.write_bytes(BASE.encode("utf-16"))
    else:
        assert text is not None
        path.write_text(text.replace("{marker}", str(marker)))
    started = time.perf_counter()
    result = run("build", "--root", empty, "--today", TODAY)
    assert time.perf_counter() - started < 10  # a guard against hanging, not a speed goal
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert lines, result.output
    assert all(re.match(r"coalitions/m\.yaml:\d+:\d+: ", line) for line in lines), lines
    assert any(expected in line for line in lines), lines
    assert "Traceback" not in result.output
    assert not (empty / "site").exists()
    assert not marker.exists()


def test_a_bom_and_crlf_line_ends_are_accepted(empty: Path, run: Run) -> None:
    data = "\ufeff" + BASE.replace("\n", "\r\n")
    (empty / "coalitions" / "m.yaml").write_bytes(data.encode("utf-8"))
    assert run("build", "--root", empty, "--today", TODAY, "--no-pdf").exit_code == 0
    broken = data.replace("trust: 3", "trust: 7")
    (empty / "coalitions" / "m.yaml").write_bytes(broken.encode("utf-8"))
    result = run("check", "--root", empty)
    assert result.stdout.startswith("coalitions/m.yaml:14:35: partners[1].scores.trust: found 7")


# --- links committed to git ------------------------------------------------------------


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ("coalitions/m.yaml", "found a link to a file outside the workspace"),
        ("content/faq.md", "outside"),
        ("templates/partners.html", "outside"),
        ("templates/assets/extra.css", "outside"),
    ],
)
def test_links_to_outside_the_workspace_are_refused(
    where: str, expected: str, empty: Path, tmp_path: Path, run: Run
) -> None:
    (empty / "coalitions" / "ok.yaml").write_text(BASE)
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET {{ 1 }}\n" if not where.endswith(".yaml") else BASE)
    link = empty / where
    link.parent.mkdir(parents=True, exist_ok=True)
    link.symlink_to(secret)
    result = run("build", "--root", empty, "--today", TODAY, "--no-pdf")
    assert result.exit_code == 1
    assert expected in result.output
    assert "Traceback" not in result.output
    assert not (empty / "site").exists()
