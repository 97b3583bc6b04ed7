"""Entity-resolution settings: matching declared as data, not code.

A :class:`LinkSettings` document (version 2, JSON or TOML, Splink-like) names

* the **exact identifiers** tried first (NPI, RPPS, FINESS, SIRET, EIN), each
  for the entity types it identifies: equal values always merge, two different
  values of one kind never merge (they are cannot-link constraints);
* the **blocking rules** that generate candidate pairs (records sharing every
  key of a rule, blocks larger than ``max_block_size`` skipped and counted);
* one **model per entity type** (individuals, organisations): a list of
  comparisons, each a list of levels tried in order (exact, nickname,
  initials, swapped names, rapidfuzz Jaro-Winkler / token-set / token-sort /
  indel-ratio similarities at a threshold, same specialty classification,
  ZIP3, else). The ``m``/``u`` values given per level are *starting values*:
  :mod:`enrichment.em` re-estimates them from the data by expectation
  maximisation unless ``em.enabled`` is false;
* the decision thresholds on the match probability: ``>= auto_merge`` merges,
  ``>= review`` goes to the review queue, below is a non-match; and
  ``split_below``: two records of one cluster (joined through others) whose
  own pair scores below it are clear non-matches, kept apart.

A level's Fellegi-Sunter weight is ``log2(m / u)`` (m = P(level | same
provider), u = P(level | different providers), both among candidate pairs); a
pair's match weight is ``log2(lambda / (1 - lambda))`` plus its level weights.
The shipped default is :data:`DEFAULT_SETTINGS_FILE` (``linking.toml``).
"""

from __future__ import annotations

import json
import math
import os
import tomllib
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    model_validator,
)

from core.errors import MatchingError, Problem

#: The shipped, versioned default settings document.
DEFAULT_SETTINGS_FILE = Path(__file__).with_name("linking.toml")

#: Level tests the comparison engine implements (see :mod:`enrichment.comparisons`).
LevelTest = Literal[
    "exact",
    "nickname",
    "initials",
    "swapped",
    "jaro_winkler",
    "token_set",
    "token_sort",
    "ratio",
    "same_classification",
    "prefix3",
    "prefix",
    "one_edit",
    "dob_swapped",
    "site",
    "phone",
    "else",
]
SIMILARITY_TESTS = frozenset({"jaro_winkler", "token_set", "token_sort", "ratio"})

#: A generic field a file maps: an identifier (``id_<name>``) or any extra column
#: (``x_<name>``), named in lower case letters, digits and underscores.
GENERIC_FIELD = r"^(id|x)_[a-z][a-z0-9_]{0,39}$"

#: Fields a comparison can refer to (normalised by :mod:`enrichment.link_features`),
#: or a generic one (:data:`GENERIC_FIELD`).
NamedField = Literal[
    "first_name",
    "last_name",
    "organization_name",
    "address",
    "phone",
    "postal_code",
    "city",
    "taxonomy",
    "location",
    "date_of_birth",
    "street_number",
]
CompareField = NamedField | Annotated[str, StringConstraints(pattern=GENERIC_FIELD)]

#: Derived keys blocking rules can use (and generic fields, :data:`GENERIC_FIELD`).
NamedKey = Literal[
    "postal_code",
    "zip3",
    "city",
    "state",
    "phone",
    "last_name",
    "last_phonetic",
    "last_initial",
    "first_initial",
    "canon_first",
    "first_phonetic",
    "name_sorted",
    "initials_sorted",
    "organization_name",
    "org_phonetic",
    "street_number",
    "date_of_birth",
    "birth_year",
    "birth_month_day",
]
BlockingKey = NamedKey | Annotated[str, StringConstraints(pattern=GENERIC_FIELD)]

