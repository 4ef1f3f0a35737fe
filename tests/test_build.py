"""`playbook build` end to end: every page and section, links, determinism, safety."""

from __future__ import annotations

import datetime
import gc
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from icalendar import Calendar

from playbook_builder import advise, build
from tests.conftest import REPO, Run, git, minimal
from tests.sitecheck import broken_links, parse

pytestmark = pytest.mark.slow  # end to end: the CLI, builds, WeasyPrint or a browser

TODAY = "2026-11-25"
SLUGS = ("dignity-in-detention", "fair-trade-pact", "housing-for-health")


@pytest.fixture
def built(sample: Path, run: Run) -> Path:
    result = run("build", "--root", sample, "--today", TODAY, "--no-pdf")
    assert result.exit_code == 0, result.output
    return sample / "site"


def test_build_writes_every_page(built: Path) -> None:
    names = {p.relative_to(built).as_posix() for p in built.rglob("*") if p.is_file()}
    expected = {
        "index.html", "partners.html", "reviews.html", "search.html", "calendar.ics",
        "assets/style.css", "assets/app.js", "assets/search.js", "assets/search-index.js",
    }  # fmt: skip
    for slug in SLUGS:
        for name in ("index.html", "mou.html", "calendar.ics", "coalition.json"):
            expected.add(f"coalitions/{slug}/{name}")
    for page in (
        "index",
        "models",
        "criteria",
        "decision-rules",
        "implementation",
        "risks",
        "advisories",
        "faq",
    ):
        expected.add(f"guide/{page}.html")
    assert expected <= names


def test_no_broken_internal_links_or_anchors(built: Path) -> None:
    assert broken_links(built) == []


def test_dashboard_lists_every_coalition(built: Path) -> None:
    page = parse(built / "index.html")
    rows = [attrs for tag, attrs in page.tags if tag == "tr" and "data-status" in attrs]
    assert [(r["data-status"], r["data-model"]) for r in rows] == [
        ("active", "structural"),
        ("active", "values-bridge"),
        ("forming", "opportunistic"),
    ]
    words = page.words
    assert "Riverside Housing for Health Fund" in words
    assert "6 January 2027" in words  # the next review
    assert "none scheduled" not in words
    radios = [a["id"] for tag, a in page.tags if tag == "input" and a.get("type") == "radio"]
    assert radios == [
        "status-all",
        "status-active",
        "status-forming",
        "model-all",
        "model-opportunistic",
        "model-structural",
        "model-values-bridge",
    ]


COALITION_SECTIONS = (
    "purpose",
    "model",
    "matrix",
    "partners",
    "roles",
    "decisions",
    "messaging",
    "launch",
    "communication",
    "reviews",
    "timeline",
    "exit",
    "steps",
    "advisories",
    "documents",
)


def test_coalition_page_has_every_section(built: Path) -> None:
    page = parse(built / "coalitions/housing-for-health/index.html")
    assert set(COALITION_SECTIONS) <= page.ids
    words = page.words
    for expected in (
        "Halve repeat emergency visits",
        "The least-ready partner, Northside Tenants Union, totals 13 of 25",
        "Dr. Elena Marsh, President and Chief Executive Officer",
        "60 staff hours a month, 400,000 USD",
        "Fiscal agent",
        "Passes with a majority of the partners taking part, with a quorum of three quarters "
        "of the partners; public statements",
        "3 of 4 when all take part, 2 of 3 at quorum",
        "Coordinated:",
        "Ten households placed before the first freeze",
        "A monthly check-in of 60 minutes by video call",
        "6 January 2027",
        "22 September 2029",
        "90 days",
        "Any partner may call an all-partner meeting",
        "5 of 6 steps done",
        "signed an earlier version (fea6e851): must re-sign",
    ):
        assert expected in words, expected
    links = page.links
    for target in (
        "mou.html",
        "calendar.ics",
        "coalition.json",
        "../../guide/advisories.html#a201",
    ):
        assert target in links
    assert "housing-for-health-mou.pdf" not in links  # built with --no-pdf
    svgs = [a for tag, a in page.tags if tag == "svg"]
    assert [s["class"] for s in svgs] == ["chart matrix-chart", "chart timeline-chart"]
    assert all(s["role"] == "img" for s in svgs)


