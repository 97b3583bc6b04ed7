"""Pydantic inputs for liaison territories and expansion scenarios (API and CLI)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from service.wire import JsonId, JsonInt, StorableText

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
    locked_accounts: dict[str, list[JsonId]] = Field(
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
    pick: JsonInt = Field(1, ge=1, le=50)
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


class SiteOverlap(BaseModel):
    """Two sites whose isochrones at ``minutes`` share cells."""

    site_a: str
    site_b: str
    minutes: float
    shared_cells: int
    shared_providers: int = Field(description="Active located providers in the shared cells.")
    share_a: float = Field(description="Share of site_a's cells that site_b also reaches.")
    share_b: float = Field(description="Share of site_b's cells that site_a also reaches.")
    estimated: bool = Field(description="Either site's isochrone is a straight-line estimate.")
    truncated: bool = Field(description="Either site's search reached the network's edge.")


class TerritoryPlanSummary(BaseModel):
    """A stored plan version, as listed."""

    name: str
    version: int
    measure: Measure
    k: int = Field(description="Number of territories (liaisons).")
    balance_max_min: float | None = Field(description="Largest load over smallest load.")
    created_at: datetime | None


class TerritoryPublic(BaseModel):
    """One liaison's territory in a plan version."""

    number: int = Field(description="From 1.")
    liaison: str
    load: float
    share: float = Field(description="Share of the total load.")
    cells: int
    compactness: float | None
    contiguous: bool


class TerritoryPlanPublic(TerritoryPlanSummary):
    """A plan version with its report and territories."""

    resolution: int = Field(description="H3 resolution of the cells split.")
    region: Literal["catchments", "providers"]
    compactness: float | None = Field(description="Mean compactness of the territories.")
    moves: int = Field(description="Cells moved by the balancing search.")
    created_by: str | None
    report: dict[str, Any] | None = Field(description="locked_cells, total_load, cells.")
    territories: list[TerritoryPublic]


class ScenarioSummary(BaseModel):
    """A stored expansion scenario, as listed."""

    name: str
    minutes: float
    measure: Literal["providers", "potential"]
    pick: int
    method: str = Field(description="ilp, greedy or brute_force: how the best pick was chosen.")
    optimal: bool
    added: float = Field(description="The measure the chosen candidates add.")
    chosen: list[str] = Field(description="Labels of the chosen candidates, in pick order.")


class CandidateOverlap(BaseModel):
    site_code: str
    shared_cells: int
    shared_providers: float


class CandidateResult(BaseModel):
    """What one candidate site would reach, add and take from the existing sites."""

    label: str
    chosen: bool
    pick_order: int | None
    cells: int
    new_cells: int = Field(description="Cells no existing site reaches.")
    overlap_cells: int
    white_space_providers: float
    white_space_potential: float
    cannibalised_providers: float
    cannibalised_potential: float
    truncated: bool
    estimated: bool
    snap_m: float | None
    lat: float | None
    lon: float | None
    postal_code: str | None
    overlap: list[CandidateOverlap] | None = Field(
        description="Existing sites it shares cells with."
    )
    flag: Literal["adds nothing", "off the road network"] | None = Field(
        None,
        description="Why it is never picked: it adds no white space beyond the chosen "
        "candidates, or it lies farther than max_snap_m from any road. Null otherwise.",
    )


class ScenarioPublic(BaseModel):
    """An evaluated scenario: every candidate and the best ``pick`` of them."""

    name: str
    minutes: float
    measure: Literal["providers", "potential"]
    pick: int
    resolution: int
    method: str
    optimal: bool
    guarantee: str = Field(description="What the method guarantees (exact, or greedy's 1-1/e).")
    added: float
    summary: dict[str, Any] | None = Field(
        description="candidates, existing_sites, road_network, chosen, marginal, and "
        "unpicked: label -> 'adds nothing' | 'off the road network' (never picked; fewer "
        "than pick may be chosen)."
    )
    created_at: datetime | None
    candidates: list[CandidateResult]


class ScenarioRow(ScenarioSummary):
    """A scenario's line in a comparison."""

    guarantee: str
    unpicked: dict[str, str] = Field(
        default_factory=dict,
        description="Candidates never picked, with why: 'adds nothing' or 'off the road network'.",
    )
    estimated_candidates: int
    truncated_candidates: int


class ComparedCandidate(CandidateResult):
    scenario: str


class ScenarioComparison(BaseModel):
    """Scenarios side by side: one row each, and every candidate of each."""

    scenarios: list[ScenarioRow]
    candidates: list[ComparedCandidate]
