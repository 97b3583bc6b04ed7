"""``prm ingest ...``, ``prm batches list`` and ``prm db upgrade``: loading source files."""

from __future__ import annotations

import json
from datetime import UTC
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from cli.common import FileArg, _context, _data_context, _fail, _path, _run, _show, err, out
from cli.progress import rich_progress
from core.errors import InputError, Problem

ingest_app = typer.Typer(help="Load source files (each load is a batch).", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
batches_app = typer.Typer(
    help="Load batches: what was loaded, by whom, and how it ended.", no_args_is_help=True
)
app = typer.Typer()
app.add_typer(ingest_app, name="ingest")
app.add_typer(batches_app, name="batches")
app.add_typer(db_app, name="db")


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the schema to the latest revision."""
    from data.db import current_revision

    ctx = _run(_context)
    out.print(f"schema at revision {current_revision(ctx.engine)}")


@batches_app.command("list")
def batches_list(
    status: Annotated[
        str | None,
        typer.Option(
            help="Only batches in this status: running, committed, failed or interrupted."
        ),
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000, help="Newest batches shown.")] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="JSON instead of a table.")] = False,
) -> None:
    """Batches, newest first: status (interrupted: its process stopped mid-load), owner, times."""
    from typing import get_args

    from service.ingest.batches import list_batches
    from service.schemas import BatchStatus

    if status is not None and status not in get_args(BatchStatus):
        _fail(
            InputError(
                "unknown batch status",
                problems=[
                    Problem(
                        f"one of {', '.join(get_args(BatchStatus))}", field="--status", value=status
                    )
                ],
            )
        )
    rows = _run(list_batches, _data_context(), status=status, limit=limit)
    if as_json:
        out.print_json(json.dumps([r.model_dump(mode="json") for r in rows]))
        return
    table = Table(title="Load batches, newest first (times UTC)")
    for column in ("id", "source", "file", "status", "rows", "owner", "started", "ended / lease"):
        # a narrow terminal folds names and puts a time's clock under its date; ids and statuses stay whole
        whole = {"id": len(str(rows[0].id)) if rows else 2, "status": len("interrupted")}.get(
            column
        )
        table.add_column(column, overflow="fold", min_width=whole, no_wrap=whole is not None)
    for b in rows:
        owner = f"{b.owner_host}:{b.owner_pid}" if b.owner_host else ""
        end = b.finished_at if b.status != "running" else b.lease_expires_at
        table.add_row(
            str(b.id),
            b.source,
            b.file_name,
            b.status,
            f"{b.rows_read:,}",
            owner,
            _utc_text(b.started_at),
            _utc_text(end),
        )
    out.print(table)


def _utc_text(when) -> str:  # noqa: ANN001 - an aware datetime or None
    return when.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S") if when is not None else ""


def _ingest(
    kind: str,
    path: Path,
    reject_dir: Path | None = None,
    *,
    mapping_file: Path | None = None,
    columns: list[str] | None = None,
    encoding: str | None = None,
) -> None:
    """Load one file as the uploads do (:func:`service.ingest.uploads.load_file`); print its report."""
    from core.encodings import check_encoding
    from service.ingest.uploads import load_file

    path = _path(path)
    mapping = _run(column_mapping, mapping_file, columns or [])
    encoding = _run(check_encoding, encoding, field="--encoding")
    ctx = _run(_context)
    with rich_progress() as progress:
        report = _run(
            load_file,
            ctx,
            kind,
            path,
            progress=progress,
            reject_dir=reject_dir,
            mapping=mapping or None,
            encoding=encoding,
        )
    _show(report)
    for p in report.rejects[:20]:
        err.print(
            f"  rejected: {p.get('file')}, line {p.get('line')}, field {p.get('field')!r}: "
            f"{p.get('message')}"
        )
    for w in report.warnings:
        err.print(f"[yellow]warning:[/] {escape(str(w))}")


RejectDir = Annotated[Path | None, typer.Option(help="Where to write the reject file.")]
MappingFile = Annotated[
    Path | None,
    typer.Option(
        "--mapping",
        # \[ : a literal bracket in rich help text
        help='TOML or JSON file whose \\[columns] table maps FIELD = "the file\'s header".',
    ),
]
Encoding = Annotated[
    str | None,
    typer.Option(
        "--encoding",
        help="The file's text encoding (utf-8, utf-16, utf-32, cp1252, latin-1, ...). "
        "Default: detected (a byte-order mark, UTF-16, else UTF-8, or Windows-1252 from the "
        "first byte that is not UTF-8, with a warning).",
    ),
]
Columns = Annotated[
    list[str] | None,
    typer.Option(
        "--column",
        help="FIELD=Header: the file's column of a field (repeatable; wins over --mapping).",
    ),
]


@ingest_app.command("nppes")
def ingest_nppes(path: FileArg, reject_dir: RejectDir = None, encoding: Encoding = None) -> None:
    """An NPPES npidata_pfile CSV (330- or 329-column layout), or the published zip as is."""
    _ingest("nppes", path, reject_dir, encoding=encoding)


@ingest_app.command("cms")
def ingest_cms(path: FileArg, reject_dir: RejectDir = None, encoding: Encoding = None) -> None:
    """CMS Doctors & Clinicians national downloadable file (current or older layout)."""
    _ingest("cms", path, reject_dir, encoding=encoding)


@ingest_app.command("rpps")
def ingest_rpps(path: FileArg, reject_dir: RejectDir = None, encoding: Encoding = None) -> None:
    """Annuaire Santé / RPPS PS_LibreAcces_Personne_activite extract (pipe-separated)."""
    _ingest("rpps", path, reject_dir, encoding=encoding)


@ingest_app.command("finess")
def ingest_finess(path: FileArg, reject_dir: RejectDir = None, encoding: Encoding = None) -> None:
    """FINESS etalab extract (establishments with coordinates; UTF-8 or Windows-1252)."""
    _ingest("finess", path, reject_dir, encoding=encoding)


@ingest_app.command("deactivations")
def ingest_deactivations_cmd(path: FileArg, encoding: Encoding = None) -> None:
    """The NPPES deactivated-NPI report (XLSX or CSV): flags NPIs inactive, never deletes."""
    _ingest("deactivations", path, encoding=encoding)


@ingest_app.command("referrers")
def ingest_referrers(
    path: FileArg,
    reject_dir: RejectDir = None,
    mapping_file: MappingFile = None,
    column: Columns = None,
    encoding: Encoding = None,
) -> None:
    """The clinic's own referrer list (CSV/XLSX, headers auto-detected, overridable)."""
    _ingest(
        "referrers",
        path,
        reject_dir,
        mapping_file=mapping_file,
        columns=column,
        encoding=encoding,
    )


def column_mapping(mapping_file: Path | None, columns: list[str]) -> dict[str, str]:
    """Merge a mapping file and ``FIELD=Header`` flags (flags win); every problem at once.

    The file is TOML (``.toml``) or JSON, its fields in a ``columns`` table
    (:func:`core.columns.mapping_document`).
    """
    import tomllib

    from core.columns import mapping_document, parse_column_flags

    mapping: dict[str, str] = {}
    problems: list[Problem] = []
    if mapping_file is not None:
        try:
            text = mapping_file.read_text(encoding="utf-8")
            loaded = tomllib.loads(text) if mapping_file.suffix == ".toml" else json.loads(text)
        except (OSError, ValueError) as exc:
            raise InputError(
                f"{mapping_file.name}: not a readable JSON/TOML mapping",
                problems=[Problem(str(exc), file=mapping_file.name)],
            ) from exc
        if not isinstance(loaded, dict):
            loaded = {"columns": loaded}  # a JSON list or text: refused as a columns table
        mapping, problems = mapping_document(loaded, file=mapping_file.name)
    flagged, more = parse_column_flags(columns)
    mapping.update(flagged)
    problems += more
    if problems:
        raise InputError("invalid column mapping", problems=problems)
    return mapping


@ingest_app.command("referrals")
def ingest_referrals(
    path: FileArg,
    reject_dir: RejectDir = None,
    mapping_file: MappingFile = None,
    column: Columns = None,
    encoding: Encoding = None,
) -> None:
    """Referral events exported by a scheduling system (idempotent on external_id)."""
    _ingest(
        "referrals",
        path,
        reject_dir,
        mapping_file=mapping_file,
        columns=column,
        encoding=encoding,
    )


@ingest_app.command("interactions")
def ingest_interactions(
    path: FileArg,
    reject_dir: RejectDir = None,
    mapping_file: MappingFile = None,
    column: Columns = None,
    encoding: Encoding = None,
) -> None:
    """Visits, calls and emails (date, npi or provider_id, kind, liaison, note, external_id).

    Idempotent: keyed by external_id, or by a key made from the row's content.
    """
    _ingest(
        "interactions",
        path,
        reject_dir,
        mapping_file=mapping_file,
        columns=column,
        encoding=encoding,
    )


@ingest_app.command("nucc")
def ingest_nucc_cmd(path: FileArg, encoding: Encoding = None) -> None:
    """The NUCC taxonomy code set CSV."""
    _ingest("nucc", path, encoding=encoding)


@ingest_app.command("sites")
def ingest_sites(
    path: FileArg,
    reject_dir: RejectDir = None,
    mapping_file: MappingFile = None,
    column: Columns = None,
    encoding: Encoding = None,
) -> None:
    """Clinic sites CSV (site_code, name, service_line, address..., lat, lon)."""
    _ingest(
        "sites",
        path,
        reject_dir,
        mapping_file=mapping_file,
        columns=column,
        encoding=encoding,
    )


@ingest_app.command("competitors")
def ingest_competitors(
    path: FileArg,
    reject_dir: RejectDir = None,
    mapping_file: MappingFile = None,
    column: Columns = None,
    encoding: Encoding = None,
) -> None:
    """The clinic's competitor list, CSV/XLSX (name, service_line, code, lat/lon or address).

    Replaces the list: a competitor missing from the file is removed. A blank
    service_line competes on every line; rows without lat/lon are geocoded offline.
    """
    _ingest(
        "competitors",
        path,
        reject_dir,
        mapping_file=mapping_file,
        columns=column,
        encoding=encoding,
    )
