"""Random rows, good and poisoned, through every row reader into both backends, then the whole pipeline.

Each example writes one file per reader from rows of the real samples under
fresh keys, with some cells replaced: by random printable Unicode that fits
(up to exactly the column's length), which must load, or by poison (a NUL or
another control character inside text, or a value longer than the column it
is stored in or copied into), which must be rejected alone, naming the file,
the row and the column. Then ``run_pipeline`` must run without error and no
stored value may break the rule. The database is kept across examples, as a
service's is across loads.
"""

from __future__ import annotations

import csv
import io
import itertools
import os
import tempfile
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from core.identifiers import luhn_valid, npi_check_digit
from data.lengths import string_lengths
from data.models import ReferralEvent, SourceRecord
from enrichment.finess import STRUCTURE_FIELDS
from enrichment.records import FIELD_LIMITS, PAYLOAD_TEXT_LIMIT
from prospects.referrals import read_referral_events
from service.ingest.ingest import _results, ingest_records, ingest_referral_events
from service.pipeline import run_pipeline
from tests.enrichment.readers import combine_results
from tests.service.test_poison import ENRICHMENT, NPPES, SERVICE, assert_nothing_unstorable, lenient

pytestmark = pytest.mark.slow  # starts servers or processes, or fuzzes: see README

_serial = itertools.count(1)


@dataclass(frozen=True)
class Spec:
    """How to write rows for one reader: its sample, layout, key columns and the cells to vary."""

    source: str
    sample: Path
    delimiter: str
    keys: dict[str | int, str]  # column -> kind of fresh key ("npi", "id", "finess")
    cells: dict[str | int, int]  # column -> characters the stored field holds
    #: columns whose control characters the reader turns into spaces (NPPES other names, JSON only)
    spaced: frozenset[str | int] = frozenset()

    def at(self, head: list[str], column: str | int) -> int:
        return column if isinstance(column, int) else head.index(column)

    def named(self, column: str | int) -> str:
        """The column as a problem names it (FINESS fields by name, not position)."""
        return STRUCTURE_FIELDS[column] if isinstance(column, int) else column

    def fresh(self, head: list[str], row: list[str]) -> list[str]:
        """``row`` under fresh keys."""
        row = list(row)
        for column, kind in self.keys.items():
            n = next(_serial)
            row[self.at(head, column)] = (
                f"{990000000 + n}" + npi_check_digit(f"{990000000 + n}")
                if kind == "npi"
                else _finess(n)
                if kind == "finess"
                else f"P{n}"
            )
        return row


def _finess(n: int) -> str:
    """A FINESS number with its Luhn key right that no fixture file holds."""
    body = f"9{n:07d}"
    return body + next(d for d in "0123456789" if luhn_valid(body + d))


@cache
def template(name: str) -> tuple[list[str], list[list[str]]]:
    """The header of a spec's sample and its rows that load alone (the samples hold bad rows on purpose)."""
    spec = SPECS[name]
    with spec.sample.open(newline="", encoding="utf-8") as fh:
        head, *body = list(csv.reader(fh, delimiter=spec.delimiter))
    folder = Path(tempfile.mkdtemp(prefix="prm-poison-template-"))
    good = []
    for i, row in enumerate(body):
        path = write(spec, folder / f"{i}{spec.sample.suffix}", head, [spec.fresh(head, row)])[0]
        if name == "referral_events":
            loaded = len(read_referral_events(path).events)
        else:
            loaded = len(combine_results(_results(path, name, 100)).records)
        if loaded == 1:
            good.append(row)
    return head, good


SPECS = {
    "nppes": Spec(
        "nppes",
        NPPES,
        ",",
        {"NPI": "npi"},
        {
            "Provider Last Name (Legal Name)": FIELD_LIMITS["last_name"],
            "Provider First Name": FIELD_LIMITS["first_name"],
            "Provider Business Practice Location Address City Name": FIELD_LIMITS["city"],
            "Provider Other Organization Name": PAYLOAD_TEXT_LIMIT,
        },
        frozenset({"Provider Other Organization Name"}),
    ),
    "cms_dac": Spec(
        "cms_dac",
        ENRICHMENT / "cms_dac_current.csv",
        ",",
        {"NPI": "npi"},
        {
            "Provider First Name": FIELD_LIMITS["first_name"],
            "City/Town": FIELD_LIMITS["city"],
            "pri_spec": FIELD_LIMITS["specialty_text"],
            "Facility Name": PAYLOAD_TEXT_LIMIT,
        },
    ),
    "rpps": Spec(
        "rpps",
        ENRICHMENT / "PS_LibreAcces_Personne_activite_sample.txt",
        "|",
        {"Identification nationale PP": "id"},
        {
            "Prénom d'exercice": FIELD_LIMITS["first_name"],
            "Libellé commune (coord. structure)": FIELD_LIMITS["city"],
            "Raison sociale site": FIELD_LIMITS["organization_name"],
        },
    ),
    "finess": Spec(
        "finess",
        ENRICHMENT / "etalab-cs1100507-stock-sample.csv",
        ";",
        {1: "finess"},
        {
            4: FIELD_LIMITS["organization_name"],
            19: FIELD_LIMITS["specialty_text"],
            11: FIELD_LIMITS["address_2"],
        },
    ),
    "referrer_list": Spec(
        "referrer_list",
        SERVICE / "referrers_small.csv",
        ",",
        {"Referrer ID": "id"},
        {
            "Specialty": FIELD_LIMITS["specialty_text"],
            "Address": FIELD_LIMITS["address_1"],
        },
    ),
    "referral_events": Spec(
        "referral_events",
        SERVICE / "referrals_small.csv",
        ",",
        {"external_id": "id"},
        {
            c: string_lengths(ReferralEvent)[c]
            for c in ("referrer_name", "patient_ref", "service_line")
        },
    ),
}

