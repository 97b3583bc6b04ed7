"""RFC 9457 problem details: the one place where errors become HTTP responses.

Every error response of the API is ``application/problem+json``::

    {"type": "urn:prm:problem:not-found", "title": "Not found", "status": 404,
     "detail": "no site with code 'X'", "instance": "/v1/sites/X/catchments",
     "errors": [{"message": ..., "file": ..., "line": ..., "field": ..., "value": ...}]}

Handlers are installed by :func:`install_problem_handlers` for

* :class:`core.errors.ServiceError` (status and title from the class, its
  :class:`~core.errors.Problem` records become ``errors``);
* FastAPI's :class:`~fastapi.exceptions.RequestValidationError` (422, one entry
  per failed parameter, ``field`` the error location joined with dots, e.g.
  ``query.limit`` or ``body.site_code``);
* Starlette's :class:`~starlette.exceptions.HTTPException` (unknown routes,
  wrong methods, ...), keeping the headers it carries; a 405's ``Allow``
  lists every method of every route at that path (Starlette names only the
  first route's);
* a database too busy to serve (no pooled connection free within its
  timeout, SQLite's write lock held past its wait): 503 with ``Retry-After``;
* any other exception: a 500 whose body says nothing about the cause (the
  traceback goes to the ``prm.api`` logger).

401 responses carry ``WWW-Authenticate``. A browser opening an HTML page
without a session (:class:`core.errors.SignInRequired`) is redirected to
``/signin`` instead.
"""

from __future__ import annotations

import logging
import math
import re
from http import HTTPStatus
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import exc as sa_exc
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from core.errors import Problem, ServiceError, SignInRequired

__all__ = [
    "APP_WIDE_STATUSES",
    "PROBLEM_MEDIA_TYPE",
    "WWW_AUTHENTICATE",
    "ProblemDetails",
    "ProblemItem",
    "document_app_problems",
    "install_problem_handlers",
    "problem_response",
    "problem_responses",
    "validation_problems",
]

logger = logging.getLogger("prm.api")

PROBLEM_MEDIA_TYPE = "application/problem+json"
WWW_AUTHENTICATE = 'Bearer realm="prm", charset="UTF-8"'
VALUE_MAX_CHARS = 200


class ProblemItem(BaseModel):
    """One thing wrong with the request (mirrors :class:`core.errors.Problem`)."""

    message: str
    file: str | None = None
    line: int | None = None
    field: str | None = None
    value: str | None = None