#: Comparison fields a blocking key pins down: a pair found through the key agrees on
#: them because it was selected, so they do not inform m estimation (see enrichment.em).
KEY_FIELDS: dict[str, frozenset[str]] = {
    "postal_code": frozenset({"postal_code", "location"}),
    "zip3": frozenset({"postal_code", "location"}),
    "city": frozenset({"city", "location"}),
    "state": frozenset(),
    "phone": frozenset({"phone", "location"}),
    "street_number": frozenset({"address", "location"}),
    "last_name": frozenset({"last_name"}),
    "last_phonetic": frozenset({"last_name"}),
    "last_initial": frozenset({"last_name"}),
    "first_initial": frozenset({"first_name"}),
    "canon_first": frozenset({"first_name"}),
    "first_phonetic": frozenset({"first_name"}),
    "name_sorted": frozenset({"first_name", "last_name"}),
    "initials_sorted": frozenset({"first_name", "last_name"}),
    "organization_name": frozenset({"organization_name"}),
    "org_phonetic": frozenset({"organization_name"}),
    "date_of_birth": frozenset({"date_of_birth"}),
    "birth_year": frozenset(),
    "birth_month_day": frozenset(),
}


def pinned_fields(key: str) -> frozenset[str]:
    """The comparison fields a blocking key pins (a generic field pins itself)."""
    return KEY_FIELDS.get(key, frozenset({key}))


#: Identifiers the features expose: the registries' own, or one a file declares (by name).
IdentifierField = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,39}$")]
EntityType = Literal["individual", "organization"]


class ComparisonLevel(BaseModel):
    """One agreement level of a comparison.

    Attributes
    ----------
    name
        Label shown in explanations.
    test
        How agreement is decided: ``exact`` (normalised equality), ``nickname``
        (same canonical given name: Bob = Robert), ``initials`` (one side is
        initials only and they prefix the other's initials: J.-P. = Jean-Pierre),
        ``swapped`` (first and last names exchanged; with a ``threshold``, each
        crosswise pair Jaro-Winkler similar at it), ``jaro_winkler`` (0..1),
        ``token_set`` / ``token_sort`` / ``ratio`` (rapidfuzz, 0..100) at or above
        ``threshold``, ``same_classification`` (same NUCC classification, or a
        free-text specialty naming it), ``prefix3`` (first three characters
        equal, e.g. ZIP3), ``prefix`` (the first ``threshold`` characters equal,
        e.g. 4: a date of birth's year), ``one_edit`` (one typo apart: a
        substitution, insertion, deletion or swap of neighbours), ``dob_swapped``
        (a date of birth with day and month exchanged), ``else`` (anything non-missing).
    threshold
        Similarity cut-off for the similarity tests.
    m, u
        Starting P(level | match) and P(level | non-match).
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
        if (self.test in SIMILARITY_TESTS or self.test in ("site", "prefix")) and (
            self.threshold is None
        ):
            raise ValueError(f"level {self.name!r}: test {self.test!r} needs a threshold")
        return self


class Comparison(BaseModel):
    """A field comparison: levels tried in order; a missing side is the null level (weight 0)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    field: CompareField
    levels: tuple[ComparisonLevel, ...] = Field(min_length=2)
    #: Term-frequency adjustment of the first level (exact): agreeing on a rare
    #: value weighs more than on a common one (u becomes the value's frequency).
    term_frequency: bool = False

    @model_validator(mode="after")
    def _ends_with_else(self) -> Comparison:
        if self.levels[-1].test != "else":
            raise ValueError(f"comparison {self.name!r} must end with an 'else' level")
        if len(self.levels) > 14:
            raise ValueError(f"comparison {self.name!r}: at most 14 levels")
        return self


class BlockingRule(BaseModel):
    """Candidate pairs share every key of a rule (missing keys never block together)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    keys: tuple[BlockingKey, ...] = Field(min_length=1)
    entity_types: tuple[EntityType, ...] = ("individual", "organization")
    max_block_size: int = Field(400, ge=2)


class IdentifierRule(BaseModel):
    """An exact identifier: equal values merge, two different values never do."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    field: IdentifierField
    entity_types: tuple[EntityType, ...] = ("individual", "organization")
    m_equal: float = Field(0.99, gt=0, lt=1)
    u_equal: float = Field(1e-7, gt=0, lt=1)
    m_different: float = Field(0.01, gt=0, lt=1)
    u_different: float = Field(0.99, gt=0, lt=1)

    @property
    def weight_equal(self) -> float:
        return math.log2(self.m_equal / self.u_equal)

    @property
    def weight_different(self) -> float:
        return math.log2(self.m_different / self.u_different)


