"""Git-native agreements: revision stamps, history marks, redlines, diff, due, shallow clones."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import REPO, Run
from tests.sitecheck import parse

pytestmark = pytest.mark.slow  # end to end: the CLI, builds, WeasyPrint or a browser

TODAY = "2026-11-25"


def git(root: Path, *args: str, date: str = "2026-10-01T10:00:00+00:00") -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "Dana Organiser",
        "GIT_AUTHOR_EMAIL": "dana@example.org",
        "GIT_COMMITTER_NAME": "Dana Organiser",
        "GIT_COMMITTER_EMAIL": "dana@example.org",
        "GIT_AUTHOR_DATE": date,
        "GIT_COMMITTER_DATE": date,
    }
    done = subprocess.run(
        ["git", "-C", str(root), *args], capture_output=True, text=True, env=env, check=True
    )
    return done.stdout.strip()


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new, 1))


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A playbook repository with metadata edits, an agreement edit, a rename and a dirty file."""
    root = tmp_path / "repo"
    root.mkdir()
    shutil.copy(REPO / "playbook.yaml", root / "playbook.yaml")
    shutil.copytree(REPO / "coalitions", root / "coalitions")
    (root / ".gitignore").write_text("site/\n")
    git(root, "init", "-q", "-b", "main")
    git(root, "add", ".")
    git(root, "commit", "-q", "-m", "Add the three coalitions")
    coalitions = root / "coalitions"
    _edit(
        coalitions / "housing-for-health.yaml",
        "exploratory-meeting: {done: 2026-04-29}",
        "exploratory-meeting: {done: 2026-04-29, notes: Met at the hospital.}",
    )
    git(root, "commit", "-q", "-am", "Note where we met", date="2026-10-10T09:00:00+00:00")
    _edit(coalitions / "housing-for-health.yaml", "notice_days: 90", "notice_days: 60")
    git(root, "commit", "-q", "-am", "Shorten the notice period", date="2026-10-20T09:00:00+00:00")
    git(root, "mv", "coalitions/dignity-in-detention.yaml", "coalitions/dignity-alliance.yaml")
    git(root, "commit", "-q", "-m", "Rename the dignity file", date="2026-11-02T09:00:00+00:00")
    _edit(coalitions / "fair-trade-pact.yaml", "status: forming", "status: active")
    return root


def _build(run: Run, root: Path) -> str:
    result = run("build", "--root", root, "--today", TODAY, "--no-pdf")
    assert result.exit_code == 0, result.output
    return result.stderr


def test_revision_stamps(repo: Path, run: Run) -> None:
    _build(run, repo)
    head = git(repo, "log", "-1", "--format=%h", "--", "coalitions/housing-for-health.yaml")
    housing = parse(repo / "site/coalitions/housing-for-health/index.html").words
    assert f"revision {head} (2026-10-20)" in housing
    fair = parse(repo / "site/coalitions/fair-trade-pact/index.html").words
    first = git(repo, "log", "--format=%h", "--reverse").splitlines()[0]
    assert f"revision {first} (2026-10-01) + uncommitted changes" in fair
    renamed = git(repo, "log", "-1", "--format=%h")
    dignity = parse(repo / "site/coalitions/dignity-alliance/index.html").words
    assert f"revision {renamed} (2026-11-02)" in dignity


def test_history_marks_agreement_changes(repo: Path, run: Run) -> None:
    _build(run, repo)
    page = parse(repo / "site/coalitions/housing-for-health/history.html")
    rows = [attrs.get("class", "") for tag, attrs in page.tags if tag == "tr" and "class" in attrs]
    assert rows == ["agreement-changed", "metadata-only", "agreement-changed"]
    words = page.words
    assert "Shorten the notice period" in words
    assert "Note where we met" in words
    assert "Dana Organiser" in words
    assert words.count("signed version") == 2  # the first two commits carry the signed terms


def test_history_follows_a_rename(repo: Path, run: Run) -> None:
    _build(run, repo)
    words = parse(repo / "site/coalitions/dignity-alliance/history.html").words
    assert "Rename the dignity file" in words
    assert "Add the three coalitions" in words


def test_redline_since_signing(repo: Path, run: Run) -> None:
    _build(run, repo)
    html = (repo / "site/coalitions/housing-for-health/changes.html").read_text()
    assert "<del>90</del>" in html
    assert "<ins>60</ins>" in html
    words = parse(repo / "site/coalitions/housing-for-health/changes.html").words
    assert "The partners signed MOU 24301be3" in words
    assert "1 word added, 1 removed" in words
    unchanged = parse(repo / "site/coalitions/dignity-alliance/changes.html").words
    assert "Nothing in the agreement has changed since it was signed" in unchanged
    unsigned = parse(repo / "site/coalitions/fair-trade-pact/changes.html").words
    assert "Nobody has signed this MOU yet" in unsigned


