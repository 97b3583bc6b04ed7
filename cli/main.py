"""``prm``: one subcommand per pipeline stage, plus the API server and the demo.

Exit codes: 0 success, 2 bad input (file, layout, encoding, rows), 1 other errors;
``prm serve --workers N``: 3 when its workers cannot start.
"""

from __future__ import annotations

import json
import secrets
import sys
from datetime import UTC
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from uvicorn.config import LOG_LEVELS

from cli.progress import rich_progress
from core.errors import InputError, Problem, ServiceError
from core.settings import Settings, load_settings

app = typer.Typer(help="Territory mapping and referral prospecting for clinics.", no_args_is_help=True)
ingest_app = typer.Typer(help="Load source files (each load is a batch).", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
batches_app = typer.Typer(help="Load batches: what was loaded, by whom, and how it ended.",
                          no_args_is_help=True)
app.add_typer(ingest_app, name="ingest")
app.add_typer(batches_app, name="batches")
app.add_typer(db_app, name="db")
err = Console(stderr=True, soft_wrap=True)  # messages name paths: never wrap them
out = Console(soft_wrap=True)

FileArg = Annotated[Path, typer.Argument(exists=False, dir_okay=False, help="File to load.")]


def _fail(exc: ServiceError) -> None:
    err.print(f"[bold red]error:[/] {exc.title}: {exc.detail}")
    for p in exc.problems[:50]:
        err.print(f"  - {p}")
    if len(exc.problems) > 50:
        err.print(f"  ... and {len(exc.problems) - 50} more")
    raise typer.Exit(2 if isinstance(exc, InputError) else 1)


def _context(settings: Settings | None = None):  # noqa: ANN202
    """Open the context; every command's start marks the work of stopped processes interrupted."""
    from service.context import open_context
    from service.leases import recover_interrupted

    ctx = open_context(settings or load_settings())
    if ctx.settings.recover_interrupted_jobs:
        for what, n in recover_interrupted(ctx).items():
            if n:
                err.print(f"[yellow]marked {n} {what if n > 1 else what[:-1]} interrupted[/]: "
                          "the process running it stopped before the end")
    return ctx


def _run(fn, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
    try:
        return fn(*args, **kwargs)
    except ServiceError as exc:
        _fail(exc)


def _show(report) -> None:  # noqa: ANN001
    out.print_json(report.model_dump_json(exclude={"rejects"}) if hasattr(report, "model_dump_json") else json.dumps(report, default=str))


def _path(path: Path) -> Path:
    if not path.is_file():
        err.print(f"[bold red]error:[/] {path}: no such file")
        raise typer.Exit(2)
    return path


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the schema to the latest revision."""
    from data.db import current_revision

    ctx = _run(_context)
    out.print(f"schema at revision {current_revision(ctx.engine)}")


@batches_app.command("list")
def batches_list(
    status: Annotated[str | None, typer.Option(
        help="Only batches in this status: running, committed, failed or interrupted.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000, help="Newest batches shown.")] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="JSON instead of a table.")] = False,
) -> None:
    """Batches, newest first: status (interrupted: its process stopped mid-load), owner, times."""
    from typing import get_args

    from service.batches import list_batches
    from service.schemas import BatchStatus

    if status is not None and status not in get_args(BatchStatus):
        _fail(InputError("unknown batch status", problems=[Problem(
            f"one of {', '.join(get_args(BatchStatus))}", field="--status", value=status)]))
    rows = _run(list_batches, _run(_context), status=status, limit=limit)
    if as_json:
        out.print_json(json.dumps([r.model_dump(mode="json") for r in rows]))
        return
    table = Table(title="Load batches, newest first (times UTC)")
    for column in ("id", "source", "file", "status", "rows", "owner", "started", "ended / lease"):
        # a narrow terminal folds names and puts a time's clock under its date; ids and statuses stay whole
        whole = {"id": len(str(rows[0].id)) if rows else 2, "status": len("interrupted")}.get(column)
        table.add_column(column, overflow="fold", min_width=whole, no_wrap=whole is not None)
    for b in rows:
        owner = f"{b.owner_host}:{b.owner_pid}" if b.owner_host else ""
        end = b.finished_at if b.status != "running" else b.lease_expires_at
        table.add_row(str(b.id), b.source, b.file_name, b.status, f"{b.rows_read:,}", owner,
                      _utc_text(b.started_at), _utc_text(end))
    out.print(table)


def _utc_text(when) -> str:  # noqa: ANN001 - an aware datetime or None
    return when.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S") if when is not None else ""


def _ingest(kind: str, path: Path, reject_dir: Path | None, **options: object) -> None:
    from service import ingest

    path = _path(path)
    ctx = _run(_context)
    with rich_progress() as progress:
        if kind == "referrals":
            report = _run(ingest.ingest_referral_events, ctx, path, progress=progress, reject_dir=reject_dir)
        elif kind == "nucc":
            report = _run(ingest.ingest_nucc, ctx, path)
        else:
            report = _run(ingest.ingest_records, ctx, path, source=kind, progress=progress,
                          reject_dir=reject_dir, **options)
    _show(report)
    for p in report.rejects[:20]:
        err.print(f"  rejected: {p.get('file')}, line {p.get('line')}, field {p.get('field')!r}: {p.get('message')}")


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
    from service.deactivations import ingest_deactivations

    ctx = _run(_context)
    report = _run(ingest_deactivations, ctx, _path(path))
    _show(report)
    for p in report.rejects[:20]:
        err.print(f"  rejected: {p.get('file')}, line {p.get('line')}, field {p.get('field')!r}: {p.get('message')}")


@ingest_app.command("referrers")
def ingest_referrers(
    path: FileArg,
    reject_dir: RejectDir = None,
    mapping_file: Annotated[Path | None, typer.Option(
        "--mapping", help="JSON or TOML file: standard field -> the file's header.")] = None,
    column: Annotated[list[str] | None, typer.Option(
        "--column", help="FIELD=Header, overriding detection (repeatable).")] = None,
) -> None:
    """The clinic's own referrer list (CSV/XLSX, headers auto-detected, overridable)."""
    mapping = _run(column_mapping, mapping_file, column or [])
    _ingest("referrer_list", path, reject_dir, mapping=mapping or None)


def column_mapping(mapping_file: Path | None, columns: list[str]) -> dict[str, str]:
    """Merge a mapping file and ``FIELD=Header`` flags (flags win); every problem at once."""
    import tomllib

    from core.errors import InputError, Problem

    mapping: dict[str, str] = {}
    problems: list[Problem] = []
    if mapping_file is not None:
        try:
            text = mapping_file.read_text(encoding="utf-8")
            loaded = tomllib.loads(text) if mapping_file.suffix == ".toml" else json.loads(text)
        except (OSError, ValueError) as exc:
            raise InputError(f"{mapping_file.name}: not a readable JSON/TOML mapping",
                             problems=[Problem(str(exc), file=mapping_file.name)]) from exc
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
    from service.sites import load_sites

    ctx = _run(_context)
    sites = _run(load_sites, ctx, _path(path))
    out.print(f"{len(sites)} site(s) loaded: " + ", ".join(s.site_code for s in sites))


def _stage(fn_name: str, module: str, **kwargs) -> None:  # noqa: ANN003
    import importlib

    fn = getattr(importlib.import_module(module), fn_name)
    ctx = _run(_context)
    with rich_progress() as progress:
        report = _run(fn, ctx, progress=progress, **kwargs)
    _show(report)


@app.command()
def link(
    incremental: Annotated[bool, typer.Option(
        "--incremental", help="Link only new and changed records with the stored model.")] = False,
) -> None:
    """Deduplicate and link source records into golden provider records."""
    _stage("resolve_providers", "service.resolve", incremental=incremental)


@app.command()
def geocode(all_rows: Annotated[bool, typer.Option("--all", help="Re-geocode every provider.")] = False) -> None:
    """Geocode providers offline (street level from OSM, else ZIP centroid) and place them on H3."""
    _stage("geocode_providers", "service.locate", only_missing=not all_rows)


@app.command()
def catchments() -> None:
    """Build radius and drive-time catchments for every site."""
    _stage("build_catchments", "service.catchments")


@app.command()
def tiers() -> None:
    """Link referral events to referrers and compute volumes and tiers A/B/C."""
    _stage("compute_referrer_stats", "service.referrals")


@app.command()
def score() -> None:
    """Score white-space prospects for every site."""
    _stage("score_sites", "service.scoring")


@app.command()
def pipeline() -> None:
    """Run link, geocode, catchments, tiers and score in order."""
    from service.pipeline import run_pipeline

    ctx = _run(_context)
    with rich_progress() as progress:
        reports = _run(run_pipeline, ctx, progress=progress)
    for r in reports:
        _show(r)


def _serve(settings: Settings, host: str, port: int, ctx=None, *, proxy_headers: bool = False,  # noqa: ANN001
           log_level: str = "info", access_log: bool = True) -> None:
    import uvicorn

    from api.main import create_app
    from cli.serve import uvicorn_options

    application = create_app(settings, context=ctx)
    uvicorn.run(application, host=host, port=port, **uvicorn_options(
        log_level=log_level, proxy_headers=proxy_headers, access_log=access_log,
        shutdown_grace_s=settings.shutdown_grace_s))


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes (one per core), each on "
                                         "a socket of its own (SO_REUSEPORT).")] = 1,
    proxy_headers: Annotated[bool, typer.Option(help="Trust X-Forwarded-For from a reverse proxy "
                                                "(client address in the audit log).")] = False,
    log_level: Annotated[str, typer.Option(help="uvicorn log level: " + ", ".join(LOG_LEVELS) + ".")] = "info",
    access_log: Annotated[bool, typer.Option(help="Log every request (the audit log records "
                                             "them in the database either way).")] = True,
) -> None:
    """Serve the API and the map (settings from the environment)."""
    if log_level not in LOG_LEVELS:
        _fail(InputError("unknown log level", problems=[Problem(f"one of {', '.join(LOG_LEVELS)}",
                                                                field="--log-level", value=log_level)]))
    settings = _run(load_settings)  # a bad environment fails here, once, not in every worker
    options = {"proxy_headers": proxy_headers, "log_level": log_level, "access_log": access_log}
    if workers == 1:
        _serve(settings, host, port, **options)
        return
    from alembic.util import CommandError
    from sqlalchemy.exc import SQLAlchemyError

    from cli.serve import serve_workers
    from core.errors import ConfigError

    # once, before any worker: concurrent first migrations would race (each worker then marks
    # interrupted work too, which leases make safe while other workers run theirs)
    try:
        _run(_context, settings).close()
    except (SQLAlchemyError, OSError, CommandError) as exc:
        _fail(ConfigError(f"cannot open or migrate the database: {exc.__cause__ or exc}"))
    raise typer.Exit(_run(serve_workers, host=host, port=port, workers=workers,
                          shutdown_grace_s=settings.shutdown_grace_s, **options))


