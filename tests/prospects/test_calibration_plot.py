"""Tests for prospects.calibration_plot: the reliability diagram's PNG."""

from __future__ import annotations

import pytest

from core.errors import InputError
from prospects.calibration import calibration_bins
from prospects.calibration_plot import calibration_plot

from .test_calibration import calibrated


def test_calibration_plot_writes_a_png(tmp_path: pytest.TempPathFactory) -> None:
    y, p = calibrated(3_000, seed=5)
    frame = calibration_bins(y, p, bins=10)
    frame.loc[0, "within_interval"] = False  # both markers drawn
    out = calibration_plot(frame, tmp_path / "reliability.png", title="calibrated sample")
    data = out.read_bytes()
    assert out == tmp_path / "reliability.png"
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(data) > 10_000
    with pytest.raises(InputError) as info:
        calibration_plot(frame.drop(columns="ci_low"), tmp_path / "nowhere" / "x.png", title="")
    assert {p.field for p in info.value.problems} == {"ci_low", "path"}


def test_calibration_plot_leaves_pyplot_alone(tmp_path: pytest.TempPathFactory) -> None:
    import matplotlib

    before = matplotlib.get_backend()
    calibration_plot(calibration_bins([0, 1], [0.2, 0.7], bins=2), tmp_path / "a.png", title="t")
    assert matplotlib.get_backend() == before
