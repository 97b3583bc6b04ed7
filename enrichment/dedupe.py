"""Deduplicate or link any CSV files, given a column mapping and a settings file.

The generic entry point (``prm dedupe``), so the engine can be run on public
record-linkage benchmark sets and compared with other tools. A mapping names,
for each linking field, the input column that holds it::

    # mapping.toml
    id = "rec_id"              # optional: a unique record id column
    [columns]
    first_name = "given_name"
    last_name = "surname"
    postal_code = "postcode"
    phone = "phone_number"

Fields: :data:`MAPPABLE_FIELDS`. ``full_name`` is split into its parts
(:func:`core.text.split_full_name`). Several files are linked by
deduplicating their union (each record keeps its file name in ``source``).
Outputs: ``clusters.csv`` (``source``, ``record_id``, ``cluster_id``) and
``pairs.csv`` (every merge and review pair with its probability and levels).
"""

from __future__ import annotations

import os
import time
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from core.errors import InputError, MatchingError, Problem
from core.progress import ProgressSink, null_progress
from core.text import split_full_name
from enrichment.link_settings import LinkSettings
from enrichment.linker import LinkModel, LinkResult, link_records

#: Linking fields a mapping can name.
MAPPABLE_FIELDS: tuple[str, ...] = (
    "entity_type",
    "first_name",
    "middle_name",
    "last_name",
    "full_name",
    "organization_name",
    "address_1",
    "address_2",
    "city",
    "state",
    "postal_code",
    "phone",
    "taxonomy_code",
    "specialty_text",
    "npi",
    "rpps",
    "finess",
    "siret",
    "ein",
)


