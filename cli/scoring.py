"""``prm scoring fit|backtest|promote|show``: scores learned from the clinic's own history."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from cli.common import _data_context, _run, out
from cli.progress import rich_progress

scoring_app = typer.Typer(
    help="Scoring models learned from the clinic's referral history.", no_args_is_help=True
)
app = typer.Typer()
app.add_typer(scoring_app, name="scoring")

ServiceLine = Annotated[str, typer.Option("--service-line", help="Service line, e.g. MRI.")]
AsOf = Annotated[
    str | None,
    typer.Option("--as-of", help="Last day of history to use (YYYY-MM-DD; default the settings')."),
]


def _day(text: str | None) -> date | None:
    """``--as-of`` read as a date (raises :class:`core.errors.InputError`; call it through
    :func:`cli.common._run`)."""
    from core.errors import InputError, Problem

    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InputError(
            "bad --as-of", problems=[Problem("not YYYY-MM-DD", field="as_of", value=text)]
        ) from None


def _fmt(value: object) -> str:
    return "-" if value is None else f"{value:.3f}" if isinstance(value, float) else str(value)


def _print_report(report: dict) -> None:
    out.print(
        f"origins {', '.join(report['origins'])}: {report['prospect_months']} prospect-months,"
        f" {report['starts']} started referring within the horizon"
    )
    for note in report.get("notes", []):
        out.print(f"  note: {note}")
    table = Table("order", "p@25", "p@50", "p@100", "AUC", "Brier", "AUC vs reference (95%)")
    by_order: dict[str, dict[str, dict]] = {}
    for row in report["orders"]:
        by_order.setdefault(row["order"], {})[row["metric"]] = row
    for order, metrics in by_order.items():
        auc = metrics.get("auc", {})
        diff = (
            f"{auc['difference']:+.3f} ({auc['ci_low']:+.3f} to {auc['ci_high']:+.3f})"
            if auc.get("difference") is not None
            else "reference"
        )
        table.add_row(
            order,
            *(_fmt(metrics.get(m, {}).get("value")) for m in ("p@25", "p@50", "p@100", "auc")),
            _fmt(metrics.get("brier", {}).get("value")),
            diff,
        )
    out.print(table)
    gate = report["gate"]
    verdict = "passes" if gate["passed"] else "does not pass"
    out.print(f"gate against {gate['reference']}: {verdict}" + (
        f" ({gate['reason']})" if gate.get("reason") else ""))  # fmt: skip


@scoring_app.command("fit")
def fit(service_line: ServiceLine, as_of: AsOf = None) -> None:
    """Fit a model on the history, backtest it and store it as a new version (not served)."""
    from service.prospecting.model_ops import fit_line

    ctx = _data_context()
    with rich_progress() as progress:
        res = _run(
            fit_line, ctx, service_line=service_line, as_of=_run(_day, as_of), progress=progress
        )
    out.print(
        f"{res['service_line']} model v{res['version']}: learned from {res['train_rows']}"
        f" provider-months, {res['train_starts']} monthly starts; served weight against the profile {res['weight']:.2f}"
        f"\n  {res['file']}\n  calibration plot {res['calibration_plot']}"
    )
    _print_report(res)
    out.print(f"promote with: prm scoring promote --service-line {service_line} {res['version']}")


@scoring_app.command("backtest")
def backtest(
    service_line: ServiceLine,
    as_of: AsOf = None,
    plot: Annotated[
        Path | None, typer.Option("--plot", help="Write the calibration plot (PNG) here.")
    ] = None,
) -> None:
    """Rolling-origin backtest: the model beside the served order and the baselines."""
    from service.prospecting.model_ops import backtest_line

    ctx = _data_context()
    with rich_progress() as progress:
        res = _run(
            backtest_line,
            ctx,
            service_line=service_line,
            as_of=_run(_day, as_of),
            plot=plot,
            progress=progress,
        )
    _print_report(res)
    table = Table("bin", "n", "predicted", "observed", "95% interval", "within")
    for b in res["calibration"]:
        table.add_row(
            str(b["bin"]),
            str(b["count"]),
            _fmt(b["mean_predicted"]),
            _fmt(b["observed_rate"]),
            f"{_fmt(b['ci_low'])} to {_fmt(b['ci_high'])}",
            "yes" if b["within_interval"] else "no",
        )
    out.print(table)
    if plot:
        out.print(f"calibration plot {plot}")


@scoring_app.command("promote")
def promote(
    service_line: ServiceLine,
    version: Annotated[int, typer.Argument(help="The version to serve.")],
) -> None:
    """Serve a version, if its AUC beats what is served (paired 95% interval above 0)."""
    from service.prospecting.model_ops import promote_line

    ctx = _data_context()
    res = _run(promote_line, ctx, service_line=service_line, version=version)
    gate = res["gate"]
    out.print(
        f"{res['service_line']} v{res['version']} is served; AUC {gate['auc_difference']:+.3f}"
        f" against {gate['reference']} (95% interval {gate['ci_low']:+.3f} to"
        f" {gate['ci_high']:+.3f}). Run `prm score` to rescore the prospects."
    )


@scoring_app.command("show")
def show(
    service_line: Annotated[
        str | None, typer.Option("--service-line", help="Only this service line.")
    ] = None,
) -> None:
    """Every fitted version, which one is served, and its backtest figures."""
    from service.prospecting.model_ops import list_line_models

    ctx = _data_context()
    rows = _run(list_line_models, ctx, service_line=service_line)
    table = Table("line", "version", "served", "as of", "rows", "starts", "AUC", "gate", "warning")
    for r in rows:
        metrics = r["metrics"] or {}
        auc = next(
            (o["value"] for o in metrics.get("orders", [])
             if o["order"] == "model" and o["metric"] == "auc"),
            None,
        )  # fmt: skip
        gate = metrics.get("gate", {})
        table.add_row(
            r["service_line"],
            str(r["version"]),
            "yes" if r["active"] else "",
            r["as_of"] or "",
            _fmt(r["rows"]),
            _fmt(r["starts"]),
            _fmt(auc),
            "passed" if gate.get("passed") else "not passed" if gate else "",
            r["warning"] or "",
        )
    out.print(table)
    if not rows:
        out.print("no fitted model: prospects are scored by the hand-set profiles")
