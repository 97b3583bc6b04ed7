"""``prm link``, ``geocode``, ``catchments``, ``tiers``, ``score`` and ``pipeline``: the stages."""

from __future__ import annotations

from typing import Annotated

import typer

from cli.common import _data_context, _run, _show, err
from cli.progress import rich_progress

app = typer.Typer()


def _stage(fn, **kwargs) -> None:  # noqa: ANN001, ANN003
    """Run one stage function with a progress bar and print its report."""
    ctx = _data_context()
    with rich_progress() as progress:
        report = _run(fn, ctx, progress=progress, **kwargs)
    _show(report)


@app.command()
def link(
    incremental: Annotated[
        bool,
        typer.Option(
            "--incremental", help="Link only new and changed records with the stored model."
        ),
    ] = False,
) -> None:
    """Deduplicate and link source records into golden provider records."""
    from service.linkage.resolve import resolve_providers

    _stage(resolve_providers, incremental=incremental)


@app.command()
def geocode(
    all_rows: Annotated[bool, typer.Option("--all", help="Re-geocode every provider.")] = False,
) -> None:
    """Geocode providers offline (street level from OSM, else ZIP centroid) and place them on H3."""
    from service.placement.locate import geocode_providers

    _stage(geocode_providers, only_missing=not all_rows)


@app.command()
def catchments() -> None:
    """Build radius and drive-time catchments for every site."""
    from service.placement.catchments import build_catchments

    _stage(build_catchments)


@app.command()
def tiers() -> None:
    """Link referral events to referrers and compute volumes and tiers A/B/C."""
    from service.prospecting.referrals import compute_referrer_stats

    _stage(compute_referrer_stats)


@app.command()
def score() -> None:
    """Score white-space prospects for every site."""
    from service.prospecting.scoring import score_sites

    _stage(score_sites)


def _states(text: str | None) -> list[str] | None:
    """``--states``: checked before anything runs (exit 2 naming the option and value)."""
    from core.errors import InputError
    from service.placement.scope import parse_states

    try:
        return None if text is None else parse_states(text)
    except InputError as exc:
        raise typer.BadParameter(str(exc)) from exc


def _minutes(text: str | None) -> float | None:
    """``--within-minutes``: checked before anything runs (exit 2 naming the option and value)."""
    from core.errors import InputError
    from service.placement.scope import check_minutes

    if text is None:
        return None
    try:
        return check_minutes(float(text))
    except InputError as exc:
        raise typer.BadParameter(str(exc)) from exc
    except ValueError as exc:  # not a number at all
        raise typer.BadParameter(f"{text!r}: expected a number of minutes") from exc


@app.command()
def pipeline(
    states: Annotated[
        str | None,
        typer.Option(
            "--states",
            help=(
                "Only providers practising in these US states, comma separated (OH,KY) are "
                "geocoded and scored; the rest stay stored and untouched. Linking still runs "
                "over every record, so duplicates across state lines are merged as in a whole run."
            ),
            callback=_states,
        ),
    ] = None,
    within_minutes: Annotated[
        str | None,
        typer.Option(
            "--within-minutes",
            help=(
                "Only providers within this many drive minutes of any clinic site are scored "
                "(the road router's minutes, as the prospect list shows them). A provider not "
                "geocoded yet has no drive time and is out of scope."
            ),
            callback=_minutes,
            metavar="MINUTES",
        ),
    ] = None,
    restart: Annotated[
        bool,
        typer.Option(
            "--restart",
            help=(
                "Start afresh even if the last run did not finish. By default a run killed "
                "part-way (or failed) is resumed from its last stored chunk when started with "
                "the same --states/--within-minutes over the same loaded data; another scope, "
                "or newly loaded data, starts afresh anyway."
            ),
        ),
    ] = False,
    full_link: Annotated[
        bool,
        typer.Option(
            "--full-link",
            help=(
                "Link every record afresh and train the match model again. By default only "
                "records new or changed since the last link are linked, with the stored model "
                "(the first run, or one after the link settings changed, links everything)."
            ),
        ),
    ] = False,
) -> None:
    """Run link, geocode, catchments, tiers and score in order (the whole file unless scoped).

    Resumable: a killed run is resumed by the next one (see --restart).
    """
    from service.pipeline import run_pipeline
    from service.placement.scope import PipelineScope

    scope = PipelineScope(states=states, within_minutes=within_minutes)  # type: ignore[arg-type]  # the callbacks parsed them
    ctx = _data_context()
    with rich_progress() as progress:
        reports = _run(
            run_pipeline,
            ctx,
            scope=scope,
            progress=progress,
            restart=restart,
            full_link=full_link,
            notify=lambda line: err.print(line, style="bold", markup=False),
        )
    for r in reports:
        _show(r)
