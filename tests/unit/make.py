"""Small coalitions built in code, for the unit tests."""

from __future__ import annotations

from typing import Any

from playbook_builder.model import Coalition, DecisionRule, Partner, Person, Scores


def partner(pid: str, name: str, total: int = 15, **fields: Any) -> Partner:
    """A partner whose five scores add up to `total` (5-25)."""
    base, extra = divmod(total, 5)
    values = [base + (1 if i < extra else 0) for i in range(5)]
    scores = Scores(
        alignment=values[0],
        trust=values[1],
        resources=values[2],
        time_horizon=values[3],
        exit_cost=values[4],
    )
    person = Person(name=f"{name} Lead", title="Director")
    return Partner(id=pid, name=name, decision_maker=person, scores=scores, **fields)


def coalition(**fields: Any) -> Coalition:
    """A valid two-partner opportunistic coalition, with any field replaced."""
    values: dict[str, Any] = {
        "name": "Test Alliance",
        "status": "forming",
        "purpose": "Pass the levy.",
        "trigger": "resource-gap",
        "model": "opportunistic",
        "partners": (partner("alpha", "Alpha Group"), partner("beta", "Beta Union")),
        "decision_rule": DecisionRule(default="majority"),
    }
    values.update(fields)
    return Coalition(**values)
