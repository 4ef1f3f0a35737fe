"""terms.py: shares in the words an agreement prints."""

from __future__ import annotations

from fractions import Fraction

import pytest

from playbook_builder.terms import fraction_words


@pytest.mark.parametrize(
    ("share", "words"),
    [
        (Fraction(1), "all"),
        (Fraction(2, 2), "all"),
        (Fraction(1, 2), "one half"),
        (Fraction(4, 6), "two thirds"),
        (Fraction(3, 4), "three quarters"),
        (Fraction(6, 10), "three fifths"),
        (Fraction(4, 5), "four fifths"),
        (Fraction(1, 3), "one third"),
        (Fraction(5, 7), "5/7"),
        (Fraction(10, 14), "5/7"),
        (Fraction(2, 5), "2/5"),
    ],
)
def test_a_share_reads_in_words_where_it_has_a_name(share: Fraction, words: str) -> None:
    assert fraction_words(share) == words
