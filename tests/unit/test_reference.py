"""The field reference in docs/ is what the model says, and covers every field."""

from __future__ import annotations

import dataclasses

from playbook_builder import model
from playbook_builder.reference import reference
from tests.conftest import REPO


def test_the_committed_reference_is_current() -> None:
    committed = (REPO / "docs/coalition-file.md").read_text(encoding="utf-8")
    assert committed == reference(), (
        "run: python -m playbook_builder.reference > docs/coalition-file.md"
    )


def test_every_field_of_every_record_is_documented() -> None:
    text = reference()
    for record in (model.Coalition, model.Partner, model.Mou, model.Provisions, model.Decision):
        assert f"`{record.__name__}`" in text or record is model.Coalition
        for field in dataclasses.fields(record):
            row = next(line for line in text.splitlines() if line.startswith(f"| `{field.name}` |"))
            assert not row.endswith("|  |"), f"{record.__name__}.{field.name} has no meaning"