def test_packet_carries_the_revision(repo: Path, run: Run) -> None:
    from pypdf import PdfReader

    result = run("pdf", "--root", repo, "housing-for-health", "--today", TODAY)
    assert result.exit_code == 0, result.output
    reader = PdfReader(repo / "site/coalitions/housing-for-health/housing-for-health-mou.pdf")
    head = git(repo, "log", "-1", "--format=%h", "--", "coalitions/housing-for-health.yaml")
    assert reader.metadata is not None
    assert str(reader.metadata["/playbookrevision"]) == f"{head} (2026-10-20)"
    assert f"{head} (2026-10-20)" in reader.pages[0].extract_text()


def test_outside_git_there_is_no_stamp_and_no_error(sample: Path, run: Run) -> None:
    stderr = _build(run, sample)
    assert "warning" not in stderr
    words = parse(sample / "site/coalitions/housing-for-health/index.html").words
    assert "revision source file coalitions/housing-for-health.yaml sha256:" in words
    history = parse(sample / "site/coalitions/housing-for-health/history.html").words
    assert "not in a git repository" in history


def test_diff_of_the_mou_text(repo: Path, run: Run) -> None:
    first = git(repo, "log", "--format=%h", "--reverse").splitlines()[0]
    result = run("diff", "--root", repo, "housing-for-health", first, "HEAD")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert "-A partner may leave by giving 90 days' notice to the others." in lines
    assert "+A partner may leave by giving 60 days' notice to the others." in lines
    assert not [line for line in lines if "notice_days" in line]  # the MOU, not the YAML
    same = run("diff", "--root", repo, "housing-for-health")
    assert "The MOU text is the same at HEAD" in same.stdout
    _edit(repo / "coalitions/housing-for-health.yaml", "minutes: 60", "minutes: 45")
    working = run("diff", "--root", repo, "housing-for-health")
    assert any(
        line.startswith("+") and "45 minutes" in line for line in working.stdout.splitlines()
    )
    bad = run("diff", "--root", repo, "housing-for-health", "no-such-rev")
    assert bad.exit_code == 1
    assert "git does not know the revision 'no-such-rev'" in bad.stderr


def test_diff_outside_git(sample: Path, run: Run) -> None:
    result = run("diff", "--root", sample, "housing-for-health")
    assert result.exit_code == 1
    assert "not in a git repository" in result.stderr


def test_shallow_clone_is_detected(repo: Path, run: Run, tmp_path: Path) -> None:
    git(repo, "commit", "-q", "-am", "Activate the trade campaign")
    clone = tmp_path / "shallow"
    subprocess.run(["git", "clone", "-q", "--depth", "1", repo.as_uri(), str(clone)], check=True)
    stderr = _build(run, clone)
    assert "shallow clone" in stderr
    assert "git fetch --unshallow" in stderr
    full = tmp_path / "full"
    subprocess.run(["git", "clone", "-q", repo.as_uri(), str(full)], check=True)
    assert "shallow clone" not in _build(run, full)


def test_due_reminds_and_fails_on_overdue(repo: Path, run: Run) -> None:
    fine = run("due", "--root", repo, "--today", TODAY, "--within", "14")
    assert fine.exit_code == 0
    assert "upcoming 2026-11-30 (in 5 days): Dignity in Detention Alliance: check-in" in (
        fine.stdout
    )
    late = run("due", "--root", repo, "--today", "2027-05-10", "--within", "7")
    assert late.exit_code == 1
    assert (
        "OVERDUE  2027-04-30 (10 days ago): Clean Jobs Trade Campaign: sunset passed without "
        "renewal" in late.stdout
    )
    assert re.search(r"OVERDUE  2027-01-06 \(124 days ago\): Riverside Housing", late.stdout)


def test_ci_files_are_ready() -> None:
    import yaml

    workflow = yaml.safe_load((REPO / ".github/workflows/playbook.yml").read_text())
    jobs = workflow["jobs"]
    assert {"check", "build", "due"} <= set(jobs)
    text = (REPO / ".github/workflows/playbook.yml").read_text()
    for job in ("check", "build", "due"):
        assert jobs[job]["steps"][1]["uses"] == "./", job  # the action at the root
    assert "playbook check --format github" in (REPO / "action.yml").read_text()
    assert "fetch-depth: 0" in text
    assert "upload-artifact" in text
    hooks = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())
    assert hooks[0]["id"] == "playbook-check"
    assert hooks[0]["entry"].startswith("playbook check")