_printable = st.characters(exclude_categories=("Cc", "Cs", "Zs", "Zl", "Zp"))


@st.composite
def good_text(draw, limit: int) -> str:
    """Printable Unicode that fits, the longest that fits included."""
    if draw(st.booleans()):
        return draw(st.sampled_from(["é", "北", "😀", "x"])) * limit
    return draw(st.text(alphabet=_printable, min_size=1, max_size=min(limit, 40)))


@st.composite
def poison(draw, limit: int) -> str:
    """Text that may not be stored: a control character inside, or one character too many (or far more)."""
    kind = draw(st.sampled_from(["control", "nul", "long"]))
    if kind == "long":
        return "x" * draw(st.sampled_from([limit + 1, limit + 7, 100_000]))
    char = "\x00" if kind == "nul" else draw(st.sampled_from([chr(c) for c in range(1, 0x20)]))
    left, right = (
        draw(st.text(alphabet=_printable, min_size=1, max_size=5)),
        draw(st.text(alphabet=_printable, min_size=1, max_size=5)),
    )
    return left + char + right


@st.composite
def planned_file(draw, name: str) -> tuple[list[list[str]], list[set[str | int]]]:
    """Rows for one file (fresh keys), and the columns of each whose value must be refused."""
    spec = SPECS[name]
    head, good = template(name)
    rows, refused = [], []
    for _ in range(draw(st.integers(1, 4))):
        row = spec.fresh(head, draw(st.sampled_from(good)))
        bad: set[str | int] = set()
        for column, limit in spec.cells.items():
            choice = draw(st.sampled_from(["keep", "good", "poison"]))
            if choice == "good":
                row[spec.at(head, column)] = draw(good_text(limit))
            elif choice == "poison":
                value = row[spec.at(head, column)] = draw(poison(limit))
                if len(value) > limit or column not in spec.spaced:
                    bad.add(column)
        rows.append(row)
        refused.append(bad)
    return rows, refused


def write(spec: Spec, path: Path, head: list[str], rows: list[list[str]]) -> tuple[Path, list[int]]:
    """Write the file; return it and the physical line each row starts on (breaks inside values count)."""
    out = io.StringIO(newline="")
    # every field quoted: a lone CR outside quotes is a CSV syntax error that refuses the whole file
    writer = csv.writer(out, delimiter=spec.delimiter, lineterminator="\n", quoting=csv.QUOTE_ALL)
    writer.writerow(head)
    starts = []
    for row in rows:
        starts.append(1 + out.getvalue().count("\n"))
        writer.writerow(row)
    path.write_text(out.getvalue(), encoding="utf-8", newline="")
    return path, starts


#: Examples per backend: few in the suite (each runs the pipeline); POISON_EXAMPLES=60 for a deeper search.
EXAMPLES = int(os.environ.get("POISON_EXAMPLES", "5"))


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    print_blob=True,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
@given(files=st.fixed_dictionaries({name: planned_file(name) for name in SPECS}))
def test_random_rows_through_every_reader_then_the_pipeline(ctx, tmp_path, files) -> None:
    lenient(ctx)
    folder = tmp_path / f"example{next(_serial)}"
    folder.mkdir()
    for name, (rows, refused) in files.items():
        spec = SPECS[name]
        path, starts = write(spec, folder / f"{name}{spec.sample.suffix}", template(name)[0], rows)
        table = ReferralEvent if name == "referral_events" else SourceRecord
        with ctx.sessions() as s:
            before = s.scalar(select(func.count()).select_from(table))
        if name == "referral_events":
            report = ingest_referral_events(ctx, path)
        else:
            report = ingest_records(ctx, path, source=name)
        expect = {(line, spec.named(c)) for line, bad in zip(starts, refused) for c in bad}
        assert {(p["line"], p["field"]) for p in report.rejects} == expect, (name, report.rejects)
        assert all(p["file"] == path.name for p in report.rejects)
        clean = sum(1 for bad in refused if not bad)
        assert report.inserted == clean, (name, report)
        with ctx.sessions() as s:
            assert s.scalar(select(func.count()).select_from(table)) - before == clean
    run_pipeline(ctx)
    assert_nothing_unstorable(ctx)
