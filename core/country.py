"""The one country rule, and the values read per country: postal codes and phone numbers.

A record's country is its own country column when that names a country, else
the default the mapping or the command gives (:func:`record_country`); every
value whose format depends on the country (postal codes here, phone numbers)
is read through it, so a French file never has its postcodes judged as US ZIPs.

Postal codes are normalised for the countries whose format is fixed (US ZIP
and ZIP+4 to the five-digit ZIP, FR, DE, AU, CA, GB); any other country's, or
a record of unknown country, is kept as given (trimmed, upper case, inner
spaces collapsed; a hyphenated ZIP+4 still gives its ZIP). A value that does not fit its country's format reads as
``None``, and callers count those to warn (:func:`read_postal_codes`).

Phone numbers are read in their record's country's numbering plan and stored
in E.164 (``+16145550100``): :func:`normalize_phone`; :func:`display_phone`
writes them back as people read them (US numbers as ``(614) 555-0100``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

import phonenumbers

from core.text import fold

#: Country names and ISO alpha-3 codes -> ISO 3166-1 alpha-2 (``UK`` is ``GB``).
_ALIASES: dict[str, str] = {
    "USA": "US",
    "UNITED STATES": "US",
    "UNITED STATES OF AMERICA": "US",
    "ETATS UNIS": "US",
    "FRA": "FR",
    "FRANCE": "FR",
    "GBR": "GB",
    "UK": "GB",
    "UNITED KINGDOM": "GB",
    "GREAT BRITAIN": "GB",
    "ENGLAND": "GB",
    "SCOTLAND": "GB",
    "WALES": "GB",
    "NORTHERN IRELAND": "GB",
    "DEU": "DE",
    "GERMANY": "DE",
    "DEUTSCHLAND": "DE",
    "ALLEMAGNE": "DE",
    "AUS": "AU",
    "AUSTRALIA": "AU",
    "CAN": "CA",
    "CANADA": "CA",
    "ESP": "ES",
    "SPAIN": "ES",
    "ESPANA": "ES",
    "ITA": "IT",
    "ITALY": "IT",
    "BEL": "BE",
    "BELGIUM": "BE",
    "BELGIQUE": "BE",
    "CHE": "CH",
    "SWITZERLAND": "CH",
    "SUISSE": "CH",
    "NLD": "NL",
    "NETHERLANDS": "NL",
    "POL": "PL",
    "POLAND": "PL",
    "DNK": "DK",
    "DENMARK": "DK",
    "NOR": "NO",
    "NORWAY": "NO",
    "SWE": "SE",
    "SWEDEN": "SE",
}
_ISO2 = re.compile(r"[A-Z]{2}")


def country_code(value: object) -> str | None:
    """ISO alpha-2 code of a country written as a code or a name, else ``None``.

    Any two-letter value is taken as an alpha-2 code; three-letter codes and
    names are read from a table of the countries registries come from.
    """
    if not isinstance(value, str):
        return None
    text = " ".join(re.sub(r"[^A-Z ]+", " ", fold(value)).split())
    if text in _ALIASES:
        return _ALIASES[text]
    return text if _ISO2.fullmatch(text) else None


def record_country(value: object, *, default: str | None = None) -> str | None:
    """A record's country: its own column's when that names one, else ``default``.

    ``default`` is the mapping's or the command's country (a code or a name);
    ``None`` when neither says, and values are then kept as given.
    """
    return country_code(value) or country_code(default)


_DIGITS = re.compile(r"\d+")
_CA = re.compile(r"([A-Z]\d[A-Z])(\d[A-Z]\d)")
_GB = re.compile(r"([A-Z]{1,2}\d[A-Z\d]?)(\d[A-Z]{2})")


def _digits(text: str, *, size: int, pad_from: int, pad_short: bool) -> str | None:
    if not _DIGITS.fullmatch(text):
        return None
    if len(text) == size:
        return text
    # spreadsheets drop leading zeros (01067 Dresden, 0800 Darwin, 01000 Bourg-en-Bresse)
    return text.zfill(size) if pad_short and pad_from <= len(text) < size else None


def _us(text: str, *, pad_short: bool) -> str | None:
    if re.fullmatch(r"\d{5}(?:-?\d{4})?", text):
        return text[:5]
    if pad_short and re.fullmatch(r"\d{3,4}", text):
        return text.zfill(5)
    if pad_short and re.fullmatch(r"\d{7,8}", text):
        return text.zfill(9)[:5]
    return None


def normalize_postal_code(
    value: object, *, country: str | None, pad_short: bool = False
) -> str | None:
    """A postal code in its country's canonical form, ``None`` when it cannot be read.

    Parameters
    ----------
    value
        The raw postal code.
    country
        The record's country (:func:`record_country`); ``None``: unknown, the
        value is kept as given (trimmed, upper case, inner spaces collapsed).
    pad_short
        Restore leading zeros a spreadsheet dropped (US, FR, DE, AU).

    Examples
    --------
    >>> normalize_postal_code("43215-1234", country="US")
    '43215'
    >>> normalize_postal_code("sw1a1aa", country="GB")
    'SW1A 1AA'
    >>> normalize_postal_code("2000", country="AU")
    '2000'
    """
    if not isinstance(value, str) or not value.strip():
        return None
    text = " ".join(value.upper().split())
    compact = text.replace(" ", "")
    if country == "US":
        return _us(text, pad_short=pad_short)
    if country in ("FR", "DE"):
        return _digits(compact, size=5, pad_from=4, pad_short=pad_short)
    if country == "AU":
        return _digits(compact, size=4, pad_from=3, pad_short=pad_short)
    if country == "CA":
        m = _CA.fullmatch(compact)
        return f"{m[1]} {m[2]}" if m else None
    if country == "GB":
        m = _GB.fullmatch(compact)
        return f"{m[1]} {m[2]}" if m else None
    # unknown country: kept as given, but a hyphenated ZIP+4 cannot be anything else
    return text[:5] if country is None and re.fullmatch(r"\d{5}-\d{4}", text) else text


@dataclass(frozen=True)
class PostalCodes:
    """Postal codes read from one column: the values, and how many could not be read."""

    values: list[str | None]
    unreadable: int
    #: up to five raw values that could not be read, for the warning
    examples: tuple[str, ...]


def read_postal_codes(
    values: Iterable[object],
    countries: Iterable[object] | None = None,
    *,
    default: str | None = None,
    pad_short: bool = False,
    keep_unreadable: bool = False,
) -> PostalCodes:
    """:func:`normalize_postal_code` over a column, each value with its record's country.

    ``countries``: the country column (same length), or ``None`` when the file
    has none; ``default``: the mapping's or command's country.
    ``keep_unreadable``: a value that does not fit its country is kept as written
    (trimmed, upper case, spaces collapsed) rather than dropped, and still counted:
    for matching, two records with the same mistyped code still agree.
    """
    values = list(values)
    per_row = [None] * len(values) if countries is None else list(countries)
    cache: dict[tuple[object, str | None], str | None] = {}
    out: list[str | None] = []
    bad: list[str] = []
    for raw, country_value in zip(values, per_row, strict=True):
        country = record_country(country_value, default=default)
        key = (raw, country)
        if key not in cache:
            cache[key] = normalize_postal_code(raw, country=country, pad_short=pad_short)
        code = cache[key]
        if code is None and isinstance(raw, str) and raw.strip():
            bad.append(raw)
            if keep_unreadable:
                code = normalize_postal_code(raw, country=None)
        out.append(code)
    return PostalCodes(out, len(bad), tuple(dict.fromkeys(bad))[:5])


#: Regions that share France's numbering plan: a national number (``0262 ...``) of a French
#: record may be one of the overseas departments' (+262, +590, +594, +596, +269, +508).
_FRENCH_PLAN = ("FR", "RE", "YT", "GP", "MQ", "GF", "BL", "MF", "PM")
_PHONE_TEXT = re.compile(r"[0-9 ()./+\-]+(?:\s*(?:x|ext\.?|extension|#)\s*\d+)?", re.IGNORECASE)


@lru_cache(maxsize=1 << 16)
def _parsed(text: str, region: str | None) -> str | None:
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalize_phone(value: str | None, *, country: str | None = "US") -> str | None:
    """A phone number in E.164 form (``+16145550100``), or ``None`` when it is not one.

    The number is read as its record's country writes it (:func:`record_country`):
    a national number (``(614) 555-0100``, ``01 45 67 89 01``) in that country's
    plan, an international one (``+33 1 45 67 89 01``, ``0033 ...``) whatever the
    country. It must be a valid number of its plan (Google's libphonenumber
    metadata, through :mod:`phonenumbers`): a US number with an area code or
    exchange starting with 0 or 1 is refused. A trailing extension
    (``x123``, ``ext. 4``) is dropped. A French record's national number may be
    an overseas department's (``0262 ...`` is La Réunion's ``+262 262 ...``).

    Parameters
    ----------
    value
        The number as written.
    country
        The record's ISO alpha-2 country; ``None`` (unknown): only a number
        written in international form is read.

    Examples
    --------
    >>> normalize_phone("+1 (614) 555-0100 ext. 12")
    '+16145550100'
    >>> normalize_phone("01 45 67 89 01", country="FR")
    '+33145678901'
    >>> normalize_phone("0262 12 34 56", country="FR")
    '+262262123456'
    >>> normalize_phone("01 45 67 89 01") is None
    True
    """
    if value is None:
        return None
    text = " ".join(str(value).replace("(0)", " ").split())
    if not text or not _PHONE_TEXT.fullmatch(text):
        return None
    if text.startswith("00"):
        text = "+" + text[2:]
    regions = _FRENCH_PLAN if country == "FR" else (country,)
    if text.startswith("+"):
        regions = (None,)
    elif country is None:
        return None
    for region in regions:
        found = _parsed(text, region)
        if found is not None:
            return found
    return None


def display_phone(value: str | None) -> str | None:
    """A stored phone number as people read it: ``(614) 555-0100`` in the US, else international.

    Ten digits stored before numbers were kept in E.164 read as US numbers.

    Examples
    --------
    >>> display_phone("+16145550100"), display_phone("+33145678901")
    ('(614) 555-0100', '+33 1 45 67 89 01')
    """
    if not value:
        return None
    if len(value) == 10 and value.isdigit():
        value = "+1" + value
    if value.startswith("+1") and len(value) == 12 and value[1:].isdigit():
        return f"({value[2:5]}) {value[5:8]}-{value[8:]}"
    try:
        number = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException:
        return value
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
