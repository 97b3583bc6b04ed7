"""Uploads (admin): load a registry file, referrer list or referral export as a background job."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Path, Response, UploadFile, status

from api.deps import ContextDep, require_role
from api.problems import problem_responses
from service.jobs import JobPublic
from service.uploads import UploadKind, save_upload, start_upload_job

__all__ = ["router", "upload_file"]

router = APIRouter(
    prefix="/uploads",
    tags=["uploads"],
    dependencies=[Depends(require_role("admin"))],
    responses=problem_responses(401, 403),
)

_BLOCK = 1 << 20


@router.post(
    "/{kind}",
    response_model=JobPublic,
    status_code=status.HTTP_202_ACCEPTED,
    summary="Upload a file and load it in the background",
    responses=problem_responses(409, 413, 422),
)
def upload_file(
    ctx: ContextDep,
    response: Response,
    file: UploadFile,
    kind: UploadKind = Path(description="What the file is: nppes (CSV or the published zip), "
                                        "cms, rpps, finess, referrers, referrals, nucc, "
                                        "deactivations or sites."),
) -> JobPublic:
    """Stream the file to disk (413 past ``PRM_MAX_UPLOAD_BYTES``) and start its load.

    Poll the job's URL (``Location``) for the stage in progress and, at the end,
    the batch report (rows read, inserted, updated, unchanged, rejected with
    reasons). Reads keep being served while the load runs.
    """

    def blocks():  # noqa: ANN202
        while block := file.file.read(_BLOCK):
            yield block

    path = save_upload(ctx, file.filename or kind, blocks())
    job = start_upload_job(ctx, kind, path)
    response.headers["Location"] = f"/v1/jobs/{job.id}"
    return job
