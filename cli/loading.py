"""``prm ingest ...``, ``prm batches list`` and ``prm db upgrade``: loading source files."""

from __future__ import annotations

import json
from datetime import UTC
from pathlib import Path
from typing import Annotated

import typer
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


def _ingest(kind: str, path: Path, reject_dir: Path | None, **options: object) -> None:
    from service.ingest import ingest

    path = _path(path)
    ctx = _run(_context)
    with rich_progress() as progress:
        if kind == "referrals":
            report = _run(
                ingest.ingest_referral_events, ctx, path, progress=progress, reject_dir=reject_dir
            )
        elif kind == "nucc":
            report = _run(ingest.ingest_nucc, ctx, path)
        else:
            report = _run(
                ingest.ingest_records,
                ctx,
                path,
                source=kind,
                progress=progress,
                reject_dir=reject_dir,
                **options,
            )
    _show(report)
    for p in report.rejects[:20]:
        err.print(
            f"  rejected: {p.get('file')}, line {p.get('line')}, field {p.get('field')!r}: {p.get('message')}"
        )


RejectDir = Annotated[Path | None, typer.Option(help="Where to write the reject file.")]


@ingest_app.command("nppes")
def ingest_nppes(path: FileArg, reject_dir: RejectDir = None) -> None:
    """An NPPES npidata_pfile CSV (330- or 329-column layout), or the published zip as is."""
    _ingest("nppes", path, reject_dir)


@ingest_app.command("cms")
def ingest_cms(path: FileArg, reject_dir: RejectDir = None) -> None:
    """CMS Doctors & Clinicians national downloadable file (current or older layout)."""
    _ingest("cms_dac", path, reject_dir)


@ingest_app.command("rpps")
def ingest_rpps(path: FileArg, reject_dir: RejectDir = None) -> None:
    """Annuaire Santé / RPPS PS_LibreAcces_Personne_activite extract (pipe-separated)."""
    _ingest("rpps", path, reject_dir)


@ingest_app.command("finess")
def ingest_finess(path: FileArg, reject_dir: RejectDir = None) -> None:
    """FINESS etalab extract (establishments with coordinates; UTF-8 or Windows-1252)."""
    _ingest("finess", path, reject_dir)


@ingest_app.command("deactivations")
def ingest_deactivations_cmd(path: FileArg) -> None:
    """The NPPES deactivated-NPI report (XLSX or CSV): flags NPIs inactive, never deletes."""
    from service.ingest.deactivations import ingest_deactivations

    ctx = _run(_context)
    report = _run(ingest_deactivations, ctx, _path(path))
    _show(report)
    for p in report.rejects[:20]:
        err.print(
            f"  rejected: {p.get('file')}, line {p.get('line')}, field {p.get('field')!r}: {p.get('message')}"
        )


@ingest_app.command("referrers")
def ingest_referrers(
    path: FileArg,
    reject_dir: RejectDir = None,
    mapping_file: Annotated[
        Path | None,
        typer.Option("--mapping", help="JSON or TOML file: standard field -> the file's header."),
    ] = None,
    column: Annotated[
        list[str] | None,
        typer.Option("--column", help="FIELD=Header, overriding detection (repeatable)."),
    ] = None,
) -> None:
    """The clinic's own referrer list (CSV/XLSX, headers auto-detected, overridable)."""
    mapping = _run(column_mapping, mapping_file, column or [])
    _ingest("referrer_list", path, reject_dir, mapping=mapping or None)


def column_mapping(mapping_file: Path | None, columns: list[str]) -> dict[str, str]:
    """Merge a mapping file and ``FIELD=Header`` flags (flags win); every problem at once."""
    import tomllib

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
        for key, value in loaded.items():
            if isinstance(value, str):
                mapping[key] = value
            else:
                problems.append(Problem("header must be text", file=mapping_file.name, field=key))
    for item in columns:
        field, sep, header = item.partition("=")
        if not sep or not field.strip() or not header.strip():
            problems.append(Problem("expected FIELD=Header", field="--column", value=item))
        else:
            mapping[field.strip()] = header.strip()
    if problems:
        raise InputError("invalid column mapping", problems=problems)
    return mapping


@ingest_app.command("referrals")
def ingest_referrals(path: FileArg, reject_dir: RejectDir = None) -> None:
    """Referral events exported by a scheduling system (idempotent on external_id)."""
    _ingest("referrals", path, reject_dir)


@ingest_app.command("nucc")
def ingest_nucc_cmd(path: FileArg) -> None:
    """The NUCC taxonomy code set CSV."""
    _ingest("nucc", path, None)


@ingest_app.command("sites")
def ingest_sites(path: FileArg) -> None:
    """Clinic sites CSV (site_code, name, service_line, address..., lat, lon)."""
    from service.ingest.sites import load_sites

    ctx = _run(_context)
    sites = _run(load_sites, ctx, _path(path))
    out.print(f"{len(sites)} site(s) loaded: " + ", ".join(s.site_code for s in sites))
