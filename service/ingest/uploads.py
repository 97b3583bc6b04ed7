"""Files uploaded through the API, loaded as background jobs.

An upload is streamed to ``<var>/uploads`` (never held in memory), refused
with 413 once it passes ``settings.max_upload_bytes``, and then loaded by the
same service function the CLI uses, as a job whose stage, counts and final
batch report are readable through the API (:mod:`service.jobs`).
"""

from __future__ import annotations

import re
import shutil
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Literal

from core.errors import ConflictError, InputError, PayloadTooLargeError, Problem
from core.progress import ProgressSink
from service.context import AppContext
from service.jobs import JobPublic, start_job

UploadKind = Literal[
    "nppes", "cms", "rpps", "finess", "referrers", "referrals", "nucc", "deactivations", "sites"
]


def _loader(kind: UploadKind) -> Callable[[AppContext, Path, ProgressSink], list]:
    from service.ingest.deactivations import ingest_deactivations
    from service.ingest.ingest import ingest_nucc, ingest_records, ingest_referral_events
    from service.ingest.sites import load_sites

    sources = {
        "nppes": "nppes",
        "cms": "cms_dac",
        "rpps": "rpps",
        "finess": "finess",
        "referrers": "referrer_list",
    }
    if kind in sources:
        return lambda ctx, path, p: [ingest_records(ctx, path, source=sources[kind], progress=p)]
    if kind == "referrals":
        return lambda ctx, path, p: [ingest_referral_events(ctx, path, progress=p)]
    if kind == "nucc":
        return lambda ctx, path, p: [ingest_nucc(ctx, path)]
    if kind == "deactivations":
        return lambda ctx, path, p: [ingest_deactivations(ctx, path)]
    return lambda ctx, path, p: load_sites(ctx, path)


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


def start_upload_job(ctx: AppContext, kind: UploadKind, path: Path) -> JobPublic:
    """Load a saved upload in the background, then remove it.

    Raises
    ------
    ConflictError
        Another load is running (one load at a time); the upload is removed.
    """
    load = _loader(kind)

    def job(ctx: AppContext, progress: ProgressSink) -> list:
        try:
            return load(ctx, path, progress)
        finally:
            shutil.rmtree(path.parent, ignore_errors=True)

    try:
        return start_job(ctx, "ingest", job)
    except ConflictError:
        shutil.rmtree(path.parent, ignore_errors=True)
        raise
