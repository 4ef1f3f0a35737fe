"""The coalition contract, through `playbook check`: every field, every class of bad input."""

from __future__ import annotations

import datetime
import os
import time
from collections.abc import Callable, Sequence
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import Result

from playbook_builder import checks
from playbook_builder.errors import ContractError
from playbook_builder.model import json_ready
from tests.conftest import DATA, Run, minimal


def _write(root: Path, text: str, name: str = "m.yaml") -> Path:
    path = root / "coalitions" / name
    path.write_text(text, encoding="utf-8")
    return path


def _errors(result: Result) -> list[str]:
    """The error lines of `playbook check` output, without advisories."""
    return [line for line in result.stdout.splitlines() if ": advisory A" not in line]


def _leaves(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[tuple[Any, ...], Any]]:
    if isinstance(value, dict):
        return [leaf for key, item in value.items() for leaf in _leaves(item, (*path, str(key)))]
    if isinstance(value, list):
        return [leaf for i, item in enumerate(value) for leaf in _leaves(item, (*path, i))]
    return [(path, value)]


def _at(value: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        value = value[part]
    return value


def test_every_field_of_the_example_round_trips(empty: Path) -> None:
    text = (DATA / "example-coalition.yaml").read_text()
    _write(empty, text, "housing-health.yaml")
    loaded = checks.load_valid(empty)
    model = json_ready(loaded.coalitions[0].coalition)
    written = yaml.safe_load(text)
    leaves = _leaves(written)
    assert len(leaves) > 100
    for path, value in leaves:
        expected = value.isoformat() if isinstance(value, datetime.date) else value
        assert _at(model, path) == expected, path


def test_defaults_are_filled_in(empty: Path) -> None:
    (empty / "playbook.yaml").write_text("title: T\norganization: O\ncurrency: EUR\n")
    text = minimal().replace(
        "    scores: {alignment: 2",
        "    commitment: {funding: 10}\n    scores: {alignment: 2",
    )
    _write(empty, text + "launch: {date: 2026-11-30}\n")
    coalition = checks.load_valid(empty).coalitions[0].coalition
    assert coalition.communication.cadence == "monthly"
    assert coalition.communication.minutes == 30
    assert coalition.review is not None
    assert coalition.review.first == datetime.date(2027, 2, 28)  # clamped to the month's end
    assert coalition.partners[0].commitment is not None
    assert coalition.partners[0].commitment.currency == "EUR"
    assert coalition.partners[1].status == "prospect"


def test_fractions_are_exact(empty: Path) -> None:
    text = minimal().replace(
        "  default: majority", "  default: supermajority\n  threshold: 2/3\n  quorum: 0.75"
    )
    _write(empty, text)
    rule = checks.load_valid(empty).coalitions[0].coalition.decision_rule
    assert rule.threshold == Fraction(2, 3)
    assert rule.quorum == Fraction(3, 4)


def test_bom_and_crlf_are_accepted(empty: Path) -> None:
    data = "\ufeff" + minimal().replace("\n", "\r\n")
    (empty / "coalitions" / "m.yaml").write_bytes(data.encode("utf-8"))
    loaded = checks.load_valid(empty)
    assert loaded.coalitions[0].coalition.name == "Minimal Alliance"


Edit = Callable[[str], str]

BAD_INPUT: list[tuple[str, Edit, list[str]]] = [
    (
        "score out of range",
        lambda s: s.replace("trust: 2", "trust: 6", 1),
        [
            "coalitions/m.yaml:10:35: partners[0].scores.trust: found 6; "
            "allowed a whole number from 1 to 5"
        ],
    ),
    (
        "unknown field with a suggestion",
        lambda s: s.replace("    name: Alpha Group\n", "    name: Alpha Group\n    nmae: x\n"),
        [
            "coalitions/m.yaml:9:5: partners[0].nmae: found an unknown field `nmae`; allowed "
            "`name` (did you mean it?); the fields here: id, name, decision_maker, scores, "
            "legal_name, address, sector, contact, wants, offers, non_negotiables, commitment, "
            "red_flags, status"
        ],
    ),
    (
        "duplicate key",
        lambda s: s.replace("status: exploring\n", "status: exploring\nstatus: active\n"),
        [
            "coalitions/m.yaml:3:1: status: found `status` a second time (first on line 2); "
            "allowed each field once"
        ],
    ),
    (
        "YAML syntax error",
        lambda s: s.replace("purpose: Pass", "purpose: [Pass"),
        [
            "coalitions/m.yaml:4:8: (yaml): found a YAML syntax error (while parsing a flow "
            "sequence did not find expected ',' or ']'); allowed valid YAML: check the "
            "indentation, the colon after each field and the quotes"
        ],
    ),
    (
        "impossible date",
        lambda s: s + "launch: {date: 2027-02-30}\n",
        [
            "coalitions/m.yaml:17:16: launch.date: found 2027-02-30; "
            "allowed a real calendar date as YYYY-MM-DD"
        ],
    ),
    (
        "date with a time",
        lambda s: s + "mou: {effective: 2026-01-01T10:00:00}\n",
        [
            "coalitions/m.yaml:17:18: mou.effective: found 2026-01-01T10:00:00; "
            "allowed a date as YYYY-MM-DD"
        ],
    ),
    (
        "enumeration with a suggestion",
        lambda s: s.replace("model: opportunistic", "model: structurl"),
        [
            'coalitions/m.yaml:5:8: model: found "structurl"; allowed one of: opportunistic, '
            "values-bridge, structural (did you mean structural?)"
        ],
    ),
    (
        "text where a list belongs",
        lambda s: s + "constraints: {deal_breakers: No lying}\n",
        [
            'coalitions/m.yaml:17:30: constraints.deal_breakers: found "No lying"; allowed a '
            "list, each text (put it in quotes if it reads as a number, a date or yes/no)"
        ],
    ),
    (
        "a number where text belongs",
        lambda s: s.replace("name: Ann Lee", "name: 12"),
        [
            "coalitions/m.yaml:9:28: partners[0].decision_maker.name: found 12; allowed text "
            "(put it in quotes if it reads as a number, a date or yes/no)"
        ],
    ),
    (
        "file is not a mapping",
        lambda s: "- a\n- b\n",
        [
            "coalitions/m.yaml:1:1: (file): found a list of 2 items; allowed a mapping with the "
            "fields name, status, purpose, trigger, model, partners, decision_rule, success, "
            "window, internal_alignment, bridge_value, joint_entity, constraints, messaging, "
            "roles, launch, communication, review, exit, steps, mou, signatures, decisions"
        ],
    ),
    (
        "empty file",
        lambda s: "",
        [
            "coalitions/m.yaml:1:1: (file): found an empty file; allowed a mapping of fields "
            "(name: ...)"
        ],
    ),
    (
        "file holding only comments",
        lambda s: "# nothing yet\n",
        [
            "coalitions/m.yaml:1:1: (file): found an empty file; allowed a mapping of fields "
            "(name: ...)"
        ],
    ),
    (
        "missing required field",
        lambda s: s.replace("purpose: Pass the library levy.\n", ""),
        [
            "coalitions/m.yaml:1:1: purpose: found nothing; allowed text (put it in quotes if it "
            "reads as a number, a date or yes/no) (required here)"
        ],
    ),
    (
        "partner id that is not a slug",
        lambda s: s.replace("id: alpha", "id: Alpha_1"),
        [
            'coalitions/m.yaml:7:9: partners[0].id: found "Alpha_1"; allowed an id of '
            "lower-case letters and digits joined by hyphens, like `mercy-health`"
        ],
    ),
    (
        "duplicate partner id",
        lambda s: s.replace("id: beta", "id: alpha"),
        [
            'coalitions/m.yaml:11:9: partners[1].id: found "alpha" again (partners[0] has it); '
            "allowed an id no other partner in this file uses"
        ],
    ),
    (
        "fewer than two partners",
        lambda s: s[: s.index("  - id: beta")] + "decision_rule: {default: majority}\n",
        [
            "coalitions/m.yaml:7:3: partners: found 1 partner; allowed at least 2 partners: an "
            "alliance needs someone to ally with"
        ],
    ),
    (
        "references to unknown partners",
        lambda s: (
            s + "roles: [{title: Chair, partner: gamma}]\nsuccess: {alpha: x, zeta: y}\n"
            "signatures: [{partner: omega, signer: O, mou_version: abcdef12}]\n"
        ),
        [
            'coalitions/m.yaml:17:33: roles[0].partner: found "gamma", which no partner has '
            "as its id; allowed one of the partner ids: alpha, beta",
            'coalitions/m.yaml:18:21: success.zeta: found "zeta", which no partner has as its '
            "id; allowed one of the partner ids: alpha, beta",
            'coalitions/m.yaml:19:24: signatures[0].partner: found "omega", which no partner '
            "has as its id; allowed one of the partner ids: alpha, beta",
        ],
    ),
    (
        "committee of unknown partners",
        lambda s: s.replace(
            "  default: majority", "  default: executive-committee\n  committee: [alpha, zed]"
        ),
        [
            'coalitions/m.yaml:17:22: decision_rule.committee[1]: found "zed", which no partner '
            "has as its id; allowed one of the partner ids: alpha, beta"
        ],
    ),
    (
        "structural without joint entity or exit",
        lambda s: s.replace("model: opportunistic", "model: structural"),
        [
            "coalitions/m.yaml:5:8: model: found model structural with no exit terms; allowed "
            "exit with notice_days and a sunset or after_months",
            "coalitions/m.yaml:5:8: model: found model structural with no joint_entity; allowed "
            "a joint_entity {kind, description}: the new thing the partners create",
        ],
    ),
    (
        "structural exit without notice or end",
        lambda s: (
            s.replace("model: opportunistic", "model: structural")
            + "joint_entity: {kind: pooled-fund, description: A fund.}\nexit: {renewal: Vote.}\n"
        ),
        [
            "coalitions/m.yaml:18:7: exit: found exit terms with neither sunset nor "
            "after_months; allowed one of them, so that the alliance ends unless renewed "
            "(structural)",
            "coalitions/m.yaml:18:7: exit: found exit terms with no notice_days; allowed "
            "notice_days: how many days' notice a partner gives (structural)",
        ],
    ),
    (
        "values-bridge without a bridge value",
        lambda s: s.replace("model: opportunistic", "model: values-bridge"),
        [
            "coalitions/m.yaml:5:8: model: found model values-bridge with no bridge_value; "
            "allowed a bridge_value: the shared value the alliance is built on"
        ],
    ),
    (
        "supermajority without a threshold, quorum out of range",
        lambda s: s.replace("  default: majority", "  default: supermajority\n  quorum: 3/2"),
        [
            "coalitions/m.yaml:16:12: decision_rule.default: found supermajority with no "
            "threshold; allowed a threshold such as 2/3 beside it",
            "coalitions/m.yaml:17:11: decision_rule.quorum: found 3/2; allowed a share above 0 "
            "and at most 1, such as 2/3",
        ],
    ),
    (
        "threshold not above one half",
        lambda s: s.replace("  default: majority", "  default: supermajority\n  threshold: 1/2"),
        [
            "coalitions/m.yaml:17:14: decision_rule.threshold: found 1/2; allowed a share above "
            "1/2 and at most 1, such as 2/3"
        ],
    ),
    (
        "threshold that is not a fraction",
        lambda s: s.replace(
            "  default: majority", "  default: supermajority\n  threshold: most of us"
        ),
        [
            'coalitions/m.yaml:17:14: decision_rule.threshold: found "most of us"; allowed a '
            "fraction such as 2/3"
        ],
    ),
    (
        "override needing a committee",
        lambda s: s + "  overrides: [{decisions: Spending, rule: executive-committee}]\n",
        [
            "coalitions/m.yaml:17:43: decision_rule.overrides[0].rule: found executive-committee "
            "with no committee; allowed decision_rule.committee: the partner ids on the "
            "committee"
        ],
    ),
    (
        "both sunset and after_months",
        lambda s: (
            s + "mou: {effective: 2026-01-01}\nexit: {sunset: 2027-01-01, after_months: 12}\n"
        ),
        [
            "coalitions/m.yaml:18:28: exit.after_months: found both sunset and after_months; "
            "allowed at most one of them"
        ],
    ),
    (
        "after_months with nothing to count from",
        lambda s: s + "exit: {after_months: 12}\n",
        [
            "coalitions/m.yaml:17:8: exit.after_months: found after_months with no date to count "
            "from; allowed mou.effective or launch.date, from which the months are counted"
        ],
    ),
    (
        "unknown step",
        lambda s: s + "steps: {launh: {done: 2026-01-01}}\n",
        [
            "coalitions/m.yaml:17:9: steps.launh: found the key `launh`; allowed `launch` (did "
            "you mean it?); the fields here: outreach, exploratory-meeting, agreement, launch, "
            "communication, review"
        ],
    ),
    (
        "bad fingerprint",
        lambda s: s + "signatures: [{partner: alpha, signer: A, mou_version: xyz}]\n",
        [
            'coalitions/m.yaml:17:55: signatures[0].mou_version: found "xyz"; allowed the MOU '
            "fingerprint as printed: 8 or more lower-case hex digits"
        ],
    ),
    (
        "python tag",
        lambda s: "name: !!python/object:os.system x\n" + s[s.index("\n") + 1 :],
        [
            "coalitions/m.yaml:1:7: name: found the tag !!python/object:os.system; allowed plain "
            "YAML values, no tags"
        ],
    ),
    (
        "negative commitment, bad currency",
        lambda s: s.replace(
            "    scores: {alignment: 2",
            "    commitment: {funding: -5, currency: usd}\n    scores: {alignment: 2",
        ),
        [
            "coalitions/m.yaml:10:27: partners[0].commitment.funding: found -5; allowed a "
            "number from 0 to 1,000,000,000,000",
            'coalitions/m.yaml:10:41: partners[0].commitment.currency: found "usd"; allowed a '
            "three-letter ISO 4217 currency code, like USD or EUR",
        ],
    ),
]


@pytest.mark.parametrize(
    ("edit", "expected"), [c[1:] for c in BAD_INPUT], ids=[c[0] for c in BAD_INPUT]
)
def test_bad_input_is_reported_with_its_position(
    empty: Path, run: Run, edit: Edit, expected: list[str]
) -> None:
    _write(empty, edit(minimal()))
    result = run("check", "--root", empty)
    assert result.exit_code == 1
    assert result.stdout.splitlines() == expected
    assert "Traceback" not in result.output


def test_every_error_of_every_file_in_one_run(empty: Path, run: Run) -> None:
    _write(empty, minimal().replace("trust: 2", "trust: 0", 1), "a.yaml")
    _write(empty, minimal().replace("status: exploring", "status: done"), "b.yaml")
    _write(empty, minimal().replace("name: Minimal Alliance", "name: Other"), "c.yaml")
    _write(empty, minimal().replace("resources: 3", "resources: nine"), "c.yaml")
    result = run("check", "--root", empty)
    assert result.exit_code == 1
    lines = _errors(result)
    assert [line.split(":")[0] for line in lines] == [
        "coalitions/a.yaml",
        "coalitions/b.yaml",
        "coalitions/c.yaml",
    ]
    assert result.stderr.strip() == "0 coalitions valid, 3 errors, 0 advisories."


def test_two_files_with_the_same_name(empty: Path, run: Run) -> None:
    _write(empty, minimal(), "first.yaml")
    _write(empty, minimal().replace("Minimal Alliance", "minimal  alliance"), "second.yaml")
    result = run("check", "--root", empty)
    assert _errors(result) == [
        'coalitions/second.yaml:1:7: name: found "minimal  alliance", the name of '
        "coalitions/first.yaml too; allowed a name no other coalition uses"
    ]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        (
            "Clean_Air.yaml",
            'coalitions/Clean_Air.yaml:1:1: (file name): found "Clean_Air.yaml"; '
            "allowed lower-case letters and digits joined by hyphens (rename it to "
            "clean-air.yaml)",
        ),
        (
            "clean-air.yml",
            "coalitions/clean-air.yml:1:1: (file name): found the extension .yml; "
            "allowed .yaml (rename it to clean-air.yaml)",
        ),
        (
            "-air.yaml",
            'coalitions/-air.yaml:1:1: (file name): found "-air.yaml"; allowed '
            "lower-case letters and digits joined by hyphens (rename it to air.yaml)",
        ),
    ],
)
def test_file_names_must_be_slugs(empty: Path, run: Run, name: str, expected: str) -> None:
    _write(empty, minimal(), name)
    result = run("check", "--root", empty)
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [expected]


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (
            lambda s: s.replace("purpose:", "purpse:"),
            "coalitions/m.yaml:3:1: purpse: found an unknown field `purpse`; allowed `purpose`, "
            "a required field (did you mean it?)",
        ),
        (
            lambda s: s.replace("status: exploring", "status:\texploring\n  \tmodel: x"),
            "coalitions/m.yaml:3:3: (yaml): found a tab character; allowed spaces: YAML indents "
            "with spaces only (replace the tab with two spaces)",
        ),
    ],
    ids=["typo of a required field", "tab"],
)
def test_one_error_per_mistake_that_names_the_fix(
    empty: Path, run: Run, edit: Any, expected: str
) -> None:
    _write(empty, edit(minimal()))
    result = run("check", "--root", empty)
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [expected]


