"""Column-wise NPPES rules agree with their scalar definitions; payloads with orjson's."""

from __future__ import annotations

import hashlib

import numpy as np
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from core.country import normalize_phone, normalize_postal_code
from core.identifiers import luhn_npi_valid, npi_check_digit
from enrichment.arrow_text import (
    clean,
    normalize_phones,
    parse_dates,
    us_postal_codes,
    valid_npis,
)
from enrichment.nppes import parse_nppes_date
from enrichment.record_columns import RecordColumns
from enrichment.records import clean_text, record_payload_bytes

_any_text = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=14)


def _strings(values):
    return pa.array(values, pa.string())


@given(st.lists(st.one_of(st.none(), _any_text), max_size=20))
def test_clean_is_str_strip(values):
    assert clean(_strings(values)).to_pylist() == [clean_text(v) for v in values]


@given(
    st.lists(
        st.one_of(
            st.from_regex(r"[0-9]{9}", fullmatch=True).map(lambda s: s + npi_check_digit(s)),
            st.from_regex(r"[0-9]{10}", fullmatch=True),
            _any_text,
        ),
        max_size=20,
    )
)
def test_valid_npis_is_luhn_npi_valid(values):
    cleaned = clean(_strings(values))
    expect = [v is not None and luhn_npi_valid(v) for v in cleaned.to_pylist()]
    assert valid_npis(cleaned).tolist() == expect


def _date_or_error(value):
    try:
        return parse_nppes_date(value), False
    except ValueError:
        return None, True


_date_text = st.one_of(
    st.dates().map(lambda d: d.strftime("%m/%d/%Y").lstrip("0")),
    st.from_regex(r"[0-9]{1,2}/[0-9]{1,2}/[0-9]{4}", fullmatch=True),
    _any_text,
)


@settings(max_examples=150)
@given(st.lists(_date_text, max_size=20))
def test_parse_dates_is_parse_nppes_date(values):
    cleaned = clean(_strings(values))
    dates, bad = parse_dates(cleaned)
    expect = [_date_or_error(v) for v in cleaned.to_pylist()]
    assert dates.to_pylist() == [d for d, _ in expect]
    assert bad.tolist() == [e for _, e in expect]


_phone = st.one_of(
    st.from_regex(
        r"\+?1? ?\(?[0-9]{3}\)?[ .-]?[0-9]{3}-[0-9]{4}( ext\. ?[0-9]{1,4})?", fullmatch=True
    ),
    _any_text,
)


@given(st.lists(_phone, max_size=20))
def test_normalize_phones_is_normalize_phone(values):
    cleaned = clean(_strings(values))
    assert normalize_phones(cleaned).to_pylist() == [
        normalize_phone(v) if v else None for v in cleaned.to_pylist()
    ]


@given(
    st.lists(
        st.one_of(st.from_regex(r"[0-9]{5}(-?[0-9]{4})?", fullmatch=True), _any_text), max_size=20
    )
)
def test_us_postal_codes_is_normalize_postal_code(values):
    cleaned = clean(_strings(values))
    expect = [normalize_postal_code(v, country="US") if v else None for v in cleaned.to_pylist()]
    assert us_postal_codes(cleaned).to_pylist() == expect


_json_text = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=10)


@settings(max_examples=120, deadline=None)
@given(names=st.lists(st.one_of(st.none(), _json_text), min_size=1, max_size=8), data=st.data())
def test_payloads_are_orjson_payloads(names, data):
    n = len(names)
    cities = data.draw(st.lists(st.one_of(st.none(), _json_text), min_size=n, max_size=n))
    days = data.draw(
        st.lists(st.one_of(st.none(), st.integers(-700000, 2900000)), min_size=n, max_size=n)
    )
    active = data.draw(st.lists(st.booleans(), min_size=n, max_size=n))
    ids = data.draw(
        st.lists(
            st.one_of(st.none(), st.fixed_dictionaries({"ein": _json_text})), min_size=n, max_size=n
        )
    )
    import orjson

    columns = RecordColumns(
        {
            "first_name": _strings(names),
            "city": _strings(cities),
            "enumeration_date": pa.array(days, pa.int32()).cast(pa.date32()),
            "is_active": pa.array(active),
            "line": pa.array(np.arange(n) + 2),
            "identifiers": _strings([None if d is None else orjson.dumps(d).decode() for d in ids]),
        },
        {},
        n,
    )
    frame = columns.to_frame(hashes=False)
    expect = [record_payload_bytes(row) for row in frame.to_dict("records")]
    assert [p.encode() for p in columns.payloads().to_pylist()] == expect
    assert columns.record_hashes() == [hashlib.sha256(p).hexdigest() for p in expect]
    assert [orjson.loads(p) for p in columns.payloads().to_pylist()] == [
        orjson.loads(p) for p in expect
    ]


