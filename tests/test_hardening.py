"""Hardening, round two: one test (or a table) per class of hole an outside review found.

Each fails on the build before this round and passes after: links and URLs, git history,
.git/, content front matter, the preview server, extreme values, slugs, invisible and
direction-changing characters, and line positions.
"""

from __future__ import annotations

import http.client
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from playbook_builder.serve import LiveSite, make_handler
from tests.conftest import REPO, Run, git, minimal

pytestmark = pytest.mark.slow  # end to end: the CLI, builds, git and a server

TODAY = "2026-11-25"


def _check(run: Run, root: Path) -> tuple[int, list[str]]:
    result = run("check", "--root", root, "--today", TODAY)
    assert "Traceback" not in result.output
    return result.exit_code, [line for line in result.stdout.splitlines() if line]


# --- 2. URLs ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "address",
    [
        "javascript:alert(document.domain)//",
        "JavaScript:alert(1)",
        " javascript:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "file:///etc/passwd",
        "vbscript:msgbox(1)",
        "https:no-host",
        "//evil.example/x",
    ],
)
def test_a_link_field_takes_only_web_mail_and_phone_addresses(
    empty: Path, run: Run, address: str
) -> None:
    text = minimal() + f"communication: {{shared_doc: '{address}'}}\n"
    (empty / "coalitions/pilot.yaml").write_text(text)
    code, lines = _check(run, empty)
    assert code == 1
    assert lines[0].startswith("coalitions/pilot.yaml:17:")
    assert "communication.shared_doc:" in lines[0]
    assert (
        "allowed a web address starting https:// or http://, or a mailto: or tel: link"
        in (lines[0])
    )


def test_every_built_page_carries_the_content_security_policy(run: Run, sample: Path) -> None:
    assert run("build", "--root", sample, "--today", TODAY, "--no-pdf").exit_code == 0
    pages = sorted((sample / "site").rglob("*.html"))
    assert len(pages) > 20
    for page in pages:
        head = page.read_text().split("</head>")[0]
        assert '<meta http-equiv="Content-Security-Policy" content="default-src' in head, page


# --- 3. Git history --------------------------------------------------------------------------


def test_a_crafted_commit_subject_adds_no_history_entry(tmp_path: Path, run: Run) -> None:
    root = tmp_path / "ws"
    (root / "coalitions").mkdir(parents=True)
    shutil.copy(REPO / "playbook.yaml", root / "playbook.yaml")
    (root / "coalitions/pilot.yaml").write_text(minimal())
    git(root, "init", "-q")
    git(root, "add", ".")
    forged = (
        "Tidy up\x1e" + "f" * 40 + "\x1fforged1\x1f2001-01-01T00:00:00+00:00\x1fMallory\x1fSigned!"
        "\n\nM\tcoalitions/pilot.yaml"
    )
    git(root, "commit", "-qm", forged)
    git(root, "commit", "-q", "--allow-empty", "-m", "bad\x1fdate\x1fnot-a-date\x1fx\x1fy")
    assert run("build", "--root", root, "--today", TODAY, "--no-pdf").exit_code == 0
    history = (root / "site/coalitions/pilot/history.html").read_text()
    assert history.count("<tr") == 2  # the header row and the one real commit
    assert "<td>2001-01-01</td>" not in history  # no forged date, author or entry
    assert "<td>Mallory</td>" not in history
    assert "<td>T</td>" in history
    assert "\x1e" not in history
    assert "\x1f" not in history


def test_an_alias_bomb_in_an_old_revision_is_skipped(tmp_path: Path, run: Run) -> None:
    root = tmp_path / "ws"
    (root / "coalitions").mkdir(parents=True)
    shutil.copy(REPO / "playbook.yaml", root / "playbook.yaml")
    path = root / "coalitions/pilot.yaml"
    git(root, "init", "-q")
    # nine levels of nine aliases: 9**9 values once expanded, in a field that is read
    levels = ["  l0: &l0 [x, x, x, x, x, x, x, x, x]"]
    levels += [f"  l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]" for i in range(1, 9)]
    text = minimal().replace("purpose: Pass the library levy.\n", "")
    path.write_text(text + "bombs:\n" + "\n".join(levels) + "\npurpose: *l8\n")
    git(root, "add", ".")
    git(root, "commit", "-qm", "a bomb")
    path.write_text(minimal())
    git(root, "commit", "-qam", "defused")
    assert run("build", "--root", root, "--today", TODAY, "--no-pdf").exit_code == 0
    history = (root / "site/coalitions/pilot/history.html").read_text()
    assert "not valid then" in history  # the bomb's revision is named, and skipped


