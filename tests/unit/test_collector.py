"""The collector paused while long-lived objects are made, and left as it was."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from playbook_builder import collector


class Node:
    def __init__(self) -> None:
        self.other: Node | None = None


@pytest.fixture(autouse=True)
def collector_on() -> Iterator[None]:
    yield
    gc.unfreeze()
    gc.enable()


def young() -> set[int]:
    return {id(found) for found in gc.get_objects(0) + gc.get_objects(1)}


def test_what_is_made_goes_to_the_oldest_generation_and_the_collector_back_on() -> None:
    with collector.paused():
        assert not gc.isenabled()
        made = [Node() for _ in range(1000)]
    assert gc.isenabled()
    assert gc.get_freeze_count() == 0
    assert young().isdisjoint(id(node) for node in made)
    assert {id(node) for node in made} <= {id(found) for found in gc.get_objects(2)}


def test_a_collector_that_was_off_stays_off() -> None:
    gc.disable()
    with collector.paused():
        pass
    assert not gc.isenabled()


def test_a_callers_freeze_is_left_as_it_is() -> None:
    before = Node()
    gc.freeze()
    frozen = gc.get_freeze_count()
    with collector.paused():
        made = Node()
    assert gc.get_freeze_count() == frozen  # nothing thawed, nothing more frozen
    assert id(before) not in {id(found) for found in gc.get_objects()}  # still frozen
    assert id(made) in young()


def test_cycles_made_while_paused_are_freed_by_the_next_full_pass() -> None:
    with collector.paused():
        first, second = Node(), Node()
        first.other, second.other = second, first
        del first, second
    assert gc.collect() >= 2


def test_the_collector_comes_back_on_after_an_error() -> None:
    with pytest.raises(RuntimeError), collector.paused():
        raise RuntimeError("stop")
    assert gc.isenabled()
    assert gc.get_freeze_count() == 0