def test_a_file_name_gets_a_slug_to_rename_to(empty: Path, run: Run) -> None:
    _write(empty, minimal(), "Eastside Food 2.yaml")
    _write(empty, minimal(), "Eastside_Food.yml")
    lines = run("check", "--root", empty).stdout.splitlines()
    assert "(rename it to eastside-food-2.yaml)" in lines[0]
    assert "(rename it to eastside-food.yaml)" in lines[1]


def test_non_utf8_bytes_are_located(empty: Path, run: Run) -> None:
    data = minimal().encode().replace(b"Alpha Group", b"Alpha Gr\xe9up")
    (empty / "coalitions" / "m.yaml").write_bytes(data)
    result = run("check", "--root", empty)
    assert result.stdout.splitlines() == [
        "coalitions/m.yaml:8:19: (file): found the byte 0xe9, which is not UTF-8; allowed "
        "UTF-8 text (save the file as UTF-8)"
    ]


def test_alias_bomb_is_refused_fast(empty: Path, run: Run) -> None:
    lines = ['a0: &a0 ["x", "x", "x", "x", "x", "x", "x", "x", "x", "x"]']
    lines += [
        f"a{i}: &a{i} [*a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, "
        f"*a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}]"
        for i in range(1, 9)
    ]
    _write(empty, "\n".join(lines) + "\n")
    started = time.perf_counter()
    result = run("check", "--root", empty)
    assert time.perf_counter() - started < 5  # a guard against hanging, not a speed goal
    assert result.exit_code == 1
    assert "allowed at most 20,000 values" in result.stdout


