"""Column-at-a-time NPPES row parsing: Arrow string columns to standard source records.

The one implementation of the NPPES row rules (:func:`enrichment.nppes.iter_nppes`
runs it on every chunk): text stripped exactly as :meth:`str.strip` does,
blank as ``None``; NPI and replacement NPI checked (ten ASCII digits, Luhn with
the ``80840`` prefix); ``MM/DD/YYYY`` dates checked for real calendar dates;
the entity type required unless the NPI is deactivated; the primary taxonomy
taken from the slot whose switch is ``Y`` (a row with none, or several, has
it chosen by rule and counted in a ``primary_taxonomy_guessed`` warning); a
phone number that is not a valid one of the practice's country, or a US ZIP
code that cannot be read, left blank and counted in a ``values_dropped``
warning; every stored value free of control
characters and no longer than its column (:func:`core.safetext.faulty_rows`
on whole columns). A row with any fault is rejected with every fault named
(file, line, column, value). Work is done on whole
columns with :mod:`pyarrow.compute` and NumPy; only the rare cells that need
it (other identifiers, rejects) are visited in Python.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from core.errors import Problem
from core.notices import PRIMARY_TAXONOMY_GUESSED, VALUES_DROPPED, LoadWarning
from core.safetext import faulty_rows, refused, text_fault
from enrichment.arrow_text import (
    clean,
    normalize_phones,
    parse_dates,
    us_postal_codes,
    valid_npis,
)
from enrichment.nppes_layout import TAXONOMY_SLOTS
from enrichment.record_columns import (
    RecordColumns,
    control_character_rows,
    json_strings,
    with_affixes,
)
from enrichment.records import FIELD_LIMITS, PAYLOAD_TEXT_LIMIT

DATE_FIELDS = {
    "enumeration_date": "Provider Enumeration Date",
    "last_update_date": "Last Update Date",
    "deactivation_date": "NPI Deactivation Date",
    "reactivation_date": "NPI Reactivation Date",
}
TEXT_FIELDS = {
    "name_prefix": "Provider Name Prefix Text",
    "first_name": "Provider First Name",
    "middle_name": "Provider Middle Name",
    "last_name": "Provider Last Name (Legal Name)",
    "name_suffix": "Provider Name Suffix Text",
    "credential": "Provider Credential Text",
    "organization_name": "Provider Organization Name (Legal Business Name)",
    "address_1": "Provider First Line Business Practice Location Address",
    "address_2": "Provider Second Line Business Practice Location Address",
    "city": "Provider Business Practice Location Address City Name",
    "state": "Provider Business Practice Location Address State Name",
}
POSTAL = "Provider Business Practice Location Address Postal Code"
PHONE = "Provider Business Practice Location Address Telephone Number"
COUNTRY = "Provider Business Practice Location Address Country Code (If outside U.S.)"
EIN = "Employer Identification Number (EIN)"
OTHER_ORG_NAME = "Provider Other Organization Name"
OTHER_ORG_TYPE = "Provider Other Organization Name Type Code"
GENDER_COLUMNS = ("Provider Sex Code", "Provider Gender Code")
OTHER_ID_SLOTS = 50
OTHER_ID_FIELDS = {
    "identifier": "Other Provider Identifier_{}",
    "type_code": "Other Provider Identifier Type Code_{}",
    "state": "Other Provider Identifier State_{}",
    "issuer": "Other Provider Identifier Issuer_{}",
}
#: Column names of each "Other Provider Identifier" slot.
OTHER_ID_COLUMNS: tuple[dict[str, str], ...] = tuple(
    {key: column.format(i) for key, column in OTHER_ID_FIELDS.items()}
    for i in range(1, OTHER_ID_SLOTS + 1)
)
TAXONOMY_CODES = tuple(
    f"Healthcare Provider Taxonomy Code_{i}" for i in range(1, TAXONOMY_SLOTS + 1)
)
TAXONOMY_SWITCHES = tuple(
    f"Healthcare Provider Primary Taxonomy Switch_{i}" for i in range(1, TAXONOMY_SLOTS + 1)
)
_ENTITY_TYPES = {"1": "individual", "2": "organization"}
_NULL = pa.scalar(None, pa.string())


def nppes_columns(header: Sequence[str]) -> list[str]:
    """The columns of an NPPES header (either layout) the parser reads."""
    wanted = [
        "NPI",
        "Entity Type Code",
        "Replacement NPI",
        *DATE_FIELDS.values(),
        *TEXT_FIELDS.values(),
        POSTAL,
        PHONE,
        COUNTRY,
        EIN,
        OTHER_ORG_NAME,
        OTHER_ORG_TYPE,
        *GENDER_COLUMNS,
        *TAXONOMY_CODES,
        *TAXONOMY_SWITCHES,
        *(c for slot in OTHER_ID_COLUMNS for c in slot.values()),
    ]
    present = set(header)
    return [c for c in wanted if c in present]


# -- the parser ----------------------------------------------------------------------------------


def parse_nppes_table(
    table: pa.Table,
    lines: np.ndarray,
    *,
    file: str | None = None,
    warnings: list[LoadWarning] | None = None,
) -> tuple[RecordColumns, list[Problem]]:
    """Parse NPPES rows held as Arrow string columns into standard source records.

    Parameters
    ----------
    table
        The columns :func:`nppes_columns` names, as strings (null or ``""`` for blank).
    lines
        Physical line each row starts on.
    file
        File name used in problem reports.
    warnings
        Receives the chunk's warnings about accepted rows (primary taxonomy
        chosen by rule, values left blank), each with its count.

    Returns
    -------
    tuple
        The accepted rows as standard source records (columns), and one
        problem per fault of each rejected row.
    """
    n = table.num_rows
    lines = np.asarray(lines, dtype=np.int64)
    if len(lines) != n:
        raise ValueError(f"lines has {len(lines)} entries for {n} rows")
    other_id_columns = {c for slot in OTHER_ID_COLUMNS for c in slot.values()}
    # other-identifier slots are nearly all blank: kept raw, cleaned where filled (_identifiers)
    table = table.combine_chunks()
    col = {
        name: (
            _array(table.column(name))
            if name in other_id_columns
            else clean(_array(table.column(name)))
        )
        for name in table.column_names
    }
    blank = pa.nulls(n, pa.string())
    get = lambda name: col.get(name, blank)  # noqa: E731

    faults: list[tuple[np.ndarray, str, str]] = []  # (row mask, message, column)
    npi = get("NPI")
    npi_present = pc.is_valid(npi).to_numpy(zero_copy_only=False)
    npi_ok = valid_npis(npi)
    faults.append((~npi_present, "NPI is missing", "NPI"))
    faults.append((npi_present & ~npi_ok, "NPI is not 10 digits with a valid check digit", "NPI"))

    dates: dict[str, pa.Array] = {}
    bad_date: dict[str, np.ndarray] = {}
    for key, column in DATE_FIELDS.items():
        dates[key], bad_date[key] = parse_dates(get(column))
        faults.append((bad_date[key], "malformed date (expected MM/DD/YYYY)", column))

    raw_type = get("Entity Type Code")
    type_present = pc.is_valid(raw_type).to_numpy(zero_copy_only=False)
    type_known = pc.fill_null(pc.is_in(raw_type, pa.array(list(_ENTITY_TYPES))), False).to_numpy(
        zero_copy_only=False
    )
    deact_given = pc.is_valid(dates["deactivation_date"]).to_numpy(zero_copy_only=False)
    faults.append(
        (
            ~type_present & ~deact_given & ~bad_date["deactivation_date"],
            "Entity Type Code is empty on an NPI that is not deactivated",
            "Entity Type Code",
        )
    )
    faults.append(
        (type_present & ~type_known, "Entity Type Code must be 1 or 2", "Entity Type Code")
    )

    replacement = get("Replacement NPI")
    faults.append(
        (
            pc.is_valid(replacement).to_numpy(zero_copy_only=False) & ~valid_npis(replacement),
            "Replacement NPI is not a valid NPI",
            "Replacement NPI",
        )
    )

    bad = np.zeros(n, dtype=bool)
    for mask, _, _ in faults:
        bad |= mask
    records = _records(col, dates, lines, n)
    unstorable = _unstorable(records, col, lines, file)
    bad[[i for i, _ in unstorable]] = True
    problems = _problems(faults, col, lines, file, unstorable)
    if warnings is not None:
        warnings.extend(_value_warnings(col, records, ~bad, file))
    if bad.any():
        records = records.take(np.flatnonzero(~bad))
    return records, problems


def _value_warnings(
    col: dict[str, pa.Array], records: RecordColumns, kept: np.ndarray, file: str | None
) -> list[LoadWarning]:
    """The warnings of the accepted rows: primary taxonomy chosen by rule, values left blank."""
    out: list[LoadWarning] = []
    none, several = _switch_counts(col, len(kept))
    for mask, message in (
        (none & kept, "no primary taxonomy switch 'Y': the only code, else slot 1's, taken"),
        (several & kept, "several primary taxonomy switches 'Y': the first flagged slot's taken"),
    ):
        out += _counted(PRIMARY_TAXONOMY_GUESSED, message, "NPI", col["NPI"], mask, file)
    for field, column, message in (
        ("phone", PHONE, "not a valid phone number of the practice's country (left blank)"),
        ("postal_code", POSTAL, "not a US ZIP code (left blank)"),
    ):
        if column not in col:
            continue
        dropped = _mask(pc.is_valid(col[column])) & ~_mask(pc.is_valid(records.arrays[field]))
        out += _counted(VALUES_DROPPED, message, column, col[column], dropped & kept, file)
    return out


def _switch_counts(col: dict[str, pa.Array], n: int) -> tuple[np.ndarray, np.ndarray]:
    """Rows with taxonomy codes but no switch ``Y``, and rows with more than one."""
    codes = np.zeros(n, dtype=np.int64)
    flags = np.zeros(n, dtype=np.int64)
    for code, switch in zip(TAXONOMY_CODES, TAXONOMY_SWITCHES):
        if code in col:
            has = _mask(pc.is_valid(col[code]))
            codes += has
            if switch in col:
                flags += has & _mask(pc.equal(pc.utf8_upper(col[switch]), "Y"))
    return (codes > 0) & (flags == 0), flags > 1


def _counted(
    code: str, message: str, column: str, values: pa.Array, mask: np.ndarray, file: str | None
) -> list[LoadWarning]:
    count = int(mask.sum())
    if not count:
        return []
    shown = pc.take(values, pa.array(np.flatnonzero(mask)[:5])).to_pylist()
    return [
        LoadWarning(
            code=code,
            message=f"{column}: {message}",
            file=file,
            columns=(column,),
            count=count,
            examples=tuple(str(v) for v in shown),
        )
    ]


#: Standard field -> the column its value is read from (named in the problems of refused values).
_READ_FROM = {
    **TEXT_FIELDS,
    "postal_code": POSTAL,
    "phone": PHONE,
    "country": COUNTRY,
    "npi": "NPI",
    "source_key": "NPI",
    "replacement_npi": "Replacement NPI",
}


def _unstorable(
    records: RecordColumns,
    col: dict[str, pa.Array],
    lines: np.ndarray,
    file: str | None,
) -> list[tuple[int, Problem]]:
    """``(row, problem)`` of every value that may not be stored (:func:`core.safetext.text_fault`).

    The record's own text columns are checked as they would be stored, the
    taxonomy slots one by one (the primary code is one of them), and the
    cells that go into ``identifiers`` for length (their control characters
    become spaces). Whole columns are scanned; only failing cells are visited.
    """
    names = {
        **_READ_FROM,
        "gender": next((c for c in GENDER_COLUMNS if c in col), GENDER_COLUMNS[0]),
    }
    checks = [(col[c], c, FIELD_LIMITS["taxonomy_code"]) for c in TAXONOMY_CODES if c in col]
    checks += [
        (array, names.get(field, field), FIELD_LIMITS.get(field, PAYLOAD_TEXT_LIMIT))
        for field, array in records.arrays.items()
        if pa.types.is_string(array.type) and field not in ("identifiers", "taxonomy_code")
    ]
    found = []
    for array, column, limit in checks:
        for i in faulty_rows(array, max_length=limit).tolist():
            value = array[i].as_py()
            found.append(
                (
                    i,
                    refused(
                        value,
                        text_fault(value, max_length=limit) or "",
                        file=file,
                        line=int(lines[i]),
                        field=column,
                    ),
                )
            )
    for column in [
        *(c for slot in OTHER_ID_COLUMNS for c in slot.values()),
        OTHER_ORG_NAME,
        OTHER_ORG_TYPE,
    ]:
        if column not in col:
            continue
        raw = col[column]
        offsets = np.frombuffer(raw.buffers()[1], dtype=np.int32)[
            raw.offset : raw.offset + len(raw) + 1
        ]
        if (
            offsets[-1] - offsets[0] <= PAYLOAD_TEXT_LIMIT
        ):  # the column as a whole is shorter: nothing to do
            continue
        long = np.flatnonzero(np.diff(offsets) > PAYLOAD_TEXT_LIMIT)
        if len(long):
            cells = _identifier_cell(pc.take(raw, pa.array(long)), len(long))
            for i in long[faulty_rows(cells, max_length=PAYLOAD_TEXT_LIMIT)].tolist():
                value = _identifier_cell(raw.slice(i, 1), 1)[0].as_py()
                found.append(
                    (
                        i,
                        refused(
                            value,
                            text_fault(value, max_length=PAYLOAD_TEXT_LIMIT) or "",
                            file=file,
                            line=int(lines[i]),
                            field=column,
                        ),
                    )
                )
    return found


def _problems(
    faults: list[tuple[np.ndarray, str, str]],
    col: dict[str, pa.Array],
    lines: np.ndarray,
    file: str | None,
    unstorable: list[tuple[int, Problem]],
) -> list[Problem]:
    """Every fault of every rejected row, in line order then check order (refused values last)."""
    found: list[tuple[int, int, Problem]] = []
    for order, (mask, message, column) in enumerate(faults):
        for i in np.flatnonzero(mask):
            value = col[column][int(i)].as_py() if column in col else None
            found.append(
                (
                    int(i),
                    order,
                    Problem(message, file=file, line=int(lines[i]), field=column, value=value),
                )
            )
    found.extend((i, len(faults), problem) for i, problem in unstorable)
    found.sort(key=lambda t: (t[0], t[1]))
    return [p for _, _, p in found]


def _records(
    col: dict[str, pa.Array], dates: dict[str, pa.Array], lines: np.ndarray, n: int
) -> RecordColumns:
    blank = pa.nulls(n, pa.string())
    get = lambda name: col.get(name, blank)  # noqa: E731

    npi = get("NPI")
    codes = [get(c) for c in TAXONOMY_CODES]
    switches = [get(c) for c in TAXONOMY_SWITCHES]
    country = pc.utf8_upper(pc.fill_null(get(COUNTRY), "US"))
    postal = get(POSTAL)
    gender = get(GENDER_COLUMNS[0])
    for other in GENDER_COLUMNS[1:]:
        gender = pc.coalesce(gender, get(other))
    deactivated, reactivated = dates["deactivation_date"], dates["reactivation_date"]
    entity = get("Entity Type Code")
    arrays: dict[str, pa.Array] = {
        "source": pa.array(["nppes"] * n, pa.string()),
        "source_key": npi,
        "line": pa.array(lines, pa.int64()),
        "npi": npi,
        "entity_type": pc.if_else(
            pc.equal(entity, "1"),
            "individual",
            pc.if_else(pc.equal(entity, "2"), "organization", _NULL),
        ),
        **{key: get(column) for key, column in TEXT_FIELDS.items()},
        "gender": pc.utf8_upper(gender),
        "taxonomy_code": _primary_taxonomy(codes, switches),
        "taxonomy_codes": _joined(codes, ";"),
        "postal_code": pc.if_else(pc.equal(country, "US"), us_postal_codes(postal), postal),
        "phone": normalize_phones(get(PHONE), country),
        **dates,
        "replacement_npi": get("Replacement NPI"),
        "is_active": pc.or_kleene(
            pc.is_null(deactivated), pc.fill_null(pc.greater_equal(reactivated, deactivated), False)
        ),
        "country": country,
    }
    arrays = {
        k: (v.combine_chunks() if isinstance(v, pa.ChunkedArray) else v) for k, v in arrays.items()
    }
    arrays["identifiers"] = _identifiers(col, n)
    return RecordColumns(arrays, {}, n)


def _joined(columns: list[pa.Array], separator: str) -> pa.Array:
    """The non-null values of each row joined by ``separator`` (null when there are none).

    (``binary_join_element_wise(null_handling="skip")`` returns an empty array
    when every input is all-null, so blanks are joined and squeezed out instead.)
    """
    n = len(columns[0])
    columns = [c for c in columns if c.null_count < n]  # most slots are empty in every row
    if not columns:
        return pa.nulls(n, pa.string())
    text = pc.binary_join_element_wise(*[pc.fill_null(c, "") for c in columns], separator)
    text = pc.replace_substring_regex(text, f"{separator}{{2,}}", separator)
    return clean(pc.utf8_trim(text, characters=separator))


def _primary_taxonomy(codes: list[pa.Array], switches: list[pa.Array]) -> pa.Array:
    """The code whose switch is ``Y``; else the only code; else slot 1's."""
    chosen = pa.nulls(len(codes[0]), pa.string())
    for code, switch in zip(codes, switches):
        flagged = pc.fill_null(pc.equal(pc.utf8_upper(switch), "Y"), False)
        chosen = pc.coalesce(
            chosen,
            pc.if_else(pc.and_(flagged, pc.is_valid(code)), code, pa.scalar(None, pa.string())),
        )
    count = np.zeros(len(codes[0]), dtype=np.int64)
    for c in codes:
        count += pc.is_valid(c).to_numpy(zero_copy_only=False)
    fallback = pc.if_else(pa.array(count == 1), pc.coalesce(*codes), codes[0])
    return pc.coalesce(chosen, fallback)


