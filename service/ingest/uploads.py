"""Files uploaded through the API, loaded as background jobs.

An upload is streamed to ``<var>/uploads`` (never held in memory), refused
with 413 once it passes ``settings.max_upload_bytes``, and then loaded by the
same service function the CLI uses (:func:`load_file`), as a job whose stage,
counts and final batch report are readable through the API (:mod:`service.jobs`).
"""

from __future__ import annotations

import re
import shutil
import uuid
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Literal

from core.columns import check_mapping
from core.encodings import check_encoding
from core.errors import ConflictError, InputError, PayloadTooLargeError, Problem
from core.progress import ProgressSink, null_progress
from service.context import AppContext
from service.jobs import JobPublic, start_job
from service.schemas import BatchReport

UploadKind = Literal[
    "nppes",
    "cms",
    "rpps",
    "finess",
    "referrers",
    "referrals",
    "nucc",
    "deactivations",
    "sites",
    "interactions",
    "competitors",
]

#: Kinds loaded into ``source_records`` (registries, referrer lists), and the source of each.
_RECORD_SOURCES = {
    "nppes": "nppes",
    "cms": "cms_dac",
    "rpps": "rpps",
    "finess": "finess",
    "referrers": "referrer_list",
}


def mappable_fields(kind: UploadKind) -> tuple[str, ...]:
    """The fields a column mapping may name for files of ``kind`` (none: no mapping taken).

    The clinic's own files (sites, competitors, referrals, interactions,
    referrer lists) take one; the registries' layouts are fixed.
    """
    if kind == "referrers":
        from enrichment.referrers import MAPPABLE_FIELDS

        return MAPPABLE_FIELDS
    if kind == "referrals":
        from prospects.referrals import COLUMN_SYNONYMS

        return tuple(COLUMN_SYNONYMS)
    if kind == "interactions":
        from prospects.interactions import COLUMN_SYNONYMS as INTERACTION_COLUMNS

        return tuple(INTERACTION_COLUMNS)
    if kind == "sites":
        from service.ingest.sites import SITE_SYNONYMS

        return tuple(SITE_SYNONYMS)
    if kind == "competitors":
        from service.ingest.competitors import COMPETITOR_SYNONYMS

        return tuple(COMPETITOR_SYNONYMS)
    return ()


def check_upload_mapping(kind: UploadKind, mapping: Mapping[str, str]) -> None:
    """Refuse, before a file is read, a mapping for a kind that takes none or naming unknown fields.

    Raises
    ------
    InputError
        Naming the kind, or each unknown field with the fields there are.
    """
    if not mapping:
        return
    fields = mappable_fields(kind)
    if not fields:
        raise InputError(
            f"{kind} files take no column mapping",
            problems=[
                Problem(
                    "only sites, competitors, referrals, interactions and referrers files take one",
                    field="mapping",
                    value=kind,
                )
            ],
        )
    check_mapping(mapping, fields=fields)


def load_file(
    ctx: AppContext,
    kind: UploadKind,
    path: Path,
    *,
    progress: ProgressSink = null_progress,
    reject_dir: Path | None = None,
    mapping: Mapping[str, str] | None = None,
    encoding: str | None = None,
) -> BatchReport:
    """Load a file of ``kind`` as ``prm ingest`` and the uploads do; its batch report.

    Parameters
    ----------
    ctx
        The application context.
    kind
        What the file is.
    path
        The file.
    progress
        Told the rows read so far.
    reject_dir
        Where reject files go (default ``<var>/rejects``).
    mapping
        Field -> the file's header (:func:`mappable_fields`), for the clinic's own files.
    encoding
        The file's text encoding (``prm ingest --encoding``, an upload's
        ``encoding`` field); ``None`` detects it (:mod:`core.encodings`).

    Raises
    ------
    InputError
        A mapping for a kind that takes none, or naming unknown fields; an
        unknown encoding; and whatever the kind's loader raises (the batch is
        then refused whole).
    """
    from service.ingest.competitors import load_competitors
    from service.ingest.deactivations import ingest_deactivations
    from service.ingest.ingest import ingest_nucc, ingest_records, ingest_referral_events
    from service.ingest.interactions import ingest_interactions
    from service.ingest.sites import load_sites

    check_upload_mapping(kind, mapping or {})
    encoding = check_encoding(encoding)  # before a batch is opened
    mapped = dict(mapping) if mapping else None
    common = {"progress": progress, "reject_dir": reject_dir, "mapping": mapped}
    if kind in _RECORD_SOURCES:
        source = _RECORD_SOURCES[kind]
        report = ingest_records(ctx, path, source=source, encoding=encoding, **common)
    elif kind == "referrals":
        report = ingest_referral_events(ctx, path, encoding=encoding, **common)
    elif kind == "interactions":
        report = ingest_interactions(ctx, path, encoding=encoding, **common)
    elif kind == "sites":
        report = load_sites(ctx, path, mapping=mapped, reject_dir=reject_dir, encoding=encoding)
    elif kind == "competitors":
        report = load_competitors(
            ctx, path, mapping=mapped, reject_dir=reject_dir, encoding=encoding
        )
    elif kind == "nucc":
        report = ingest_nucc(ctx, path, encoding=encoding)
    else:
        report = ingest_deactivations(ctx, path, encoding=encoding)
    return report


def save_upload(ctx: AppContext, filename: str, blocks: Iterable[bytes]) -> Path:
    """Stream an upload to disk under a unique name; PayloadTooLargeError past the limit."""
    limit = ctx.settings.max_upload_bytes
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", Path(filename or "upload").name)[:120]
    if not safe.strip("."):  # "", ".", ".." would name the folder or its parent, not a file
        raise InputError(
            f"{filename!r} is not a file name",
            problems=[
                Problem(
                    "the upload's file name must name a file", field="file", value=filename[:200]
                )
            ],
        )
    # a folder of its own per upload: the file keeps the name the user sent
    folder = ctx.settings.cache_dir.parent / "uploads" / uuid.uuid4().hex
    folder.mkdir(parents=True)
    path = folder / safe
    size = 0
    try:
        with path.open("wb") as fh:
            for block in blocks:
                size += len(block)
                if size > limit:
                    raise PayloadTooLargeError(
                        f"{safe} is larger than the {limit:,}-byte upload limit",
                        problems=[
                            Problem(
                                "upload too large", file=safe, field="file", value=f">{limit} bytes"
                            )
                        ],
                    )
                fh.write(block)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return path


def start_upload_job(
    ctx: AppContext,
    kind: UploadKind,
    path: Path,
    *,
    mapping: Mapping[str, str] | None = None,
    encoding: str | None = None,
) -> JobPublic:
    """Load a saved upload in the background (:func:`load_file`), then remove it.

    Raises
    ------
    ConflictError
        Another load is running (one load at a time); the upload is removed.
    """

    def job(ctx: AppContext, progress: ProgressSink) -> list:
        try:
            return [
                load_file(ctx, kind, path, progress=progress, mapping=mapping, encoding=encoding)
            ]
        finally:
            shutil.rmtree(path.parent, ignore_errors=True)

    try:
        return start_job(ctx, "ingest", job)
    except ConflictError:
        shutil.rmtree(path.parent, ignore_errors=True)
        raise
