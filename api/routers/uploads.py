"""Uploads (admin): load a registry file, referrer list or referral export as a background job."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request, Response, status
from fastapi.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from api.deps import ContextDep, require_role
from api.problems import problem_responses
from core.errors import InputError, Problem
from service.ingest.uploads import UploadKind, save_upload, start_upload_job
from service.jobs import JobPublic

__all__ = ["router", "upload_file"]

router = APIRouter(
    prefix="/uploads",
    tags=["uploads"],
    dependencies=[Depends(require_role("admin"))],
    responses=problem_responses(401, 403),
)

_BLOCK = 1 << 20

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
                        }
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
            "deactivations or sites."
        ),
    ],
) -> JobPublic:
    """Stream the file to disk (413 past ``PRM_MAX_UPLOAD_BYTES``) and start its load.

    Send it as the multipart field ``file``. Poll the job's URL (``Location``)
    for the stage in progress and, at the end, the batch report (rows read,
    inserted, updated, unchanged, rejected with reasons). Reads keep being
    served while the load runs.
    """
    async with request.form(max_files=1, max_fields=10) as form:
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
    job = await run_in_threadpool(start_upload_job, ctx, kind, path)
    response.headers["Location"] = f"/v1/jobs/{job.id}"
    return job


def _blocks(file: UploadFile) -> Iterator[bytes]:
    while block := file.file.read(_BLOCK):
        yield block