# --- 4. The fence includes .git/ -------------------------------------------------------------


def test_nothing_under_git_is_published(tmp_path: Path, run: Run) -> None:
    root = tmp_path / "ws"
    (root / "coalitions").mkdir(parents=True)
    shutil.copy(REPO / "playbook.yaml", root / "playbook.yaml")
    (root / "coalitions/pilot.yaml").write_text(minimal())
    git(root, "init", "-q")
    git(root, "config", "credential.token", "SECRET-TOKEN-123")
    (root / "content").mkdir()
    (root / "content/leak.md").symlink_to(root / ".git/config")
    result = run("build", "--root", root, "--today", TODAY, "--no-pdf")
    assert result.exit_code == 1
    assert "git's own folder" in result.output
    assert not (root / "site").exists()
    (root / "content/leak.md").unlink()
    (root / "templates/assets").mkdir(parents=True)
    (root / "templates/assets/leak.css").symlink_to(root / ".git/config")
    result = run("build", "--root", root, "--today", TODAY, "--no-pdf")
    assert result.exit_code == 1
    assert "git's own folder" in result.output


def test_a_packet_template_cannot_attach_git_files(tmp_path: Path, run: Run) -> None:
    root = tmp_path / "ws"
    (root / "coalitions").mkdir(parents=True)
    shutil.copy(REPO / "playbook.yaml", root / "playbook.yaml")
    (root / "coalitions/pilot.yaml").write_text(minimal())
    git(root, "init", "-q")
    git(root, "config", "credential.token", "SECRET-TOKEN-123")
    packet = (REPO / "templates/packet/packet.html").read_text()
    (root / "templates/packet").mkdir(parents=True)
    (root / "templates/packet/packet.html").write_text(
        packet.replace("</head>", '<link rel="attachment" href=".git/config"></head>', 1)
    )
    result = run("build", "--root", root, "--today", TODAY)
    assert result.exit_code == 0, result.output
    assert "a file in git's own folder" in result.output
    data = (root / "site/coalitions/pilot/pilot-mou.pdf").read_bytes()
    assert b"SECRET-TOKEN-123" not in data


# --- 5. Content front matter and guide Markdown --------------------------------------------


@pytest.mark.parametrize(
    ("front", "expected"),
    [
        ("title: !!binary aGVsbG8=", "content/faq.md:2:"),
        ("a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
            f"{c}: &{c} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]\n"
            for p, c in zip("abcdefgh", "bcdefghi", strict=True)
        ), "content/faq.md:"),
        ("title: FAQ\norder: many", "content/faq.md:3:8: order:"),
        ("titel: FAQ", "content/faq.md:2:1: titel: found an unknown field"),
    ],
    ids=["tag", "alias-bomb", "type", "unknown-field"],
)  # fmt: skip
def test_front_matter_is_read_like_a_coalition_file(
    sample: Path, run: Run, front: str, expected: str
) -> None:
    (sample / "content").mkdir()
    (sample / "content/faq.md").write_text(f"---\n{front}\n---\n# Questions\n")
    result = run("build", "--root", sample, "--today", TODAY, "--no-pdf")
    assert result.exit_code == 1
    assert expected in result.output
    assert "Traceback" not in result.output


def test_guide_markdown_keeps_only_id_and_class_and_local_images(sample: Path, run: Run) -> None:
    (sample / "content").mkdir()
    (sample / "content/faq.md").write_text(
        "---\ntitle: FAQ\n---\n# Questions\n\n"
        '{#top .lead data-track="1" style="color:red"}\nA paragraph.\n\n'
        "![logo](https://tracker.example/pixel.png) ![map](map.png)\n"
    )
    assert run("build", "--root", sample, "--today", TODAY, "--no-pdf").exit_code == 0
    page = (sample / "site/guide/faq.html").read_text()
    assert '<p id="top" class="lead">A paragraph.</p>' in page
    assert "tracker.example" not in page
    assert '<img src="map.png" alt="map">' in page


# --- 6. The preview server -------------------------------------------------------------------


@pytest.fixture
def preview(sample: Path) -> Iterator[int]:
    import datetime

    site = LiveSite(sample, datetime.date(2026, 11, 25))
    site.rebuild()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), make_handler(site))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1]
    server.shutdown()