@app.command()
def demo(
    providers: Annotated[int, typer.Option(help="Synthetic providers to generate.")] = 6000,
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same data).")] = 7,
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.")] = 8000,
    serve_after: Annotated[bool, typer.Option("--serve/--no-serve", help="Serve when built.")] = True,
) -> None:
    """Build the Columbus, Ohio demo (synthetic registry, bundled OSM) and serve it."""
    from datetime import date

    from service.pipeline import build_demo

    base = _run(load_settings)
    demo_dir = base.cache_dir.parent / "demo"
    db_file = demo_dir / "demo.sqlite"
    demo_dir.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db_file}{suffix}").unlink(missing_ok=True)
    admin = base.admin_api_key.get_secret_value()
    viewer = base.viewer_api_key.get_secret_value()
    if admin.startswith("dev-"):
        admin, viewer = f"demo-admin-{secrets.token_urlsafe(12)}", f"demo-viewer-{secrets.token_urlsafe(12)}"
    settings = Settings(**{
        **base.model_dump(), "database_url": f"sqlite:///{db_file}",
        "as_of": base.as_of or date(2026, 11, 1), "admin_api_key": admin, "viewer_api_key": viewer,
    })
    ctx = _run(_context, settings)
    err.print(f"building the demo in {demo_dir} (first run parses the OSM extract; later runs use the cache)")
    with rich_progress() as progress:
        manifest, reports = _run(build_demo, ctx, demo_dir / "files", providers=providers, seed=seed,
                                 as_of=settings.as_of, progress=progress)
    table = Table(title="Demo build")
    table.add_column("step")
    table.add_column("result")
    for r in reports:
        name = getattr(r, "file_name", None) or getattr(r, "stage", "")
        d = r.model_dump(exclude={"rejects", "detail"}) if hasattr(r, "file_name") else r.detail
        table.add_row(str(name), json.dumps(d, default=str)[:160])
    out.print(table)
    from service.keys import create_key

    marketing = _run(create_key, ctx, name="demo marketing", role="marketing", days=30,
                     created_by="demo").key  # stored hashed, like `prm keys create`
    from service.sessions import create_sign_in_link

    url = f"http://{host}:{port}"
    link = _run(create_sign_in_link, ctx, key=viewer, minutes=24 * 60)
    out.print(f"\n[bold green]Demo ready[/] ({manifest.get('build_seconds')} s).")
    out.print(f"  Map:      {url}/signin#link={link}  (one-time sign-in link, then /map)")
    out.print(f"  API docs: {url}/docs")
    out.print(f"  Viewer key (X-API-Key): {viewer}")
    out.print(f"  Admin key  (X-API-Key): {admin}")
    out.print(f"  Marketing key (stored, expires in 30 days; exports): {marketing}")
    out.print(f"  Example:  curl -H 'X-API-Key: {viewer}' '{url}/v1/prospects?limit=5'")
    sys.stdout.flush()
    if serve_after:
        _serve(settings, host, port, ctx)


import cli.matching  # noqa: E402,F401  (registers review, explain, unmerge, dedupe)
import cli.security  # noqa: E402,F401  (registers keys, audit, privacy)

def _register_planning() -> None:
    from cli import planning

    app.command("roads")(planning.roads)
    app.command("isochrones")(planning.isochrones)
    app.add_typer(planning.territories_app, name="territories")
    app.add_typer(planning.expansion_app, name="expansion")


_register_planning()


def _register_prospecting() -> None:
    from cli import prospecting

    app.command("alerts")(prospecting.alerts)
    app.command("backtest")(prospecting.backtest)
    app.add_typer(prospecting.segments_app, name="segments")
    app.add_typer(prospecting.referrals_app, name="referrals")


_register_prospecting()


if __name__ == "__main__":
    app()
