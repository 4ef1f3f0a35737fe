"""What printing a packet gives back, importable without importing WeasyPrint (the build
receives it from the printers, see printer.py)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Rendered:
    """A packet and what its rendering noticed."""

    pdf: bytes
    pages: int
    refused: tuple[str, ...]
    warnings: tuple[str, ...]
