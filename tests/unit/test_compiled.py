"""The validators kept between runs validate exactly as freshly built ones, and a stored
schema can name nothing but model.py's own records and validators."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import TypeAdapter, ValidationError

from playbook_builder import compiled
from playbook_builder.model import Coalition, SiteConfig
from tests.conftest import DATA, REPO


def errors_of(check: Any, data: Any) -> list[Any]:
    try:
        check(data)
    except ValidationError as err:
        return err.errors(include_url=False)
    return []


def stored(record: type) -> Any:
    text = compiled.encode(TypeAdapter(record).core_schema)
    assert text is not None
    return compiled.decode(text)


@pytest.mark.parametrize("record", [Coalition, SiteConfig])
def test_a_stored_schema_is_plain_json(record: type) -> None:
    text = compiled.encode(TypeAdapter(record).core_schema)
    assert text is not None
    assert "<function" not in text.decode()
    assert "$model" in text.decode()


@pytest.mark.parametrize(
    "path",
    [DATA / "example-coalition.yaml", *sorted((REPO / "coalitions").glob("*.yaml"))],
    ids=lambda p: p.stem,
)
def test_the_stored_validator_reads_a_file_as_the_fresh_one_does(path: Path) -> None:
    from pydantic_core import SchemaValidator

    data = yaml.safe_load(path.read_text())
    fresh = TypeAdapter(Coalition).validate_python(data)
    kept = SchemaValidator(stored(Coalition)).validate_python(data)
    assert kept == fresh


@pytest.mark.parametrize(
    "change",
    [
        {"purpose": ""},
        {"model": "values bridge"},
        {"partners": "none"},
        {"purpse": "typo"},
        {"review": {"cadence": "weekly"}},
        {"decision_rule": {"kind": "supermajority", "threshold": "2/0"}},
        {"launch": {"date": "2026-02-30"}},
    ],
)
def test_the_stored_validator_finds_the_same_errors(change: dict[str, Any]) -> None:
    from pydantic_core import SchemaValidator

    data = {**yaml.safe_load((DATA / "example-coalition.yaml").read_text()), **change}
    fresh = errors_of(TypeAdapter(Coalition).validate_python, data)
    kept = errors_of(SchemaValidator(stored(Coalition)).validate_python, data)
    assert fresh
    assert kept == fresh


@pytest.mark.parametrize("name", ["system", "os.system", "__builtins__", "Path", "re", "json"])
def test_a_schema_naming_anything_else_is_refused(name: str) -> None:
    text = compiled.encode(TypeAdapter(SiteConfig).core_schema)
    assert text is not None
    planted = json.loads(text)
    planted["schema"] = {"$model": name}
    assert compiled.decode(json.dumps(planted).encode()) is None


def test_a_broken_entry_is_built_afresh(tmp_path: Any, monkeypatch: Any) -> None:
    monkeypatch.setenv("PLAYBOOK_CACHE_DIR", str(tmp_path / "cache"))
    compiled._BUILT.clear()
    first = compiled.validator(SiteConfig)
    entries = list((tmp_path / "cache" / "tool").rglob("*"))
    files = [p for p in entries if p.is_file()]
    assert len(files) == 1
    files[0].write_bytes(files[0].read_bytes().replace(b"dict", b"eval"))
    compiled._BUILT.clear()
    again = compiled.validator(SiteConfig)
    compiled._BUILT.clear()
    data = {"title": "T", "organization": "O"}
    assert again.validate_python(data) == first.validate_python(data)
