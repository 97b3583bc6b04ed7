"""Splink 4 (DuckDB) settings and training for the person-level linkage benchmark.

Committed so the comparison can be rerun and criticised: the model is the one
Splink's own tutorials build for people (Jaro-Winkler name levels with term
frequencies, date of birth from exact to same year, postcode, street, city,
phone, and the identity number when the variant has it), trained the way they
train it (the match prior from deterministic rules, ``u`` by random sampling,
then ``m`` by expectation maximisation once per training blocking rule).

Splink gets the light cleaning its tutorials do before linking (lower case,
trimmed text, postcodes without spaces and without the ZIP+4 suffix, the
phone's last nine digits); it is not given accent folding, nickname tables or
any of the product's normalisers.

Imported only in the Splink child process of :mod:`bench.person_linkage`
(``pip install -e .[bench]`` pins the version).
"""

from __future__ import annotations

import pandas as pd
import splink.comparison_level_library as cll
import splink.comparison_library as cl
from splink import Linker, SettingsCreator, block_on

#: Pairs below this probability are not written (the threshold sweep's floor).
PREDICT_FLOOR = 0.01
#: Splink's default: clusters of the pairs at or above 0.5.
DEFAULT_THRESHOLD = 0.5
#: Pairs drawn to estimate ``u``: Splink's default (5e6 costs it ~30 s more at any size).
U_MAX_PAIRS = 1e6
#: Recall assumed for the deterministic rules that estimate the match prior.
PRIOR_RECALL = 0.7


def prepare(raw: pd.DataFrame) -> pd.DataFrame:
    """The cleaning a Splink user does first (see the module docstring); ``unique_id`` = ``rec_id``."""
    out = pd.DataFrame({"unique_id": raw["rec_id"]})
    for col in ("given_name", "surname", "street", "city"):
        out[col] = raw[col].str.strip().str.lower()
    out["dob"] = raw["dob"].str.strip()
    out["postcode"] = (
        raw["postcode"]
        .str.upper()
        .str.replace(" ", "", regex=False)
        .str.replace(r"-\d{4}$", "", regex=True)
    )
    out["phone"] = raw["phone"].str.replace(r"\D", "", regex=True).str[-9:]
    if "id_number" in raw:
        out["id_number"] = raw["id_number"].str.strip()
    return out


def _dob() -> cl.CustomComparison:
    return cl.CustomComparison(
        output_column_name="dob",
        comparison_levels=[
            cll.NullLevel("dob"),
            cll.ExactMatchLevel("dob"),
            cll.DamerauLevenshteinLevel("dob", 1),
            cll.AbsoluteDateDifferenceLevel(
                "dob", input_is_string=True, threshold=1, metric="year"
            ),
            # year-only dates and wrong days land here
            cll.CustomLevel('substr("dob_l", 1, 4) = substr("dob_r", 1, 4)', "same year"),
            cll.ElseLevel(),
        ],
    )


def _postcode() -> cl.CustomComparison:
    return cl.CustomComparison(
        output_column_name="postcode",
        comparison_levels=[
            cll.NullLevel("postcode"),
            cll.ExactMatchLevel("postcode"),
            cll.DamerauLevenshteinLevel("postcode", 1),
            cll.ElseLevel(),
        ],
    )


def settings(*, with_identifier: bool) -> SettingsCreator:
    """The model: comparisons and the blocking rules that generate candidate pairs."""
    comparisons = [
        cl.NameComparison("given_name").configure(term_frequency_adjustments=True),
        cl.NameComparison("surname").configure(term_frequency_adjustments=True),
        _dob(),
        _postcode(),
        cl.JaroWinklerAtThresholds("street", [0.9, 0.8]),
        cl.ExactMatch("city").configure(term_frequency_adjustments=True),
        cl.ExactMatch("phone"),
    ]
    rules = [
        block_on("surname", "dob"),
        block_on("given_name", "dob"),
        block_on("given_name", "surname"),
        block_on("postcode", "surname"),
        block_on("postcode", "given_name"),
        block_on("street", "postcode"),
        block_on("dob", "city"),
        # given name and surname swapped
        "l.given_name = r.surname and l.surname = r.given_name",
    ]
    if with_identifier:
        comparisons.append(cl.ExactMatch("id_number"))
        rules.append(block_on("id_number"))
    return SettingsCreator(
        link_type="dedupe_only",
        comparisons=comparisons,
        blocking_rules_to_generate_predictions=rules,
        retain_intermediate_calculation_columns=False,
        retain_matching_columns=False,
    )


def train(linker: Linker, *, with_identifier: bool) -> None:
    """Prior from deterministic rules, ``u`` by random sampling, ``m`` by EM once per rule."""
    deterministic = [block_on("given_name", "surname", "dob")]
    if with_identifier:
        deterministic.append(block_on("id_number"))
    linker.training.estimate_probability_two_random_records_match(
        deterministic, recall=PRIOR_RECALL
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=U_MAX_PAIRS, seed=1)
    for rule in (
        block_on("surname", "substr(dob, 1, 4)"),
        block_on("given_name", "postcode"),
        block_on("dob"),
    ):
        linker.training.estimate_parameters_using_expectation_maximisation(rule)
