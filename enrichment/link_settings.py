"""Entity-resolution settings: matching declared as data, not code.

A :class:`LinkSettings` names the exact-identifier rule, the blocking rules
that generate candidate pairs, and the comparisons that score them. Each
comparison is a list of levels tried in order; the first level whose test
passes gives the pair its Fellegi-Sunter weight ``log2(m / u)``, where ``m`` is
P(level | same provider) and ``u`` is P(level | different providers). A pair's
match weight is ``log2(prior / (1 - prior))`` plus the level weights, and its
match probability is ``2**w / (1 + 2**w)``.

The m/u defaults below are fixed, hand-set values (documented per level), not
estimated from data; expectation-maximisation estimation of m/u is a later
issue. Settings are versioned and load from JSON or TOML files with the same
structure as :meth:`LinkSettings.model_dump`.
"""

from __future__ import annotations

import json
import math
import os
import tomllib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from core.errors import MatchingError, Problem

#: Level tests the linker implements.
LevelTest = Literal[
    "exact", "nickname", "initial", "jaro_winkler", "token_set", "same_classification", "else"
]

#: Fields a comparison or blocking key can refer to.
CompareField = Literal[
    "first_name", "last_name", "organization_name", "address", "phone", "postal_code", "taxonomy"
]

#: Derived keys blocking rules can use.
BlockingKey = Literal[
    "npi", "postal_code", "phone", "last_name", "last_initial", "first_initial", "organization_name"
]


class ComparisonLevel(BaseModel):
    """One agreement level of a comparison.

    Attributes
    ----------
    name
        Label shown in explanations.
    test
        How agreement is decided: ``exact`` (normalised equality), ``nickname``
        (same canonical given name), ``initial`` (one side is an initial of the
        other), ``jaro_winkler`` / ``token_set`` (similarity >= ``threshold``;
        Jaro-Winkler in 0..1, token-set ratio in 0..100), ``same_classification``
        (same NUCC classification, or free-text specialty matching it), ``else``
        (anything non-missing).
    threshold
        Similarity cut-off for the similarity tests.
    m, u
        P(level | match) and P(level | non-match).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    test: LevelTest
    threshold: float | None = None
    m: float = Field(gt=0, lt=1)
    u: float = Field(gt=0, lt=1)

    @property
    def weight(self) -> float:
        """Bayes-factor weight ``log2(m / u)`` in bits."""
        return math.log2(self.m / self.u)

    @model_validator(mode="after")
    def _threshold_needed(self) -> ComparisonLevel:
        if self.test in ("jaro_winkler", "token_set") and self.threshold is None:
            raise ValueError(f"level {self.name!r}: test {self.test!r} needs a threshold")
        return self


class Comparison(BaseModel):
    """A field comparison: levels tried in order; a missing side scores 0."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    field: CompareField
    levels: tuple[ComparisonLevel, ...]

    @model_validator(mode="after")
    def _ends_with_else(self) -> Comparison:
        if not self.levels or self.levels[-1].test != "else":
            raise ValueError(f"comparison {self.name!r} must end with an 'else' level")
        return self


class BlockingRule(BaseModel):
    """Candidate pairs share every key of a rule (missing keys never block together)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    keys: tuple[BlockingKey, ...] = Field(min_length=1)


class IdentifierRule(BaseModel):
    """Exact-identifier rule: equal NPIs always merge; different NPIs never auto-merge.

    ``m_equal``/``u_equal`` and ``m_different``/``u_different`` give the
    identifier's own weights in explanations.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    field: Literal["npi"] = "npi"
    m_equal: float = Field(0.99, gt=0, lt=1)
    u_equal: float = Field(1e-7, gt=0, lt=1)
    m_different: float = Field(0.01, gt=0, lt=1)
    u_different: float = Field(0.99, gt=0, lt=1)


def _lvl(
    name: str, test: str, m: float, u: float, threshold: float | None = None
) -> ComparisonLevel:
    return ComparisonLevel(name=name, test=test, threshold=threshold, m=m, u=u)  # type: ignore[arg-type]