def read_mapping(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read and check a TOML column mapping (see the module docstring).

    Raises
    ------
    InputError
        Unreadable file, unknown fields (all listed).
    """
    p = Path(path)
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(
            f"cannot read mapping {p.name}: {exc}", problems=[Problem(str(exc), file=p.name)]
        ) from exc
    columns = data.get("columns")
    problems: list[Problem] = []
    if not isinstance(columns, dict) or not columns:
        problems.append(Problem("a [columns] table is required", file=p.name, field="columns"))
        columns = {}
    problems += [
        Problem(
            f"unknown field; expected one of {', '.join(MAPPABLE_FIELDS)}", file=p.name, field=k
        )
        for k in columns
        if k not in MAPPABLE_FIELDS
    ]
    problems += [
        Problem("column name must be a string", file=p.name, field=k)
        for k, v in columns.items()
        if not isinstance(v, str)
    ]
    if problems:
        raise InputError(f"invalid column mapping {p.name}", problems=problems)
    return {"id": data.get("id"), "columns": dict(columns)}


def mapped_frame(raw: pd.DataFrame, mapping: Mapping[str, Any], *, source: str) -> pd.DataFrame:
    """Rename mapped columns to linking fields; blanks become ``None``.

    Raises
    ------
    InputError
        A mapped column absent from the input (all listed).
    """
    columns: Mapping[str, str] = mapping["columns"]
    id_col = mapping.get("id")
    wanted = list(columns.values()) + ([id_col] if id_col else [])
    missing = [c for c in wanted if c not in raw.columns]
    if missing:
        raise InputError(
            f"columns missing from {source}",
            problems=[Problem("mapped column not in file", file=source, field=c) for c in missing],
        )
    out = pd.DataFrame(index=raw.index)
    for fld, col in columns.items():
        values = raw[col].astype(object)
        out[fld] = values.where(values.notna() & (values.astype(str).str.strip() != ""), None)
    if "full_name" in out:
        parts = pd.Series(out["full_name"]).map(
            lambda v: split_full_name(v) if isinstance(v, str) else {}
        )
        for part in ("first_name", "middle_name", "last_name"):
            if part not in out:
                out[part] = [p.get(part) for p in parts]
        out = out.drop(columns=["full_name"])
    for fld in ("first_name", "last_name", "organization_name"):
        if fld not in out:
            out[fld] = None
    out["source"] = source
    out["record_id"] = (
        raw[id_col].astype(str)
        if id_col
        else pd.Series(np.arange(1, len(raw) + 1), index=raw.index).astype(str)
    )
    return out


def read_inputs(
    paths: Sequence[str | os.PathLike[str]], mapping: Mapping[str, Any]
) -> pd.DataFrame:
    """Read and map every input CSV (pyarrow parser, all columns as text)."""
    frames = []
    for path in paths:
        p = Path(path)
        try:
            raw = pd.read_csv(p, dtype=str, engine="pyarrow")
        except (OSError, ValueError) as exc:
            raise InputError(
                f"cannot read {p.name}: {exc}", problems=[Problem(str(exc), file=p.name)]
            ) from exc
        frames.append(mapped_frame(raw, mapping, source=p.name))
    frame = pd.concat(frames, ignore_index=True)
    dup = frame.duplicated(["source", "record_id"])
    if dup.any():
        raise InputError(
            "record ids must be unique within a file",
            problems=[
                Problem("duplicate record id", file=s, value=str(r))
                for s, r in frame.loc[dup, ["source", "record_id"]].head(20).itertuples(index=False)
            ],
        )
    return frame


def write_outputs(frame: pd.DataFrame, result: LinkResult, out_dir: Path) -> dict[str, str]:
    """``clusters.csv`` and ``pairs.csv`` (merge and review pairs) in ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    clusters = pd.DataFrame(
        {
            "source": frame["source"].to_numpy(),
            "record_id": frame["record_id"].to_numpy(),
            "cluster_id": result.clusters.to_numpy(),
        }
    )
    clusters.to_csv(out_dir / "clusters.csv", index=False)
    pairs = result.pairs
    kept = pairs[pairs["decision"] != "non_match"]
    level_cols = [c for c in kept.columns if c.startswith("level_")]
    out = pd.DataFrame(
        {
            "left_source": frame["source"].to_numpy()[kept["left_pos"].to_numpy()],
            "left_id": frame["record_id"].to_numpy()[kept["left_pos"].to_numpy()],
            "right_source": frame["source"].to_numpy()[kept["right_pos"].to_numpy()],
            "right_id": frame["record_id"].to_numpy()[kept["right_pos"].to_numpy()],
            "blocking_rule": kept["blocking_rule"].to_numpy(),
            "match_weight": kept["match_weight"].round(3).to_numpy(),
            "match_probability": kept["match_probability"].round(6).to_numpy(),
            "decision": kept["decision"].to_numpy(),
            **{c: kept[c].to_numpy() for c in level_cols},
        }
    )
    out.to_csv(out_dir / "pairs.csv", index=False)
    return {"clusters": str(out_dir / "clusters.csv"), "pairs": str(out_dir / "pairs.csv")}


def dedupe_files(
    paths: Sequence[str | os.PathLike[str]],
    *,
    mapping: Mapping[str, Any],
    settings: LinkSettings,
    out_dir: str | os.PathLike[str],
    model: LinkModel | None = None,
    progress: ProgressSink = null_progress,
) -> dict[str, Any]:
    """Read, link and write: the whole generic run, timed.

    Parameters
    ----------
    paths
        One CSV to deduplicate, or several to link (their union is deduplicated).
    mapping
        From :func:`read_mapping`.
    settings
        Matching configuration (e.g. :meth:`LinkSettings.from_file`).
    out_dir
        Where ``clusters.csv`` and ``pairs.csv`` go.
    model
        Frozen parameters; ``None`` estimates them by EM.

    Returns
    -------
    dict
        The linker report plus ``read_s``, ``write_s``, ``total_s`` and output paths.
    """
    if isinstance(paths, (str, os.PathLike)) or not paths:
        raise MatchingError("give a non-empty list of input files")
    started = time.perf_counter()
    frame = read_inputs(paths, mapping)
    read_s = time.perf_counter() - started
    result = link_records(frame, settings=settings, model=model, progress=progress)
    t = time.perf_counter()
    files = write_outputs(frame, result, Path(out_dir))
    write_s = time.perf_counter() - t
    return {
        **result.report,
        "read_s": round(read_s, 3),
        "write_s": round(write_s, 3),
        "total_s": round(time.perf_counter() - started, 3),
        "outputs": files,
        "model": result.model.to_dict(),
    }
