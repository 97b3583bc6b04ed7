"""Parameters of the synthetic referral world (:mod:`bench.referral_world`), read from TOML.

Every section of ``bench/referral_world.toml`` becomes a frozen dataclass; a key
missing from the file or unknown to the dataclass is an error, so a typo never
silently keeps a default. Lists become tuples, TOML dates stay
:class:`datetime.date`. Change a value for one run with :func:`dataclasses.replace`::

    p = load_params()
    small = replace(p, world=replace(p.world, providers=1500))

Imports only the standard library (the generator's modules import no product code).
"""

from __future__ import annotations

import dataclasses
import tomllib
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

__all__ = [
    "PARAMS_PATH",
    "Competitor",
    "Site",
    "Specialty",
    "WorldParams",
    "load_params",
]

#: The committed parameters.
PARAMS_PATH = Path(__file__).with_name("referral_world.toml")


@dataclass(frozen=True)
class WorldSection:
    """Size and calendar: ``providers`` individuals, ``history_months`` from ``history_start``."""

    providers: int
    history_start: date
    history_months: int
    burn_in_months: int
    enrolment_window_months: int
    new_enrolment_share: float
    first_enumeration: date
    legacy_enumeration_share: float


@dataclass(frozen=True)
class GeoSection:
    """The metro: ZIP centroids ``(zip, city, lat, lon)``, campuses and scatter."""

    center: tuple[float, float]
    zip_decay_km: float
    zip_sd_km: float
    hubs: int
    hub_share: float
    hub_sd_km: float
    state: str
    zips: tuple[tuple[str, str, float, float], ...]
    streets: tuple[str, ...]


@dataclass(frozen=True)
class Site:
    """One of the clinic's imaging sites."""

    code: str
    name: str
    lat: float
    lon: float


@dataclass(frozen=True)
class Competitor:
    """Another imaging centre."""

    name: str
    lat: float
    lon: float


@dataclass(frozen=True)
class TravelSection:
    """The generator's drive-time model (see :func:`bench.referral_world_sim.drive_minutes`)."""

    circuity: float
    circuity_sd: float
    circuity_short_extra: float
    speed_near_kmh: float
    speed_far_kmh: float
    speed_scale_km: float
    terminal_min: tuple[float, float]


@dataclass(frozen=True)
class PracticeSection:
    """Practice sizes, specialty mix, the reported size's noise, organisation NPIs."""

    size_max: int
    size_exponent: float
    main_group_share: float
    reported_exact_share: float
    reported_missing_share: float
    reported_error_sd: float
    organisation_npi_min_size: int
    organisation_npi_share: float


@dataclass(frozen=True)
class HazardSection:
    """Terms of the monthly logit of starting to refer (see the TOML comments)."""

    baseline: float
    practice_sd: float
    size_log: float
    distance_flat_min: float
    distance_scale_min: float
    distance_floor: float
    distance_slope_near: float
    colleagues: float
    colleague_months: int
    past: float
    past_decay_months: float
    competitor: float
    competitor_km: float
    new_enrolment: float
    new_enrolment_months: int
    visit_30: float
    visit_90: float
    call_30: float
    call_90: float
    email_30: float
    email_90: float


@dataclass(frozen=True)
class ReferralSection:
    """Referral volume, churn, site choice and how the referrer is written down."""

    churn: float
    volume_sd: float
    size_volume: float
    site_temperature_min: float
    npi_blank_share: float
    typo_share: float


@dataclass(frozen=True)
class LiaisonSection:
    """The liaisons' contact policy: monthly Poisson means and targeting."""

    names: tuple[str, ...]
    visits: float
    calls: float
    emails: float
    targeted_share: float
    targeting_temperature: float


@dataclass(frozen=True)
class Specialty:
    """A generator-side specialty group; ``codes`` are ``(NUCC code, classification, weight)``."""

    name: str
    share: float
    effect: float
    tolerance: float
    rate: float
    credentials: tuple[str, ...]
    labels: tuple[str, ...]
    codes: tuple[tuple[str, str, float], ...]


@dataclass(frozen=True)
class OrganisationSection:
    """Organisation NPIs (entity type 2): their logit effect, codes and name suffixes."""

    effect: float
    codes: tuple[tuple[str, str, float], ...]
    suffixes: tuple[str, ...]


@dataclass(frozen=True)
class NameSection:
    """Name pools."""

    female: tuple[str, ...]
    male: tuple[str, ...]
    last: tuple[str, ...]


@dataclass(frozen=True)
class NoteSection:
    """Interaction notes by kind."""

    visit: tuple[str, ...]
    call: tuple[str, ...]
    email: tuple[str, ...]


@dataclass(frozen=True)
class WorldParams:
    """Everything :func:`bench.referral_world.generate_world` draws from, besides the seed."""

    world: WorldSection
    geo: GeoSection
    sites: tuple[Site, ...]
    competitors: tuple[Competitor, ...]
    travel: TravelSection
    practices: PracticeSection
    hazard: HazardSection
    referrals: ReferralSection
    liaisons: LiaisonSection
    specialties: tuple[Specialty, ...]
    organisations: OrganisationSection
    names: NameSection
    notes: NoteSection


def _tuples(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(_tuples(v) for v in value)
    return value


def _section(cls: type, table: Any, where: str) -> Any:
    if not isinstance(table, dict):
        raise ValueError(f"{where}: expected a table, got {type(table).__name__}")
    names = [f.name for f in dataclasses.fields(cls)]
    missing = [n for n in names if n not in table]
    unknown = [k for k in table if k not in names]
    if missing or unknown:
        raise ValueError(f"{where}: missing keys {missing}, unknown keys {unknown}")
    return cls(**{n: _tuples(table[n]) for n in names})


_SECTIONS: dict[str, type] = {
    "world": WorldSection,
    "geo": GeoSection,
    "travel": TravelSection,
    "practices": PracticeSection,
    "hazard": HazardSection,
    "referrals": ReferralSection,
    "liaisons": LiaisonSection,
    "organisations": OrganisationSection,
    "names": NameSection,
    "notes": NoteSection,
}
_LISTS: dict[str, type] = {"sites": Site, "competitors": Competitor, "specialties": Specialty}


def load_params(path: Path | str | None = None) -> WorldParams:
    """Read the world's parameters from TOML.

    Parameters
    ----------
    path
        A TOML file; ``None`` reads the committed ``bench/referral_world.toml``.

    Returns
    -------
    WorldParams
        The parameters, every list a tuple.

    Raises
    ------
    ValueError
        A section or key missing or unknown, or no site or specialty.
    """
    raw = tomllib.loads(Path(path or PARAMS_PATH).read_text(encoding="utf-8"))
    unknown = sorted(set(raw) - set(_SECTIONS) - set(_LISTS))
    if unknown:
        raise ValueError(f"unknown sections {unknown}")
    values: dict[str, Any] = {
        key: _section(cls, raw.get(key), f"[{key}]") for key, cls in _SECTIONS.items()
    }
    for key, cls in _LISTS.items():
        rows = raw.get(key)
        if not isinstance(rows, list) or not rows:
            raise ValueError(f"[[{key}]]: at least one entry needed")
        values[key] = tuple(_section(cls, r, f"[[{key}]] #{i + 1}") for i, r in enumerate(rows))
    return WorldParams(**values)