def _ask(port: int, method: str, path: str, **headers: str) -> http.client.HTTPResponse:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.request(method, path, headers=headers)
    return connection.getresponse()


@pytest.mark.parametrize("host", ["evil.example", "evil.example:80", "127.0.0.1.nip.io"])
def test_the_preview_refuses_other_host_names(preview: int, host: str) -> None:
    response = _ask(preview, "GET", "/index.html", Host=host)
    assert response.status == 421
    assert b"Coalition" not in response.read()


def test_the_preview_answers_the_loopback_and_head(preview: int) -> None:
    for host in ("localhost", f"127.0.0.1:{preview}", f"[::1]:{preview}"):
        response = _ask(preview, "GET", "/index.html", Host=host)
        assert response.status == 200
        assert "default-src 'none'" in response.headers["Content-Security-Policy"]
        response.read()
    head = _ask(preview, "HEAD", "/index.html", Host="localhost")
    assert head.status == 200
    assert int(head.headers["Content-Length"]) > 1000
    assert head.read() == b""


def test_the_reload_stream_refuses_other_origins(preview: int) -> None:
    response = _ask(
        preview, "GET", "/__playbook__/events", Host="localhost", Origin="https://evil.example"
    )
    assert response.status == 403


# --- 7, 8, 9, 10. Values, slugs, characters, positions ---------------------------------------

CASES = [
    (
        "newline in the coalition name",
        lambda t: t.replace("name: Minimal Alliance", 'name: "Minimal\\nAlliance"'),
        "name: found the character U+000A (LINE FEED); allowed one line of text",
    ),
    (
        "a launch in 9999",
        lambda t: t + "launch: {date: 9999-01-01}\n",
        "launch.date: found 9999-01-01; allowed a date as YYYY-MM-DD between the years 1900",
    ),
    (
        "a sunset a hundred million months away",
        lambda t: t + "launch: {date: 2027-01-01}\nexit: {after_months: 100000000}\n",
        "exit.after_months: found 100000000; allowed a whole number from 1 to 600",
    ),
    (
        "infinite funding",
        lambda t: t.replace(
            "    scores: {alignment: 2",
            "    commitment: {funding: .inf}\n    scores: {alignment: 2",
        ),
        "partners[0].commitment.funding: found .inf; allowed a number from 0 to 1,000,000,000,000",
    ),
    (
        "a partner id with a final line break",
        lambda t: t.replace("  - id: alpha", '  - id: "alpha\\n"'),
        "partners[0].id: found",
    ),
    (
        "a partner name that overrides its direction",
        lambda t: t.replace("name: Beta Union", 'name: "\\u202eBeta Union"'),
        "partners[1].name: found the character U+202E (RIGHT-TO-LEFT OVERRIDE)",
    ),
    (
        "an amount made to read backwards",
        lambda t: t.replace(
            "    scores: {alignment: 2",
            '    commitment: {funding: 1, currency: "USD \\u202e0001\\u202c"}\n'
            "    scores: {alignment: 2",
        ),
        "partners[0].commitment.currency: found",
    ),
    (
        "a zero-width space in a signer",
        lambda t: t
        + 'signatures: [{partner: alpha, signer: "Ann\\u200bLee", mou_version: "aaaaaaaa"}]\n',
        "signatures[0].signer: found the character U+200B (ZERO WIDTH SPACE)",
    ),
    (
        "a next-line character in a clause title",
        lambda t: t + "mou:\n  clauses:\n    - title: \"Data\x85use\"\n      text: Shared.\n",
        "coalitions/pilot.yaml:19:19: (file): found the character U+0085 (NEXT LINE), which YAML",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("edit", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_extreme_and_invisible_values_are_located_errors(
    empty: Path, run: Run, edit: object, expected: str
) -> None:
    text = edit(minimal())  # type: ignore[operator]
    (empty / "coalitions/pilot.yaml").write_text(text, encoding="utf-8")
    code, lines = _check(run, empty)
    assert code == 1
    assert any(expected in line for line in lines), lines
    for line in lines[:-1]:
        number = int(line.split(":")[1])
        assert 1 <= number <= text.count("\n") + 1  # where an editor shows it


def test_a_file_name_with_a_line_break_is_not_a_slug(empty: Path, run: Run) -> None:
    (empty / "coalitions/pilot\n.yaml").write_text(minimal())
    code, lines = _check(run, empty)
    assert code == 1
    assert "(file name)" in lines[0]