def test_review_schedule_runs_to_the_sunset(built: Path) -> None:
    data = json.loads((built / "coalitions/housing-for-health/coalition.json").read_text())
    derived = data["derived"]
    assert derived["sunset"] == "2029-09-22"
    assert [r["date"] for r in derived["reviews"]] == [
        "2027-01-06",
        "2027-07-06",
        "2028-01-06",
        "2028-07-06",
        "2029-01-06",
        "2029-07-06",
    ]
    assert derived["recommended_model"] == "values-bridge"
    assert derived["signatures_stale"] == ["Lake County Public Health Department"]
    assert data["coalition"]["decision_rule"]["quorum"] == "3/4"


def test_mou_page(built: Path) -> None:
    html = (built / "coalitions/dignity-in-detention/mou.html").read_text()
    assert '<span class="badge ok">signed</span>' in html
    assert '<span class="badge draft">' not in html
    words = parse(built / "coalitions/dignity-in-detention/mou.html").words
    assert "Memorandum of understanding" in words
    assert "Human dignity does not end at the jailhouse door." in words
    assert "11.1 Public voice" in words
    draft = parse(built / "coalitions/housing-for-health/mou.html").words
    assert "Must re-sign: Lake County Public Health Department." in draft
    assert "Not signed yet: Northside Tenants Union." in draft


def test_guide_prints_the_thresholds(built: Path) -> None:
    words = parse(built / "guide/criteria.html").words
    t = advise.THRESHOLDS
    assert f"5 to {t.values_bridge_from - 1} an opportunistic alliance" in words
    assert f"{t.structural_from} to 25 a structural alliance" in words
    assert "{{" not in words
    advisories = parse(built / "guide/advisories.html")
    assert {code.lower() for code in advise.ADVISORIES} <= advisories.ids


def test_partners_and_reviews_pages(built: Path) -> None:
    partners = parse(built / "partners.html").words
    assert "Riverside Health System" in partners
    assert "400,000 USD" in partners
    reviews = parse(built / "reviews.html").words
    assert "6 January 2027 Riverside Housing for Health Fund Review 1" in reviews
    assert "Nothing is overdue." in reviews


def test_calendars_parse(built: Path) -> None:
    whole = Calendar.from_ical((built / "calendar.ics").read_bytes())
    summaries = [str(e["summary"]) for e in whole.walk("VEVENT")]
    assert "Riverside Housing for Health Fund: sunset unless renewed" in summaries
    assert "Dignity in Detention Alliance: biweekly check-in" in summaries
    one = Calendar.from_ical((built / "coalitions/housing-for-health/calendar.ics").read_bytes())
    check_in = next(e for e in one.walk("VEVENT") if "check-in" in str(e["summary"]))
    assert "RRULE:FREQ=MONTHLY;COUNT=" in check_in.to_ical().decode()


def test_search_index_covers_partners_and_guidance(built: Path) -> None:
    script = (built / "assets/search-index.js").read_text()
    entries = json.loads(script.removeprefix("window.PLAYBOOK_SEARCH = ").rstrip(";\n"))
    titles = {e["t"] for e in entries}
    assert "Northside Tenants Union" in titles
    assert "Advisory reference: A301: Consensus as a decision rule" in titles


