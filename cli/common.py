"""What every ``prm`` command module shares: the consoles, the context, errors and output.

Exit codes: 0 success, 2 bad input (file, layout, encoding, rows), 1 other errors
(:func:`_fail`). Command modules import from here, never from :mod:`cli.main`,
which only assembles them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from core.errors import InputError, ServiceError
from core.settings import Settings, demo_record, load_settings

__all__ = [
    "FileArg",
    "_context",
    "_data_context",
    "_fail",
    "_json",
    "_path",
    "_run",
    "_show",
    "err",
    "out",
]

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


def _context(settings: Settings | None = None, *, reads: bool = False):  # noqa: ANN202
    """Open the context; every command's start marks the work of stopped processes interrupted.

    ``reads``: the command reads stored data, and refuses (exit 1, naming the
    database URL) a database with no schema or no data rather than answering
    from an empty one (:func:`service.context.open_data_context`).
    """
    from service.context import open_context, open_data_context
    from service.leases import recover_interrupted

    settings = settings or load_settings()
    if (demo_record() or {}).get("database_url") == settings.database_url:
        err.print(
            f"[dim]database: the demo's ({settings.database_url}, recorded by `./dev demo`; "
            "set PRM_DATABASE_URL for another)[/]"
        )
    ctx = open_data_context(settings) if reads else open_context(settings)
    if ctx.settings.recover_interrupted_jobs:
        for what, n in recover_interrupted(ctx).items():
            if n:
                err.print(
                    f"[yellow]marked {n} {what if n > 1 else what[:-1]} interrupted[/]: "
                    "the process running it stopped before the end"
                )
    return ctx


def _data_context():  # noqa: ANN202
    """:func:`_context` of a command that reads stored data (an empty database is refused)."""
    return _run(_context, reads=True)


def _run(fn, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
    try:
        return fn(*args, **kwargs)
    except ServiceError as exc:
        _fail(exc)


def _show(report) -> None:  # noqa: ANN001
    out.print_json(
        report.model_dump_json(exclude={"rejects"})
        if hasattr(report, "model_dump_json")
        else json.dumps(report, default=str)
    )


def _json(data: object) -> None:
    out.print_json(json.dumps(data, default=str))


def _path(path: Path) -> Path:
    if not path.is_file():
        err.print(f"[bold red]error:[/] {path}: no such file")
        raise typer.Exit(2)
    return path