class EntityModel(BaseModel):
    """Comparisons and starting prior (P(match) among candidate pairs) of one entity type."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    prior: float = Field(0.05, gt=0, lt=1)
    comparisons: tuple[Comparison, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self) -> EntityModel:
        names = [c.name for c in self.comparisons]
        if len(set(names)) != len(names):
            raise ValueError("comparison names must be unique")
        return self


class EMSettings(BaseModel):
    """Expectation-maximisation of m, u and lambda (see :mod:`enrichment.em`)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    enabled: bool = True
    max_iterations: int = Field(100, ge=1)
    tolerance: float = Field(1e-6, gt=0)
    #: Floor of every estimated probability, so no level weight is infinite.
    floor: float = Field(1e-5, gt=0, lt=0.01)
    #: Weight of the starting values, in pairs (a Dirichlet prior; 0 = plain EM).
    prior_strength: float = Field(50.0, ge=0)
    #: Random record pairs drawn per entity type to estimate u (fewer if fewer exist).
    random_pairs: int = Field(1_000_000, ge=1_000)
    seed: int = 0


class LinkSettings(BaseModel):
    """Versioned, immutable matching configuration (see the module docstring)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    version: Literal[2] = 2
    identifiers: tuple[IdentifierRule, ...] = ()
    blocking_rules: tuple[BlockingRule, ...] = Field(min_length=1)
    individual: EntityModel
    organization: EntityModel
    em: EMSettings = EMSettings()
    auto_merge: float = Field(0.99, gt=0, lt=1)
    review: float = Field(0.5, gt=0, lt=1)
    #: Two records of one cluster whose own pair scores below this probability are
    #: kept apart: the model's merges do not chain them together (0: no check).
    split_below: float = Field(0.0, ge=0, lt=1)

    @model_validator(mode="after")
    def _consistent(self) -> LinkSettings:
        if self.review > self.auto_merge:
            raise ValueError("review threshold must not exceed auto_merge")
        if self.split_below > self.review:
            raise ValueError("split_below must not exceed the review threshold")
        names = [r.name for r in self.blocking_rules] + [i.name for i in self.identifiers]
        if len(set(names)) != len(names):
            raise ValueError("blocking rule and identifier names must be unique")
        return self

    def model_for(self, entity_type: str) -> EntityModel:
        """The :class:`EntityModel` of ``"individual"`` or ``"organization"``."""
        if entity_type == "individual":
            return self.individual
        if entity_type == "organization":
            return self.organization
        raise MatchingError(f"no model for entity type {entity_type!r}")

    @classmethod
    def default(cls) -> LinkSettings:
        """The shipped :data:`DEFAULT_SETTINGS_FILE`."""
        return _default()

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> LinkSettings:
        """Load settings from a ``.json`` or ``.toml`` file.

        Raises
        ------
        MatchingError
            Unreadable file or invalid settings; every validation problem is listed.
        """
        p = Path(path)
        suffix = p.suffix.lower()
        if suffix not in (".toml", ".json"):
            raise MatchingError(
                f"link settings must be .json or .toml, not {p.suffix!r}",
                problems=[Problem("unsupported file type", file=p.name)],
            )
        try:
            text = p.read_text(encoding="utf-8")
            data = tomllib.loads(text) if suffix == ".toml" else json.loads(text)
        except (OSError, ValueError) as exc:
            raise MatchingError(
                f"cannot read link settings {p.name}: {exc}",
                problems=[Problem(str(exc), file=p.name)],
            ) from exc
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            problems = [
                Problem(err["msg"], file=p.name, field=".".join(str(x) for x in err["loc"]))
                for err in exc.errors()
            ]
            raise MatchingError(f"invalid link settings in {p.name}", problems=problems) from exc


@lru_cache(maxsize=1)
def _default() -> LinkSettings:
    return LinkSettings.from_file(DEFAULT_SETTINGS_FILE)