def test_two_builds_are_byte_identical(sample: Path, run: Run, tmp_path: Path) -> None:
    for out in ("one", "two"):  # no cache: each build renders every page itself
        result = run(
            "build", "--root", sample, "--out", tmp_path / out, "--today", TODAY, "--no-cache"
        )
        assert result.exit_code == 0
    first = {
        p.relative_to(tmp_path / "one"): p.read_bytes()
        for p in (tmp_path / "one").rglob("*")
        if p.is_file()
    }
    second = {
        p.relative_to(tmp_path / "two"): p.read_bytes()
        for p in (tmp_path / "two").rglob("*")
        if p.is_file()
    }
    assert first == second


def test_a_failed_build_leaves_the_site_untouched(built: Path, sample: Path, run: Run) -> None:
    before = {p: p.read_bytes() for p in built.rglob("*") if p.is_file()}
    bad = sample / "coalitions" / "fair-trade-pact.yaml"
    bad.write_text(bad.read_text().replace("trust: 2", "trust: 9", 1))
    result = run("build", "--root", sample, "--today", TODAY)
    assert result.exit_code == 1
    assert "partners[0].scores.trust: found 9" in result.stdout
    assert "nothing was written" in result.stderr
    assert {p: p.read_bytes() for p in built.rglob("*") if p.is_file()} == before
    leftovers = sorted(p.name for p in sample.iterdir() if p.name.startswith(".site"))
    assert leftovers == [".site.lock", ".site.spare", ".site.state"]  # the spare: the first build's


def test_a_rebuild_with_nothing_new_leaves_the_site_alone(
    built: Path, sample: Path, run: Run
) -> None:
    inodes = {p: p.stat().st_ino for p in built.rglob("*") if p.is_file()}
    assert run("build", "--root", sample, "--today", TODAY, "--no-pdf").exit_code == 0
    assert {p: p.stat().st_ino for p in built.rglob("*") if p.is_file()} == inodes
    # ...but a hand edit, a stray file or a deleted page is put right by the next build
    clean = {p: p.read_bytes() for p in built.rglob("*") if p.is_file()}
    (built / "index.html").write_text("edited by hand")
    (built / "stray.html").write_text("not ours")
    (built / "partners.html").unlink()
    assert run("build", "--root", sample, "--today", TODAY, "--no-pdf").exit_code == 0
    assert {p: p.read_bytes() for p in built.rglob("*") if p.is_file()} == clean


def test_pages_of_deleted_coalitions_disappear(built: Path, sample: Path, run: Run) -> None:
    (sample / "coalitions" / "fair-trade-pact.yaml").unlink()
    assert run("build", "--root", sample, "--today", TODAY).exit_code == 0
    assert not (built / "coalitions" / "fair-trade-pact").exists()
    assert (built / "coalitions" / "housing-for-health" / "index.html").is_file()


def test_user_text_cannot_inject_html(empty: Path, run: Run) -> None:
    hostile = '<script>alert(1)</script><img src=x onerror="alert(2)">'
    text = (REPO / "tests/data/minimal.yaml").read_text()
    text = text.replace("name: Minimal Alliance", f"name: '{hostile}'")
    text = text.replace("name: Alpha Group", f"name: '{hostile} Group'")
    text += (
        "mou:\n  clauses:\n"
        f"    - title: '{hostile}'\n"
        "      text: 'Hi <script>alert(3)</script> [x](javascript:alert(4)) "
        '![i](http://evil.example/p.png) <a href="https://evil.example">a</a>\'\n'
    )
    (empty / "coalitions" / "m.yaml").write_text(text)
    result = run("build", "--root", empty, "--today", TODAY)
    assert result.exit_code == 0, result.output
    for path in (empty / "site").rglob("*.html"):
        page = parse(path)
        assert not any("alert" in s for s in page.scripts), path
        assert not [a for _, a in page.tags if any(k.startswith("on") for k in a)], path
        assert not [link for link in page.links if "javascript:" in link]
        assert "https://evil.example" not in page.links  # raw HTML stays text
        assert not [a for t, a in page.tags if t == "img"], path
    mou = (empty / "site/coalitions/m/mou.html").read_text()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in mou


