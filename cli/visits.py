"""``prm visits list`` and ``prm visits export``: a liaison's saved visit days, from the shell.

The same service calls as ``/v1/visit-lists`` (:mod:`service.prospecting.visits`): a day's
route is solved as the app solves it, and exported as the app exports it.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from cli import common
from cli.common import _data_context, _fail, _run
from core.errors import InputError, Problem

visits_app = typer.Typer(
    help="A liaison's visit days: list them, export one.", no_args_is_help=True
)
app = typer.Typer()
app.add_typer(visits_app, name="visits")

Liaison = Annotated[
    str,
    typer.Option(
        help="Whose days: the person a liaison's keys belong to (as `prm keys create --person`)."
    ),
]


@visits_app.command("list")
def visits_list(liaison: Liaison) -> None:
    """The liaison's saved visit days: day, stops, start."""
    from service.prospecting.visits import list_days

    rows = _run(list_days, _data_context(), owner=liaison)
    table = Table("day", "stops", "start")
    for d in rows:
        table.add_row(d.day.isoformat(), str(d.stops), d.start or "")
    common.out.print(table if rows else f"no visit day saved for {liaison!r}")


@visits_app.command("export")
def visits_export(
    day: Annotated[str, typer.Argument(help="The day, YYYY-MM-DD.")],
    out: Annotated[Path, typer.Argument(dir_okay=False, help="File to write (.csv or .ics).")],
    liaison: Liaison,
    url: Annotated[
        str, typer.Option(help="The server's address, for the briefs linked from the calendar.")
    ] = "http://127.0.0.1:8000",
) -> None:
    """Solve the day's route and write it as CSV or an ICS calendar (from the file's extension)."""
    from service.prospecting.visit_exports import day_csv, day_ics
    from service.prospecting.visits import solve_day

    fmt = out.suffix.lower().lstrip(".")
    try:
        when = dt.date.fromisoformat(day)
    except ValueError:
        _fail(InputError("invalid day", problems=[Problem("YYYY-MM-DD", field="day", value=day)]))
    if fmt not in ("csv", "ics"):
        _fail(
            InputError(
                "unknown export format",
                problems=[Problem(".csv or .ics", field="out", value=out.name)],
            )
        )
    base = url.rstrip("/")
    route = _run(solve_day, _data_context(), owner=liaison, day=when)
    built = (
        day_csv(route)
        if fmt == "csv"
        else day_ics(route, brief_url=lambda pid: f"{base}/v1/providers/{pid}/brief.html")
    )
    out.write_bytes(built.body)
    common.out.print(f"wrote {out} ({built.rows:,} visits, {len(built.body):,} bytes)")
