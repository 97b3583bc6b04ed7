"""Fit, judge, promote and list a service line's scoring models (CLI ``prm scoring``, API).

Fit: the line's history (:func:`service.prospecting.learning.line_history`) is
backtested at rolling origins, then the model is fitted on every labelled
provider-month up to ``as_of`` and stored as a new version
(:mod:`service.prospecting.model_store`), not served. Its metrics and the gate
go into the file.

Gate: a version is promoted only when its AUC beats the served order's with
the paired 95% interval of the difference above 0 (resampling providers). The
served order is the promoted model, judged at origins after its own
``as_of`` (out of sample), or else the hand-set profile. Promotion computes
the gate against whatever is served at that moment, then swaps the pointer
atomically.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd

from core.errors import NotFoundError, Problem, ScoringError
from core.progress import ProgressSink, null_progress
from prospects.bootstrap import compare_orders
from prospects.calibration import calibration_bins
from prospects.calibration_plot import calibration_plot
from prospects.model import FittedModel
from prospects.rolling import ORDERS, origins_for, rolling_predictions
from service.context import AppContext
from service.prospecting import model_store
from service.prospecting.learning import (
    History,
    check_history,
    fit_on,
    line_history,
    prior_of,
    served_weight,
)

__all__ = ["backtest_line", "fit_line", "list_line_models", "promote_line"]

_ORIGINS = 4
_BOOT = 1000
_SEED = 0


def _root(ctx: AppContext) -> Path:
    return Path(ctx.settings.scoring_model_dir)


def _as_of(ctx: AppContext, as_of: date | None) -> date:
    from service.prospecting.referrals import as_of_date

    return as_of or as_of_date(ctx)


def _judge(
    ctx: AppContext,
    history: History,
    current: FittedModel | None,
    progress: ProgressSink = null_progress,
) -> tuple[pd.DataFrame, dict]:
    """Rolling-origin predictions of every order, and the comparison table with its gate."""
    s = ctx.settings
    origins = origins_for(
        history.cutoffs,
        as_of=history.as_of,
        horizon_months=s.scoring_horizon_months,
        count=_ORIGINS,
    )
    predictions, notes = rolling_predictions(
        history.frame,
        origins=origins,
        horizon_months=s.scoring_horizon_months,
        fit=lambda rows, origin: fit_on(ctx, history, rows, origin, version=1),
        weight=lambda model: served_weight(ctx, model),
        profile=history.profile,
        prior=lambda points: prior_of(ctx, points),
        fallback=ctx.fallback,
        current=current,
        progress=progress,
    )
    return predictions, _report(predictions, notes, current=current)


def _report(predictions: pd.DataFrame, notes: list[str], *, current: FittedModel | None) -> dict:
    reference = "profile"
    rows = predictions
    if current is not None:
        rows = predictions[predictions["current"].notna()] if "current" in predictions else None
        if rows is None or rows.empty or not 0 < rows["started"].sum() < len(rows):
            return _no_gate(predictions, notes, current)
        reference = "current"
    orders = [o for o in ORDERS if o in rows.columns]
    table = compare_orders(
        rows["started"].to_numpy(),
        {o: rows[o].to_numpy(float) for o in orders},
        reference=reference,
        n_boot=_BOOT,
        seed=_SEED,
        groups=rows["provider_id"].to_numpy(),
        probabilities={o: rows[o].to_numpy(float) for o in ("model", "current") if o in orders},
    )
    auc = table[(table["order"] == "model") & (table["metric"] == "auc")].iloc[0]
    passed = bool(auc["ci_low"] > 0)
    return {
        "origins": sorted({c.isoformat() for c in rows["cutoff"]}),
        "prospect_months": len(rows),
        "starts": int(rows["started"].sum()),
        "notes": notes,
        "orders": _records(table),
        "gate": {
            "reference": reference if current is None else f"model v{current.version}",
            "auc_difference": _num(auc["difference"]),
            "ci_low": _num(auc["ci_low"]),
            "ci_high": _num(auc["ci_high"]),
            "passed": passed,
        },
    }


def _no_gate(predictions: pd.DataFrame, notes: list[str], current: FittedModel) -> dict:
    out = _report(predictions.drop(columns="current", errors="ignore"), notes, current=None)
    out["gate"] = {
        "reference": f"model v{current.version}",
        "passed": False,
        "reason": f"the served model v{current.version} learned from history up to"
        f" {current.as_of}; no later origin has a known horizon yet, so the two cannot be"
        " compared out of sample",
    }
    return out


def _num(value: object) -> float | None:
    return None if pd.isna(value) else round(float(value), 4)


def _json(key: str, value: object) -> object:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    if key == "resamples":  # pandas' nullable integer
        return int(value)
    return round(float(value), 4) if isinstance(value, float) else value


def _records(table: pd.DataFrame) -> list[dict]:
    """Rows as JSON: floats rounded to 4 places, NaN and pandas' NA as None."""
    return [{k: _json(k, v) for k, v in row.items()} for row in table.to_dict("records")]