def _identifiers(col: dict[str, pa.Array], n: int) -> pa.Array:
    """The ``identifiers`` JSON of each row (null when it has none), built column-wise.

    Holds the EIN (well-formed only), the filled "Other Provider Identifier"
    slots in slot order, and the other organisation name; the text is what
    :func:`orjson.dumps` writes for the same dict. Control characters inside
    these cells become spaces.
    """
    parts: list[tuple[pa.Array, np.ndarray]] = []
    if EIN in col:
        ein = col[EIN]
        ok = pc.fill_null(pc.match_substring_regex(ein, r"^[0-9]{2}-?[0-9]{7}$"), False)
        parts.append((json_strings(ein, '"ein":'), _mask(ok)))
    other = _other_identifiers(col, n)
    if other is not None:
        listed, has = other
        parts.append((with_affixes(listed, '"other":[', "]"), has))
    if OTHER_ORG_NAME in col:
        name = _identifier_cell(col[OTHER_ORG_NAME], n)
        kind = _identifier_cell(col.get(OTHER_ORG_TYPE), n)
        fragment = pc.binary_join_element_wise(
            json_strings(name, '"other_names":[{"name":'),
            json_strings(kind, ',"type_code":'),
            "}]",
            "",
        )
        parts.append((fragment, _mask(pc.is_valid(name))))
    if not parts:
        return pa.nulls(n, pa.string())
    body, has = _join_present(parts)  # ",a,b": the first comma becomes the brace
    return pc.if_else(
        pa.array(has), with_affixes(pc.binary_replace_slice(body, 0, 1, "{"), "", "}"), _NULL
    )


