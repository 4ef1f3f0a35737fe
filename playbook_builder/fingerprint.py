"""The MOU fingerprint: SHA-256 of the agreement's terms in a canonical form (pure).

It covers what the partners agree to, and nothing they may edit freely (status, steps,
signatures, scores, red flags, constraints, contacts, trigger, window, internal
alignment). The canonical form is sorted-key JSON of the terms after defaults are filled
in, with the whitespace of every text normalised: runs of spaces and single line breaks
read as one space, blank lines (Markdown paragraph breaks) as one blank line. So YAML
formatting, key order, comments and re-wrapped lines never change the fingerprint.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any

from playbook_builder.model import Coalition, json_ready

SHORT_LENGTH = 8
"""Hex digits printed on the packet and recorded as `mou_version`."""

_PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n\s*")


@dataclass(frozen=True, slots=True)
class Fingerprint:
    """The full SHA-256 and its short form."""

    full: str
    """64 hex digits."""

    @property
    def short(self) -> str:
        return self.full[:SHORT_LENGTH]

    def matches(self, recorded: str) -> bool:
        """Whether a recorded `mou_version` names this fingerprint (8 or more digits)."""
        return len(recorded) >= SHORT_LENGTH and self.full.startswith(recorded.lower())


def terms(coalition: Coalition) -> dict[str, Any]:
    """The fields the fingerprint covers, as plain values with normalised text."""
    partners = [
        {
            "id": partner.id,
            "name": partner.name,
            "decision_maker": partner.decision_maker,
            "commitment": partner.commitment,
        }
        for partner in coalition.partners  # the author's order: it is the document's order
    ]
    covered = {
        "name": coalition.name,
        "purpose": coalition.purpose,
        "success": coalition.success,
        "model": coalition.model,
        "bridge_value": coalition.bridge_value,
        "joint_entity": coalition.joint_entity,
        "messaging": coalition.messaging,
        "partners": partners,
        "roles": coalition.roles,
        "decision_rule": coalition.decision_rule,
        "communication": coalition.communication,
        "review": coalition.review,
        "exit": coalition.exit,
        "mou": coalition.mou,
    }
    normalised: dict[str, Any] = _normalise(json_ready(covered))
    return normalised


def canonical(coalition: Coalition) -> str:
    """The canonical serialisation that is hashed."""
    return json.dumps(terms(coalition), sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def fingerprint(coalition: Coalition) -> Fingerprint:
    """The MOU fingerprint of a coalition."""
    return Fingerprint(hashlib.sha256(canonical(coalition).encode("utf-8")).hexdigest())


def _normalise(value: Any) -> Any:
    if isinstance(value, str):
        paragraphs = _PARAGRAPH_BREAK.split(value.strip())
        return "\n\n".join(" ".join(p.split()) for p in paragraphs)
    if isinstance(value, dict):
        return {key: _normalise(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_normalise(item) for item in value]
    return value
