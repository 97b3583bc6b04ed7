"""Request and response models of ``/v1/scoring`` (fitted models, backtests, promotion)."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, Field

from service.wire import IsoDate, TrimmedBody, trimmed_at_least

__all__ = [
    "CalibrationBinPublic",
    "GatePublic",
    "OrderMetricPublic",
    "ScoringBacktestReport",
    "ScoringBacktestRequest",
    "ScoringFitCreate",
    "ScoringFitReport",
    "ScoringModelPublic",
    "ScoringPromotion",
]


class _Request(TrimmedBody):
    """JSON types as sent, no unknown field, text trimmed (:class:`service.wire.TrimmedBody`)."""

    service_line: str = Field(
        min_length=1, max_length=60, pattern=trimmed_at_least(1), description="e.g. MRI"
    )
    as_of: IsoDate | None = Field(None, description="Last day of history (default: the settings').")


class ScoringFitCreate(_Request):
    """Fit a new version on the line's history (stored, not served)."""


class ScoringBacktestRequest(_Request):
    """Rolling-origin backtest of the line's model against the served order and baselines."""


class OrderMetricPublic(BaseModel):
    order: str = Field(description="model, current, profile, distance only or specialty prior")
    metric: str = Field(description="p@25, p@50, p@100, auc or brier")
    value: float | None
    difference: float | None = Field(None, description="value minus the reference's")
    ci_low: float | None = Field(None, description="paired bootstrap 95% interval, low end")
    ci_high: float | None = None
    resamples: int | None = None


class CalibrationBinPublic(BaseModel):
    bin: int
    lower: float | None
    upper: float | None
    count: int
    mean_predicted: float | None
    observed_rate: float | None
    ci_low: float | None = Field(description="exact (Clopper-Pearson) 95% interval")
    ci_high: float | None
    within_interval: bool


class GatePublic(BaseModel):
    reference: str = Field(description="what is served now: the profile or model vN")
    passed: bool = Field(description="AUC difference's paired 95% interval lies above 0")
    auc_difference: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    reason: str | None = Field(None, description="why no comparison could be made")


class ScoringBacktestReport(BaseModel):
    service_line: str
    as_of: date
    origins: list[date]
    prospect_months: int
    starts: int
    notes: list[str]
    orders: list[OrderMetricPublic]
    gate: GatePublic
    calibration: list[CalibrationBinPublic]
    calibration_plot: str | None = None


class ScoringFitReport(ScoringBacktestReport):
    version: int
    file: str
    train_rows: int = Field(description="provider-months the model learned from")
    train_starts: int = Field(description="starts (next month) among them: n in n/(n+k)")
    weight: float = Field(description="the model's share against the profile, n/(n+k)")


class ScoringModelPublic(BaseModel):
    service_line: str
    version: int
    active: bool = Field(description="served by the scoring stage")
    as_of: date | None
    fitted_at: str | None
    rows: int | None
    starts: int | None
    horizon_months: int | None
    metrics: dict = Field(description="the backtest and gate at fit time")
    warning: str | None = Field(None, description="the file cannot be read")


class ScoringPromotion(BaseModel):
    service_line: str
    version: int
    gate: GatePublic
