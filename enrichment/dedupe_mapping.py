"""The column mapping of ``prm dedupe``, and the link settings it adds to the shipped ones.

A mapping (TOML) names the input column of each linking field, and may declare
identifiers, extra columns and date formats::

    id = "rec_id"              # optional: a unique record id column
    country = "AU"             # optional: the country of records whose own column is blank
    truth = "person_id"        # optional: a column holding the true entity (for the report)

    [columns]                  # linking field = input column (MAPPABLE_FIELDS)
    first_name = "given_name"
    last_name = "surname"
    date_of_birth = "dob"
    street_number = "street_number"
    address_1 = "address_1"
    postal_code = "postcode"

    [formats]                  # optional: strftime codes (else detected per column)
    date_of_birth = "%Y%m%d"

    [identifiers.soc_sec_id]   # any number: hard (equal merges, different never) or soft
    column = "soc_sec_id"
    kind = "soft"              # soft: exact / one typo / else levels, and a blocking rule

    [extra.email]              # any other column, with a chosen comparison
    column = "email"
    comparison = "exact"       # exact | jaro_winkler | token_set | one_edit

The registries' own identifiers (npi, rpps, finess, siret, ein) are mapped in
``[columns]`` and are hard.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from core.country import country_code
from core.errors import InputError, Problem
from enrichment.link_settings import (
    BlockingRule,
    Comparison,
    ComparisonLevel,
    IdentifierRule,
    LinkSettings,
)

#: Linking fields a mapping's ``[columns]`` can name.
MAPPABLE_FIELDS: tuple[str, ...] = (
    "entity_type",
    "first_name",
    "middle_name",
    "last_name",
    "full_name",
    "organization_name",
    "date_of_birth",
    "street_number",
    "address_1",
    "address_2",
    "city",
    "state",
    "postal_code",
    "country",
    "phone",
    "taxonomy_code",
    "specialty_text",
    "npi",
    "rpps",
    "finess",
    "siret",
    "ein",
)
#: The registries' identifiers, always hard, mapped in ``[columns]``.
REGISTRY_IDENTIFIERS = frozenset({"npi", "rpps", "finess", "siret", "ein"})
IDENTIFIER_KINDS = ("hard", "soft")
#: Levels (test, threshold, m, u) of each comparison an extra column can choose.
EXTRA_COMPARISONS: dict[str, tuple[tuple[str, float | None, float, float], ...]] = {
    "exact": (("exact", None, 0.9, 0.001),),
    "jaro_winkler": (
        ("exact", None, 0.8, 0.001),
        ("jaro_winkler", 0.92, 0.1, 0.005),
        ("jaro_winkler", 0.80, 0.05, 0.05),
    ),
    "token_set": (
        ("exact", None, 0.8, 0.001),
        ("token_set", 90, 0.1, 0.005),
        ("token_set", 70, 0.05, 0.05),
    ),
    "one_edit": (("exact", None, 0.85, 0.0001), ("one_edit", None, 0.1, 0.001)),
}
_NAME = re.compile(r"[a-z][a-z0-9_]{0,39}")


def _table_problems(data: dict, section: str, need: dict[str, tuple[str, ...] | None], file: str):  # noqa: ANN202
    """Problems of a ``[section.<name>]`` table: names, columns, allowed values."""
    problems = []
    for name, spec in (data.get(section) or {}).items():
        where = f"{section}.{name}"
        if not _NAME.fullmatch(name):
            problems.append(Problem("name: lower-case letters, digits, _", file=file, field=where))
        if not isinstance(spec, dict) or not isinstance(spec.get("column"), str):
            problems.append(Problem('needs column = "header"', file=file, field=where))
            continue
        for key, allowed in need.items():
            if allowed and spec.get(key, allowed[0]) not in allowed:
                problems.append(
                    Problem(f"{key} must be one of {', '.join(allowed)}", file=file, field=where)
                )
        if section == "identifiers" and name in REGISTRY_IDENTIFIERS:
            problems.append(Problem(f"map {name} in [columns]", file=file, field=where))
    return problems


def read_mapping(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read and check a TOML column mapping (see the module docstring).

    Raises
    ------
    InputError
        Unreadable file, unknown fields, bad declarations (all listed).
    """
    p = Path(path)
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(
            f"cannot read mapping {p.name}: {exc}", problems=[Problem(str(exc), file=p.name)]
        ) from exc
    columns = data.get("columns")
    problems: list[Problem] = []
    if not isinstance(columns, dict) or not columns:
        problems.append(Problem("a [columns] table is required", file=p.name, field="columns"))
        columns = {}
    expected = ", ".join(MAPPABLE_FIELDS)
    problems += [
        Problem(f"unknown field; expected one of {expected}", file=p.name, field=k)
        for k in columns
        if k not in MAPPABLE_FIELDS
    ]
    problems += [
        Problem("column name must be a string", file=p.name, field=k)
        for k, v in columns.items()
        if not isinstance(v, str)
    ]
    for key in ("id", "country", "truth"):
        if key in data and not isinstance(data[key], str):
            problems.append(Problem("must be a string", file=p.name, field=key))
    if isinstance(data.get("country"), str) and country_code(data["country"]) is None:
        problems.append(Problem("not a country code or name", file=p.name, field="country"))
    problems += _table_problems(data, "identifiers", {"kind": IDENTIFIER_KINDS}, p.name)
    problems += _table_problems(data, "extra", {"comparison": tuple(EXTRA_COMPARISONS)}, p.name)
    formats = data.get("formats") or {}
    problems += [
        Problem("only date_of_birth takes a format", file=p.name, field=f"formats.{k}")
        for k in formats
        if k != "date_of_birth"
    ]
    if problems:
        raise InputError(f"invalid column mapping {p.name}", problems=problems)
    return {k: data.get(k) for k in ("id", "country", "truth")} | {
        "columns": dict(columns),
        "formats": dict(formats),
        "identifiers": dict(data.get("identifiers") or {}),
        "extra": dict(data.get("extra") or {}),
    }


