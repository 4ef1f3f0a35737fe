"""schedule.py: dates that follow from a coalition (pure)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from hypothesis import given
from hypothesis import strategies as st

from playbook_builder import schedule
from playbook_builder.model import Communication, Exit, Launch, Mou, Review
from tests.unit.make import coalition


def test_reviews_repeat_until_the_sunset() -> None:
    c = coalition(
        review=Review(first=date(2027, 1, 31), every_months=6),
        exit=Exit(sunset=date(2028, 8, 1)),
    )
    # month ends are clamped, counted from the first date each time (never drifting)
    assert schedule.review_dates(c) == (
        date(2027, 1, 31),
        date(2027, 7, 31),
        date(2028, 1, 31),
        date(2028, 7, 31),
    )


def test_without_a_sunset_reviews_run_three_years_from_the_first() -> None:
    c = coalition(review=Review(first=date(2027, 1, 15), every_months=12))
    assert schedule.review_dates(c)[-1] == date(2030, 1, 15)
    assert len(schedule.review_dates(c)) == 4


def test_the_sunset_counts_from_the_effective_date_else_the_launch() -> None:
    launched = coalition(launch=Launch(date=date(2027, 3, 1)), exit=Exit(after_months=18))
    assert schedule.sunset_date(launched) == date(2028, 9, 1)
    effective = replace(launched, mou=Mou(effective=date(2027, 2, 1)))
    assert schedule.sunset_date(effective) == date(2028, 8, 1)
    assert schedule.sunset_date(coalition()) is None


def test_monthly_check_ins_clamp_to_short_months() -> None:
    c = coalition(
        launch=Launch(date=date(2027, 1, 31)),
        communication=Communication(cadence="monthly"),
        exit=Exit(sunset=date(2027, 5, 1)),
    )
    assert schedule.check_in_dates(c) == (date(2027, 2, 28), date(2027, 3, 31), date(2027, 4, 30))


def test_overdue_only_while_live_and_not_held() -> None:
    c = coalition(status="active", review=Review(first=date(2027, 1, 15), every_months=6))
    assert schedule.is_overdue(c, date(2027, 1, 16))
    assert not schedule.is_overdue(c, date(2027, 1, 15))
    assert not schedule.is_overdue(replace(c, status="dissolved"), date(2027, 6, 1))


def test_events_come_in_date_order() -> None:
    c = coalition(
        launch=Launch(date=date(2027, 1, 10), first_win="Open the first shop"),
        mou=Mou(effective=date(2027, 1, 10)),
        review=Review(first=date(2027, 4, 10)),
        communication=Communication(cadence="quarterly"),
        exit=Exit(sunset=date(2027, 8, 1)),
    )
    kinds = [(e.day.isoformat(), e.kind) for e in schedule.events(c)]
    assert kinds == [
        ("2027-01-10", "effective"),
        ("2027-01-10", "launch"),
        ("2027-04-10", "review"),
        ("2027-04-10", "check-in"),
        ("2027-07-10", "check-in"),
        ("2027-08-01", "sunset"),
    ]


@given(
    day=st.dates(min_value=date(1900, 1, 1), max_value=date(2199, 12, 31)),
    months=st.integers(min_value=-1200, max_value=1200),
)
def test_adding_months_is_dateutils_arithmetic(day: date, months: int) -> None:
    from dateutil.relativedelta import relativedelta

    try:
        expected = day + relativedelta(months=months)
    except (ValueError, OverflowError):
        return  # beyond the calendar either way
    assert schedule.add_months(day, months) == expected
