"""``prm alerts``, ``prm segments ...``, ``prm prospects export`` and
``prm referrals review``."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from cli import common
from cli.common import _data_context, _run, out

segments_app = typer.Typer(help="Saved prospect segments and their exports.", no_args_is_help=True)
referrals_app = typer.Typer(
    help="Referral events: the review queue of unlinked referrers.", no_args_is_help=True
)
prospects_app = typer.Typer(help="Scored prospects and their exports.", no_args_is_help=True)

app = typer.Typer()
app.add_typer(segments_app, name="segments")
app.add_typer(referrals_app, name="referrals")
app.add_typer(prospects_app, name="prospects")


@app.command()
def alerts(
    since: Annotated[str | None, typer.Option(help="Raised on or after (YYYY-MM-DD).")] = None,
    rule: Annotated[str | None, typer.Option(help="Only this rule.")] = None,
    history: Annotated[
        bool, typer.Option("--history", help="Print the triggering history.")
    ] = False,
) -> None:
    """At-risk referrer alerts (raised by ``prm tiers``), newest first."""
    from service.prospecting.referrals import list_alerts

    ctx = _data_context()
    rows = _run(list_alerts, ctx, since=date.fromisoformat(since) if since else None, rule=rule)
    table = Table("raised", "rule", "provider", "tier", "message")
    for a in rows:
        table.add_row(
            a.raised_on.isoformat(),
            a.rule,
            f"{a.display_name} ({a.provider_id})",
            a.tier or "",
            a.message,
        )
    out.print(table)
    if history:
        for a in rows:
            out.print(f"{a.provider_id} {a.rule}:")
            out.print_json(data=a.history)


@segments_app.command("list")
def segments_list() -> None:
    """Saved segments with the number of prospects each matches now."""
    from service.prospecting.segments import list_segments

    ctx = _data_context()
    table = Table("segment", "prospects", "filters")
    for s in _run(list_segments, ctx):
        table.add_row(s.name, str(s.count), ", ".join(f"{k}={v}" for k, v in s.filters.items()))
    out.print(table)


def _filters(pairs: list[str]):  # noqa: ANN202 - service.schemas.ProspectFilter
    """``name=value`` words read as the prospect list's query (``GET /v1/prospects?name=value``).

    The same model reads both (:func:`api.routers.prospects.query_filter`); a
    name repeated gives a list (``postal_code``), an unknown name is refused.
    """
    from pydantic import ValidationError

    from api.problems import validation_problems
    from api.routers.prospects import ProspectQuery, query_filter
    from core.errors import InputError, Problem

    values: dict[str, list[str]] = {}
    bad = []
    for pair in pairs:
        name, sep, value = pair.partition("=")
        name = name.strip()
        if not sep or name not in ProspectQuery.model_fields:
            known = ", ".join(ProspectQuery.model_fields)
            bad.append(Problem(f"not name=value with a filter name ({known})", value=pair))
            continue
        values.setdefault(name, []).append(value)
    if bad:
        raise InputError("invalid segment filter", problems=bad)
    many = {"postal_code"}
    query = {k: v if k in many else v[-1] for k, v in values.items()}
    if repeated := [k for k, v in values.items() if len(v) > 1 and k not in many]:
        raise InputError(
            "invalid segment filter",
            problems=[Problem("given more than once", field=k) for k in repeated],
        )
    try:
        parsed = ProspectQuery.model_validate(query)
    except ValidationError as exc:
        raise InputError(
            "invalid segment filter",
            problems=validation_problems(
                [e | {"loc": ("filter", *e["loc"])} for e in exc.errors()]
            ),
        ) from None
    return query_filter(parsed, where="filter")


@segments_app.command("create")
def segments_create(
    name: Annotated[str, typer.Argument(help="Segment name (saving a name again replaces it).")],
    filters: Annotated[
        list[str] | None,
        typer.Argument(
            help="Filters as the prospect list's query spells them, name=value: "
            "site, specialty, group, segment, min_score, min_drive_minutes, max_drive_minutes, "
            "tier, postal_code (repeat), city, organization_id, status, assigned_to, "
            "service_line, history, territory_id, q."
        ),
    ] = None,
    description: Annotated[str | None, typer.Option(help="What the segment is for.")] = None,
) -> None:
    """Save a named segment of prospects (as ``PUT /v1/segments``) and print its count."""
    from service.prospecting.schemas import SegmentCreate
    from service.prospecting.segments import save_segment

    def item() -> SegmentCreate:
        from pydantic import ValidationError

        from api.problems import validation_problems
        from core.errors import InputError

        parsed = _filters(filters or [])
        try:
            return SegmentCreate(
                name=name, description=description, filters=parsed, created_by="cli"
            )
        except ValidationError as exc:
            raise InputError(
                "invalid segment", problems=validation_problems(exc.errors())
            ) from None

    ctx = _data_context()
    seg = _run(save_segment, ctx, _run(item))
    shown = ", ".join(f"{k}={v}" for k, v in seg.filters.items()) or "no filter"
    providers = "" if seg.providers is None else f", {seg.providers:,} providers"
    out.print(f"saved segment {seg.name!r} ({shown}): {seg.count:,} prospects{providers}")


@segments_app.command("export")
def segments_export(
    name: Annotated[str, typer.Argument(help="Segment name.")],
    out: Annotated[
        Path, typer.Argument(dir_okay=False, help="File to write (.csv, .xlsx, .geojson).")
    ],
) -> None:
    """Write a segment's prospects as CSV, XLSX or GeoJSON (from the file's extension)."""
    from service.prospecting.segments import export_segment

    ctx = _data_context()
    fmt = out.suffix.lower().lstrip(".")
    built = _run(export_segment, ctx, fmt=fmt, name=name)
    out.write_bytes(built.body)
    common.out.print(
        f"wrote {out} ({built.rows:,} prospects, {len(built.body):,} bytes)"
    )  # out: the file


@prospects_app.command("export")
def prospects_export(
    out: Annotated[Path, typer.Argument(dir_okay=False, help="CSV file to write.")],
    filters: Annotated[
        list[str] | None,
        typer.Argument(
            help="Optional filters as the prospect list's query spells them, name=value "
            "(as for prm segments create)."
        ),
    ] = None,
    one_per_provider: Annotated[
        bool,
        typer.Option(
            "--one-per-provider",
            help="One row per provider: npi, name, score, best_site (its highest score; a tie "
            "goes to the fewer drive minutes), drive_minutes there, contributions.",
        ),
    ] = False,
) -> None:
    """Write the prospects as CSV: one row per site and provider, or one per provider."""
    from core.errors import InputError, Problem
    from service.prospecting.segments import write_prospects_csv

    if out.suffix.lower() != ".csv":
        common._fail(
            InputError(
                "not a CSV file name",
                problems=[
                    Problem(
                        "prm prospects export writes CSV; name the file .csv (XLSX, GeoJSON: "
                        "save a segment and use prm segments export)",
                        field="OUT",
                        value=out.name,
                    )
                ],
            )
        )
    ctx = _data_context()
    parsed = _run(_filters, filters or [])
    rows = _run(write_prospects_csv, ctx, out, filters=parsed, one_per_provider=one_per_provider)
    shown = "providers" if one_per_provider else "prospects"
    common.out.print(f"wrote {out} ({rows:,} {shown})")


@referrals_app.command("review")
def referrals_review() -> None:
    """Referral events whose free-text referrer did not link, with candidate records."""
    from service.prospecting.referrals import list_reviews

    ctx = _data_context()
    table = Table("id", "event", "date", "referrer as written", "best", "candidates")
    for r in _run(list_reviews, ctx):
        cands = ", ".join(f"{c['provider_id']} ({c['confidence']:.2f})" for c in r.candidates or [])
        table.add_row(
            str(r.id),
            r.external_id,
            r.referral_date.isoformat(),
            r.referrer_name,
            "" if r.confidence is None else f"{r.confidence:.2f}",
            cands,
        )
    out.print(table)