class ProblemDetails(BaseModel):
    """An RFC 9457 problem document."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "type": "urn:prm:problem:invalid-input",
                    "title": "Invalid input",
                    "status": 422,
                    "detail": "1 invalid request parameter(s)",
                    "instance": "/v1/prospects",
                    "errors": [
                        {
                            "message": "Input should be less than or equal to 100",
                            "field": "query.min_score",
                            "value": "500",
                        }
                    ],
                }
            ]
        }
    )

    type: str = Field(description="URI identifying the problem type.")
    title: str = Field(description="Short summary of the problem type.")
    status: int = Field(description="HTTP status code.")
    detail: str | None = Field(None, description="Explanation of this occurrence.")
    instance: str | None = Field(None, description="Path of the request that failed.")
    errors: list[ProblemItem] = Field(default_factory=list, description="Every problem found.")


def _slug(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-") or "error"


def _clip(value: Any) -> str | None:
    if value is None:
        return None
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= VALUE_MAX_CHARS else text[: VALUE_MAX_CHARS - 1] + "…"


def problem_response(
    *,
    status: int,
    title: str | None = None,
    detail: str | None = None,
    instance: str | None = None,
    errors: list[Problem] | None = None,
    headers: dict[str, str] | None = None,
    type_: str | None = None,
) -> JSONResponse:
    """Build an ``application/problem+json`` response.

    Parameters
    ----------
    status
        HTTP status code.
    title
        Problem title; defaults to the HTTP reason phrase.
    detail
        Explanation of this occurrence.
    instance
        Request path.
    errors
        Individual problems, rendered as ``errors`` entries.
    headers
        Extra response headers. ``WWW-Authenticate`` is added to every 401.
    type_
        Problem type URI; defaults to ``urn:prm:problem:<slug of title>``.
    """
    try:
        phrase = HTTPStatus(status).phrase
        phrase = phrase[:1] + phrase[1:].lower()
    except ValueError:
        phrase = "Error"
    title = title or phrase
    body = ProblemDetails(
        type=type_ or f"urn:prm:problem:{_slug(title)}",
        title=title,
        status=status,
        detail=detail,
        instance=instance,
        errors=[ProblemItem(**p.to_dict()) for p in errors or []],
    )
    out_headers = dict(headers or {})
    if status == 401:
        out_headers.setdefault("WWW-Authenticate", WWW_AUTHENTICATE)
    return JSONResponse(
        body.model_dump(exclude_none=True),
        status_code=status,
        headers=out_headers,
        media_type=PROBLEM_MEDIA_TYPE,
    )


def validation_problems(errors: list[dict[str, Any]]) -> list[Problem]:
    """Turn pydantic/FastAPI validation errors into :class:`Problem` records.

    ``field`` is the error location joined with dots (``query.limit``,
    ``body.site_code``, ``path.provider_id``); ``value`` the offending input.
    """
    problems = []
    for err in errors:
        loc = ".".join(str(part) for part in err.get("loc", ()))
        value = err.get("input")
        # A missing parameter or a whole-body error would echo the body dict: leave it out.
        shown = None if err.get("type") == "missing" or isinstance(value, dict) else _clip(value)
        problems.append(
            Problem(str(err.get("msg", "invalid value")), field=loc or None, value=shown)
        )
    return problems


async def _service_error(request: Request, exc: Exception) -> JSONResponse | RedirectResponse:
    assert isinstance(exc, ServiceError)
    if isinstance(exc, SignInRequired):  # a browser opening a page: to the sign-in page and back
        request.state.prm_denied = True  # audited as the refusal it is (api.audit.DENIED_STATE)
        return RedirectResponse(f"/signin?next={quote(exc.next_url, safe='/')}", status_code=303)
    if exc.status >= 500:
        logger.error("service error on %s %s: %s", request.method, request.url.path, exc)
        return problem_response(
            status=exc.status,
            title=exc.title,
            detail="The service could not complete the request; see the server log.",
            instance=request.url.path,
        )
    retry_after = getattr(exc, "retry_after", None)
    return problem_response(
        status=exc.status,
        title=exc.title,
        detail=exc.detail,
        instance=request.url.path,
        errors=exc.problems,
        headers={"Retry-After": str(max(1, math.ceil(retry_after)))} if retry_after else None,
    )


def _only_if_match_missing(errors: list[dict[str, Any]]) -> bool:
    """Whether the one thing wrong is a missing ``If-Match`` (RFC 6585: 428, not 422)."""
    return bool(errors) and all(
        e.get("type") == "missing"
        and tuple(e.get("loc", ()))[:1] == ("header",)
        and str(e["loc"][-1]).lower() == "if-match"
        for e in errors
    )


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    if _only_if_match_missing(list(exc.errors())):
        return problem_response(
            status=428,
            title="Precondition required",
            detail="send If-Match with the ETag last read (GET .../status): changes name the "
            "version they change",
            instance=request.url.path,
        )
    problems = validation_problems(list(exc.errors()))
    return problem_response(
        status=422,
        title="Invalid input",
        detail=f"{len(problems)} invalid request parameter(s)",
        instance=request.url.path,
        errors=problems,
    )


#: Methods a 405's ``Allow`` may name.
_METHODS = ("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT")


def _allowed_methods(request: Request) -> str:
    """Every method some route serves at the request's path (``GET, HEAD, POST``).

    One path is often served by several routes (``GET /v1/sites`` and ``POST
    /v1/sites`` are two), and Starlette's 405 names the methods of the first
    one only. Each method is asked of the app's routes as a request would be
    (included routers answer for their own routes).
    """
    routes = request.app.router.routes
    allowed = [
        m
        for m in _METHODS
        if any(r.matches({**request.scope, "method": m})[0] == Match.FULL for r in routes)
    ]
    return ", ".join(allowed)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    detail = exc.detail if isinstance(exc.detail, str) else None
    headers = dict(exc.headers or {})
    if exc.status_code == 404 and detail == "Not Found":
        detail = f"no resource at {request.url.path}"
    elif exc.status_code == 405:
        if detail == "Method Not Allowed":
            detail = f"{request.method} is not allowed on {request.url.path}"
        headers["Allow"] = _allowed_methods(request) or headers.get("Allow", "")
    return problem_response(
        status=exc.status_code,
        detail=detail,
        instance=request.url.path,
        headers=headers,
    )


#: How long a client is asked to wait after the database was too busy to serve it.
BUSY_RETRY_AFTER_S = 2


def _database_busy(exc: Exception) -> bool:
    """No connection free within the pool's timeout, or SQLite's write lock held past its wait."""
    if isinstance(exc, sa_exc.TimeoutError):
        return True
    text = str(getattr(exc, "orig", exc)).lower()
    return isinstance(exc, sa_exc.OperationalError) and ("locked" in text or "busy" in text)


async def _database_error(request: Request, exc: Exception) -> JSONResponse:
    if not _database_busy(exc):
        return await _unhandled(request, exc)
    logger.warning("database busy on %s %s: %s", request.method, request.url.path, exc)
    return problem_response(
        status=503,
        title="Service busy",
        instance=request.url.path,
        detail="the database is too busy to answer now; retry after the time in Retry-After",
        headers={"Retry-After": str(BUSY_RETRY_AFTER_S)},
    )


async def _unhandled(request: Request, exc: Exception) -> JSONResponse:
    logger.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return problem_response(
        status=500,
        title="Internal server error",
        detail="An unexpected error occurred; it has been logged.",
        instance=request.url.path,
    )


def install_problem_handlers(app: FastAPI) -> None:
    """Register every problem handler on ``app``."""
    app.add_exception_handler(ServiceError, _service_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(sa_exc.SQLAlchemyError, _database_error)
    app.add_exception_handler(Exception, _unhandled)


_DESCRIPTIONS = {
    400: "Malformed request: a NUL character in the URL, a JSON body that is not UTF-8, or a "
    "broken multipart body.",
    401: "Missing or invalid API key or session, or an API key sent in the URL.",
    403: "The API key lacks the role this operation needs (or a session's write lacks its CSRF "
    "token).",
    404: "A requested record does not exist.",
    408: "The request body did not arrive in time (`PRM_BODY_TIMEOUT_S`).",
    409: "The request conflicts with stored state.",
    412: "The If-Match entity tag is not the current one: someone changed it first; read it again.",
    413: "The request body is larger than allowed (`PRM_MAX_JSON_BYTES`; uploads "
    "`PRM_MAX_UPLOAD_BYTES`).",
    422: "Invalid parameters or body; every problem is listed in `errors`.",
    428: "This change needs an If-Match header with the entity tag (ETag) last read.",
    429: "Too many requests from this API key or address; retry after `Retry-After` seconds.",
    500: "Unexpected server error.",
    503: "The service or its database is too busy (or down); retry after `Retry-After` seconds "
    "when it is given.",
}
_RETRY_AFTER = {
    "Retry-After": {
        "description": "Seconds to wait before retrying.",
        "schema": {"type": "integer", "minimum": 1},
    }
}
_HEADERS: dict[int, dict[str, Any]] = {
    401: {
        "WWW-Authenticate": {
            "description": "The authentication scheme (`Bearer`).",
            "schema": {"type": "string"},
        }
    },
    429: _RETRY_AFTER,
    503: _RETRY_AFTER,
}

APP_WIDE_STATUSES = (400, 401, 408, 413, 429, 500, 503)
"""Statuses any operation may answer whatever its handler does: the request limits (400 NUL in
the URL, 408, 413: :mod:`api.limits`), a key sent in the URL and its throttle (401, 429), the
admission gate and a busy database (503), and a fault (500). Operations that need a role also
answer 403; those taking parameters or a body, 422 (:func:`document_app_problems`)."""

_PROBLEM_CONTENT = {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/ProblemDetails"}}}


def _entry(status: int) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "description": _DESCRIPTIONS.get(status, HTTPStatus(status).phrase),
        "content": {**_PROBLEM_CONTENT},
    }
    if status in _HEADERS:
        entry["headers"] = _HEADERS[status]
    return entry


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries documenting problem bodies for ``statuses``.

    For the statuses a route adds to :data:`APP_WIDE_STATUSES` (404, 409, ...): those are
    documented on every operation by :func:`document_app_problems`.
    """
    return {status: {"model": ProblemDetails, **_entry(status)} for status in statuses}


def document_app_problems(openapi: dict[str, Any]) -> None:
    """Document, on every operation of ``openapi``, the problems it can answer outside its handler.

    :data:`APP_WIDE_STATUSES` everywhere, 403 where a role is needed (``security``), 422 where
    there are parameters or a body. FastAPI's own 422 entry (its ``HTTPValidationError`` body,
    never sent: errors are problem documents) is replaced, and its schemas dropped when unused.
    Responses are listed by status.
    """
    for operations in openapi.get("paths", {}).values():
        for operation in operations.values():
            statuses = list(APP_WIDE_STATUSES)
            if operation.get("security"):
                statuses.append(403)
            if operation.get("parameters") or operation.get("requestBody"):
                statuses.append(422)
            responses = operation.setdefault("responses", {})
            for status in statuses:
                responses[str(status)] = {**responses.get(str(status), {}), **_entry(status)}
            operation["responses"] = dict(sorted(responses.items()))
    schemas = openapi.get("components", {}).get("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
