"""The stages in order: what every command calls."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from playbook_builder import load, workspace
from playbook_builder.load import Loaded


@dataclass(frozen=True, slots=True)
class Report:
    """What `playbook check` found in a valid workspace."""

    loaded: Loaded


def check(root: Path | None) -> Report:
    """Load and validate the workspace; raises ContractError or WorkspaceError."""
    found = workspace.find(root)
    return Report(load.load_workspace(found))
