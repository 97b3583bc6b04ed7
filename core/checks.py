"""Shared checks for numbers and counts handed in from outside.

One rule, one place: "a finite number (not a bool) above zero" was written by
hand in a dozen modules, each slightly differently (some let ``True`` or
``inf`` through). Here pydantic does the checking (strict, so ``True`` and
``"3"`` are refused, and ``inf``/``nan`` too) and the result is a
:class:`~core.errors.Problem` appended to the caller's list, so a caller
collects every problem first and raises its own error class once::

    problems: list[Problem] = []
    km = finite_number(km, field="km", problems=problems, gt=0)
    res = whole_number(res, field="res", problems=problems, ge=0, le=15)
    if problems:
        raise GeoError("invalid radius", problems=problems)

Use these where a value crosses a boundary (a user's file, a request, a public
entry point); values passed between our own typed functions are not checked.
"""

from __future__ import annotations

from functools import cache
from typing import Annotated, Any

import numpy as np
from pydantic import Field, TypeAdapter, ValidationError

from core.errors import Problem

__all__ = ["finite_number", "whole_number"]

Bound = float | None


@cache
def _adapter(kind: type, gt: Bound, ge: Bound, lt: Bound, le: Bound) -> TypeAdapter[Any]:
    extra = {"allow_inf_nan": False} if kind is float else {}
    return TypeAdapter(Annotated[kind, Field(strict=True, gt=gt, ge=ge, lt=lt, le=le, **extra)])


def _checked(
    kind: type,
    value: object,
    field: str,
    problems: list[Problem],
    bounds: tuple[Bound, Bound, Bound, Bound],
) -> Any:
    # numpy scalars (a value read from a frame) count as the Python number they
    # hold; np.bool_ becomes bool, which strict mode refuses like True.
    plain = value.item() if isinstance(value, np.generic) else value
    try:
        return _adapter(kind, *bounds).validate_python(plain)
    except ValidationError as exc:
        message = exc.errors()[0]["msg"].replace("Input should be", "must be")
        problems.append(Problem(message, field=field, value=str(value)))
        return None


def finite_number(
    value: object,
    *,
    field: str,
    problems: list[Problem],
    gt: Bound = None,
    ge: Bound = None,
    lt: Bound = None,
    le: Bound = None,
) -> float | None:
    """``value`` as a float if it is a finite real number within the bounds.

    Parameters
    ----------
    value
        An int, float or numpy number; bools, strings, ``None``, ``inf`` and
        ``nan`` are refused.
    field
        Name reported in the problem (the parameter or setting).
    problems
        Receives one :class:`~core.errors.Problem` when ``value`` is refused.
    gt, ge, lt, le
        Optional bounds (greater than, at least, less than, at most).

    Returns
    -------
    float or None
        The value, or None when a problem was appended.

    Examples
    --------
    >>> problems = []
    >>> finite_number(2, field="km", problems=problems, gt=0)
    2.0
    >>> finite_number(True, field="km", problems=problems, gt=0) is None
    True
    >>> [str(p) for p in problems]
    ["field 'km': must be a valid number (value 'True')"]
    """
    return _checked(float, value, field, problems, (gt, ge, lt, le))


def whole_number(
    value: object, *, field: str, problems: list[Problem], ge: Bound = None, le: Bound = None
) -> int | None:
    """``value`` as an int if it is a whole number (int or numpy integer, not bool) within bounds.

    Floats such as ``2.0`` are refused: a count computed as a float is a bug
    upstream. See :func:`finite_number` for the parameters.

    Examples
    --------
    >>> problems = []
    >>> whole_number(3, field="k", problems=problems, ge=1)
    3
    >>> whole_number(0, field="k", problems=problems, ge=1) is None
    True
    >>> str(problems[0])
    "field 'k': must be greater than or equal to 1 (value '0')"
    """
    return _checked(int, value, field, problems, (None, ge, None, le))