def test_workspace_templates_and_content_override_builtins(sample: Path, run: Run) -> None:
    (sample / "templates").mkdir()
    base = (REPO / "templates" / "base.html").read_text()
    (sample / "templates" / "base.html").write_text(
        base.replace("built with playbook", "kept by the policy team with")
    )
    (sample / "content").mkdir()
    (sample / "content" / "faq.md").write_text(
        "---\ntitle: Our FAQ\norder: 9\n---\n# Our FAQ\n\nAsk {{ t.low_trust }} questions.\n"
    )
    assert run("build", "--root", sample, "--today", TODAY).exit_code == 0
    assert "kept by the policy team with" in (sample / "site/index.html").read_text()
    faq = parse(sample / "site/guide/faq.html").words
    assert f"Ask {advise.THRESHOLDS.low_trust} questions." in faq
    assert "Scoring partners" in parse(sample / "site/guide/criteria.html").words


def test_templates_cannot_reach_python_internals(sample: Path, run: Run) -> None:
    (sample / "templates").mkdir()
    (sample / "templates" / "partners.html").write_text(
        "{{ site.__class__.__mro__[1].__subclasses__() }}"
    )
    result = run("build", "--root", sample, "--today", TODAY)
    assert result.exit_code == 1
    assert "template partners.html" in result.stderr
    assert "unsafe" in result.stderr


def test_a_workspace_can_restyle_the_rows_of_the_shared_pages(sample: Path, run: Run) -> None:
    (sample / "templates").mkdir()
    rows = (REPO / "templates" / "_shared_rows.html").read_text()
    custom = rows.replace('class="coalition-link">', 'class="coalition-link">Our ')
    (sample / "templates" / "_shared_rows.html").write_text(custom)
    assert run("build", "--no-pdf", "--root", sample, "--today", TODAY).exit_code == 0
    dashboard = parse(sample / "site/index.html").words
    assert "Our Riverside Housing for Health Fund" in dashboard

    (sample / "templates" / "_shared_rows.html").write_text(
        rows.replace("{{ v.c.purpose }}</div>", "{{ v.c.no_such_field }}</div>")
    )
    result = run("build", "--no-pdf", "--root", sample, "--today", TODAY)
    assert result.exit_code == 1
    assert "Traceback" not in result.stderr
    assert "no_such_field" in result.stderr
    assert "Our Riverside" in (sample / "site/index.html").read_text()  # the site is as it was


def _own_copy(sample: Path, name: str, old: str, new: str) -> None:
    """A workspace copy of the built-in template `name`, with `old` (which it must hold)
    written as `new`."""
    built_in = (REPO / "templates" / name).read_text()
    assert old in built_in
    (sample / "templates").mkdir(exist_ok=True)
    (sample / "templates" / name).write_text(built_in.replace(old, new))


def test_a_workspace_template_may_walk_the_rows_one_by_one(sample: Path, run: Run) -> None:
    """The built-in dashboard prints its rows whole; a workspace's own copy written
    before that, which numbers them, still gets each row as HTML."""
    _own_copy(
        sample,
        "index.html",
        "{{ rows }}",
        "{% for row in rows %}<!-- row {{ loop.index }} of {{ rows|length }} -->{{ row }}"
        "{% endfor %}"
        "<!-- {{ rows[:2]|length }} first, {{ rows|reverse|list|length }} in all -->",
    )
    assert run("build", "--no-pdf", "--root", sample, "--today", TODAY).exit_code == 0
    page = (sample / "site/index.html").read_text()
    assert "<!-- row 3 of 3 -->" in page
    assert "<!-- 2 first, 3 in all -->" in page
    assert page.count('class="coalition-link"') == 3  # rows as HTML, not escaped text
    assert "&lt;tr" not in page


