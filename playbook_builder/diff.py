"""`playbook diff`: the MOU text of one coalition at two revisions."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from playbook_builder import history, load, render
from playbook_builder.build import prepare
from playbook_builder.errors import PlaybookError, Problem
from playbook_builder.terms import signed_terms


@dataclass(frozen=True, slots=True)
class MouDiff:
    """The MOU text of one coalition at two revisions."""

    before_label: str
    after_label: str
    before: list[str]
    after: list[str]


def mou_diff(root: Path | None, slug: str, rev_a: str | None, rev_b: str | None) -> MouDiff:
    """The MOU's text at REV_A (default HEAD) and REV_B (default the working tree)."""
    ready = prepare(root, None)
    item = ready.loaded.coalition(slug)
    if item is None:
        known = ", ".join(c.slug for c in ready.loaded.coalitions) or "none"
        raise PlaybookError(f"no coalition {slug!r}; the coalitions are: {known}")
    if not ready.past.available:
        raise PlaybookError(
            f"{ready.found.root} is not in a git repository, so there are no revisions to compare"
        )

    def text_at(revision: str | None) -> tuple[str, list[str]]:
        if revision is None:
            return "working tree", render.mou_text(ready.renderer, signed_terms(item.coalition))
        full = history.resolve(ready.past, revision)
        if full is None:
            raise PlaybookError(f"git does not know the revision {revision!r}")
        names = dict.fromkeys([item.path, *(c.path for c in ready.past.commits.get(item.path, ()))])
        found = ((p, history.revision_text(ready.past, full, p)) for p in names)
        path, text = next(((p, t) for p, t in found if t is not None), (item.path, None))
        if text is None:
            return f"{revision} (no such file then)", []
        problems: list[Problem] = []
        old = load.revision(text, slug, PurePosixPath(path), ready.loaded.config, problems)
        if old is None:
            raise PlaybookError(
                f"{path} at {revision} does not load: " + "; ".join(str(p) for p in problems[:3])
            )
        terms = signed_terms(old.coalition)
        return f"{revision} ({full[:7]})", render.mou_text(ready.renderer, terms)

    before_label, before = text_at(rev_a or "HEAD")
    after_label, after = text_at(rev_b)
    return MouDiff(before_label, after_label, before, after)
