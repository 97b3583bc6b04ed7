"""Versioned, immutable scoring profiles for white-space prospect scoring.

A profile says, for one service line of one kind of clinic, how much each
component of the score counts and how each component is computed. Profiles
are TOML files; the shipped ones live in ``prospects/profiles/`` and are
listed by :func:`shipped_profiles`. Layout::

    name = "imaging_mri"
    version = "1.0.0"
    service_line = "MRI"
    display_name = "MRI imaging"          # used in explanations

    [weights]                             # must sum to 1
    specialty = 0.45
    proximity = 0.3
    potential = 0.15
    recency = 0.1                         # optional, 0 when absent

    [recency]                             # optional
    half_life_days = 30.0                 # value = 1 - 2 ** (-days since contact / this)

    [specialty]
    default_fit = 0.1                     # taxonomy not in either table
    [specialty.codes]                     # NUCC code prefixes, longest wins
    "207X" = 1.0
    [specialty.classifications]           # NUCC classification names
    "Orthopaedic Surgery" = 1.0

    [proximity]                           # drive minutes: geo.drive_times, settings' fallback
    half_life_minutes = 10.0              # score = exp(-ln2 * minutes / half-life)

    [potential]                           # sub-weights must sum to 1
    size_weight = 0.5
    warm_weight = 0.3
    entity_weight = 0.2
    size_half_colleagues = 4              # size term = c / (c + this), c = size - 1
    individual_value = 0.6
    organisation_value = 1.0

    [segments]
    high_fit = 0.7
    low_fit = 0.3
    near_minutes = 15.0
    primary_care_codes = ["207Q", "208D"]
    primary_care_classifications = ["Family Medicine"]

Fit lookup order: the longest matching code prefix, then the classification
name (case-insensitive), then ``default_fit``.
"""

from __future__ import annotations

import math
import os
import re
import tomllib
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    model_validator,
)

from core.checks import finite_number
from core.errors import Problem, ScoringError

__all__ = [
    "PROFILE_DIR",
    "ComponentWeights",
    "PotentialSettings",
    "ProximitySettings",
    "RecencySettings",
    "ScoringProfile",
    "SegmentRules",
    "SpecialtyTable",
    "load_profile",
    "profile_from_dict",
    "shipped_profiles",
]

PROFILE_DIR = Path(__file__).resolve().parent / "profiles"
_SUM_TOLERANCE = 1e-6

Fit = Annotated[float, Field(ge=0.0, le=1.0)]
NuccCodePrefix = Annotated[str, StringConstraints(pattern=r"^[0-9A-Z]{1,10}$")]
NonEmpty = Annotated[str, StringConstraints(min_length=1, strip_whitespace=True)]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ComponentWeights(_Frozen):
    """Share of the 0-100 score given to each component; they sum to 1."""

    specialty: Fit
    proximity: Fit
    potential: Fit
    #: Recency of the last contact (see :class:`RecencySettings`); 0 in older profiles.
    recency: Fit = 0.0

    def as_dict(self) -> dict[str, float]:
        return {
            "specialty": self.specialty,
            "proximity": self.proximity,
            "potential": self.potential,
            "recency": self.recency,
        }


class SpecialtyTable(_Frozen):
    """Specialty fit: how likely a taxonomy is to refer to the service line."""

    default_fit: Fit
    codes: dict[NuccCodePrefix, Fit] = Field(default_factory=dict)
    classifications: dict[NonEmpty, Fit] = Field(default_factory=dict)
    #: Fit per clinic specialty group (see :mod:`prospects.groups`); expanded to
    #: codes against the groups file in force before scoring.
    groups: dict[NonEmpty, Fit] = Field(default_factory=dict)


class ProximitySettings(_Frozen):
    """Exponential decay of drive time.

    Drive minutes, and their straight-line estimate where no road answers, are
    the router's (:mod:`geo.drive_times`, from settings), the same for every profile.
    """

    half_life_minutes: float = Field(gt=0)


class RecencySettings(_Frozen):
    """Recency of the last contact (visit, call, email) logged for the prospect.

    ``value = 1 - 2 ** (-days / half_life_days)``: 1 for a prospect never
    contacted (or contacted long ago), 0.5 one half-life after the last
    contact, near 0 the day after: the list puts who is due a contact first.
    """

    half_life_days: float = Field(30.0, gt=0)


class PotentialSettings(_Frozen):
    """How practice size, a warm introduction and entity type make potential."""

    size_weight: Fit
    warm_weight: Fit
    entity_weight: Fit
    size_half_colleagues: float = Field(gt=0)
    individual_value: Fit
    organisation_value: Fit


class SegmentRules(_Frozen):
    """Thresholds that name a prospect's segment (see ``scoring.SEGMENTS``)."""

    high_fit: Fit
    low_fit: Fit
    near_minutes: float = Field(gt=0)
    primary_care_codes: tuple[NuccCodePrefix, ...] = ()
    primary_care_classifications: tuple[NonEmpty, ...] = ()