def test_a_workspace_partners_page_may_walk_an_organisations_rows(sample: Path, run: Run) -> None:
    """The built-in partners page prints an organisation's coalitions whole; a copy that
    walks them one by one (as the built-in one did) gets each as HTML."""
    _own_copy(
        sample,
        "partners.html",
        "{{ org.memberships }}",
        "{% for row in org.memberships %}<!-- {{ loop.index }} -->{{ row }}{% endfor %}",
    )
    assert run("build", "--no-pdf", "--root", sample, "--today", TODAY).exit_code == 0
    ours = (sample / "site/partners.html").read_text()
    (sample / "templates" / "partners.html").unlink()
    assert run("build", "--no-pdf", "--root", sample, "--today", TODAY).exit_code == 0
    built_in = (sample / "site/partners.html").read_text()
    assert "<!-- 1 -->" in ours
    assert re.sub(r"<!-- \d+ -->", "", ours) == built_in  # the same rows, as HTML


def test_a_template_edited_between_builds_in_one_process_is_read_again(
    sample: Path, run: Run
) -> None:
    """Builds read each template once (`serve` builds again and again in one process):
    an edit between two builds shows in the second."""
    _own_copy(sample, "mou.html", "Memorandum of understanding", "First wording")
    assert run("build", "--no-pdf", "--root", sample, "--today", TODAY).exit_code == 0
    page = sample / "site/coalitions/housing-for-health/mou.html"
    assert "First wording" in page.read_text()
    _own_copy(sample, "mou.html", "Memorandum of understanding", "Second wording")
    assert run("build", "--no-pdf", "--root", sample, "--today", TODAY).exit_code == 0
    assert "Second wording" in page.read_text()
    assert "First wording" not in page.read_text()


def test_a_template_no_page_uses_may_be_broken_and_one_in_use_may_not(
    sample: Path, run: Run
) -> None:
    """The renderer loads every template of the site before forking its workers (so each
    need not): a broken one that no page uses is no error; one in use is, named."""
    (sample / "templates").mkdir()
    (sample / "templates" / "notes.html").write_text("{% if %}unfinished\n")
    assert run("build", "--no-pdf", "--root", sample, "--today", TODAY).exit_code == 0
    (sample / "templates" / "history.html").write_text("{% if %}broken\n")
    result = run("build", "--no-pdf", "--root", sample, "--today", TODAY)
    assert result.exit_code == 1
    assert "templates/history.html:1: Expected an expression" in result.stderr


def test_warming_the_renderer_loads_the_site_templates_and_icalendar() -> None:
    code = (
        "import sys, datetime\n"
        "from playbook_builder import render, load, workspace\n"
        "found = workspace.find(None)\n"
        "config = load.load_config(found, [])\n"
        "renderer = render.Renderer(found.layered('templates'), config, datetime.date.today())\n"
        "assert 'icalendar' not in sys.modules and not renderer.env.cache\n"
        "renderer.warm()\n"
        "names = sorted(key[1] for key in renderer.env.cache.keys())\n"
        "print('icalendar' in sys.modules, names)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO
    )
    loaded, names = done.stdout.split(" ", 1)
    assert loaded == "True"
    for name in ("coalition.html", "base.html", "_mou.html", "index.html", "filters.css"):
        assert repr(name) in names
    assert "packet/" not in names