@settings(max_examples=60, deadline=None)
@given(
    issuer=_any_text,
    state=_any_text,
    other_name=_any_text,
    ein=st.sampled_from(["12-3456789", "<UNAVAIL>", ""]),
)
def test_identifiers_built_in_arrow_are_orjson_dicts(issuer, state, other_name, ein):
    from enrichment.nppes_columns import parse_nppes_table

    row = {
        "NPI": "1234567893",
        "Entity Type Code": "2",
        "Employer Identification Number (EIN)": ein,
        "Other Provider Identifier_1": "",
        "Other Provider Identifier Issuer_1": "ignored",
        "Other Provider Identifier_2": "A1",
        "Other Provider Identifier Type Code_2": "05",
        "Other Provider Identifier State_2": state,
        "Other Provider Identifier Issuer_2": issuer,
        "Other Provider Identifier_3": " B\\2 ",
        "Provider Other Organization Name": other_name,
        "Provider Other Organization Name Type Code": "3",
    }
    table = pa.table({k: _strings([v]) for k, v in row.items()})
    columns, problems = parse_nppes_table(table, np.array([2]))
    assert problems == []
    (ids,) = columns.column("identifiers")

    def cell(v):
        v = "".join(" " if ord(c) < 32 else c for c in v)
        return clean_text(v)

    expect = {}
    if ein == "12-3456789":
        expect["ein"] = ein
    expect["other"] = [
        {"identifier": "A1", "type_code": "05", "state": cell(state), "issuer": cell(issuer)},
        {"identifier": "B\\2", "type_code": None, "state": None, "issuer": None},
    ]
    if cell(other_name) is not None:
        expect["other_names"] = [{"name": cell(other_name), "type_code": "3"}]
    assert ids == expect
    frame = columns.to_frame(hashes=False)
    assert columns.payloads().to_pylist()[0].encode() == record_payload_bytes(
        frame.iloc[0].to_dict()
    )


_slot_text = st.one_of(
    st.just(""), st.just("  "), st.sampled_from(["05", "MEDICAID", "\x01", ' a"b ']), _any_text
)


@settings(max_examples=80, deadline=None)
@given(
    st.lists(
        st.dictionaries(
            st.integers(1, 6), st.tuples(_slot_text, _slot_text, _slot_text, _slot_text), max_size=6
        ),
        min_size=1,
        max_size=7,
    )
)
def test_other_identifiers_of_many_rows_are_the_scalar_rule(rows):
    """Rows with different filled slots: each row's ``other`` list is its own filled slots in slot order."""
    import orjson

    from enrichment.nppes_columns import OTHER_ID_COLUMNS, parse_nppes_table

    def cell(v):
        return clean_text("".join(" " if ord(c) < 32 else c for c in v))

    n = len(rows)
    data = {"NPI": ["1234567893"] * n, "Entity Type Code": ["1"] * n}
    for slot in range(1, 7):
        for k, key in enumerate(("identifier", "type_code", "state", "issuer")):
            data[OTHER_ID_COLUMNS[slot - 1][key]] = [r.get(slot, ("",) * 4)[k] for r in rows]
    table = pa.table({k: _strings(v) for k, v in data.items()})
    columns, problems = parse_nppes_table(table, np.arange(n) + 2)
    assert problems == []
    expect = []
    for r in rows:
        other = [
            dict(zip(("identifier", "type_code", "state", "issuer"), map(cell, r[s])))
            for s in sorted(r)
            if cell(r[s][0]) is not None
        ]
        expect.append({"other": other} if other else None)
    assert columns.column("identifiers") == expect
    frame = columns.to_frame(hashes=False)
    assert [p.encode() for p in columns.payloads().to_pylist()] == [
        record_payload_bytes(x) for x in frame.to_dict("records")
    ]
    assert [None if e is None else orjson.dumps(e) for e in expect] == [
        None if v is None else v.encode() for v in columns.arrays["identifiers"].to_pylist()
    ]


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.one_of(
                st.none(),
                st.sampled_from(["\x00", '"\x00', '\x00"', '\\"\x00', "\x00\x00", "a\x1fb"]),
                _json_text,
            ),
            st.one_of(st.none(), _json_text),
        ),
        min_size=1,
        max_size=6,
    )
)
def test_payloads_with_nulls_beside_control_characters_are_orjson_payloads(rows):
    """Null text is written through a control-byte sentinel: real control bytes must still come out as orjson's."""
    n = len(rows)
    columns = RecordColumns(
        {
            "first_name": _strings([a for a, _ in rows]),
            "city": _strings([b for _, b in rows]),
            "line": pa.array(np.arange(n) + 2),
            "is_active": pa.array([True] * n),
        },
        {},
        n,
    )
    frame = columns.to_frame(hashes=False)
    expect = [record_payload_bytes(row) for row in frame.to_dict("records")]
    assert [p.encode() for p in columns.payloads().to_pylist()] == expect


@given(
    st.lists(st.one_of(st.none(), st.sampled_from(["", " ", "x"]), _any_text), max_size=20),
    st.integers(0, 3),
)
def test_clean_of_a_slice_is_str_strip(values, start):
    array = _strings(values).slice(min(start, len(values)))
    assert clean(array).to_pylist() == [clean_text(v) for v in values[min(start, len(values)) :]]
    from enrichment.arrow_text import blank_to_null

    assert blank_to_null(array).to_pylist() == [
        None if v is None or v == "" else v for v in values[min(start, len(values)) :]
    ]