def _other_identifiers(col: dict[str, pa.Array], n: int) -> tuple[pa.Array, np.ndarray] | None:
    """Each row's filled "Other Provider Identifier" slots as JSON objects joined by commas.

    Returns the joined text (``""`` for a row with none) and whether the row
    has any, or ``None`` when no row has one. Only filled cells are visited:
    the filled slots of all rows are gathered into one long array per field,
    cleaned and serialised once, then put back in (row, slot) order.
    """
    rows_of: list[np.ndarray] = []
    fields: dict[str, list[pa.Array]] = {key: [] for key in OTHER_ID_FIELDS}
    for columns in OTHER_ID_COLUMNS:
        ident = col.get(columns["identifier"])
        if ident is None:
            continue
        rows = np.flatnonzero(_nonempty(ident))
        if not len(rows):
            continue
        at = pa.array(rows)
        rows_of.append(rows)
        for key, name in columns.items():
            column = col.get(name)
            fields[key].append(
                pa.nulls(len(rows), pa.string()) if column is None else pc.take(column, at)
            )
    if not rows_of:
        return None
    row = np.concatenate(rows_of)
    values = {
        key: _identifier_cell(pa.concat_arrays(parts), len(row)) for key, parts in fields.items()
    }
    present = np.flatnonzero(_mask(pc.is_valid(values["identifier"])))
    if not len(present):
        return None
    order = present[np.argsort(row[present], kind="stable")]  # by row; slots stay in slot order
    entry = pc.binary_join_element_wise(
        json_strings(values["identifier"], '{"identifier":'),
        json_strings(values["type_code"], ',"type_code":'),
        json_strings(values["state"], ',"state":'),
        with_affixes(json_strings(values["issuer"], ',"issuer":'), "", "}"),
        "",
    )
    counts = np.bincount(row[order], minlength=n)
    offsets = np.zeros(n + 1, dtype=np.int32)
    np.cumsum(counts, out=offsets[1:])
    listed = pa.ListArray.from_arrays(pa.array(offsets), pc.take(entry, pa.array(order)))
    return pc.binary_join(listed, ","), counts > 0


