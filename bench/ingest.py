"""NPPES ingest benchmark: rows/s and peak memory against a pyarrow.csv baseline.

    python -m bench.ingest --rows 1000000 [--postgis URL]

Writes a synthetic NPPES file in the current 330-column layout (the 10 real
sample rows repeated under fresh, valid NPIs), then, each in a fresh process:

* parses it with ``pyarrow.csv`` (streaming, all columns as strings): the
  baseline rate a columnar parser reaches on this machine;
* ingests it into an empty embedded database with ``service.ingest.ingest`` (batch,
  provenance, change detection, reject checks, one transaction), and again
  with the file doubled, reporting rows/s and the peak RSS of the loading
  process and of the reader process it forks for big files; the N-row file
  is also loaded a second time into its database ("reload": every row
  compared and unchanged);
* with ``--postgis``, the same ingest into PostgreSQL + PostGIS.

Targets (issue #3): >= 50,000 rows/s, peak RSS < 1.5 GB and flat when the file
doubles. The ratio printed is ingest rate / pyarrow parse rate.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "tests" / "fixtures" / "npidata_pfile_sample_first10_v2024layout.csv"

PARSE = """
import json, resource, sys, time
import pyarrow as pa, pyarrow.csv as pc
path = sys.argv[1]
with open(path, newline="") as fh:
    ncols = len(fh.readline().split('","'))
t = time.perf_counter()
reader = pc.open_csv(path, convert_options=pc.ConvertOptions(
    column_types={}, strings_can_be_null=False, auto_dict_encode=False),
    read_options=pc.ReadOptions(block_size=1 << 24))
rows = 0
for batch in reader:
    rows += batch.num_rows
dt = time.perf_counter() - t
print(json.dumps({"rows": rows, "seconds": dt,
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

INGEST = """
import json, resource, sys, time
from pathlib import Path
from core.settings import Settings
from service.context import open_context
from service.ingest.ingest import ingest_records
ctx = open_context(Settings(database_url=sys.argv[1], cache_dir=Path(sys.argv[3])))
t = time.perf_counter()
report = ingest_records(ctx, Path(sys.argv[2]), source="nppes")
dt = time.perf_counter() - t
print(json.dumps({"rows": report.rows_read, "inserted": report.inserted, "seconds": dt,
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "reader_peak_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}))
"""


def write_file(dst: Path, rows: int) -> Path:
    """``rows`` NPPES rows: the real sample repeated under fresh valid NPIs."""
    from core.identifiers import npi_check_digit

    with SAMPLE.open(newline="", encoding="utf-8") as fh:
        header, *sample = list(csv.reader(fh))
    with dst.open("w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh, quoting=csv.QUOTE_ALL)
        out.writerow(header)
        for i in range(rows):
            first9 = f"{100000000 + i}"
            out.writerow([first9 + npi_check_digit(first9), *sample[i % len(sample)][1:]])
    return dst


def child(code: str, *args: str) -> dict:
    proc = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, cwd=REPO, check=False
    )
    if proc.returncode != 0:
        raise SystemExit(proc.stderr[-3000:])
    return json.loads(proc.stdout.strip().splitlines()[-1])


def fresh_postgis(url: str) -> str:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    return url


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument(
        "--postgis", default=None, help="PostgreSQL + PostGIS URL (dropped and refilled)"
    )
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="prm-bench-ingest-"))
    print(f"NPPES ingest bench, workdir {work}")
    t = time.perf_counter()
    files = {n: write_file(work / f"npidata_pfile_{n}.csv", n) for n in (args.rows, 2 * args.rows)}
    os.sync()  # the loads do not share the disk with the write-back of 4 GB of test files
    print(
        f"  wrote {args.rows:,} and {2 * args.rows:,}-row files in {time.perf_counter() - t:.1f} s"
    )
    base = child(PARSE, str(files[args.rows]))
    base_rate = base["rows"] / base["seconds"]
    print(
        f"  pyarrow.csv parse        {base['rows']:>10,} rows {base['seconds']:8.2f} s "
        f"{base_rate:>12,.0f} rows/s  peak {base['peak_mb']:7.0f} MB"
    )
    targets = [("sqlite", lambda n: f"sqlite:///{work / f'bench-{n}.sqlite'}")]
    if args.postgis:
        targets.append(("postgis", lambda n: fresh_postgis(args.postgis)))
    for backend, url in targets:
        for n, path in files.items():
            runs = [("new", url(n))]
            if n == args.rows:
                runs.append(("reload", runs[0][1]))  # the same file again: every row unchanged
            for label, database in runs:
                got = child(INGEST, database, str(path), str(work / "cache"))
                rate = got["rows"] / got["seconds"]
                print(
                    f"  ingest {backend:<8} {label:<6} {got['rows']:>10,} rows {got['seconds']:8.2f} s "
                    f"{rate:>12,.0f} rows/s  peak {got['peak_mb']:7.0f} MB "
                    f"(+ reader process {got['reader_peak_mb']:5.0f} MB)  "
                    f"ratio to pyarrow {rate / base_rate:.3f}  (target 50,000 rows/s, < 1,500 MB)"
                )


if __name__ == "__main__":
    main()
