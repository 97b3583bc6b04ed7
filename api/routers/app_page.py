"""The liaison's app (``/app``): one page, every asset under ``/static``, data from the API.

The page is a static shell (no data in it): ``/static/app/app.js`` reads the
session (``GET /v1/session``), the sites and specialty groups, then the
prospects of the map's view (``GET /v1/prospects/viewport``, the prospect
list's filters and statement) for the clustered markers and the ranked list
beside them, and a provider's brief for the detail panel. Writes send the
session's CSRF token. The visit list and visit outcome plug in through the
hooks ``app.js`` documents (``window.PRM_APP``), with no change to this page
but a script tag.
"""

from __future__ import annotations

import html

from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse

from api.deps import ContextDep, require_role
from api.problems import problem_responses

__all__ = ["app_page", "router"]

router = APIRouter(
    tags=["map"],
    dependencies=[Depends(require_role("viewer"))],
    responses=problem_responses(401, 403),
)

_STATUSES = ("new", "contacted", "meeting held", "referring", "not a fit")

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Prospects - PRM</title>
<link rel="stylesheet" href="/static/vendor/leaflet/leaflet.css">
<link rel="stylesheet" href="/static/vendor/leaflet.markercluster/MarkerCluster.css">
<link rel="stylesheet" href="/static/vendor/leaflet.markercluster/MarkerCluster.Default.css">
<link rel="stylesheet" href="/static/app/app.css">
</head>
<body data-tile-url="{tile_url}" data-tile-attribution="{tile_attribution}">
<header>
<h1>Prospects</h1>
<span id="who" aria-live="polite"></span>
<button type="button" id="signout">Sign out</button>
</header>
<div id="layout">
<section id="filters" aria-label="Filters">
<form id="filter-form">
<fieldset><legend>Filter prospects</legend>
<div class="field"><label for="f-q">Name or practice</label><input id="f-q" name="q" type="search" maxlength="100"></div>
<div class="field"><label for="f-site">Site</label><select id="f-site" name="site"><option value="">Best site</option></select></div>
<div class="field"><label for="f-service">Service line</label><select id="f-service" name="service_line"><option value="">Any</option></select></div>
<div class="field"><label for="f-group">Specialty group</label><select id="f-group" name="group"><option value="">Any</option></select></div>
<div class="field"><label for="f-min-drive">Drive from (min)</label><input id="f-min-drive" name="min_drive_minutes" type="number" min="0" max="240" step="1"></div>
<div class="field"><label for="f-max-drive">Drive up to (min)</label><input id="f-max-drive" name="max_drive_minutes" type="number" min="1" max="240" step="1"></div>
<div class="field"><label for="f-score">Minimum score</label><input id="f-score" name="min_score" type="number" min="0" max="100" step="1"></div>
<div class="field"><label for="f-status">Status</label><select id="f-status" name="status"><option value="">Any but not a fit</option>{statuses}</select></div>
<div class="field"><label for="f-liaison">Assigned liaison</label><input id="f-liaison" name="assigned_to" maxlength="100"></div>
<div class="field"><label for="f-territory">Territory id</label><input id="f-territory" name="territory_id" type="number" min="1" step="1"></div>
<div class="field"><label for="f-history">Referral history</label><select id="f-history" name="history"><option value="">Any</option><option>never referred</option><option>lapsed</option></select></div>
</fieldset>
<button type="reset">Clear filters</button>
</form>
</section>
<main id="mapwrap" aria-label="Map of prospects">
<div id="map"></div>
<p id="mapmsg" role="status" hidden></p>
</main>
<section id="side" aria-label="Ranked prospects">
<p id="notice" role="status" aria-live="polite">Loading...</p>
<section id="detail" aria-labelledby="detail-title" tabindex="-1" hidden></section>
<section id="visit-list" aria-label="Visit list" hidden></section>
<h2 class="visually-hidden" id="list-title">Prospects in view, best score first</h2>
<ol id="list" aria-labelledby="list-title"></ol>
</section>
</div>
<script src="/static/vendor/leaflet/leaflet.js"></script>
<script src="/static/vendor/leaflet.markercluster/leaflet.markercluster.js"></script>
<script src="/static/app/app.js"></script>
<!-- the visit list (issue16-route) and visit outcome (issue16-people) add their scripts here -->
</body></html>
"""


@router.get(
    "/app",
    response_class=HTMLResponse,
    summary="The liaison's app: map and ranked list of prospects (HTML)",
    responses={200: {"content": {"text/html": {"schema": {"type": "string"}}}}},
)
def app_page(ctx: ContextDep) -> HTMLResponse:
    """Filters, clustered map and ranked list in step, and a detail panel per provider.

    A shell only: the data comes from the API. A browser that is not signed in
    is sent to ``/signin``.
    """
    settings = ctx.settings
    page = (
        _PAGE.replace("{tile_url}", html.escape(settings.tile_url or ""))
        .replace("{tile_attribution}", html.escape(settings.tile_attribution or ""))
        .replace("{statuses}", "".join(f"<option>{s}</option>" for s in _STATUSES))
    )
    return HTMLResponse(page, headers={"Cache-Control": "no-store"})
