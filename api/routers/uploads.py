"""Uploads (admin): load a registry file or a clinic's file (sites, competitors, referrers,
referrals, interactions) as a background job."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request, Response, status
from fastapi.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from api.deps import ContextDep, require_role
from api.problems import problem_responses
from core.columns import mapping_document, parse_column_flags
from core.encodings import check_encoding
from core.errors import InputError, Problem
from service.ingest.uploads import (
    UploadKind,
    check_upload_mapping,
    save_upload,
    start_upload_job,
)
from service.jobs import JobPublic

__all__ = ["router", "upload_file"]

router = APIRouter(
    prefix="/uploads",
    tags=["uploads"],
    dependencies=[Depends(require_role("admin"))],
    responses=problem_responses(401, 403),
)

_BLOCK = 1 << 20
_MAX_FIELDS = 64  # the file, a mapping and the column fields

# The body is read by the handler, after the key was checked (a request without a valid key
# is refused before a byte of its file is read), so FastAPI cannot infer its schema.
_MULTIPART_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {
                            "type": "string",
                            "format": "binary",
                            "description": "The file to load.",
                        },
                        "mapping": {
                            "type": "string",
                            "description": "Sites, competitors, referrals, interactions and "
                            "referrers only: "
                            'a JSON object {"columns": {"FIELD": "the file\'s header"}} naming '
                            "the file's column of each field whatever its header.",
                            "examples": ['{"columns": {"site_code": "Site ID"}}'],
                        },
                        "column": {
                            "type": "array",
                            "items": {"type": "string"},
                            "description": "FIELD=Header, repeatable; wins over mapping.",
                            "examples": [["site_code=Site ID"]],
                        },
                        "encoding": {
                            "type": "string",
                            "description": "The file's text encoding (utf-8, utf-16, utf-32, "
                            "cp1252, latin-1, ...). Default: detected (a byte-order mark, "
                            "UTF-16, else UTF-8, or Windows-1252 from the first byte that is "
                            "not UTF-8, with a warning in the batch report).",
                            "examples": ["utf-16"],
                        },
                    },
                }
            }
        },
    }
}


@router.post(
    "/{kind}",
    response_model=JobPublic,
    status_code=status.HTTP_202_ACCEPTED,
    summary="Upload a file and load it in the background",
    responses=problem_responses(408, 409, 413, 422),
    openapi_extra=_MULTIPART_BODY,
)
async def upload_file(
    request: Request,
    ctx: ContextDep,
    response: Response,
    kind: Annotated[
        UploadKind,
        Path(
            description="What the file is: nppes (CSV or the published zip), "
            "cms, rpps, finess, referrers, referrals, nucc, "
            "deactivations, sites, interactions or competitors (replaces the list)."
        ),
    ],
) -> JobPublic:
    """Stream the file to disk (413 past ``PRM_MAX_UPLOAD_BYTES``) and start its load.

    Send it as the multipart field ``file``; for the clinic's own files (sites,
    competitors, referrals, interactions, referrers), ``mapping`` and ``column`` fields name
    the file's column of a field whatever its header (an unknown field is a 422);
    ``encoding`` names the file's text encoding (an unknown one is a 422).
    Poll the job's URL (``Location``) for the stage in progress and, at the
    end, the batch report (rows read, inserted, updated, unchanged, rejected
    with reasons, and warnings such as columns no field takes). Reads keep
    being served while the load runs.
    """
    async with request.form(max_files=1, max_fields=_MAX_FIELDS) as form:
        mapping = _form_mapping(form.get("mapping"), form.getlist("column"))
        check_upload_mapping(kind, mapping)
        named = form.get("encoding")
        encoding = check_encoding(named if isinstance(named, str) else None, field="body.encoding")
        file = form.get("file")
        if not isinstance(file, UploadFile):
            raise InputError(
                "no file in the upload",
                problems=[
                    Problem(
                        "send the file as the multipart/form-data field 'file'", field="body.file"
                    )
                ],
            )
        path = await run_in_threadpool(save_upload, ctx, file.filename or kind, _blocks(file))
    job = await run_in_threadpool(
        start_upload_job, ctx, kind, path, mapping=mapping, encoding=encoding
    )
    response.headers["Location"] = f"/v1/jobs/{job.id}"
    return job


def _form_mapping(document: object, columns: list[object]) -> dict[str, str]:
    """The upload's column mapping: the ``mapping`` field's JSON, then the ``column`` fields."""
    mapping: dict[str, str] = {}
    problems: list[Problem] = []
    if document is not None:
        try:
            loaded = json.loads(document) if isinstance(document, str) else None
        except ValueError:
            loaded = None
        if not isinstance(loaded, dict):
            raise InputError(
                "invalid column mapping",
                problems=[
                    Problem(
                        'expected a JSON object {"columns": {"FIELD": "Header"}}',
                        field="body.mapping",
                    )
                ],
            )
        mapping, problems = mapping_document(loaded)
    flagged, more = parse_column_flags(
        [c if isinstance(c, str) else "" for c in columns], where="body.column"
    )
    mapping.update(flagged)
    if problems or more:
        raise InputError("invalid column mapping", problems=problems + more)
    return mapping


def _blocks(file: UploadFile) -> Iterator[bytes]:
    while block := file.file.read(_BLOCK):
        yield block
