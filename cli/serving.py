"""``prm serve``: the API and map server (one or more worker processes)."""

from __future__ import annotations

from typing import Annotated

import typer
from uvicorn.config import LOG_LEVELS

from cli.common import _context, _fail, _run
from core.errors import InputError, Problem
from core.settings import Settings, load_settings
from service.context import AppContext

app = typer.Typer()


def _serve(
    settings: Settings,
    host: str,
    port: int,
    ctx: AppContext | None = None,
    *,
    proxy_headers: bool = False,
    log_level: str = "info",
    access_log: bool = True,
) -> None:
    import uvicorn

    from api.main import create_app
    from cli.serve import uvicorn_options

    application = create_app(settings, context=ctx)
    uvicorn.run(
        application,
        host=host,
        port=port,
        **uvicorn_options(
            log_level=log_level,
            proxy_headers=proxy_headers,
            access_log=access_log,
            shutdown_grace_s=settings.shutdown_grace_s,
        ),
    )


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.")] = 8000,
    workers: Annotated[
        int,
        typer.Option(
            min=1,
            help="Worker processes (one per core), each on a socket of its own (SO_REUSEPORT).",
        ),
    ] = 1,
    proxy_headers: Annotated[
        bool,
        typer.Option(
            help="Trust X-Forwarded-For from a reverse proxy (client address in the audit log)."
        ),
    ] = False,
    log_level: Annotated[
        str, typer.Option(help="uvicorn log level: " + ", ".join(LOG_LEVELS) + ".")
    ] = "info",
    access_log: Annotated[
        bool,
        typer.Option(
            help="Log every request (the audit log records them in the database either way)."
        ),
    ] = True,
) -> None:
    """Serve the API and the map (settings from the environment)."""
    if log_level not in LOG_LEVELS:
        _fail(
            InputError(
                "unknown log level",
                problems=[
                    Problem(f"one of {', '.join(LOG_LEVELS)}", field="--log-level", value=log_level)
                ],
            )
        )
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
    raise typer.Exit(
        _run(
            serve_workers,
            host=host,
            port=port,
            workers=workers,
            shutdown_grace_s=settings.shutdown_grace_s,
            **options,
        )
    )
