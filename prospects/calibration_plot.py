"""The reliability diagram of a :func:`prospects.calibration.calibration_bins` table, as a PNG."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from core.errors import InputError, Problem
from prospects.calibration import BINS_COLUMNS

__all__ = ["calibration_plot"]


def calibration_plot(bins_frame: pd.DataFrame, path: str | Path, *, title: str) -> Path:
    """Write a reliability diagram of a :func:`calibration_bins` table as a PNG; return its path.

    Observed rate against mean predicted probability, the intervals as error
    bars (bins whose interval misses the prediction as open red squares) and
    the diagonal of perfect calibration. Drawn on matplotlib's Agg canvas: no
    display, and pyplot's global state is left alone.

    Raises
    ------
    InputError
        The frame lacks a column of :data:`BINS_COLUMNS`, or the folder of
        ``path`` does not exist.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    path = Path(path)
    missing = [c for c in BINS_COLUMNS if c not in bins_frame.columns]
    problems = [Problem("required column is missing", field=c) for c in missing]
    if not path.parent.is_dir():
        problems.append(Problem("folder does not exist", field="path", value=str(path.parent)))
    if problems:
        raise InputError("cannot draw the calibration plot", problems=problems)
    fig = Figure(figsize=(5.5, 5.5), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.plot([0, 1], [0, 1], color="0.6", linestyle="--", linewidth=1, label="perfect calibration")
    styles = {True: ("o", "tab:blue", "prediction within the interval"), False: ("s", "none", "")}
    for inside, (marker, face, label) in styles.items():
        part = bins_frame[bins_frame["within_interval"].astype(bool) == inside]
        if part.empty:
            continue
        rate = part["observed_rate"].to_numpy(float)
        low, high = part["ci_low"].to_numpy(float), part["ci_high"].to_numpy(float)
        ax.errorbar(
            part["mean_predicted"].to_numpy(float),
            rate,
            yerr=[rate - low, high - rate],
            fmt=marker,
            color="tab:blue" if inside else "tab:red",
            mfc=face,
            capsize=3,
            label=label or "prediction outside the interval",
        )
    ax.set(xlim=(0, 1), ylim=(0, 1), xlabel="mean predicted probability", ylabel="observed rate")
    ax.set_title(title)
    ax.set_aspect("equal")
    ax.legend(loc="upper left", fontsize="small")
    fig.savefig(path, format="png")
    return path
