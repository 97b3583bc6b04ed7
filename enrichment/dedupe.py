"""Deduplicate or link any CSV files, given a column mapping and a settings file.

The generic entry point (``prm dedupe``), so the engine can be run on public
record-linkage benchmark sets and compared with other tools. A mapping
(:mod:`enrichment.dedupe_mapping`) names, for each linking field, the input
column that holds it, and may declare identifiers, extra columns and a date
format. Headers are matched trimmed and case- and accent-blind
(:func:`core.text.header_key`); values are trimmed. A date of birth is read
with its declared format, else the detected one (:func:`core.dates.read_dates`,
an ambiguous day/month order warned); a ``street_number`` column is put in
front of the address. ``full_name`` is split into its
parts (:func:`core.text.split_full_name`). A record's country is its
``country`` column's, else the mapping's (or the command's) ``country``
(:func:`core.country.record_country`); postal codes are read by it, and values
that cannot be read are reported in ``warnings``. Several files are linked by
deduplicating their union (each record keeps its file name in ``source``).
Outputs: :mod:`enrichment.dedupe_output`.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from core.country import country_code, read_postal_codes, record_country
from core.dates import read_dates
from core.errors import InputError, MatchingError, Problem
from core.progress import ProgressSink, null_progress
from core.text import header_key, split_full_name
from enrichment.dedupe_mapping import settings_for_mapping
from enrichment.dedupe_output import (
    PAIR_FORMATS,
    sample_quality,
    truth_quality,
    write_outputs,
)
from enrichment.link_settings import LinkSettings
from enrichment.linker import LinkModel, link_records


def _resolve_columns(raw: pd.DataFrame, wanted: list[str], *, source: str) -> dict[str, str]:
    """Mapped column -> the file's header, matched by :func:`core.text.header_key`.

    Raises
    ------
    InputError
        Mapped columns absent from the file (all listed, with the headers found).
    """
    found = {header_key(str(c)): str(c) for c in raw.columns}
    missing = [c for c in wanted if header_key(c) not in found]
    if missing:
        seen = ", ".join(repr(str(c)) for c in raw.columns)
        raise InputError(
            f"columns missing from {source}; its columns are {seen}",
            problems=[
                Problem(f"mapped column not in file (its columns: {seen})", file=source, field=c)
                for c in missing
            ],
        )
    return {c: found[header_key(c)] for c in wanted}


def _dates(out: pd.DataFrame, mapping: Mapping[str, Any], *, source: str) -> list[str]:
    """Read the date of birth in place (ISO); the warnings it gives."""
    if "date_of_birth" not in out:
        return []
    read = read_dates(
        out["date_of_birth"],
        date_format=mapping.get("formats", {}).get("date_of_birth"),
        country=country_code(mapping.get("country")),
    )
    out["date_of_birth"] = read.values
    col = mapping["columns"]["date_of_birth"]
    warnings = [f"{source}: {col}: {read.ambiguity}"] if read.ambiguity else []
    if read.unreadable:
        shown = ", ".join(repr(v) for v in read.examples)
        warnings.append(
            f"{source}: {col}: {read.unreadable} value(s) are not dates in {read.format} "
            f"(e.g. {shown}) and are left out of matching"
        )
    return warnings


def _blank_to_none(values: pd.Series) -> pd.Series:
    values = values.astype(object).map(lambda v: v.strip() if isinstance(v, str) else v)
    return values.where(values.notna() & (values != ""), None)


def mapped_frame(
    raw: pd.DataFrame, mapping: Mapping[str, Any], *, source: str
) -> tuple[pd.DataFrame, list[str]]:
    """Rename mapped columns to linking fields (declared identifiers to ``id_<name>``,
    extra columns to ``x_<name>``); blanks become ``None``; ``country`` filled by the one
    country rule; returns the frame and its warnings.

    Raises
    ------
    InputError
        A mapped column absent from the input (all listed, with the columns found).
    """
    columns: dict[str, str] = dict(mapping["columns"])
    for section, prefix in (("identifiers", "id_"), ("extra", "x_")):
        columns |= {
            prefix + name: spec["column"] for name, spec in mapping.get(section, {}).items()
        }
    id_col, truth_col = mapping.get("id"), mapping.get("truth")
    extra = [c for c in (id_col, truth_col) if c]
    header = _resolve_columns(raw, [*columns.values(), *extra], source=source)
    out = pd.DataFrame(index=raw.index)
    for fld, col in columns.items():
        out[fld] = _blank_to_none(raw[header[col]])
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
    if "street_number" in out:  # "12" + "Main St": one address line, as registries write it
        line = out["address_1"] if "address_1" in out else pd.Series(None, index=out.index)
        out["address_1"] = [
            " ".join(str(p) for p in (n, a) if p) or None
            for n, a in zip(out["street_number"], line, strict=True)
        ]
    own = out["country"] if "country" in out else pd.Series(None, index=out.index, dtype=object)
    out["country"] = [record_country(v, default=mapping.get("country")) for v in own]
    warnings = _dates(out, mapping, source=source)
    if truth_col:
        out["truth"] = raw[header[truth_col]].astype(str).str.strip().to_numpy()
    out["source"] = source
    out["record_id"] = (
        raw[header[id_col]].astype(str).str.strip()
        if id_col
        else pd.Series(np.arange(1, len(raw) + 1), index=raw.index).astype(str)
    )
    return out, warnings


def input_warnings(frame: pd.DataFrame, mapping: Mapping[str, Any]) -> list[str]:
    """What the inputs hold that linking cannot use, per file: unreadable postal codes."""
    warnings: list[str] = []
    if "postal_code" not in frame:
        return warnings
    told = "country" in mapping["columns"] or mapping.get("country")
    hint = (
        "mistyped, or written in another country's format"
        if told
        else "set the mapping's country or map a country column"
    )
    for source, part in frame.groupby("source", sort=False):
        read = read_postal_codes(part["postal_code"], part["country"])
        if read.unreadable:
            shown = ", ".join(repr(v) for v in read.examples)
            warnings.append(
                f"{source}: postal_code: {read.unreadable} value(s) cannot be read as postal "
                f"codes of their record's country (e.g. {shown}) and are compared as written: "
                f"{hint}"
            )
    return warnings


def read_inputs(
    paths: Sequence[str | os.PathLike[str]], mapping: Mapping[str, Any]
) -> tuple[pd.DataFrame, list[str]]:
    """Read and map every input CSV (pyarrow parser, all columns as text); the frame of all
    and the warnings of each (:func:`mapped_frame`, :func:`input_warnings`)."""
    frames, warnings = [], []
    for path in paths:
        p = Path(path)
        try:
            raw = pd.read_csv(p, dtype=str, engine="pyarrow")
        except (OSError, ValueError) as exc:
            raise InputError(
                f"cannot read {p.name}: {exc}", problems=[Problem(str(exc), file=p.name)]
            ) from exc
        frame, said = mapped_frame(raw, mapping, source=p.name)
        frames.append(frame)
        warnings += said
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
    return frame, warnings + input_warnings(frame, mapping)


def _block_warnings(skipped: Mapping[str, int], settings: LinkSettings) -> list[str]:
    caps = {r.name: r.max_block_size for r in settings.blocking_rules}
    return [
        f"blocking rule {name}: {count} block(s) larger than {caps.get(name)} records skipped "
        "(their records are still compared through the other rules); raise the rule's "
        "max_block_size in the settings to compare them"
        for name, count in skipped.items()
        if count
    ]


def dedupe_files(
    paths: Sequence[str | os.PathLike[str]],
    *,
    mapping: Mapping[str, Any],
    settings: LinkSettings,
    out_dir: str | os.PathLike[str],
    model: LinkModel | None = None,
    min_probability: float = 0.0,
    pair_format: str = "csv",
    labels: pd.DataFrame | None = None,
    progress: ProgressSink = null_progress,
) -> dict[str, Any]:
    """Read, link and write: the whole generic run, timed.

    Parameters
    ----------
    paths
        One CSV to deduplicate, or several to link (their union is deduplicated).
    mapping
        From :func:`read_mapping` (a ``country`` here is the command's default).
    settings
        Matching configuration (e.g. :meth:`LinkSettings.from_file`).
    out_dir
        Where the outputs go (:func:`enrichment.dedupe_output.write_outputs`).
    model
        Frozen parameters; ``None`` estimates them by EM.
    min_probability
        Scored pairs below it are not written (0: every scored pair); also the
        threshold whose expected precision and recall are reported.
    pair_format
        ``"csv"`` or ``"parquet"``.
    labels
        A clerical sample of labelled pairs (:func:`enrichment.dedupe_output.sample_quality`);
        a mapping's ``truth`` column gives exact figures instead.

    Returns
    -------
    dict
        The linker report plus ``warnings``, ``quality`` (with labels), ``read_s``,
        ``write_s``, ``total_s`` and output paths.
    """
    if isinstance(paths, (str, os.PathLike)) or not paths:
        raise MatchingError("give a non-empty list of input files")
    if pair_format not in PAIR_FORMATS:
        raise MatchingError(f"pair format must be one of {', '.join(PAIR_FORMATS)}")
    started = time.perf_counter()
    frame, warnings = read_inputs(paths, mapping)
    read_s = time.perf_counter() - started
    settings = settings_for_mapping(settings, mapping)
    result = link_records(frame, settings=settings, model=model, progress=progress)
    t = time.perf_counter()
    clusters = result.clusters.to_numpy()
    files = write_outputs(
        frame,
        result.pairs,
        clusters,
        Path(out_dir),
        min_probability=min_probability,
        pair_format=pair_format,
    )
    write_s = time.perf_counter() - t
    quality = None
    if "truth" in frame:
        quality = truth_quality(frame, result.pairs, clusters, threshold=min_probability)
    elif labels is not None:
        quality = sample_quality(frame, result.pairs, labels, threshold=min_probability)
    warnings += _block_warnings(result.report.get("skipped_blocks", {}), settings)
    return {
        **result.report,
        "warnings": warnings,
        **({"quality": quality} if quality else {}),
        "read_s": round(read_s, 3),
        "write_s": round(write_s, 3),
        "total_s": round(time.perf_counter() - started, 3),
        "outputs": files,
        "model": result.model.to_dict(),
    }
