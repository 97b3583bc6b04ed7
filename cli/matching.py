"""``prm review``, ``prm unmerge``, ``prm explain``, ``prm match-referrer`` and ``prm dedupe``.

Its :data:`app` is added to ``prm`` by :mod:`cli.main`. Decisions apply at the next
``prm link`` (or at once with ``--apply``, an incremental link).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cli.common import _data_context, _json, _path, _run, out
from cli.progress import rich_progress

app = typer.Typer()
review_app = typer.Typer(help="Borderline pairs: list, accept, reject.", no_args_is_help=True)
explain_app = typer.Typer(
    help="Explain a pair score or a golden record's merge.", no_args_is_help=True
)
app.add_typer(review_app, name="review")
app.add_typer(explain_app, name="explain")

Note = Annotated[str | None, typer.Option("--note", help="Why (kept with the decision).")]
Apply = Annotated[bool, typer.Option("--apply", help="Run an incremental link at once.")]
BY = "cli"


@review_app.command("list")
def review_list(
    limit: Annotated[int, typer.Option(min=1, max=500)] = 20,
    cursor: Annotated[str | None, typer.Option(help="Cursor printed by the previous page.")] = None,
) -> None:
    """Open review pairs, most probable first (then by id); prints the cursor of the next page."""
    from service.linkage.matching import list_review

    page = _run(list_review, _data_context(), limit=limit, cursor=cursor)
    out.print(f"{page.total} open pair(s)")
    for item in page.items:
        left, right = item.left, item.right

        def name(r: dict) -> str:
            return r.get("organization_name") or f"{r.get('first_name')} {r.get('last_name')}"

        out.print(
            f"#{item.id}  p={item.match_probability:.3f}  "
            f"[{left['id']}] {name(left)}, {left.get('postal_code')}  <->  "
            f"[{right['id']}] {name(right)}, {right.get('postal_code')}"
        )
    if page.next_cursor:
        out.print(
            f"next page: prm review list --limit {limit} --cursor {page.next_cursor}",
            highlight=False,
        )


@review_app.command("accept")
def review_accept(review_id: int, note: Note = None, apply: Apply = False) -> None:
    """Accept a review pair: its records will always be one provider."""
    from service.linkage.matching import decide_review

    _json(
        _run(
            decide_review,
            _data_context(),
            review_id,
            "accept",
            decided_by=BY,
            note=note,
            apply=apply,
        )
    )


@review_app.command("reject")
def review_reject(review_id: int, note: Note = None, apply: Apply = False) -> None:
    """Reject a review pair: its records will never be merged."""
    from service.linkage.matching import decide_review

    _json(
        _run(
            decide_review,
            _data_context(),
            review_id,
            "reject",
            decided_by=BY,
            note=note,
            apply=apply,
        )
    )


@review_app.command("decide")
def review_decide(
    left: int, right: int, decision: str, note: Note = None, apply: Apply = False
) -> None:
    """Accept or reject any pair of source record ids (DECISION: accept | reject)."""
    from service.linkage.matching import decide_pair

    _json(
        _run(
            decide_pair,
            _data_context(),
            left,
            right,
            decision,
            decided_by=BY,
            note=note,
            apply=apply,
        )
    )


@app.command()
def unmerge(record_id: int, note: Note = None, apply: Apply = False) -> None:
    """Take a source record out of its golden record (kept apart by every later run)."""
    from service.linkage.matching import unmerge_record

    _json(_run(unmerge_record, _data_context(), record_id, decided_by=BY, note=note, apply=apply))


@explain_app.command("pair")
def explain_pair_cmd(left: int, right: int) -> None:
    """Score two source records with the latest model: levels, m, u and weights."""
    from service.linkage.matching import explain_pair

    _json(_run(explain_pair, _data_context(), left, right))


@explain_app.command("provider")
def explain_provider_cmd(provider_id: int) -> None:
    """How a golden record was merged: members, best merges, decisions, lineage."""
    from service.linkage.matching import explain_provider

    _json(_run(explain_provider, _data_context(), provider_id))


@app.command("match-referrer")
def match_referrer(
    texts: Annotated[list[str], typer.Argument(help="Referrer texts.")],
    top: Annotated[int, typer.Option(min=1, max=20)] = 3,
) -> None:
    """Link free-text referrers ("Dr J. Smith, ortho, Columbus") to golden records."""
    from service.linkage.matching import match_referrer_text

    _json(_run(match_referrer_text, _data_context(), texts, top=top))


@app.command()
def dedupe(
    files: Annotated[
        list[Path], typer.Argument(help="CSV file(s): one to dedupe, several to link.")
    ],
    mapping: Annotated[Path, typer.Option("--mapping", help="TOML column mapping.")],
    out_dir: Annotated[
        Path,
        typer.Option("--out", help="Directory for clusters.csv, pairs.csv, cluster_pairs.csv."),
    ],
    settings: Annotated[Path | None, typer.Option("--settings", help="Link settings file.")] = None,
    country: Annotated[
        str | None,
        typer.Option(
            "--country",
            help="Country of records whose country column is blank (overrides the mapping's).",
        ),
    ] = None,
    min_probability: Annotated[
        float,
        typer.Option(
            "--min-probability",
            min=0.0,
            max=1.0,
            help="Write scored pairs at or above it (default: all) and report its quality.",
        ),
    ] = 0.0,
    pair_format: Annotated[str, typer.Option("--pairs-format", help="csv or parquet.")] = "csv",
    labels: Annotated[
        Path | None,
        typer.Option(
            "--labels",
            help="Clerical sample CSV (left_id, right_id, match) for the expected precision/recall.",
        ),
    ] = None,
) -> None:
    """Deduplicate or link any CSV files (no database): the generic entry point."""
    from core.country import country_code
    from enrichment.dedupe import dedupe_files
    from enrichment.dedupe_mapping import read_mapping
    from enrichment.dedupe_output import read_labels
    from enrichment.link_settings import LinkSettings

    link = _run(LinkSettings.from_file, _path(settings)) if settings else LinkSettings.default()
    cols = _run(read_mapping, _path(mapping))
    if country is not None:
        if country_code(country) is None:
            raise typer.BadParameter(
                f"{country!r} is not a country code or name", param_hint="--country"
            )
        cols["country"] = country
    sample = _run(read_labels, _path(labels)) if labels else None
    with rich_progress() as progress:
        report = _run(
            dedupe_files,
            [_path(f) for f in files],
            mapping=cols,
            settings=link,
            out_dir=out_dir,
            min_probability=min_probability,
            pair_format=pair_format,
            labels=sample,
            progress=progress,
        )
    report.pop("model", None)
    for warning in report["warnings"]:
        typer.echo(f"warning: {warning}", err=True)
    _json(report)