def test_a_link_to_outside_the_workspace_is_refused(empty: Path, tmp_path: Path, run: Run) -> None:
    outside = tmp_path / "elsewhere.yaml"
    outside.write_text(minimal())
    (empty / "coalitions" / "m.yaml").symlink_to(outside)
    result = run("check", "--root", empty)
    assert result.stdout.splitlines() == [
        "coalitions/m.yaml:1:1: (file): found a link to a file outside the workspace; allowed "
        "a file inside the workspace"
    ]


def test_settings_are_validated(empty: Path, run: Run) -> None:
    (empty / "playbook.yaml").write_text(
        "title: T\norganization: O\npaper: A4\ntimezone: Mars/Olympus\n"
    )
    result = run("check", "--root", empty)
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        'playbook.yaml:3:8: paper: found "A4"; allowed one of: letter, a4 (did you mean a4?)',
        'playbook.yaml:4:11: timezone: found "Mars/Olympus"; allowed an IANA time zone such '
        "as Europe/Berlin or America/Chicago",
    ]


def test_contract_error_sorts_problems(empty: Path) -> None:
    _write(empty, minimal().replace("trust: 3", "trust: 9").replace("trust: 2", "trust: 8"))
    with pytest.raises(ContractError) as caught:
        checks.load_valid(empty)
    assert [p.line for p in caught.value.problems] == [10, 14]


