"""Dates read with a declared format, or the one detected per column."""

from __future__ import annotations

from datetime import date

from hypothesis import given
from hypothesis import strategies as st

from core.dates import CANDIDATE_FORMATS, read_dates


def test_declared_format_wins():
    read = read_dates(["01/02/1980"], date_format="%m/%d/%Y")
    assert read.values == ["1980-01-02"] and read.ambiguity == ""


def test_detected_format_reads_the_most_values():
    read = read_dates(["01/02/1980", "25/12/1990", "", None])
    assert read.format == "%d/%m/%Y"
    assert read.values == ["1980-02-01", "1990-12-25", None, None]
    assert read.unreadable == 0 and read.ambiguity == ""


def test_ambiguous_order_is_decided_by_country_and_said():
    us = read_dates(["01/02/1980", "03/04/1990"], country="US")
    fr = read_dates(["01/02/1980", "03/04/1990"], country="FR")
    assert us.values == ["1980-01-02", "1990-03-04"] and "month/day" in us.ambiguity
    assert fr.values == ["1980-02-01", "1990-04-03"] and "day/month" in fr.ambiguity


def test_impossible_dates_are_unreadable_not_shifted():
    read = read_dates(["1980-02-30", "1980-02-28", "19xx-01-01"])
    assert read.values == [None, "1980-02-28", None]
    assert (read.unreadable, read.examples) == (2, ("1980-02-30", "19xx-01-01"))


@given(
    st.dates(min_value=date(1900, 1, 1), max_value=date(2030, 12, 31)),
    st.sampled_from(CANDIDATE_FORMATS),
)
def test_declared_formats_round_trip(day, fmt):
    assert read_dates([day.strftime(fmt)], date_format=fmt).values == [day.isoformat()]


def test_a_bare_year_is_kept_as_the_year():
    read = read_dates(["1972", "1972-09-18", "0972"])
    assert read.values == ["1972", "1972-09-18", None]
    assert read.unreadable == 1
