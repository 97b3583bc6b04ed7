"""The FastAPI application factory.

Run it with ``uvicorn --factory api.main:create_app`` (settings from the
``PRM_`` environment), or build it in code with explicit settings or an
already open :class:`~service.context.AppContext` (tests, the CLI)::

    app = create_app(Settings(database_url="sqlite:///var/prm.sqlite"))

Nothing happens at import time. The context is opened (migrating the
database, then marking the batches and jobs of stopped processes interrupted)
when the app starts, lives on ``app.state.context`` and is closed on
shutdown; a context passed in by the caller stays the caller's to close.

Documentation works offline: ``/docs`` is Swagger UI loaded from the vendored
files under ``/static`` (no CDN), ``/openapi.json`` is the schema. ReDoc is
disabled (its bundle is not vendored).
"""

from __future__ import annotations

import html
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import anyio
from fastapi import Depends, FastAPI
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from api.admission import AdmissionGate
from api.audit import AUDIT_BUFFER_STATE, AuditMiddleware
from api.deps import one_value_per_parameter
from api.etag import ETagMiddleware
from api.limits import NoCredentialsInUrls, NoNulCharacters, RequestBodyGuard, document_no_nul
from api.problems import PROBLEM_MEDIA_TYPE, document_app_problems, install_problem_handlers
from api.ratelimit import TokenBuckets
from api.routers import V1_ROUTERS, app_page, health, map_page, signin
from api.stamp import DataStampMiddleware, StampCache, context_stamp_reader
from core.settings import Settings, load_settings
from maps.assets import ASSET_DIR, asset_urls, swagger_ui_files, verify_assets
from service.context import AppContext, open_context
from service.leases import recover_interrupted
from service.security.audit_buffer import AuditBuffer

__all__ = ["API_PREFIX", "create_app"]

_log = logging.getLogger("uvicorn.error")  # configured by uvicorn, as the server's own lines

API_PREFIX = "/v1"
TITLE = "PRM territory & referral prospecting API"
DESCRIPTION = """
Territory mapping and referral prospecting for clinics that grow through
physician referrals: search the provider registry (US NPPES), manage clinic
sites, read drive-time and radius catchments as H3 hexagons (GeoJSON), and list
or export scored white-space prospects with the breakdown of every score.

**Authentication**: send an API key in the `X-API-Key` header or as
`Authorization: Bearer <key>` (keys are issued with `prm keys create`, shown
once, stored hashed, with an expiry). Roles are ordered
`viewer` < `marketing` < `integration` < `admin`: `viewer` reads providers,
prospects and maps; `marketing` adds exports (CSV, FHIR NDJSON); `integration`
adds webhooks; `admin` adds ingestion, pipeline runs, review decisions, edits,
keys, the audit log and privacy actions. Each operation names its role in its
summary. Keys are never accepted in URLs (`?api_key=` is refused). A browser
signs in once (`POST /v1/session` with the key in `X-API-Key`, or the `/signin`
page) and is then authenticated by an HttpOnly session cookie; every write
made with that cookie must carry the session's CSRF token in `X-CSRF-Token`
(`GET /v1/session` returns it). Signing out (`DELETE /v1/session`), expiry
(`PRM_SESSION_HOURS`) and revoking the key end a session.

**Errors** are RFC 9457 `application/problem+json` documents listing every
problem found (`errors[].field` names the parameter, e.g. `query.limit`), for
every status: 400, 401, 403, 404, 405 (with `Allow`), 408, 409, 413, 422, 429
and 503 (with `Retry-After`), 500. Each operation lists the ones it can answer.

**Pagination**: list endpoints take `limit` and `cursor` and return
`next_cursor` (pass it back as `cursor`) with a stable order (the sort key,
then the id). **Caching**: complete GET answers carry an `ETag`; send it back
in `If-None-Match` to get `304 Not Modified`. **Rate limit**: each key may send
`PRM_RATE_LIMIT_PER_SECOND` requests per second (bursts of
`PRM_RATE_LIMIT_BURST`) per server worker. **Audit**: every request made with a
key is logged (who, what, when, from where). **Provenance**: every `/v1` and
map answer carries `PRM-Data-Stamp`: the registry files (name, load date,
SHA-256 prefix) and the referral and scoring as-of dates it was computed from.
"""


def _api_version() -> str:
    try:
        return version("prm-territory")
    except PackageNotFoundError:
        return "0.0.0"