# --- many files: loading spread over processes ------------------------------------------------


def _many(root: Path, count: int) -> None:
    """`count` valid coalitions (each named apart), and two broken ones among them."""
    for number in range(count):
        text = minimal().replace("Minimal Alliance", f"Alliance {number:03d}")
        _write(root, text, f"c-{number:03d}.yaml")
    _write(root, minimal().replace("model: opportunistic", "model: [oops"), "c-007.yaml")
    asleep = minimal().replace("status: exploring", "status: asleep")
    _write(root, asleep, f"c-{count - 3:03d}.yaml")


_NOTED: list[Any] = []
"""Where `_noted` notes the processes, and the function it wraps."""


def _noted(*args: Any) -> Any:
    """Load a chunk of files, noting on disk which process did (a worker's notes in
    memory would be lost with it)."""
    folder, chunk = _NOTED
    (folder / str(os.getpid())).touch()
    return chunk(*args)


def test_many_files_load_in_several_processes_as_in_one(
    empty: Path, run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from playbook_builder import load
    from playbook_builder import workspace as ws

    _many(empty, 2 * load.PARALLEL_FROM)
    pids = tmp_path / "pids"
    pids.mkdir()
    _NOTED[:] = [pids, load._load_chunk]
    monkeypatch.setattr(load, "_load_chunk", _noted)
    found = ws.find(empty)
    spread = load.read_workspace(found, jobs=2)
    assert len(list(pids.iterdir())) == 2  # this process and a worker
    assert spread == load.read_workspace(found, jobs=1)
    loaded, problems = spread
    assert loaded is not None
    assert len(loaded.coalitions) == 2 * load.PARALLEL_FROM - 2
    assert [c.slug for c in loaded.coalitions] == sorted(c.slug for c in loaded.coalitions)
    assert [(str(p.file), p.line, p.field) for p in problems] == [
        ("coalitions/c-007.yaml", 6, "(yaml)"),
        (f"coalitions/c-{2 * load.PARALLEL_FROM - 3:03d}.yaml", 2, "status"),
    ]
    result = run("check", "--root", empty)
    assert result.exit_code == 1
    assert "coalitions/c-007.yaml:6:" in result.stdout
    assert "2 errors" in result.stdout + result.stderr


def _stopped_here(*args: Any) -> Any:
    """Load a chunk of files, noting it on disk; in the parent, after its first file,
    stop as on Ctrl-C."""
    folder, chunk, parent = _NOTED
    paths = args[1]
    (folder / f"{os.getpid()}-{paths[0].name}").touch()
    if os.getpid() == parent and len(paths) > 1:
        raise KeyboardInterrupt
    return chunk(*args)


def test_loading_stops_in_every_process_on_ctrl_c(
    empty: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from playbook_builder import load
    from playbook_builder import workspace as ws

    _many(empty, 2 * load.PARALLEL_FROM)
    notes = tmp_path / "notes"
    notes.mkdir()
    _NOTED[:] = [notes, load._load_chunk, os.getpid()]
    monkeypatch.setattr(load, "_load_chunk", _stopped_here)
    with pytest.raises(KeyboardInterrupt):
        load.read_workspace(ws.find(empty), jobs=2)
    by_workers = [n for n in notes.iterdir() if not n.name.startswith(f"{os.getpid()}-")]
    assert len(by_workers) <= 4  # of 16 chunks: those under way or queued for the worker


def test_many_files_load_through_the_cache_in_several_processes(empty: Path) -> None:
    from playbook_builder import load
    from playbook_builder import workspace as ws
    from playbook_builder.cache import Cache
    from playbook_builder.cached import cached_loader

    _many(empty, load.PARALLEL_FROM + 4)
    found = ws.find(empty)
    store = Cache.for_workspace(empty)
    keys: dict[str, str] = {}
    first = load.read_workspace(found, cached_loader(store, keys=keys), jobs=2)
    again = load.read_workspace(found, cached_loader(store), jobs=2)
    assert store.hits == load.PARALLEL_FROM + 2  # every valid file, stored the first time
    assert len(keys) == load.PARALLEL_FROM + 2
    assert again == first == load.read_workspace(found, jobs=1)


def test_each_batch_of_files_is_handed_over_once_as_it_is_loaded(empty: Path) -> None:
    """`each` gets every valid file once, in this process, in batches (the chunks: while
    a worker loads others), both loaded afresh and from the load cache."""
    from playbook_builder import load
    from playbook_builder import workspace as ws
    from playbook_builder.cache import Cache
    from playbook_builder.cached import cached_loader

    _many(empty, 2 * load.PARALLEL_FROM)
    found = ws.find(empty)
    config = load.load_config(found, [])
    assert config is not None
    paths = found.coalition_files()
    store = Cache.for_workspace(empty)
    here = os.getpid()
    for loader in (load.load_files, cached_loader(store), cached_loader(store)):
        batches: list[list[str]] = []

        def each(items: Sequence[Any], batches: list[list[str]] = batches) -> None:
            assert os.getpid() == here
            batches.append([item.slug for item in items])

        loaded = loader(found, paths, config, [], 2, each)
        valid = [item.slug for item in loaded if item is not None]
        handed = [slug for batch in batches for slug in batch]
        assert sorted(handed) == sorted(valid)
        assert len(valid) == 2 * load.PARALLEL_FROM - 2
        if loader is load.load_files:
            assert len(batches) > 2  # the chunks, not all at once at the end


def test_what_workers_send_back_leaves_nothing_behind(
    empty: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker sends what it loaded in a file of a temporary folder: read and deleted,
    the folder too, whether loading ends or is stopped by Ctrl-C."""
    import tempfile

    from playbook_builder import load
    from playbook_builder import workspace as ws

    _many(empty, 2 * load.PARALLEL_FROM)
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temporary))
    found = ws.find(empty)
    assert load.read_workspace(found, jobs=2) == load.read_workspace(found, jobs=1)
    assert list(temporary.iterdir()) == []
    notes = tmp_path / "notes"
    notes.mkdir()
    _NOTED[:] = [notes, load._load_chunk, os.getpid()]
    monkeypatch.setattr(load, "_load_chunk", _stopped_here)
    with pytest.raises(KeyboardInterrupt):
        load.read_workspace(found, jobs=2)
    assert list(temporary.iterdir()) == []


def test_files_load_here_when_no_temporary_folder_can_be_made(
    empty: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tempfile

    from playbook_builder import load, pool
    from playbook_builder import workspace as ws

    def no_workers(workers: int) -> None:
        raise AssertionError("a worker was forked")

    _many(empty, 2 * load.PARALLEL_FROM)
    found = ws.find(empty)
    alone = load.read_workspace(found, jobs=1)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "gone"))
    monkeypatch.setattr(pool, "forked", no_workers)
    assert load.read_workspace(found, jobs=2) == alone


def _no_file(*args: Any, **kwargs: Any) -> Any:
    raise OSError(28, "No space left on device")


def test_a_worker_that_cannot_write_its_file_sends_through_the_pipe(
    empty: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tempfile

    from playbook_builder import load
    from playbook_builder import workspace as ws

    _many(empty, 2 * load.PARALLEL_FROM)
    found = ws.find(empty)
    alone = load.read_workspace(found, jobs=1)
    pids = tmp_path / "pids"
    pids.mkdir()
    _NOTED[:] = [pids, load._load_chunk]
    monkeypatch.setattr(load, "_load_chunk", _noted)
    monkeypatch.setattr(tempfile, "mkstemp", _no_file)  # in the workers forked after
    assert load.read_workspace(found, jobs=2) == alone
    assert len(list(pids.iterdir())) == 2  # a worker loaded some of them
