"""Checking a workspace without building it: load, advise, judge the recorded decisions.

What `playbook check` and the other quick commands need, and nothing that lays out a page
or a packet: importing this module starts no template engine, no Markdown, no PDF.
"""

from __future__ import annotations

import datetime
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from playbook_builder import advise, decisions, facts, history, load, workspace
from playbook_builder.advise import Advisory
from playbook_builder.clock import resolve_today
from playbook_builder.errors import Problem
from playbook_builder.facts import CoalitionFacts
from playbook_builder.load import Loaded
from playbook_builder.model import CoalitionFile


class Stages:
    """How long each stage of a command took and what it handled (printed with `-v`)."""

    def __init__(self) -> None:
        self.done: list[tuple[str, float, str]] = []
        self._since = time.perf_counter()

    def mark(self, name: str, what: str) -> None:
        """The stage `name` ends now, having handled `what`."""
        now = time.perf_counter()
        self.done.append((name, now - self._since, what))
        self._since = now


def _mark(stages: Stages | None, name: str, what: str) -> None:
    if stages is not None:
        stages.mark(name, what)


@dataclass(frozen=True, slots=True)
class Report:
    """What `playbook check` found: errors, and advisories for the files that loaded."""

    loaded: Loaded | None
    """The valid part of the workspace (None when playbook.yaml itself is invalid)."""
    problems: tuple[Problem, ...]
    advisories: tuple[Advisory, ...]
    """In the order of the files, then of the lines."""
    today: datetime.date

    def advisories_for(self, slug: str) -> tuple[Advisory, ...]:
        return tuple(a for a in self.advisories if a.slug == slug)


def check(
    root: Path | None, today: datetime.date | None = None, stages: Stages | None = None
) -> Report:
    """Load the workspace and advise on every coalition that loaded."""
    found = workspace.find(root)
    loaded, problems = load.read_workspace(found)
    count = len(found.coalition_files())
    _mark(stages, "load", f"{count} coalition files, {len(problems)} errors")
    zone = loaded.config.timezone if loaded else "UTC"
    day = resolve_today(today, zone)
    advisories: list[Advisory] = []
    if loaded is not None:
        by_slug = advise.advise_all(loaded.coalitions, day)
        for item in loaded.coalitions:
            advisories.extend(by_slug[item.slug])
        _mark(
            stages, "advise", f"{len(loaded.coalitions)} coalitions, {len(advisories)} advisories"
        )
        logged = [item for item in loaded.coalitions if item.coalition.decisions]
        if logged:  # judged under the agreement of their day, which git knows
            past = history.read(found.root, [item.path for item in logged])
            gathered = facts.gather(logged, loaded.config, day, past)
            wrong = decision_problems(logged, gathered)
            problems = sorted([*problems, *wrong])
            judged = sum(len(item.coalition.decisions) for item in logged)
            _mark(stages, "decisions", f"{judged} decisions judged with git, {len(wrong)} wrong")
    return Report(loaded, tuple(problems), tuple(advisories), day)


def decision_problems(
    coalitions: Sequence[CoalitionFile], gathered: Mapping[str, CoalitionFacts]
) -> list[Problem]:
    """Recorded decisions whose outcome the votes do not support, as located errors."""
    found = []
    for item in coalitions:
        judgements = gathered[item.slug].decisions
        for index, what, allowed in decisions.problems_of(judgements):
            line, column = item.located.at(("decisions", index, "outcome"))
            path = PurePosixPath(item.path)
            found.append(Problem(path, line, column, f"decisions[{index}].outcome", what, allowed))
    return found


def load_valid(root: Path | None) -> Loaded:
    """The whole workspace, valid; raises ContractError with every problem otherwise."""
    return load.load_workspace(workspace.find(root))
