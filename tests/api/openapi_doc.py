"""Reading the API's OpenAPI document in tests: validators of its schemas, its path templates."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})")
FULL_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
DOC = "urn:prm:openapi"


def formats() -> FormatChecker:
    checker = FormatChecker()
    # RFC 3339 as the document promises (jsonschema checks date-time only with extra packages)
    checker.checks("date-time")(lambda v: not isinstance(v, str) or bool(RFC3339.fullmatch(v)))
    checker.checks("date")(lambda v: not isinstance(v, str) or bool(FULL_DATE.fullmatch(v)))
    return checker


def validator(doc: dict[str, Any], *pointer: str) -> Draft202012Validator:
    """A validator of the schema at ``pointer`` in ``doc`` (its ``$ref``s resolved in ``doc``)."""
    fragment = "/".join(quote(p.replace("~", "~0").replace("/", "~1"), safe="") for p in pointer)
    registry = Registry().with_resource(DOC, Resource(doc, DRAFT202012))
    return Draft202012Validator(
        {"$ref": f"{DOC}#/{fragment}"}, registry=registry, format_checker=formats()
    )


def path_template(doc: dict[str, Any], path: str) -> str:
    """The documented path template of ``path`` (a literal segment wins over a parameter)."""

    def pattern(template: str) -> str:
        return "".join(
            "[^/]+" if part.startswith("{") else re.escape(part)
            for part in re.split(r"(\{[^}]+\})", template)
        )

    found = [t for t in doc["paths"] if re.fullmatch(pattern(t), path)]
    assert found, f"{path} is not documented"
    return min(found, key=lambda t: t.count("{"))
