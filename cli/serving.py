"""``prm serve`` and ``prm demo``: the API and map server, and the demo built and served."""

from __future__ import annotations

import json
import secrets
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from uvicorn.config import LOG_LEVELS

from cli.common import _context, _fail, _run, err, out
from cli.progress import rich_progress
from core.errors import InputError, Problem
from core.settings import Settings, load_settings

app = typer.Typer()


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