def _openapi_schema(app: FastAPI) -> dict[str, Any]:
    """OpenAPI document with error responses documented as problem+json only, every operation
    listing the problems the app answers around its handler (:func:`api.problems.document_app_problems`)."""
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(
        title=app.title,
        version=app.version,
        description=app.description,
        routes=app.routes,
        tags=app.openapi_tags,
    )
    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            for code, response in operation.get("responses", {}).items():
                content = response.get("content", {})
                if code[:1] in "45" and PROBLEM_MEDIA_TYPE in content:
                    content.pop("application/json", None)
    document_app_problems(schema)
    document_no_nul(schema)
    app.openapi_schema = schema
    return schema


_INDEX = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<link rel="icon" href="{favicon}"></head>
<body style="font:15px/1.5 system-ui,sans-serif;max-width:40em;margin:2em auto">
<h1>{title}</h1>
<ul>
<li><a href="/docs">API documentation (Swagger UI)</a></li>
<li><a href="/openapi.json">OpenAPI schema</a></li>
<li><a href="/map">Territory map</a> (sign in with a viewer key when asked)</li>
<li><a href="/health">Health</a></li>
</ul></body></html>
"""


def _add_pages(app: FastAPI, *, asset_url: str) -> None:
    swagger = asset_urls(swagger_ui_files(), asset_url=asset_url)
    openapi_url = app.openapi_url or "/openapi.json"

    @app.get("/docs", include_in_schema=False)
    def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=openapi_url,
            title=f"{app.title} - docs",
            swagger_ui_parameters={"persistAuthorization": True},
            **swagger,
        )

    @app.get("/", include_in_schema=False)
    def index() -> HTMLResponse:
        return HTMLResponse(
            _INDEX.format(
                title=html.escape(app.title), favicon=html.escape(swagger["swagger_favicon_url"])
            )
        )


def _open(settings: Settings) -> AppContext:
    """The worker's context; its start marks the work of stopped processes interrupted."""
    ctx = open_context(settings)
    if settings.recover_interrupted_jobs:
        for what, n in recover_interrupted(ctx).items():
            if n:
                _log.warning(
                    "marked %d %s interrupted: their process stopped before the end", n, what
                )
    return ctx