class ScoringProfile(_Frozen):
    """A named, versioned scoring profile for one service line."""

    name: Annotated[str, StringConstraints(pattern=r"^[a-z0-9_\-]+$")]
    version: Annotated[str, StringConstraints(pattern=r"^\d+\.\d+(\.\d+)?$")]
    service_line: NonEmpty
    display_name: NonEmpty | None = None
    description: str = ""
    weights: ComponentWeights
    specialty: SpecialtyTable
    proximity: ProximitySettings
    potential: PotentialSettings
    recency: RecencySettings = RecencySettings()
    segments: SegmentRules

    @property
    def key(self) -> str:
        """``name@version``, to store next to every score computed with it."""
        return f"{self.name}@{self.version}"

    @property
    def label(self) -> str:
        """Service-line wording used in explanations."""
        return self.display_name or self.service_line

    @model_validator(mode="after")
    def _cross_checks(self) -> ScoringProfile:
        problems = _cross_problems(self.model_dump(), source=None)
        if problems:
            raise ValueError("; ".join(f"{p.field}: {p.message}" for p in problems))
        return self


def _cross_problems(data: Any, *, source: str | None) -> list[Problem]:
    """Problems spanning several fields, found on raw (possibly invalid) data."""
    problems: list[Problem] = []
    if not isinstance(data, dict):
        return problems
    sums = (
        ("weights", ("specialty", "proximity", "potential", "recency")),
        ("potential", ("size_weight", "warm_weight", "entity_weight")),
    )
    for table, keys in sums:
        section = data.get(table)
        if not isinstance(section, dict):
            continue
        # problems of single fields are pydantic's to report, not listed twice here
        values = [
            finite_number(section.get(k, 0.0 if k == "recency" else None), field=k, problems=[])
            for k in keys
        ]
        if any(v is None for v in values):
            continue
        total = math.fsum(v for v in values if v is not None)
        if abs(total - 1.0) > _SUM_TOLERANCE:
            shown = " + ".join(f"{k}={section.get(k)}" for k in keys if k in section)
            problems.append(
                Problem(
                    f"must sum to 1, got {shown} = {total:g}",
                    file=source,
                    field=table,
                    value=str(total),
                )
            )
    segments = data.get("segments")
    if isinstance(segments, dict):
        high = finite_number(segments.get("high_fit"), field="high_fit", problems=[])
        low = finite_number(segments.get("low_fit"), field="low_fit", problems=[])
        if high is not None and low is not None and low > high:
            problems.append(
                Problem(
                    f"low_fit ({low:g}) must not exceed high_fit ({high:g})",
                    file=source,
                    field="segments.low_fit",
                    value=str(low),
                )
            )
    return problems


def profile_from_dict(data: dict[str, Any], *, source: str = "<profile>") -> ScoringProfile:
    """Validate a profile given as a plain mapping (e.g. parsed TOML).

    Parameters
    ----------
    data
        The profile's fields, laid out as in the module docstring.
    source
        Name used in problem records (usually the file name).

    Raises
    ------
    ScoringError
        Listing every problem found: wrong types, fits outside [0, 1],
        weights not summing to 1, unknown keys, bad thresholds.
    """
    problems = _cross_problems(data, source=source)
    try:
        profile = ScoringProfile.model_validate(data)
    except ValidationError as exc:
        for err in exc.errors():
            if not err["loc"]:  # the model-level cross check, already listed above
                continue
            loc = ".".join(str(part) for part in err["loc"])
            value = err.get("input")
            shown = None if isinstance(value, (dict, list)) else str(value)
            problems.append(Problem(err["msg"], file=source, field=loc, value=shown))
        if not problems:  # cross-check failure only seen by pydantic
            problems.append(Problem(str(exc), file=source))
        raise ScoringError(f"invalid scoring profile {source}", problems=problems) from None
    if problems:  # pragma: no cover - pydantic's own cross check would have failed
        raise ScoringError(f"invalid scoring profile {source}", problems=problems)
    return profile


def load_profile(path: str | os.PathLike[str]) -> ScoringProfile:
    """Read and validate a TOML scoring profile.

    Parameters
    ----------
    path
        A ``.toml`` file, or the bare name of a shipped profile
        (e.g. ``"imaging_mri"``).

    Raises
    ------
    ScoringError
        The file is not valid TOML (naming the line) or the profile is invalid
        (listing every problem).
    """
    file = Path(path)
    if not file.suffix and not file.exists() and (PROFILE_DIR / f"{file}.toml").exists():
        file = PROFILE_DIR / f"{file}.toml"
    return _load_cached(file.resolve(), file.stat().st_mtime_ns)


@lru_cache(maxsize=32)
def _load_cached(file: Path, _mtime_ns: int) -> ScoringProfile:  # the time is the cache key
    try:
        data = tomllib.loads(file.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        line = getattr(exc, "lineno", None)  # Python >= 3.14
        if line is None:
            found = re.search(r"line (\d+)", str(exc))
            line = int(found.group(1)) if found else None
        raise ScoringError(
            f"{file.name} is not valid TOML",
            problems=[Problem(str(exc), file=file.name, line=line)],
        ) from exc
    return profile_from_dict(data, source=file.name)


def shipped_profiles() -> dict[str, Path]:
    """Profile name -> TOML file for the profiles shipped with the package."""
    return {p.stem: p for p in sorted(PROFILE_DIR.glob("*.toml"))}