def _nonempty(column: pa.Array) -> np.ndarray:
    """Whether each string is non-null and not ``""`` (from the offsets when nothing is null)."""
    if column.null_count or not pa.types.is_string(column.type):
        return _mask(pc.not_equal(column, ""))
    offsets = np.frombuffer(column.buffers()[1], dtype=np.int32)[
        column.offset : column.offset + len(column) + 1
    ]
    return np.diff(offsets) > 0


def _identifier_cell(column: pa.Array | None, n: int) -> pa.Array:
    """A cleaned identifier cell; control characters become spaces."""
    if column is None:
        return pa.nulls(n, pa.string())
    text = clean(column)
    if len(control_character_rows(text)):
        text = clean(pc.replace_substring_regex(text, r"[\x00-\x1f]", " "))
    return text


def _join_present(parts: list[tuple[pa.Array, np.ndarray]]) -> tuple[pa.Array, np.ndarray]:
    """Each row's present fragments, each after a comma, in one text; and whether the row had any."""
    n = len(parts[0][1])
    had = np.zeros(n, dtype=bool)
    pieces = []
    for fragment, present in parts:
        pieces.append(pc.if_else(pa.array(present), with_affixes(fragment, ","), ""))
        had |= present
    return pc.binary_join_element_wise(*pieces, ""), had


def _array(column: pa.Array | pa.ChunkedArray) -> pa.Array:
    return column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column


def _mask(values: pa.Array) -> np.ndarray:
    return pc.fill_null(values, False).to_numpy(zero_copy_only=False).astype(bool)
