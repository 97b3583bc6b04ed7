"""The shared number and count checks (core.checks)."""

import math

import numpy as np
import pytest

from core.checks import finite_number, whole_number
from core.errors import Problem


@pytest.mark.parametrize("value", [1, 2.5, np.float64(3.0), np.int64(4), np.float32(0.5)])
def test_number_accepts_real_numbers(value):
    problems: list[Problem] = []
    out = finite_number(value, field="x", problems=problems, gt=0)
    assert problems == [] and type(out) is float and out == float(value)


@pytest.mark.parametrize(
    "value", [True, False, np.bool_(True), "3", None, math.inf, -math.inf, math.nan, [1], 0, -1]
)
def test_number_refuses_non_numbers_non_finite_and_out_of_bounds(value):
    problems: list[Problem] = []
    assert finite_number(value, field="speed_kph", problems=problems, gt=0) is None
    [problem] = problems
    assert problem.field == "speed_kph" and problem.value == str(value)
    assert problem.message.startswith("must be")


def test_number_bounds_are_named_in_the_message():
    problems: list[Problem] = []
    finite_number(0.5, field="circuity", problems=problems, ge=1)
    finite_number(101, field="score", problems=problems, le=100)
    finite_number(0, field="km", problems=problems, gt=0)
    assert [p.message for p in problems] == [
        "must be greater than or equal to 1",
        "must be less than or equal to 100",
        "must be greater than 0",
    ]


def test_problems_are_collected_not_raised():
    problems: list[Problem] = []
    finite_number("a", field="a", problems=problems)
    whole_number(0, field="b", problems=problems, ge=1)
    assert [p.field for p in problems] == ["a", "b"]


@pytest.mark.parametrize("value", [1, np.int64(7), 0])
def test_count_accepts_ints(value):
    problems: list[Problem] = []
    out = whole_number(value, field="k", problems=problems, ge=0)
    assert problems == [] and type(out) is int and out == int(value)


@pytest.mark.parametrize("value", [True, np.bool_(False), 2.0, "3", None, -1, 16])
def test_count_refuses_bools_floats_and_out_of_range(value):
    problems: list[Problem] = []
    assert whole_number(value, field="res", problems=problems, ge=0, le=15) is None
    assert [p.field for p in problems] == ["res"]
