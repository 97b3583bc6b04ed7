"""Request limits enforced before routing: body size (413) and NUL characters (400), as problems."""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from api.problems import problem_response

#: Multipart framing around an uploaded file.
_OVERHEAD = 64 * 1024


class BodySizeLimit:
    """Refuse requests whose declared ``Content-Length`` exceeds the limit.

    Uploads (``/v1/uploads/...``) may be as large as ``max_upload_bytes``; any
    other request body is limited to ``max_body_bytes``. Bodies without a
    declared length are bounded while they stream by the upload writer.
    """

    def __init__(self, app: ASGIApp, *, max_upload_bytes: int, max_body_bytes: int = 1 << 20) -> None:
        self.app = app
        self.max_upload = max_upload_bytes + _OVERHEAD
        self.max_body = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            limit = self.max_upload if scope["path"].startswith("/v1/uploads/") else self.max_body
            length = dict(scope.get("headers") or []).get(b"content-length")
            if length is not None and length.isdigit() and int(length) > limit:
                response = problem_response(
                    status=413, title="Payload too large",
                    detail=f"request body of {int(length):,} bytes exceeds the limit of {limit:,}",
                    instance=scope["path"],
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


class NoNulCharacters:
    """Refuse a path or query string holding a NUL character (raw or ``%00``): 400 problem.

    No filter value legitimately holds one, PostgreSQL text cannot store or
    compare one (a driver error, so a 500, deep in any query), and C-string
    tools downstream would cut the value at it.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            query = scope.get("query_string") or b""
            path = scope.get("raw_path") or scope["path"].encode("utf-8", "surrogateescape")
            if any(b"\x00" in part or b"%00" in part.lower() for part in (query, path)):
                response = problem_response(
                    status=400, title="Bad request",
                    detail="the request line holds a NUL character (%00), which no parameter may contain",
                    instance=scope["path"].replace("\x00", "\\x00"),
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)