def _calibration(predictions: pd.DataFrame) -> pd.DataFrame:
    return calibration_bins(predictions["started"].to_numpy(), predictions["model"].to_numpy())


def _plot(bins: pd.DataFrame, plot: Path | None, title: str) -> None:
    if plot is not None:
        plot.parent.mkdir(parents=True, exist_ok=True)
        calibration_plot(bins, plot, title=title)


def _served(ctx: AppContext, service_line: str) -> FittedModel | None:
    return model_store.active_model(_root(ctx), service_line).model


def _history(
    ctx: AppContext, service_line: str, as_of: date | None, progress: ProgressSink
) -> History:
    progress("history", 0, 1)
    history = line_history(ctx, service_line=service_line, as_of=_as_of(ctx, as_of))
    check_history(history)
    progress("history", 1, 1)
    return history


def backtest_line(
    ctx: AppContext,
    *,
    service_line: str,
    as_of: date | None = None,
    plot: Path | None = None,
    progress: ProgressSink = null_progress,
) -> dict:
    """Rolling-origin backtest of the line's model against the served order and the baselines.

    ``progress`` is told the stages ``history`` and ``backtest`` (one step per origin).
    """
    history = _history(ctx, service_line, as_of, progress)
    predictions, report = _judge(ctx, history, _served(ctx, service_line), progress)
    bins = _calibration(predictions)
    _plot(bins, plot, f"{service_line}: calibration")
    report["calibration"] = _records(bins)
    report["calibration_plot"] = str(plot) if plot else None
    return {"service_line": service_line, "as_of": history.as_of.isoformat(), **report}


def fit_line(
    ctx: AppContext,
    *,
    service_line: str,
    as_of: date | None = None,
    progress: ProgressSink = null_progress,
) -> dict:
    """Backtest, fit on the whole history and store a new (unpromoted) version.

    ``progress`` is told the stages ``history``, ``fit`` and ``backtest`` (one step per origin).

    Raises
    ------
    ScoringError
        One class or too few starts in the history (nothing is stored; the
        served model stays).
    InputError
        ``as_of`` outside the data.
    """
    root = _root(ctx)
    history = _history(ctx, service_line, as_of, progress)
    progress("fit", 0, 1)
    version = model_store.next_version(root, service_line)
    model = fit_on(ctx, history, history.frame, history.as_of, version=version)
    progress("fit", 1, 1)
    predictions, report = _judge(ctx, history, _served(ctx, service_line), progress)
    plot = model_store.calibration_file(root, service_line, version)
    bins = _calibration(predictions)
    report["calibration"] = _records(bins)
    model = model.model_copy(update={"metrics": report})
    path = model_store.save_model(root, model)
    _plot(bins, plot, f"{service_line} v{version}: calibration of the backtest")
    return {**report, "service_line": service_line, "as_of": history.as_of.isoformat(),
            "version": version, "file": str(path),
            "train_rows": model.rows, "train_starts": model.starts,
            "weight": served_weight(ctx, model), "calibration_plot": str(plot)}  # fmt: skip


def promote_line(ctx: AppContext, *, service_line: str, version: int) -> dict:
    """Serve ``version`` if it beats what is served now (the gate); else refuse.

    Raises
    ------
    ScoringError
        The gate is not passed (the served model stays), or the version cannot be read.
    NotFoundError
        No such version.
    """
    root = _root(ctx)
    candidate = model_store.load_version(root, service_line, version)
    current = _served(ctx, service_line)
    if current is not None and current.version == version:
        raise ScoringError(
            f"version {version} is already served",
            problems=[Problem("nothing to promote", field="version", value=str(version))],
        )
    history = line_history(ctx, service_line=service_line, as_of=candidate.as_of)
    check_history(history)
    _, report = _judge(ctx, history, current)
    gate = report["gate"]
    if not gate["passed"]:
        why = gate.get("reason") or (
            f"AUC difference {gate['auc_difference']} (95% interval {gate['ci_low']} to"
            f" {gate['ci_high']}) is not above 0"
        )
        raise ScoringError(
            f"version {version} not promoted: it does not beat {gate['reference']}",
            problems=[Problem(why, field="gate")],
        )
    pointer = model_store.promote(root, service_line, version, gate=gate)
    return {"service_line": service_line, "version": version, "pointer": pointer, "gate": gate}


def list_line_models(ctx: AppContext, *, service_line: str | None = None) -> list[dict]:
    """Every stored version with whether it is served (``prm scoring show``, the API)."""
    models = model_store.list_models(_root(ctx), service_line)
    if service_line is not None and not models:
        raise NotFoundError(f"no fitted model for service line {service_line!r}")
    return models