def default_comparisons() -> tuple[Comparison, ...]:
    """The default comparisons and their hand-set m/u values.

    u values approximate how often unrelated providers that share a block agree
    (same ZIP or practice); m values how often records of one provider agree.
    A clear first-name disagreement is strong evidence against a match
    (m = 0.005), so two people sharing a surname and an office go to review.
    """
    return (
        Comparison(name="first_name", field="first_name", levels=(
            _lvl("exact", "exact", 0.70, 0.01),
            _lvl("nickname", "nickname", 0.12, 0.005),
            _lvl("jw>=0.92", "jaro_winkler", 0.08, 0.01, 0.92),
            _lvl("jw>=0.85", "jaro_winkler", 0.05, 0.03, 0.85),
            _lvl("initial", "initial", 0.045, 0.03),
            _lvl("else", "else", 0.005, 0.915),
        )),
        Comparison(name="last_name", field="last_name", levels=(
            _lvl("exact", "exact", 0.88, 0.002),
            _lvl("jw>=0.92", "jaro_winkler", 0.07, 0.004, 0.92),
            _lvl("jw>=0.85", "jaro_winkler", 0.03, 0.02, 0.85),
            _lvl("else", "else", 0.02, 0.974),
        )),
        Comparison(name="organization_name", field="organization_name", levels=(
            _lvl("token_set>=90", "token_set", 0.80, 0.02, 90),
            _lvl("token_set>=75", "token_set", 0.12, 0.05, 75),
            _lvl("else", "else", 0.08, 0.93),
        )),
        Comparison(name="address", field="address", levels=(
            _lvl("token_set>=90", "token_set", 0.60, 0.03, 90),
            _lvl("token_set>=75", "token_set", 0.25, 0.06, 75),
            _lvl("else", "else", 0.15, 0.91),
        )),
        Comparison(name="phone", field="phone", levels=(
            _lvl("exact", "exact", 0.50, 0.01),
            _lvl("else", "else", 0.50, 0.99),
        )),
        Comparison(name="postal_code", field="postal_code", levels=(
            _lvl("exact", "exact", 0.90, 0.20),
            _lvl("else", "else", 0.10, 0.80),
        )),
        Comparison(name="taxonomy", field="taxonomy", levels=(
            _lvl("exact_code", "exact", 0.50, 0.10),
            _lvl("same_classification", "same_classification", 0.30, 0.15),
            _lvl("else", "else", 0.20, 0.75),
        )),
    )


def default_blocking_rules() -> tuple[BlockingRule, ...]:
    """Same ZIP5 + last initial; same phone; same last name + first initial; same org name."""
    return (
        BlockingRule(name="zip_initials", keys=("postal_code", "last_initial", "first_initial")),
        BlockingRule(name="phone", keys=("phone",)),
        BlockingRule(name="last_name_first_initial", keys=("last_name", "first_initial")),
        BlockingRule(name="organization_name", keys=("organization_name",)),
    )


class LinkSettings(BaseModel):
    """Versioned, immutable matching configuration.

    Attributes
    ----------
    version
        Schema version of the settings document (1).
    prior
        P(match) for a candidate pair before any comparison (the lambda of
        Fellegi-Sunter); contributes ``log2(prior / (1 - prior))``.
    identifier
        The exact-identifier rule (NPI).
    blocking_rules, comparisons
        See :class:`BlockingRule` and :class:`Comparison`.
    auto_merge, review
        Match-probability thresholds: ``>= auto_merge`` merges, ``>= review``
        goes to review, below is a non-match.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    version: Literal[1] = 1
    prior: float = Field(1.2e-4, gt=0, lt=1)
    identifier: IdentifierRule = IdentifierRule()
    blocking_rules: tuple[BlockingRule, ...] = Field(default_factory=default_blocking_rules)
    comparisons: tuple[Comparison, ...] = Field(default_factory=default_comparisons)
    auto_merge: float = Field(0.95, gt=0, lt=1)
    review: float = Field(0.5, gt=0, lt=1)

    @property
    def prior_weight(self) -> float:
        """``log2(prior / (1 - prior))``."""
        return math.log2(self.prior / (1.0 - self.prior))

    @model_validator(mode="after")
    def _consistent(self) -> LinkSettings:
        if self.review > self.auto_merge:
            raise ValueError("review threshold must not exceed auto_merge")
        names = [c.name for c in self.comparisons]
        if len(set(names)) != len(names):
            raise ValueError("comparison names must be unique")
        return self

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> LinkSettings:
        """Load settings from a ``.json`` or ``.toml`` file.

        Raises
        ------
        MatchingError
            Unreadable file or invalid settings; every validation problem is listed.
        """
        if not isinstance(path, (str, os.PathLike)):
            raise TypeError(f"path must be str or os.PathLike, not {type(path).__name__}")
        p = Path(path)
        try:
            if p.suffix.lower() == ".toml":
                data = tomllib.loads(p.read_text(encoding="utf-8"))
            elif p.suffix.lower() == ".json":
                data = json.loads(p.read_text(encoding="utf-8"))
            else:
                raise MatchingError(f"link settings must be .json or .toml, not {p.suffix!r}",
                                    problems=[Problem("unsupported file type", file=p.name)])
        except (OSError, ValueError) as exc:
            if isinstance(exc, MatchingError):
                raise
            raise MatchingError(f"cannot read link settings {p.name}: {exc}",
                                problems=[Problem(str(exc), file=p.name)]) from exc
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            problems = [
                Problem(err["msg"], file=p.name, field=".".join(str(x) for x in err["loc"]))
                for err in exc.errors()
            ]
            raise MatchingError(f"invalid link settings in {p.name}", problems=problems) from exc
