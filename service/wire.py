"""Wire types shared by every request and answer model: how values are spelled on the wire.

Dates and instants as RFC 3339 writes them, integers and ids as JSON and URLs
spell them, text that must be storable (lengths, no control characters) and
request bodies trimmed after validation. The models themselves are in
:mod:`service.schemas` and the domains' ``schemas`` modules.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import UTC, date
from typing import Annotated, Any, ClassVar

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    GetJsonSchemaHandler,
    ValidationInfo,
    field_validator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

from core.safetext import text_fault, value_faults

_FULL_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_DATE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})")


_INTEGER = re.compile(r"-?[0-9]+(\.0+)?")  # 5.0 is an integer to JSON Schema
_NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?")  # JSON's


def _written_as(
    pattern: re.Pattern[str], what: str, *, taken: type | tuple[type, ...] = date
) -> Callable[[Any], Any]:
    """A check that text is spelled as ``pattern`` (values already of type ``taken`` pass)."""

    def check(value: Any) -> Any:
        if isinstance(value, taken) or (isinstance(value, str) and pattern.fullmatch(value)):
            return value
        raise ValueError(f"Input should be {what}")

    return check


IsoDate = Annotated[
    date, Field(strict=False), BeforeValidator(_written_as(_FULL_DATE, "a date as YYYY-MM-DD"))
]
"""A date written as JSON carries it, RFC 3339 ``full-date`` text (``2024-06-03``), in a body or
a query; ``0`` or ``"1700000000"`` (which pydantic would take for timestamps) are refused."""
IsoInstant = Annotated[
    AwareDatetime,
    Field(strict=False),
    BeforeValidator(
        _written_as(_DATE_TIME, "an RFC 3339 date-time with its offset, e.g. 2024-06-03T10:30:00Z")
    ),
    AfterValidator(lambda value: value.astimezone(UTC)),
]
"""A point in time written as RFC 3339 ``date-time`` text, offset included (``Z`` or ``+02:00``);
taken in UTC, as it is stored and answered (:class:`data.types.UtcDateTime`)."""


_SPELLED_INT = BeforeValidator(
    _written_as(_INTEGER, "an integer in decimal digits, e.g. 42", taken=int)
)
_SPELLED_NUMBER = BeforeValidator(
    _written_as(_NUMBER, "a number as JSON writes it, e.g. 2.5", taken=(int, float))
)


def url_int(*, ge: int, le: int) -> Any:
    """An integer in a path or a query within bounds, spelled as JSON spells one (``42``, ``-1``,
    ``42.0``: JSON Schema's ``integer`` is any number without a fraction).

    Pydantic alone also reads ``" 42"``, ``"\\v42"``, ``"+42"`` or ``"4_2"``, none of them the
    documented ``integer``. The bounds are given here, before the spelling check: given
    after it (``Annotated[..., Query(ge=1)]``) they reach the schema as ``ge``, not ``minimum``.
    """
    return Annotated[int, Field(ge=ge, le=le), _SPELLED_INT]


def url_number(*, ge: float | None = None, gt: float | None = None, le: float | None = None) -> Any:
    """A number in a path or a query within bounds, spelled as JSON spells one (``2.5``, ``-1``,
    ``1e-05``): not ``" 2.5"``, ``"2_5"``, ``".5"``, ``"inf"`` or ``"nan"``, which pydantic alone
    reads. Bounds here, as for :func:`url_int`."""
    return Annotated[float, Field(ge=ge, gt=gt, le=le), _SPELLED_NUMBER]


UrlId = url_int(ge=1, le=2**31 - 1)
"""A stored row's id in a path or a query."""


def _json_number(value: Any) -> Any:
    if isinstance(value, bool | str):
        raise ValueError("Input should be a number without a fraction, not text or a boolean")
    return value


JsonInt = Annotated[int, Field(strict=False), BeforeValidator(_json_number)]
"""An integer as JSON (and JSON Schema's ``integer``) has it: a number without a fraction, ``5``
or ``5.0``; never ``true`` or ``"5"``. The integer fields of strict bodies are of this type."""


def json_int(*, ge: int, le: int) -> Any:
    """:data:`JsonInt` within bounds, for optional fields (``json_int(ge=1, le=9) | None``):
    bounds given on the field itself would not reach the schema of a nullable one."""
    return Annotated[int, Field(strict=False, ge=ge, le=le), BeforeValidator(_json_number)]


JsonId = json_int(ge=1, le=2**31 - 1)
"""A stored row's id in a strict body."""

#: What JSON Schema can say of :func:`core.safetext.text_fault`: no C0 control character (free
#: text may hold TAB, LF and CR). Lone surrogates are refused too; no generator sends them.
_STORABLE = NO_CONTROL_CHARACTERS = "^[^\\x00-\\x1f]*$"
_STORABLE_FREE_TEXT = "^[^\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f]*$"
#: A character that is neither a control character nor white space as :meth:`str.strip` has it
#: (Unicode ``White_Space``), written out: regex dialects disagree on ``\s`` (ECMA 262's takes
#: U+FEFF, Python's does not).
_SOLID = "[^\\x00-\\x20\\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]"


def trimmed_at_least(chars: int) -> str:
    """The pattern of storable text that keeps at least ``chars`` characters once trimmed.

    For a required field of a body whose text is trimmed after it is validated (its lengths and
    pattern hold for the text as sent): ``"  "`` would pass ``minLength: 1`` and be stored empty.
    """
    return "^[^\\x00-\\x1f]*" + (_SOLID + "[^\\x00-\\x1f]*") * chars + "$"


def string_schemas(schema: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The string schemas of a JSON Schema property: itself, its nullable form's, its items'."""
    if schema.get("type") == "string":
        yield schema
    for branch in schema.get("anyOf", ()):
        yield from string_schemas(branch)
    if isinstance(schema.get("items"), dict):
        yield from string_schemas(schema["items"])


class StorableText(BaseModel):
    """Input whose text is stored: no control character (TAB, LF, CR only in :attr:`free_text_fields`),
    no lone surrogate (:func:`core.safetext.text_fault`), in strings at any depth (lists, dict
    keys and values); lengths are each field's ``max_length``. Every request body that is
    stored derives from it.

    Strict: a JSON value is taken as the type it is sent as, never converted (``{"lon": false}``
    is refused, not stored as 0.0; ``"5"`` is not a number). Dates and times, which JSON can
    only send as text, are :data:`IsoDate` and :data:`IsoInstant`. Text files (CSV) are read
    into these models with ``model_validate(row, strict=False)``: a file holds only text.
    """

    model_config = ConfigDict(strict=True)
    free_text_fields: ClassVar[frozenset[str]] = frozenset()

    @classmethod
    def __get_pydantic_json_schema__(
        cls, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        # the text rule in the schema too, so that clients (and fuzzers) know it
        schema = handler(core_schema)
        target = handler.resolve_ref_schema(schema)
        for name, prop in target.get("properties", {}).items():
            rule = _STORABLE_FREE_TEXT if name in cls.free_text_fields else _STORABLE
            for text in string_schemas(prop):
                text.setdefault("pattern", rule)
        return schema

    @field_validator("*")
    @classmethod
    def _storable(cls, value: Any, info: ValidationInfo) -> Any:
        if isinstance(value, str):
            reason = text_fault(value, free_text=info.field_name in cls.free_text_fields)
            if reason:
                raise ValueError(reason)
        elif isinstance(value, list | tuple | dict):
            for path, reason, _ in value_faults(value):
                raise ValueError(f"{path}: {reason}" if path else reason)
        return value


class TrimmedBody(StorableText):
    """A request body validated as sent (no unknown field), its text then trimmed.

    Trimmed after validation, not before (pydantic's ``str_strip_whitespace``): the lengths and
    patterns of the schema then hold for the text as sent, as a client reads them; a required
    text says with :func:`trimmed_at_least` that blanks are refused.
    """

    model_config = ConfigDict(extra="forbid")

    @field_validator("*")
    @classmethod
    def _trimmed(cls, value: Any) -> Any:
        return value.strip() if isinstance(value, str) else value