def _comparison(name: str, field: str, levels: tuple) -> Comparison:
    spelled = [
        ComparisonLevel(
            name=f"{test}" + (f">={th:g}" if th else ""), test=test, threshold=th, m=m, u=u
        )
        for test, th, m, u in levels
    ]
    rest_m = max(1e-3, 1.0 - sum(lv.m for lv in spelled))
    spelled.append(ComparisonLevel(name="else", test="else", m=rest_m, u=0.98))
    return Comparison(name=name, field=field, levels=tuple(spelled))


def settings_for_mapping(settings: LinkSettings, mapping: Mapping[str, Any]) -> LinkSettings:
    """``settings`` with the mapping's identifiers and extra columns added.

    A hard identifier becomes an identifier rule (equal values merge, two
    different values are never joined, even through other records); a soft one
    a comparison (exact / one typo / else) and a blocking rule on its value; an
    extra column a comparison of the chosen kind. Both entity types get them.
    """
    rules = list(settings.identifiers)
    blocking = list(settings.blocking_rules)
    added: list[Comparison] = []
    for name, spec in mapping.get("identifiers", {}).items():
        if spec.get("kind", "hard") == "hard":
            rules.append(IdentifierRule(name=f"exact_{name}", field=name))
            continue
        added.append(_comparison(f"id_{name}", f"id_{name}", EXTRA_COMPARISONS["one_edit"]))
        blocking.append(BlockingRule(name=f"same_{name}", keys=(f"id_{name}",), max_block_size=50))
    for name, spec in mapping.get("extra", {}).items():
        kind = spec.get("comparison", "exact")
        added.append(_comparison(f"x_{name}", f"x_{name}", EXTRA_COMPARISONS[kind]))
    if not (added or len(rules) > len(settings.identifiers)):
        return settings
    data = settings.model_dump()
    data["identifiers"] = [r.model_dump() for r in rules]
    data["blocking_rules"] = [r.model_dump() for r in blocking]
    for entity in ("individual", "organization"):
        data[entity]["comparisons"] = [
            *data[entity]["comparisons"],
            *(c.model_dump() for c in added),
        ]
    return LinkSettings.model_validate(data)  # validated: names stay unique
