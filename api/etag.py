"""ETag / If-None-Match on every complete GET response (lists, GeoJSON layers, the map page).

ASGI middleware: a ``200`` answer to ``GET`` whose body is sent in one piece
(JSON lists, GeoJSON, the map HTML) gets a weak ETag, the SHA-256 of the
body; a request whose ``If-None-Match`` lists it (or ``*``) gets ``304 Not
Modified`` without a body. Streamed bodies (CSV and NDJSON exports) pass
through untouched. Weak tags (``W/"..."``) because the gzip middleware may
change the bytes on the wire; ``Cache-Control: private, no-cache`` makes
clients revalidate every time (answers depend on the caller's key).
"""

from __future__ import annotations

import hashlib

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["ETagMiddleware", "etag_of", "matches"]


def etag_of(body: bytes) -> str:
    """The weak entity tag of a body."""
    return 'W/"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def matches(if_none_match: str | None, etag: str) -> bool:
    """Whether an ``If-None-Match`` header matches ``etag`` (weak comparison, RFC 9110 13.1.2)."""
    if not if_none_match:
        return False
    bare = etag.removeprefix("W/")
    for candidate in if_none_match.split(","):
        candidate = candidate.strip()
        if candidate == "*" or candidate.removeprefix("W/") == bare:
            return True
    return False


class ETagMiddleware:
    """Add ETags to complete GET responses and answer 304 to a matching If-None-Match."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("GET", "HEAD"):
            await self.app(scope, receive, send)
            return
        if_none_match = Headers(scope=scope).get("if-none-match")
        start: Message | None = None
        passthrough = False

        async def wrapped(message: Message) -> None:
            nonlocal start, passthrough
            if passthrough:
                await send(message)
                return
            if message["type"] == "http.response.start":
                headers = Headers(raw=message["headers"])
                if message["status"] != 200 or "etag" in headers:
                    passthrough = True
                    await send(message)
                else:
                    start = message
                return
            if message["type"] != "http.response.body" or start is None:
                await send(message)
                return
            if message.get("more_body", False):  # a stream: no tag
                passthrough = True
                await send(start)
                await send(message)
                return
            body = message.get("body", b"")
            tag = etag_of(body)
            headers = MutableHeaders(raw=list(start["headers"]))
            headers["ETag"] = tag
            headers.setdefault("Cache-Control", "private, no-cache")
            if matches(if_none_match, tag):
                kept = [
                    (k, v)
                    for k, v in headers.raw
                    if k.lower() not in (b"content-length", b"content-type")
                ]
                await send({"type": "http.response.start", "status": 304, "headers": kept})
                await send({"type": "http.response.body", "body": b""})
                return
            await send({**start, "headers": headers.raw})
            await send(message)

        await self.app(scope, receive, wrapped)
