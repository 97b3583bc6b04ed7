"""What our CSV and XLSX exports do to a cell before a spreadsheet opens it."""

from __future__ import annotations

__all__ = ["neutralise_formula"]


def neutralise_formula(value: object) -> object:
    """Stop spreadsheets from evaluating a text cell as a formula (OWASP CSV injection)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value
