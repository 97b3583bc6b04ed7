"""Configuration, read from ``PRM_``-prefixed environment variables (or a ``.env`` file).

Settings objects are immutable: build one with :func:`load_settings` (or
``Settings(**overrides)`` in tests) and pass it down; nothing mutates a global.
"""

from __future__ import annotations

import math
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_VAR_DIR = REPO_ROOT / "var"
REFERENCE_DIR = REPO_ROOT / "data" / "reference"
#: Where ``./dev demo`` records the settings of the database it built (:func:`load_settings`).
DEMO_RECORD = DEFAULT_VAR_DIR / "demo" / "settings.json"
#: The settings a demo record may hold: which database, and the date its data is as of.
DEMO_RECORD_FIELDS = ("database_url", "as_of")


class AtRiskRule(BaseModel):
    """An at-risk alert rule: a referrer of ``tier`` with at most ``max_referrals`` in ``days``.

    The window is ``(as_of - days, as_of]``, as in :mod:`prospects.terms`.
    ``tier`` None applies to every referring referrer.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1, max_length=80, pattern=r"^[A-Za-z0-9_.-]+$")
    tier: Literal["A", "B", "C"] | None = None
    days: int = Field(gt=0, le=3660)
    max_referrals: int = Field(0, ge=0)


class Settings(BaseSettings):
    """Service configuration.

    Every field can be set from the environment as ``PRM_<FIELD>``, e.g.
    ``PRM_DATABASE_URL=postgresql+psycopg://user:pw@host/prm``.
    """

    model_config = SettingsConfigDict(
        env_prefix="PRM_", env_file=".env", extra="ignore", frozen=True
    )

    environment: Literal["development", "test", "production"] = Field(
        "development",
        description="'development', 'test' or 'production' (any case). Production refuses weak "
        "secrets (see MIN_SECRET_CHARS) and webhook destinations on private addresses.",
    )
    database_url: str = Field(
        f"sqlite:///{DEFAULT_VAR_DIR / 'prm.sqlite'}",
        description="SQLAlchemy URL: sqlite:///path (embedded) or postgresql+psycopg://...",
    )
    sqlite_busy_timeout_ms: int = Field(30_000, ge=0)

    # Bootstrap API keys, one per role, from the environment (keys issued with
    # ``prm keys create`` live hashed in the database). The demo generates them.
    admin_api_key: SecretStr = Field(
        SecretStr("dev-admin-key"), description="Bootstrap key with role admin."
    )
    viewer_api_key: SecretStr = Field(
        SecretStr("dev-viewer-key"), description="Bootstrap key with role viewer."
    )
    webhook_secret: SecretStr = Field(
        SecretStr("dev-webhook-secret"),
        description="Master secret from which each webhook subscription's signing secret is derived.",
    )

    # Abuse limits (per API key, per worker process: N workers admit N times the rate)
    rate_limit_per_second: float = Field(
        20.0, gt=0, description="Sustained requests per second per key."
    )
    rate_limit_burst: int = Field(200, ge=1, description="Requests a key may send at once.")
    api_threads: int = Field(
        2,
        ge=1,
        le=200,
        description="Threads per API worker process running database-bound handlers at once; "
        "more only queue on the GIL (each worker process has one), so scale with --workers.",
    )
    queue_timeout_s: float = Field(
        10.0,
        gt=0,
        le=300,
        description="How long a request may wait for a free handler slot before it is answered "
        "503 with Retry-After (a problem document).",
    )
    queue_max: int = Field(
        200,
        ge=0,
        le=100_000,
        description="Requests that may wait for a slot at once per worker; beyond, 503 at once.",
    )
    max_json_bytes: int = Field(
        1 << 20, gt=0, description="Largest request body other than an upload (413 beyond)."
    )
    body_timeout_s: float = Field(
        30.0,
        gt=0,
        le=3600,
        description="Time a request body (an upload included) may take to arrive (408 beyond).",
    )
    shutdown_grace_s: float = Field(
        5.0,
        ge=0,
        le=300,
        description="On SIGTERM, how long requests in flight get to finish before they are cut.",
    )
    session_hours: float = Field(
        12.0,
        gt=0,
        le=24 * 30,
        description="Lifetime of a browser session (POST /v1/session), from sign-in.",
    )
    recover_interrupted_jobs: bool = Field(
        True,
        description="At start (every CLI command, every API worker), mark load batches and jobs whose "
        "owner's lease expired, and whose owner is gone when it ran on this host, as 'interrupted'.",
    )
    lease_duration_s: float = Field(
        60.0,
        gt=0,
        le=86_400,
        description="How long a running batch or job stays its owner's without a heartbeat; once "
        "expired, a starting command marks it interrupted (unless its owner, on this host, is alive).",
    )
    lease_heartbeat_s: float = Field(
        15.0,
        gt=0,
        description="How often a live owner renews its lease (PostgreSQL; below the lease duration).",
    )
    webhook_max_attempts: int = Field(
        6, ge=1, le=20, description="Delivery attempts before giving up."
    )
    webhook_backoff_s: float = Field(
        30.0, gt=0, description="Delay before the first retry; doubled at each further attempt."
    )

    # Reference data
    osm_file: Path = Field(REFERENCE_DIR / "osm" / "columbus_oh_otp_2015.osm.bz2")
    nucc_file: Path = Field(REFERENCE_DIR / "nucc_taxonomy_220.csv")
    cache_dir: Path = Field(DEFAULT_VAR_DIR / "cache")

    # Grids and catchments
    catchment_resolution: Literal[7, 8, 9] = Field(
        8, description="H3 resolution of catchment cells: one of those stored per point (7, 8, 9)."
    )
    drive_minutes: tuple[float, ...] = Field((5.0, 10.0))
    radius_km: float = Field(5.0, gt=0, le=200)

    # Road network and drive times
    road_speeds_kph: dict[str, float] | None = Field(
        None, description="km/h per OSM highway class (JSON object); None = geo.roads defaults."
    )
    max_snap_m: float = Field(
        500.0, gt=0, description="A point farther than this from any road is off the network."
    )
    fallback_circuity: float = Field(
        1.3, ge=1, le=5, description="Road over straight-line distance, for estimated drive times."
    )
    fallback_speed_kph: float = Field(
        30.0, gt=0, le=200, description="Average speed for estimated (straight-line) drive times."
    )
    isochrone_minutes: tuple[float, ...] = Field(
        (10.0, 20.0, 30.0), description="Isochrone time limits for maps and planning."
    )
    prospect_reach_minutes: float = Field(
        45.0,
        gt=0,
        allow_inf_nan=False,
        description="Providers within this many drive minutes of a site are scored for it "
        "(its catchments are a filter of the prospect list, not who is scored).",
    )

    specialty_groups_file: Path | None = Field(
        None, description="TOML file of clinic specialty groups (None = the shipped default)."
    )
    link_settings_file: Path | None = Field(
        None, description="Entity-resolution settings, TOML or JSON (None = the shipped default)."
    )

    # Referrals and tiers
    as_of: date | None = Field(
        None, description="Date analytics are computed as of (None = today)."
    )
    referring_window_days: int = Field(365, gt=0, description="Referring = >=1 referral in window.")
    tier_a_min: int = Field(24, gt=0, description="Referrals in window for tier A.")
    tier_b_min: int = Field(6, gt=0, description="Referrals in window for tier B (else C).")
    lapsed_days: int = Field(
        90,
        gt=0,
        description="A referrer with no referral in this many days is lapsed and back "
        "among the prospects (at most referring_window_days; terms in prospects/terms.py).",
    )
    # Learned scores (prospects.model): fit, blend with the hand-set profile, horizon
    scoring_model_dir: Path = Field(
        DEFAULT_VAR_DIR / "models",
        description="Fitted scoring models, one folder per service line (shared by all hosts).",
    )
    scoring_horizon_months: int = Field(
        6, ge=1, le=24, description="A score is the probability of starting to refer within this."
    )
    scoring_prior_starts: float = Field(
        50.0,
        ge=0,
        description="k in the fitted model's weight n/(n+k) against the hand-set profile "
        "(n = starts it was fitted on).",
    )
    scoring_prior_base_rate: float = Field(
        0.005,
        gt=0,
        lt=1,
        description="The profile prior's monthly chance of a start at a score of 50.",
    )
    scoring_prior_slope: float = Field(
        2.0, gt=0, description="The profile prior's log-odds per 50 points of profile score."
    )
    scoring_min_starts: int = Field(
        30, ge=1, description="A fit needs at least this many starts in the clinic's history."
    )
    scoring_penalty_c: float = Field(
        0.01,
        gt=0,
        description="Inverse L2 penalty of the fitted model on standardised features: the"
        " prior sd of a coefficient is its square root (0.1), for histories of a few hundred starts.",
    )
    at_risk_rules: list[AtRiskRule] = Field(
        default_factory=lambda: [
            AtRiskRule(name="tier-A-silent-14d", tier="A", days=14, max_referrals=0),
            AtRiskRule(name="tier-B-silent-30d", tier="B", days=30, max_referrals=0),
        ],
        description="At-risk alert rules (JSON list of {name, tier, days, max_referrals}).",
    )

    # Ingestion limits
    max_reject_rate: float = Field(0.05, ge=0, le=1)
    min_event_date: date = Field(
        date(2000, 1, 1),
        description="Referral and interaction dates before this day are refused (a typo such as "
        "1024 for 2024); dates after tomorrow are refused too.",
    )
    max_upload_bytes: int = Field(50 * 1024 * 1024, gt=0)
    chunk_rows: int = Field(
        20_000, gt=0, description="Rows read, checked and written per step of a load."
    )
    memory_budget_mb: int = Field(
        2048,
        ge=64,
        le=1_048_576,
        description=(
            "Memory (MB) a bulk stage may use for its chunks: the link stage reads the linker's"
            " columns and builds and writes golden records this many records at a time"
            " (memory_budget_mb * 64)."
        ),
    )
    parallel_read_bytes: int = Field(
        64 * 1024 * 1024,
        ge=0,
        description="Files at least this big are read in a child process while the load writes.",
    )

    # Map
    tile_url: str | None = Field(
        None, description="XYZ tile URL template for an online basemap; None = offline roads only."
    )
    tile_attribution: str = "© OpenStreetMap contributors"

    @field_validator("tier_b_min")
    @classmethod
    def _b_below_a(cls, v: int, info) -> int:  # noqa: ANN001
        a = info.data.get("tier_a_min")
        if a is not None and v >= a:
            raise ValueError("tier_b_min must be below tier_a_min")
        return v

    @field_validator("lapsed_days")
    @classmethod
    def _lapse_within_window(cls, v: int, info) -> int:  # noqa: ANN001
        # longer, and a referrer whose referrals left the window but not the lapse would be
        # neither referring nor lapsed (prospects/terms.py)
        window = info.data.get("referring_window_days")
        if window is not None and v > window:
            raise ValueError("lapsed_days must not exceed referring_window_days")
        return v

    @field_validator("environment", mode="before")
    @classmethod
    def _environment_any_case(cls, v: object) -> object:
        return v.strip().lower() if isinstance(v, str) else v

    @model_validator(mode="after")
    def _distinct_bootstrap_keys(self) -> Settings:
        # one key for both roles would make every viewer an admin
        if self.admin_api_key.get_secret_value() == self.viewer_api_key.get_secret_value():
            raise ValueError("PRM_ADMIN_API_KEY and PRM_VIEWER_API_KEY must differ")
        return self

    @model_validator(mode="after")
    def _strong_secrets_in_production(self) -> Settings:
        if self.environment == "production":
            weak = [
                f"PRM_{name.upper()}: {reason}"
                for name in SECRET_FIELDS
                if (reason := secret_weakness(getattr(self, name).get_secret_value()))
            ]
            if weak:
                raise ValueError("production refuses weak secrets: " + "; ".join(weak))
        return self

    @field_validator("lease_heartbeat_s")
    @classmethod
    def _beat_within_lease(cls, v: float, info) -> float:  # noqa: ANN001
        lease = info.data.get("lease_duration_s")
        if lease is not None and v >= lease:
            raise ValueError("lease_heartbeat_s must be below lease_duration_s")
        return v

    @property
    def max_active_requests(self) -> int:
        """Requests one worker runs at once (the rest queue, see ``queue_max``).

        Twice the handler threads: while one request waits on the database in a
        thread, another can be parsed, authenticated or serialised on the event loop.
        """
        return 2 * self.api_threads


#: Secrets that production refuses to run with when weak (:func:`secret_weakness`).
SECRET_FIELDS = ("admin_api_key", "viewer_api_key", "webhook_secret")
MIN_SECRET_CHARS = 32
MIN_SECRET_BITS = 128
#: Prefixes of the development defaults and of the keys ``prm demo`` makes up.
WEAK_SECRET_PREFIXES = ("dev-", "demo-")


def estimated_entropy_bits(secret: str) -> float:
    """A conservative estimate of a secret's entropy, in bits: the smaller of two estimates.

    * zxcvbn's (Dropbox's estimator, as password meters use): the log of the
      guesses an attacker who knows words, names, keyboard walks, sequences,
      repeats and dates would need; a random string counts as brute force;
    * its length times the Shannon entropy of its own character frequencies,
      which also catches long low-variety strings past zxcvbn's patterns.

    ``secrets.token_urlsafe(32)`` (43 characters) scores about 140 bits;
    ``abcdefghijklmnopqrstuvwxyz012345`` about 14; a keyboard walk or a word
    repeated stays far below 128.
    """
    from zxcvbn import zxcvbn

    if not secret:
        return 0.0
    n = len(secret)
    shannon = n * -sum(c / n * math.log2(c / n) for c in Counter(secret).values())
    # its cost grows with the length: judge the start (a weak start makes a weak secret anyway)
    head = secret[:_ZXCVBN_MAX_CHARS]
    guesses = zxcvbn(head, max_length=_ZXCVBN_MAX_CHARS)["guesses_log10"] * math.log2(10)
    return max(0.0, min(shannon, guesses))


_ZXCVBN_MAX_CHARS = 128


def secret_weakness(secret: str) -> str | None:
    """Why ``secret`` is too weak for production, or None when it is strong enough.

    The rule: at least :data:`MIN_SECRET_CHARS` characters, not a development
    or demo value (:data:`WEAK_SECRET_PREFIXES`), and at least
    :data:`MIN_SECRET_BITS` bits by :func:`estimated_entropy_bits`.
    """
    if secret.lower().startswith(WEAK_SECRET_PREFIXES):
        return "a development or demo value"
    if len(secret) < MIN_SECRET_CHARS:
        return f"{len(secret)} characters, fewer than {MIN_SECRET_CHARS}"
    bits = estimated_entropy_bits(secret)
    if bits < MIN_SECRET_BITS:
        return (
            f"about {bits:.0f} bits of estimated entropy, fewer than {MIN_SECRET_BITS} "
            "(make one with: python3 -c 'import secrets; print(secrets.token_urlsafe(32))')"
        )
    return None


def demo_record(path: Path | None = None) -> dict[str, str] | None:
    """The settings ``./dev demo`` recorded for the database it built, or None (no demo built).

    Only :data:`DEMO_RECORD_FIELDS` are taken from the file (never a secret).
    """
    import json

    try:
        data = json.loads((path or DEMO_RECORD).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict):
        return None
    return {k: str(data[k]) for k in DEMO_RECORD_FIELDS if data.get(k) is not None} or None


def write_demo_record(*, database_url: str, as_of: date, path: Path | None = None) -> Path:
    """Record the demo's database and as-of date, for :func:`load_settings` to find."""
    import json

    path = path or DEMO_RECORD
    path.parent.mkdir(parents=True, exist_ok=True)
    record = {"database_url": database_url, "as_of": as_of.isoformat()}
    path.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    return path


