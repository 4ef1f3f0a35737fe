"""The MOU fingerprint: SHA-256 of the signed terms in a canonical form (pure).

The record hashed is `terms.SignedTerms`, the only input of the MOU text, so the
fingerprint covers exactly what the MOU prints. The canonical form is sorted-key JSON of
that record (dates as ISO text, fractions as `2/3`) under the scheme number; its text is
already normalised, so YAML formatting, key order, comments and re-wrapped lines never
change the fingerprint.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from playbook_builder.model import Coalition, json_ready
from playbook_builder.terms import SCHEME, SignedTerms, signed_terms

SHORT_LENGTH = 8
"""Hex digits printed on the packet and recorded as `mou_version`."""


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


def terms(coalition: Coalition | SignedTerms) -> dict[str, Any]:
    """The signed terms as plain JSON values."""
    record = coalition if isinstance(coalition, SignedTerms) else signed_terms(coalition)
    plain: dict[str, Any] = json_ready(record)
    return plain


def canonical(coalition: Coalition | SignedTerms) -> str:
    """The canonical serialisation that is hashed."""
    payload = {"scheme": SCHEME, "terms": terms(coalition)}
    return json.dumps(
        payload, allow_nan=False, sort_keys=True, ensure_ascii=False, separators=(",", ":")
    )


def fingerprint(coalition: Coalition | SignedTerms) -> Fingerprint:
    """The MOU fingerprint of a coalition (or of its signed terms)."""
    return Fingerprint(hashlib.sha256(canonical(coalition).encode("utf-8")).hexdigest())
