"""Pydantic inputs for liaison territories and expansion scenarios (API and CLI)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import ConfigDict, Field, model_validator

from service.schemas import StorableText

Measure = Literal["providers", "potential", "workload"]
"""What territories are balanced on / candidates maximise:

* ``providers``: active located providers in the cell;
* ``potential``: sum over the cell's providers of their best prospect score / 100;
* ``workload``: expected visits: referrers by tier (A 3, B 2, C 1) plus one
  per prospect scoring 50 or more.
"""


class TerritoryPlanCreate(StorableText):
    """A request for a new version of a liaison territory plan."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "name": "columbus-2027",
                    "liaisons": ["Ana", "Ben", "Chloe", "Dev"],
                    "measure": "potential",
                    "locked_accounts": {"Ana": [12, 57]},
                }
            ]
        },
    )

    name: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.-]+$")
    liaisons: list[Annotated[str, Field(min_length=1, max_length=100)]] = Field(
        min_length=1, max_length=200, description="One liaison per territory (k = their number)."
    )
    measure: Measure = "providers"
    region: Literal["catchments", "providers"] = Field(
        "catchments",
        description="Cells to split: the sites' stored catchments, or every "
        "cell holding a located provider.",
    )
    locked_cells: dict[str, list[str]] = Field(
        default_factory=dict, description="Liaison -> H3 cells (hex strings) that stay theirs."
    )
    locked_accounts: dict[str, list[Annotated[int, Field(ge=1, le=2**31 - 1)]]] = Field(
        default_factory=dict, description="Liaison -> provider ids whose cells stay theirs."
    )
    max_seconds: float = Field(8.0, gt=0, le=120)

    @model_validator(mode="after")
    def _names(self) -> TerritoryPlanCreate:
        names = [n.strip() for n in self.liaisons]
        if any(not n for n in names) or len(set(names)) != len(names):
            raise ValueError("liaison names must be non-empty and distinct")
        unknown = (set(self.locked_cells) | set(self.locked_accounts)) - set(names)
        if unknown:
            raise ValueError(f"locks name unknown liaisons: {', '.join(sorted(unknown))}")
        return self


class CandidateIn(StorableText):
    """A candidate site, by coordinates or by postcode (its centroid); also read from a CSV file."""

    model_config = ConfigDict(extra="forbid")

    label: str = Field(min_length=1, max_length=100)
    lat: float | None = Field(None, ge=-90, le=90)
    lon: float | None = Field(None, ge=-180, le=180)
    postal_code: str | None = Field(None, max_length=10)

    @model_validator(mode="after")
    def _where(self) -> CandidateIn:
        if (self.lat is None) != (self.lon is None):
            raise ValueError("give both lat and lon, or neither")
        if self.lat is None and not self.postal_code:
            raise ValueError("give lat and lon, or a postal_code")
        return self


class ScenarioCreate(StorableText):
    """An expansion scenario: candidates evaluated against the existing sites."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "name": "north-2027",
                    "minutes": 15,
                    "pick": 2,
                    "measure": "providers",
                    "candidates": [
                        {"label": "Polaris", "lat": 40.145, "lon": -82.98},
                        {"label": "Hilliard", "postal_code": "43026"},
                    ],
                }
            ]
        },
    )

    name: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.-]+$")
    candidates: list[CandidateIn] = Field(min_length=1, max_length=500)
    minutes: float = Field(15.0, gt=0, le=120)
    pick: int = Field(1, ge=1, le=50)
    measure: Literal["providers", "potential"] = "providers"
    method: Literal["auto", "ilp", "greedy", "brute_force"] = "auto"
    replace: bool = Field(False, description="Replace a stored scenario of the same name.")

    @model_validator(mode="after")
    def _labels(self) -> ScenarioCreate:
        labels = [c.label for c in self.candidates]
        if len(set(labels)) != len(labels):
            raise ValueError("candidate labels must be distinct")
        if self.pick > len(self.candidates):
            raise ValueError("pick exceeds the number of candidates")
        return self