def load_settings(**overrides: object) -> Settings:
    """Read settings from the environment, with explicit overrides winning.

    After ``./dev demo``, a development setup that names no database
    (``PRM_DATABASE_URL`` unset, in the environment, ``.env`` and ``overrides``)
    reads the demo's: its database and as-of date come from the demo's record
    (:data:`DEMO_RECORD`), each unless set otherwise. Production never does.

    Raises
    ------
    core.errors.ConfigError
        For any invalid setting: an unknown ``PRM_ENVIRONMENT`` (one of
        ``development``, ``test``, ``production``, any case), or in production
        a weak secret among :data:`SECRET_FIELDS` (every one is named with its
        reason, never its value).
    """
    from pydantic import ValidationError

    from core.errors import ConfigError, Problem

    try:
        settings = Settings(**overrides)  # type: ignore[arg-type]
        if settings.environment == "production" or "database_url" in settings.model_fields_set:
            return settings
        record = demo_record() or {}
        fill = {k: v for k, v in record.items() if k not in settings.model_fields_set}
        return Settings(**fill, **overrides) if fill else settings  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = [
            Problem(str(e["msg"]), field=".".join(str(p) for p in e["loc"]) or None)
            for e in exc.errors(include_input=False)
        ]
        raise ConfigError("invalid settings", problems=problems) from None