def create_app(settings: Settings | None = None, *, context: AppContext | None = None) -> FastAPI:
    """Build the API application.

    Parameters
    ----------
    settings
        Service settings; read from the environment (:func:`core.settings.load_settings`)
        when neither this nor ``context`` is given.
    context
        An open application context to serve (the caller keeps ownership and
        closes it). When omitted, the app opens one from ``settings`` on startup
        and closes it on shutdown.

    Returns
    -------
    fastapi.FastAPI
        Routes under ``/v1``, plus ``/health``, ``/map``, ``/docs``,
        ``/openapi.json``, ``/`` and the static assets under ``/static``.

    Raises
    ------
    TypeError
        For arguments of the wrong type.
    ValueError
        When ``settings`` and ``context`` are both given and differ.
    core.errors.ConfigError
        When vendored front-end files are missing from the install.
    """
    if settings is not None and context is not None and settings != context.settings:
        raise ValueError("settings differ from context.settings; pass only one of them")
    verify_assets()

    app_settings = context.settings if context is not None else (settings or load_settings())

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        ctx = context if context is not None else _open(app_settings)
        app.state.context = ctx
        # sync handlers run in anyio's thread pool: cap how many run at once in this process
        anyio.to_thread.current_default_thread_limiter().total_tokens = ctx.settings.api_threads
        buffer = AuditBuffer(ctx)
        setattr(app.state, AUDIT_BUFFER_STATE, buffer)
        await anyio.to_thread.run_sync(stamp.refresh)  # the first answers carry it without waiting
        try:
            yield
        finally:
            delattr(app.state, AUDIT_BUFFER_STATE)
            buffer.close()  # the last entries, before the database goes
            if context is None:
                ctx.close()
                del app.state.context

    app = FastAPI(
        title=TITLE,
        version=_api_version(),
        description=DESCRIPTION,
        docs_url=None,
        redoc_url=None,
        openapi_url="/openapi.json",
        lifespan=lifespan,
        dependencies=[Depends(one_value_per_parameter)],
        openapi_tags=[
            {"name": "health", "description": "Liveness and database status; no key needed."},
            {"name": "providers", "description": "Provider registry search (viewer)."},
            {"name": "sites", "description": "Clinic sites (viewer reads, admin writes)."},
            {"name": "catchments", "description": "Catchment hexagons as GeoJSON (viewer)."},
            {
                "name": "prospects",
                "description": "Scored white-space prospects (viewer; CSV export: marketing).",
            },
            {"name": "map", "description": "Interactive HTML territory map (viewer)."},
            {"name": "jobs", "description": "Background jobs and their progress (admin)."},
            {"name": "uploads", "description": "Load files as background jobs (admin)."},
            {"name": "specialty groups", "description": "Clinic specialty groups (viewer)."},
            {
                "name": "drive time",
                "description": "Isochrones, nearest-site assignment and "
                "overlap on the road network (viewer).",
            },
            {
                "name": "territories",
                "description": "Liaison territory plans, versioned (admin builds, viewer reads).",
            },
            {
                "name": "expansion",
                "description": "Expansion scenarios: white space, "
                "cannibalisation, best N of M (admin evaluates, viewer reads, marketing exports).",
            },
            {
                "name": "referrals",
                "description": "Scheduling-system webhook, review queue of "
                "unlinked referrers, referrer activity and at-risk alerts.",
            },
            {
                "name": "crm",
                "description": "Interaction log, contact preferences, pre-visit brief.",
            },
            {"name": "workflow", "description": "Prospect status and liaison; exclusion lists."},
            {
                "name": "segments",
                "description": "Saved segments and their exports (CSV, XLSX, GeoJSON).",
            },
            {
                "name": "session",
                "description": "Browser sessions: sign in with a key or a "
                "one-time link, read the session (CSRF token), sign out.",
            },
            {"name": "keys", "description": "API keys: issue (shown once), list, revoke (admin)."},
            {"name": "audit", "description": "The append-only audit log (admin)."},
            {"name": "privacy", "description": "GDPR objection and erasure (admin, audited)."},
            {
                "name": "fhir",
                "description": "FHIR R4B, Da Vinci PDex Plan-Net shapes: Practitioner, "
                "PractitionerRole, Organization, Location (viewer); NDJSON bulk export (marketing).",
            },
            {
                "name": "webhooks",
                "description": "Signed outgoing events to a CRM, retries, delivery "
                "log (integration).",
            },
        ],
    )
    if context is not None:
        # Usable without running the lifespan (e.g. a TestClient not used as a context manager).
        app.state.context = context
    install_problem_handlers(app)
    stamp = StampCache(context_stamp_reader(app.state))
    app.state.rate_limiter = TokenBuckets(
        rate=app_settings.rate_limit_per_second, burst=app_settings.rate_limit_burst
    )
    # innermost first: ETag sees the plain body, the audit sees every final status
    app.add_middleware(ETagMiddleware)
    app.add_middleware(DataStampMiddleware, cache=stamp)
    app.add_middleware(
        NoCredentialsInUrls
    )  # inside the audit: a key sent in a URL is a refusal logged
    app.add_middleware(AuditMiddleware)
    # the map page embeds its data (several MB of GeoJSON for a metro): compress it. Level 1
    # (nginx's default), not Starlette's 9: it runs on the event loop, and at 9 a viewport
    # answer of 2,000 rows took 25 ms of it (1.5 ms at 1) for 15% fewer bytes
    app.add_middleware(GZipMiddleware, minimum_size=4096, compresslevel=1)
    # a bounded number of requests run; the queue is bounded in length and in wait (503)
    app.add_middleware(
        AdmissionGate,
        max_active=app_settings.max_active_requests,
        max_queued=app_settings.queue_max,
        timeout_s=app_settings.queue_timeout_s,
    )
    # bodies are bounded before anything else reads them (and before they take a slot)
    app.add_middleware(
        RequestBodyGuard,
        max_body_bytes=app_settings.max_json_bytes,
        max_upload_bytes=app_settings.max_upload_bytes,
        timeout_s=app_settings.body_timeout_s,
    )
    app.add_middleware(NoNulCharacters)
    app.openapi = lambda: _openapi_schema(app)  # type: ignore[method-assign]

    app.include_router(health.router, include_in_schema=False)
    for router in V1_ROUTERS:
        app.include_router(router, prefix=API_PREFIX)
    app.include_router(map_page.router)
    app.include_router(app_page.router)
    app.include_router(signin.router)
    app.mount(map_page.ASSET_URL, StaticFiles(directory=ASSET_DIR), name="static")
    _add_pages(app, asset_url=map_page.ASSET_URL)
    return app
