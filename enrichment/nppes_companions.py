"""Readers of the NPPES companion files, and their merge into standard source records.

The dissemination zip ships three companions of ``npidata_pfile``, each keyed by NPI
with any number of rows per NPI:

``othername_pfile``
    Other organisation names (``NPI``, ``Provider Other Organization Name``,
    ``Provider Other Organization Name Type Code``: 1 former name, 2 professional
    name, 3 doing business as, 4 former legal business name, 5 other).
``pl_pfile``
    Secondary practice locations (address lines, city, state, postal code,
    country, telephone, extension, fax).
``endpoint_pfile``
    Electronic endpoints (19 columns): Direct secure-messaging addresses,
    FHIR/REST/SOAP/CONNECT services, web sites, e-mail addresses.

Each reader takes a CSV path or an open stream (a zip member) and returns a
:class:`TableResult` (one row per accepted input row, rejects as
:class:`~core.errors.Problem` records naming file, line and field; NPIs are
Luhn-checked). Columns are found by name, ignoring case, spacing and
punctuation (the real headers mix ``Address- Address Line 1`` and
``Address-  Address Line 2``); extra columns are ignored.
:class:`Companions` groups them by NPI once per archive and
:func:`attach_companion_columns` folds them into each chunk of standard records:
other names into ``identifiers["other_names"]``, locations into ``locations``,
endpoints into ``contacts`` (exact duplicates dropped), so ``record_hash`` changes
only for the records that gained something.

Not kept yet: the endpoint's affiliation address and content-type description,
and the phone number's link to a location beyond the location dict itself.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any

import orjson
import pandas as pd
import pyarrow as pa

from core.country import normalize_phone, normalize_postal_code
from core.errors import Problem, SchemaError
from core.identifiers import luhn_npi_valid
from enrichment.nppes import NppesSource, iter_source_rows, source_name
from enrichment.record_columns import RecordColumns
from enrichment.records import (
    ReadResult,
    clean_text,
    record_problems,
)

OTHER_NAME_COLUMNS: tuple[str, ...] = (
    "NPI",
    "Provider Other Organization Name",
    "Provider Other Organization Name Type Code",
)
_PL = "Provider Secondary Practice Location Address"
LOCATION_COLUMNS: tuple[str, ...] = (
    "NPI",
    f"{_PL}- Address Line 1",
    f"{_PL}-  Address Line 2",
    f"{_PL} - City Name",
    f"{_PL} - State Name",
    f"{_PL} - Postal Code",
    f"{_PL} - Country Code (If outside U.S.)",
    f"{_PL} - Telephone Number",
    f"{_PL} - Telephone Extension",
    "Provider Practice Location Address - Fax Number",
)
ENDPOINT_COLUMNS: tuple[str, ...] = (
    "NPI",
    "Endpoint Type",
    "Endpoint Type Description",
    "Endpoint",
    "Affiliation",
    "Endpoint Description",
    "Affiliation Legal Business Name",
    "Use Code",
    "Use Description",
    "Other Use Description",
    "Content Type",
    "Content Description",
    "Other Content Description",
    "Affiliation Address Line One",
    "Affiliation Address Line Two",
    "Affiliation Address City",
    "Affiliation Address State",
    "Affiliation Address Country",
    "Affiliation Address Postal Code",
)

#: Output columns of each reader's frame (``line`` is the physical line in the file).
OTHER_NAME_FIELDS: tuple[str, ...] = ("npi", "name", "type_code", "line")
LOCATION_FIELDS: tuple[str, ...] = (
    "npi",
    "address_1",
    "address_2",
    "city",
    "state",
    "postal_code",
    "country",
    "phone",
    "phone_extension",
    "fax",
    "line",
)
ENDPOINT_FIELDS: tuple[str, ...] = (
    "npi",
    "channel",
    "value",
    "use",
    "endpoint_type",
    "affiliation",
    "affiliation_name",
    "line",
)
#: Output columns by zip-member role.
COMPANION_FIELDS: dict[str, tuple[str, ...]] = {
    "othername": OTHER_NAME_FIELDS,
    "pl": LOCATION_FIELDS,
    "endpoint": ENDPOINT_FIELDS,
}

#: Output field -> the column it is read from, per reader (named in the problems of values
#: that may not be stored).
_READ_FROM: dict[tuple[str, ...], dict[str, str]] = {
    OTHER_NAME_FIELDS: {"name": OTHER_NAME_COLUMNS[1], "type_code": OTHER_NAME_COLUMNS[2]},
    LOCATION_FIELDS: dict(zip(LOCATION_FIELDS[1:-1], LOCATION_COLUMNS[1:])),
    ENDPOINT_FIELDS: {
        "value": "Endpoint",
        "use": "Use Description",
        "endpoint_type": "Endpoint Type",
        "affiliation_name": "Affiliation Legal Business Name",
    },
}

_OTHER_NAME_TYPES = frozenset("12345")
_COUNTRY = re.compile(r"[A-Z]{2}")
_EMAIL = re.compile(r"[^@\s:/]+@[^@\s:/]+\.[^@\s:/]+")
_WEB_TYPES = frozenset({"FHIR", "REST", "SOAP", "CONNECT", "WEB", "WEBSITE"})

Parser = Callable[..., tuple[dict[str, Any] | None, list[Problem]]]


class TableResult(ReadResult):
    """What a companion (or deactivation) reader returns: a :class:`ReadResult`
    whose ``records`` have the reader's own columns (see its docstring), not the
    standard source-record schema."""


def table_frame(rows: list[dict[str, Any]], columns: tuple[str, ...]) -> pd.DataFrame:
    """A frame of ``columns`` (object dtype, ``line`` int64) from row dicts."""
    data = {
        col: pd.Series([r.get(col) for r in rows], dtype="int64" if col == "line" else object)
        for col in columns
    }
    return pd.DataFrame(data, columns=list(columns))


def _key(column: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", column.lower()).strip()


def _match_header(header: list[str], columns: tuple[str, ...], file: str) -> dict[str, int]:
    positions: dict[str, int] = {}
    for i, name in enumerate(header):
        positions.setdefault(_key(name), i)
    missing = [c for c in columns if _key(c) not in positions]
    if missing:
        raise SchemaError(
            f"{file}: header lacks {len(missing)} expected column(s)",
            problems=[Problem("missing column", file=file, line=1, field=c) for c in missing],
        )
    return {c: positions[_key(c)] for c in columns}


def _check_npi(row: Mapping[str, str], bad: Callable[[str, str, str | None], None]) -> str | None:
    npi = clean_text(row.get("NPI"))
    if npi is None:
        bad("NPI is missing", "NPI", None)
    elif not luhn_npi_valid(npi):
        bad("NPI is not 10 digits with a valid check digit", "NPI", npi)
    return npi


def _collector(file: str | None, line: int) -> tuple[list[Problem], Callable[..., None]]:
    problems: list[Problem] = []

    def bad(message: str, column: str, value: str | None) -> None:
        problems.append(Problem(message, file=file, line=line, field=column, value=value))

    return problems, bad


def parse_other_name_row(
    row: Mapping[str, str], *, line: int, file: str | None = None
) -> tuple[dict[str, Any] | None, list[Problem]]:
    """One ``othername_pfile`` row to ``{npi, name, type_code, line}``, or its problems."""
    problems, bad = _collector(file, line)
    npi = _check_npi(row, bad)
    name = clean_text(row.get(OTHER_NAME_COLUMNS[1]))
    if name is None:
        bad("other organization name is missing", OTHER_NAME_COLUMNS[1], None)
    code = clean_text(row.get(OTHER_NAME_COLUMNS[2]))
    if code is not None and code not in _OTHER_NAME_TYPES:
        bad("type code must be 1 to 5", OTHER_NAME_COLUMNS[2], code)
    if problems:
        return None, problems
    return {"npi": npi, "name": name, "type_code": code, "line": line}, []


def parse_location_row(
    row: Mapping[str, str], *, line: int, file: str | None = None
) -> tuple[dict[str, Any] | None, list[Problem]]:
    """One ``pl_pfile`` row to a location dict (see :data:`LOCATION_FIELDS`), or its problems.

    A blank country means ``US``; US postal codes are cut to five digits, others
    kept as written. Unparseable phone and fax numbers become ``None``.
    """
    problems, bad = _collector(file, line)
    npi = _check_npi(row, bad)
    values = [clean_text(row.get(c)) for c in LOCATION_COLUMNS[1:]]
    address_1, address_2, city, state, postal, country, phone, extension, fax = values
    if address_1 is None and city is None:
        bad(
            "secondary practice location has no address line and no city", LOCATION_COLUMNS[1], None
        )
    country = (country or "US").upper()
    if not _COUNTRY.fullmatch(country):
        bad("country code must be two letters", LOCATION_COLUMNS[6], country)
    if problems:
        return None, problems
    return {
        "npi": npi,
        "address_1": address_1,
        "address_2": address_2,
        "city": city,
        "state": state.upper() if state else None,
        "postal_code": normalize_postal_code(postal, country="US") if country == "US" else postal,
        "country": country,
        "phone": normalize_phone(phone, country=country),
        "phone_extension": extension,
        "fax": normalize_phone(fax, country=country),
        "line": line,
    }, []


def endpoint_channel(endpoint_type: str | None, value: str) -> tuple[str, str]:
    """The contact channel of an endpoint, and its value as stored.

    ``DIRECT`` endpoints are ``"direct"`` (a ``mailto:`` prefix is dropped);
    ``mailto:`` or bare e-mail addresses of any other type are ``"email"``;
    everything else (FHIR, REST, SOAP, CONNECT, web sites, other URLs) is ``"web"``.
    """
    kind = (endpoint_type or "").strip().upper()
    bare = value[7:] if value.lower().startswith("mailto:") else value
    if kind == "DIRECT":
        return "direct", bare
    if kind not in _WEB_TYPES and (bare != value or _EMAIL.fullmatch(bare)):
        return "email", bare
    return "web", value


def parse_endpoint_row(
    row: Mapping[str, str], *, line: int, file: str | None = None
) -> tuple[dict[str, Any] | None, list[Problem]]:
    """One ``endpoint_pfile`` row to a contact (see :data:`ENDPOINT_FIELDS`), or its problems."""
    problems, bad = _collector(file, line)
    npi = _check_npi(row, bad)
    value = clean_text(row.get("Endpoint"))
    if value is None:
        bad("endpoint is missing", "Endpoint", None)
    affiliation = clean_text(row.get("Affiliation"))
    if affiliation is not None and affiliation.upper() not in ("Y", "N"):
        bad("affiliation must be Y or N", "Affiliation", affiliation)
    if problems:
        return None, problems
    endpoint_type = clean_text(row.get("Endpoint Type"))
    channel, stored = endpoint_channel(endpoint_type, value)
    use = (
        clean_text(row.get("Other Use Description"))
        or clean_text(row.get("Use Description"))
        or clean_text(row.get("Use Code"))
    )
    return {
        "npi": npi,
        "channel": channel,
        "value": stored,
        "use": use,
        "endpoint_type": endpoint_type.upper() if endpoint_type else None,
        "affiliation": None if affiliation is None else affiliation.upper() == "Y",
        "affiliation_name": clean_text(row.get("Affiliation Legal Business Name")),
        "line": line,
    }, []


def _read_table(
    source: NppesSource,
    *,
    name: str | None,
    encoding: str | None,
    npis: Collection[str] | None,
    columns: tuple[str, ...],
    fields: tuple[str, ...],
    parse: Parser,
) -> TableResult:
    label = source_name(source, name)
    wanted = None if npis is None else frozenset(npis)
    rows = iter_source_rows(source, name=label, encoding=encoding)
    first = next(rows, None)
    if first is None:  # pragma: no cover - iter_source_rows refuses empty input
        return TableResult(records=table_frame([], fields))
    header = [h.strip() for h in first[1]]
    index = _match_header(header, columns, label)
    width, npi_at = len(header), index["NPI"]
    records: list[dict[str, Any]] = []
    rejects: list[Problem] = []
    count = 0
    for line, cells in rows:
        if wanted is not None and (npi_at >= len(cells) or cells[npi_at].strip() not in wanted):
            continue
        count += 1
        if len(cells) != width:
            rejects.append(
                Problem(
                    f"row has {len(cells)} fields, header has {width}",
                    file=label,
                    line=line,
                    value=",".join(cells)[:60],
                )
            )
            continue
        record, problems = parse({c: cells[i] for c, i in index.items()}, line=line, file=label)
        if record is not None:
            # merged into the main records' JSON only: every value is held to the payload limit
            problems = record_problems(
                record, file=label, line=line, headers=_READ_FROM[fields], limits={}
            )
            record = None if problems else record
        if record is None:
            rejects.extend(problems)
        else:
            records.append(record)
    return TableResult(records=table_frame(records, fields), rejects=rejects, rows_read=count)


_READER_DOC = """
    Parameters
    ----------
    source
        CSV path, or an open binary or text stream (a zip member).
    name
        Name used in problem reports; defaults to the file or stream name.
    encoding
        Codec of a path or binary stream; ``None`` means UTF-8.
    npis
        When given, only rows of these NPIs are read (and counted in ``rows_read``).

    Raises
    ------
    SchemaError
        A header lacking expected columns (each listed).
    EncodingError, InputError
        Undecodable bytes; empty file; CSV syntax error.