def test_facts_gathered_while_the_files_load_are_those_gathered_at_once(empty: Path) -> None:
    """Many files in git, loaded by this process and a worker, each chunk's facts gathered
    as it comes in (its history read from git then): the same facts as gathered in one
    pass over files loaded in one process, advice across files (A602) and git's
    history included."""
    from playbook_builder import facts, history, load
    from playbook_builder import workspace as ws

    count = 2 * load.PARALLEL_FROM
    for number in range(count):
        text = minimal().replace("Minimal Alliance", f"Alliance {number:03d}")
        (empty / "coalitions" / f"c-{number:03d}.yaml").write_text(text)
    git(empty, "init", "-q")
    git(empty, "add", "-A")
    git(empty, "commit", "-qm", "first")
    for number in range(0, count, 3):
        path = empty / "coalitions" / f"c-{number:03d}.yaml"
        path.write_text(path.read_text().replace("Pass the", "Pass at last the"))
    git(empty, "commit", "-qam", "second")
    dirty = empty / "coalitions" / "c-001.yaml"
    dirty.write_text(dirty.read_text().replace("Pass the", "Pass soon the"))
    day = datetime.date(2026, 11, 25)
    ready = build.prepare(empty, day, jobs=2)
    found = ws.find(empty)
    loaded = load.load_workspace(found, jobs=1)
    past = history.read(found.root, [item.path for item in loaded.coalitions])
    at_once = facts.gather(loaded.coalitions, loaded.config, day, past)
    assert {fact.slug: fact for fact in ready.facts} == at_once
    assert len(at_once["c-003"].history) == 2
    assert "A602" in {a.code for a in at_once["c-005"].advisories}


def test_preparing_leaves_the_collector_as_it_was_and_what_it_made_to_the_oldest_generation(
    sample: Path,
) -> None:
    """Preparing runs without the cyclic collector (whose passes over the loaded files
    found nothing to free) and then hands what it made to the oldest generation, so that
    the next pass of the young ones does not walk it all; the collector is left on or off
    as the caller had it, and nothing frozen."""
    for enabled in (True, False):
        (gc.enable if enabled else gc.disable)()
        try:
            ready = build.prepare(sample, datetime.date(2026, 11, 25))
            assert gc.isenabled() is enabled
            assert gc.get_freeze_count() == 0
            young = {id(found) for found in gc.get_objects(0) + gc.get_objects(1)}
            made = [ready.loaded, ready.loaded.coalitions[0], ready.facts[0], ready.renderer]
            assert young.isdisjoint(id(thing) for thing in made)
        finally:
            gc.enable()


def test_the_output_cannot_replace_the_workspace(sample: Path, run: Run) -> None:
    for out in (sample, sample / "coalitions", sample.parent):
        result = run("build", "--root", sample, "--out", out)
        assert result.exit_code == 1
        assert "cannot be the output folder" in result.stderr
    assert (sample / "coalitions" / "housing-for-health.yaml").is_file()


def test_repository_builds_as_a_playbook(tmp_path: Path, run: Run) -> None:
    root = tmp_path / "clone"
    shutil.copytree(REPO, root, ignore=shutil.ignore_patterns(".venv", "site", ".git", "*cache*"))
    assert run("build", "--root", root, "--today", TODAY).exit_code == 0
    assert (root / "site" / "index.html").is_file()


def test_edit_links_lead_to_the_file_when_the_settings_name_where_files_are_edited(
    sample: Path, run: Run
) -> None:
    edit = "https://github.com/example-org/playbook/edit/main/"
    config = sample / "playbook.yaml"
    config.write_text(config.read_text() + f"edit_url: {edit}\n")
    (sample / "content").mkdir()
    (sample / "content" / "faq.md").write_text(
        "---\ntitle: Our questions\norder: 9\n---\n# Our questions\n\nAsk us.\n"
    )
    assert run("build", "--root", sample, "--no-pdf", "--today", "2026-11-25").exit_code == 0
    site = sample / "site"

    def links(page: str) -> list[str]:
        return [
            attrs["href"]
            for tag, attrs in parse(site / page).tags
            if tag == "a" and attrs.get("class") == "edit-link"
        ]

    for page in ("index.html", "mou.html", "history.html"):
        assert links(f"coalitions/housing-for-health/{page}") == [
            edit + "coalitions/housing-for-health.yaml"
        ]
    assert links("guide/faq.html") == [edit + "content/faq.md"]
    assert links("guide/models.html") == []  # the tool's own page: nothing to edit here
    assert links("index.html") == []
    config.write_text(config.read_text().replace(edit, "javascript:alert(1)"))
    refused = run("check", "--root", sample)
    assert refused.exit_code == 1
    assert "edit_url" in refused.stdout
