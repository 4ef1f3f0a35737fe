"""facts.py: who signed what, computed once from the loaded coalition."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import PurePosixPath

from playbook_builder import advise, facts, history
from playbook_builder.fingerprint import fingerprint
from playbook_builder.model import CoalitionFile, Located, Signature, SiteConfig
from tests.unit.make import coalition, partner

TODAY = date(2026, 11, 25)


def _facts(**fields: object) -> facts.CoalitionFacts:
    c = coalition(**fields)
    item = CoalitionFile(
        slug="test",
        path="coalitions/test.yaml",
        coalition=c,
        located=Located(values={}, keys={}),
        source="name: Test\n",
    )
    return facts.coalition_facts(item, (), TODAY)


def _signed(pid: str, version: str, day: date = date(2026, 1, 5)) -> Signature:
    return Signature(partner=pid, signer="Someone", mou_version=version, date=day)


def test_signature_states() -> None:
    three = (*coalition().partners, partner("gamma", "Gamma Church", status="withdrawn"))
    current = _facts(partners=three).print_.short  # a withdrawn partner is still a party
    history = (_signed("alpha", "00000000"), _signed("alpha", current), _signed("beta", "aa11bb22"))
    found = _facts(partners=three, signatures=history)
    states = {p.partner.id: p.signature_state for p in found.partners}
    assert states == {"alpha": "current", "beta": "stale", "gamma": "withdrawn"}
    assert [p.partner.id for p in found.signing] == ["alpha", "beta"]
    assert found.stale == ("Beta Union",)
    assert not found.signed
    assert found.partners[0].signed_on == date(2026, 1, 5)
    assert found.partners[1].recorded_version == "aa11bb22"


def test_a_later_signature_replaces_an_earlier_one() -> None:
    current = _facts().print_.short
    found = _facts(
        signatures=(
            _signed("alpha", current),
            _signed("beta", current),
            _signed("beta", "00000000"),
        )
    )
    assert not found.signed
    assert found.stale == ("Beta Union",)


def test_everyone_signed_the_current_version() -> None:
    current = _facts().print_.short
    found = _facts(signatures=(_signed("alpha", current), _signed("beta", current)))
    assert found.signed
    assert found.changes.state == "unchanged"


def test_signed_version_is_the_most_common() -> None:
    c = coalition(
        partners=(partner("a", "A"), partner("b", "B"), partner("c", "C")),
        signatures=(_signed("a", "11111111"), _signed("b", "22222222"), _signed("c", "22222222")),
    )
    assert facts.signed_version(c) == "22222222"
    assert facts.signed_version(coalition()) == ""


def test_status_and_scores_never_move_the_fingerprint() -> None:
    base = _facts()
    moved = _facts(
        status="active",
        partners=(replace(base.c.partners[0], status="suspended"), base.c.partners[1]),
    )
    assert moved.print_ == base.print_
    assert fingerprint(base.terms) == base.print_


def test_totals_and_without_git() -> None:
    found = _facts()
    assert found.hours == 0
    assert found.funding == ()
    assert not found.git
    assert found.history == ()
    assert found.changes.state == "unsigned"
    assert found.revision.startswith("source file coalitions/test.yaml sha256:")
    assert PurePosixPath(found.item.path).name == "test.yaml"


def _file(slug: str, **fields: object) -> CoalitionFile:
    return CoalitionFile(
        slug=slug,
        path=f"coalitions/{slug}.yaml",
        coalition=coalition(**fields),
        located=Located(values={}, keys={}),
        source=f"name: {slug}\n",
    )


def test_gathered_in_batches_as_at_once() -> None:
    """Facts added a batch at a time, as the build adds them while files load, are those
    gathered at once: the advice across files (A602: Alpha Group and Beta Union in three
    coalitions) is added when all are in."""
    items = [_file(f"c{n}", name=f"Alliance {n}") for n in range(3)]
    items.append(_file("lone", partners=(partner("x", "Xeno"), partner("y", "Ypsilon"))))
    config = SiteConfig(title="T", organization="O")
    at_once = facts.gather(items, config, TODAY, history.NO_HISTORY)
    gathering = facts.Gathering(config, TODAY, history.NO_HISTORY)
    gathering.add(items[2:])
    gathering.add(items[:2])
    assert "A602" not in {a.code for f in gathering.facts.values() for a in f.advisories}
    assert gathering.done(items) == at_once
    assert [a.code for a in at_once["c0"].advisories].count("A602") == 2  # both partners
    assert "A602" not in {a.code for a in at_once["lone"].advisories}
    others = [advise.Member("coalitions/z.yaml", "Zed", ("xeno",))] * 2
    with_others = gathering.done(items, others)
    assert "A602" in {a.code for a in with_others["lone"].advisories}