"""


def read_other_names(
    source: NppesSource,
    *,
    name: str | None = None,
    encoding: str | None = None,
    npis: Collection[str] | None = None,
) -> TableResult:
    return _read_table(
        source,
        name=name,
        encoding=encoding,
        npis=npis,
        columns=OTHER_NAME_COLUMNS,
        fields=OTHER_NAME_FIELDS,
        parse=parse_other_name_row,
    )


def read_locations(
    source: NppesSource,
    *,
    name: str | None = None,
    encoding: str | None = None,
    npis: Collection[str] | None = None,
) -> TableResult:
    return _read_table(
        source,
        name=name,
        encoding=encoding,
        npis=npis,
        columns=LOCATION_COLUMNS,
        fields=LOCATION_FIELDS,
        parse=parse_location_row,
    )


def read_endpoints(
    source: NppesSource,
    *,
    name: str | None = None,
    encoding: str | None = None,
    npis: Collection[str] | None = None,
) -> TableResult:
    return _read_table(
        source,
        name=name,
        encoding=encoding,
        npis=npis,
        columns=ENDPOINT_COLUMNS,
        fields=ENDPOINT_FIELDS,
        parse=parse_endpoint_row,
    )


read_other_names.__doc__ = (
    "Read ``othername_pfile``: one row per other organisation name "
    "(columns :data:`OTHER_NAME_FIELDS`).\n" + _READER_DOC
)
read_locations.__doc__ = (
    "Read ``pl_pfile``: one row per secondary practice location "
    "(columns :data:`LOCATION_FIELDS`).\n" + _READER_DOC
)
read_endpoints.__doc__ = (
    "Read ``endpoint_pfile``: one row per endpoint, as a contact channel "
    "(columns :data:`ENDPOINT_FIELDS`).\n" + _READER_DOC
)


def _frame(
    value: pd.DataFrame | TableResult | None, label: str, fields: tuple[str, ...]
) -> pd.DataFrame | None:
    if value is None:
        return None
    if isinstance(value, TableResult):
        value = value.records
    missing = [c for c in fields if c != "line" and c not in value.columns]
    if missing:
        raise ValueError(f"{label} lacks columns {missing}")
    return value


def _grouped(frame: pd.DataFrame | None, keys: tuple[str, ...]) -> dict[str, list[dict[str, Any]]]:
    groups: dict[str, list[dict[str, Any]]] = {}
    if frame is None:
        return groups
    for row in frame[["npi", *keys]].itertuples(index=False, name=None):
        groups.setdefault(row[0], []).append(dict(zip(keys, row[1:])))
    return groups


def _merged(existing: Any, new: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = list(existing) if isinstance(existing, list) else []
    seen = {tuple(sorted(d.items(), key=lambda kv: kv[0])) for d in out}
    for item in new:
        key = tuple(sorted(item.items(), key=lambda kv: kv[0]))
        if key not in seen:
            seen.add(key)
            out.append(item)
    return out


@dataclass(frozen=True)
class Companions:
    """Companion rows grouped by NPI, ready to merge into the main file's records.

    Build it once per archive (:meth:`build`) and apply it to every chunk.
    """

    names: dict[str, list[dict[str, Any]]]
    places: dict[str, list[dict[str, Any]]]
    contacts: dict[str, list[dict[str, Any]]]

    @classmethod
    def build(
        cls,
        *,
        other_names: pd.DataFrame | TableResult | None = None,
        locations: pd.DataFrame | TableResult | None = None,
        endpoints: pd.DataFrame | TableResult | None = None,
    ) -> Companions:
        """Group the output of the companion readers (frames or results, or ``None``)."""
        return cls(
            names=_grouped(
                _frame(other_names, "other_names", OTHER_NAME_FIELDS), ("name", "type_code")
            ),
            places=_grouped(_frame(locations, "locations", LOCATION_FIELDS), LOCATION_FIELDS[1:-1]),
            contacts=_grouped(
                _frame(endpoints, "endpoints", ENDPOINT_FIELDS),
                ("channel", "value", "use", "endpoint_type"),
            ),
        )

    def __contains__(self, npi: object) -> bool:
        return npi in self.names or npi in self.places or npi in self.contacts

    def merge(
        self, npi: str, identifiers: Any, locations: Any, contacts: Any
    ) -> tuple[Any, Any, Any]:
        """One record's ``identifiers``, ``locations`` and ``contacts`` with its companions merged in."""
        if npi in self.names:
            identifiers = dict(identifiers or {})
            identifiers["other_names"] = _merged(identifiers.get("other_names"), self.names[npi])
        if npi in self.places:
            locations = _merged(locations, self.places[npi])
        if npi in self.contacts:
            contacts = _merged(contacts, self.contacts[npi])
        return identifiers, locations, contacts


def attach_companion_columns(records: RecordColumns, companions: Companions) -> RecordColumns:
    """Merge companion rows into standard source records held column-wise, matched on ``npi``.

    Other names are appended to ``identifiers["other_names"]`` (as ``{name,
    type_code}``), locations to ``locations`` (dicts of :data:`LOCATION_FIELDS`
    without ``npi``/``line``), endpoints to ``contacts`` (``{channel, value,
    use, endpoint_type}``); exact duplicates are dropped. Rows without
    companions are not touched; a changed record's ``record_hash`` follows from
    its new payload. ``records`` itself is never modified.
    """
    npis = records.column("npi")
    hits = [i for i, npi in enumerate(npis) if npi in companions]
    if not hits:
        return records
    names = ("identifiers", "locations", "contacts")
    current = {c: records.column(c) for c in names}
    texts = {
        c: records.arrays[c].to_pylist() if c in records.arrays else [None] * len(records)
        for c in names
    }
    for i in hits:
        merged = companions.merge(npis[i], *(current[c][i] for c in names))
        for c, value in zip(names, merged):
            texts[c][i] = None if value is None else orjson.dumps(value).decode("utf-8")
    return records.with_arrays({c: pa.array(v, pa.string()) for c, v in texts.items()})
