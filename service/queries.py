"""Read paths used by the API, the CLI and the map: searches, lists, GeoJSON.

Spatial selection goes through H3 cell ids (the same SQL on SQLite and
PostgreSQL); nothing here writes.
"""

from __future__ import annotations

import csv
import io
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from typing import Any

import geopandas as gpd
import orjson
import pandas as pd
import shapely
from sqlalchemy import Float, Integer, Select, Text, bindparam, cast, exists, func, literal_column, or_, select
from sqlalchemy.orm import Session

from core.errors import InputError, NotFoundError, Problem
from data.models import (
    DRIVE_SORT_ASC,
    DRIVE_SORT_DESC,
    Catchment,
    CatchmentCell,
    ClinicSite,
    Prospect,
    Provider,
    ProviderOverride,
    ReferrerStat,
    SourceRecord,
    h3_column,
)
from data.prospecting import ProspectExclusion, ProspectStatus
from service.pagination import decode_cursor, encode_cursor, keyset, keyset_after
from service.privacy import objected
from service.schemas import (
    OverridePublic,
    Page,
    ProspectFilter,
    ProspectPublic,
    ProspectSort,
    ProviderDetail,
    ProviderPublic,
    SitePublic,
    SourceRecordPublic,
)

MAX_PAGE = 500
#: A NUCC taxonomy code (``207X00000X``); any other specialty text is a classification name.
_TAXONOMY_CODE = re.compile(r"[0-9A-Z]{9}X")


def _check_limit(limit: int) -> None:
    if not 1 <= limit <= MAX_PAGE:
        raise InputError(
            "page size out of range",
            problems=[Problem(f"must be between 1 and {MAX_PAGE}", field="limit", value=str(limit))],
        )


def site_by_code(session: Session, site_code: str) -> ClinicSite:
    site = session.scalars(select(ClinicSite).where(ClinicSite.site_code == site_code)).first()
    if site is None:
        raise NotFoundError(f"no site with code {site_code!r}")
    return site


def list_sites(session: Session) -> list[SitePublic]:
    rows = session.scalars(select(ClinicSite).order_by(ClinicSite.site_code)).all()
    return [SitePublic.model_validate(r) for r in rows]


# --------------------------------------------------------------------------- providers


def search_providers(
    session: Session,
    *,
    q: str | None = None,
    specialty: str | None = None,
    postal_code: str | None = None,
    entity_type: str | None = None,
    active: bool | None = True,
    limit: int = 50,
    cursor: str | None = None,
) -> Page[ProviderPublic]:
    """Providers matching a name/NPI query and filters, ordered by name then id."""
    _check_limit(limit)
    stmt = select(Provider, ReferrerStat.tier, ReferrerStat.referrals_window).outerjoin(
        ReferrerStat, ReferrerStat.provider_id == Provider.id
    )
    if q:
        term = q.strip()
        if term.isdigit() and len(term) == 10:
            stmt = stmt.where(Provider.npi == term)
        else:
            # a literal substring: % and _ typed by a user match themselves
            stmt = stmt.where(func.upper(Provider.display_name).contains(term.upper(), autoescape=True))
    if specialty:
        stmt = stmt.where(
            or_(Provider.taxonomy_code == specialty, Provider.classification == specialty)
        )
    if postal_code:
        stmt = stmt.where(Provider.postal_code == postal_code)
    if entity_type:
        stmt = stmt.where(Provider.entity_type == entity_type)
    if active is not None:
        stmt = stmt.where(Provider.is_active.is_(active))
    total = session.scalar(select(func.count()).select_from(stmt.subquery()))
    stmt = keyset(
        stmt, sort_col=Provider.display_name, id_col=Provider.id, descending=False, cursor=cursor
    ).limit(limit + 1)
    rows = session.execute(stmt).all()
    items = [
        ProviderPublic.model_validate(p).model_copy(update={"tier": tier, "referrals_window": n})
        for p, tier, n in rows[:limit]
    ]
    nxt = None
    if len(rows) > limit:
        last = rows[limit - 1][0]
        nxt = encode_cursor(last.display_name, last.id)
    return Page[ProviderPublic](items=items, next_cursor=nxt, total=total)


def get_provider(session: Session, provider_id: int) -> ProviderDetail:
    provider = session.get(Provider, provider_id)
    if provider is None:
        raise NotFoundError(f"no provider with id {provider_id}")
    stat = session.get(ReferrerStat, provider_id)
    records = session.scalars(
        select(SourceRecord).where(SourceRecord.provider_id == provider_id).order_by(SourceRecord.id)
    ).all()
    overrides = session.scalars(
        select(ProviderOverride).where(ProviderOverride.provider_id == provider_id)
        .order_by(ProviderOverride.field)
    ).all()
    detail = ProviderDetail.model_validate(provider)
    return detail.model_copy(
        update={
            "tier": stat.tier if stat else None,
            "referrals_window": stat.referrals_window if stat else None,
            "source_records": [SourceRecordPublic.model_validate(r) for r in records],
            "overrides": [OverridePublic.model_validate(o) for o in overrides],
        }
    )


# --------------------------------------------------------------------------- prospects

_SORTS: dict[str, tuple[Any, bool]] = {
    "-score": (Prospect.score, True),
    "score": (Prospect.score, False),
    # prospects without a drive time sort last in both directions (indexed expressions)
    "drive_minutes": (literal_column(DRIVE_SORT_ASC, Float), False),
    "-drive_minutes": (literal_column(DRIVE_SORT_DESC, Float), True),
    "distance_km": (Prospect.distance_km, False),
    "name": (Provider.display_name, False),
}


def not_excluded(provider: Any = Provider) -> Any:
    """SQL condition: the provider is on no exclusion list (do-not-contact, own physicians),
    matched by golden id or by NPI (so a record re-created by a refresh stays excluded)."""
    return ~exists().where(ProspectExclusion.provider_id == provider.id) & ~exists().where(
        ProspectExclusion.npi == provider.npi
    )


#: The prospect column each list sort walks the index of.
_SORTED_ON = {"-score": "score", "score": "score", "drive_minutes": "drive_minutes",
              "-drive_minutes": "drive_minutes", "distance_km": "distance_km"}


def _bounded(column: Any, sort: str | None) -> Any:
    """``column`` as the operand of a range filter of a list sorted by ``sort``.

    The column itself when the list is sorted by it (the walk of its index
    stops at the bound), else ``column + 0``: the same values (NULL stays
    NULL) but matched by no index. SQLite keeps no value histograms, so it
    takes ``score >= 0`` for a selective range, reads every match through the
    score index and sorts them all (80 ms at a million prospects) instead of
    walking the sort's index for the first page.
    """
    if sort is None or _SORTED_ON.get(sort) == column.key:
        return column
    return column + 0


def _drive_range(stmt: Select, filters: ProspectFilter, sort: str | None,
                 bind: Callable[[str, Any], Any]) -> Select:  # fmt: skip
    """The drive-time range filters, bounding the walk of the drive-time sort indexes.

    Those indexes hold ``coalesce(drive_minutes, ...)`` (prospects without a
    drive time sort last): the bound on the sort's side is written on that
    expression, which selects the same rows because the bounds are validated
    to lie in [0, 240] (a missing drive time, 1e6 or -1, is out of them).
    """
    lo, hi = filters.min_drive_minutes, filters.max_drive_minutes
    column = _bounded(Prospect.drive_minutes, sort)
    if hi is not None:
        upper = literal_column(DRIVE_SORT_ASC, Float) if sort == "drive_minutes" else column
        stmt = stmt.where(upper <= bind("max_drive_minutes", hi))
    if lo is not None:
        lower = literal_column(DRIVE_SORT_DESC, Float) if sort == "-drive_minutes" else column
        stmt = stmt.where(lower >= bind("min_drive_minutes", lo))
    return stmt


def _literal(_name: str, value: Any) -> Any:
    return value


def _prospect_stmt(filters: ProspectFilter, *, sort: str | None = None,
                   bind: Callable[[str, Any], Any] = _literal) -> Select:  # fmt: skip
    """Prospects with their provider, site code, status and liaison.

    Deactivated providers and excluded ones never appear; "not a fit"
    dismissals only when ``status='not a fit'`` is asked for. ``sort`` (a
    list sort) writes the range filters so that the sort's index is walked.
    ``bind(name, value)`` gives each filter value's SQL operand: the value
    itself, or a bound parameter of that name (:func:`_page_template`); which
    conditions are written depends only on :func:`_filter_shape`.
    """
    v = _filter_values(filters)
    status = func.coalesce(ProspectStatus.status, "new")
    stmt = (
        select(Prospect, Provider, ClinicSite.site_code, status.label("status"),
               ProspectStatus.assigned_to)
        .join(Provider, Provider.id == Prospect.provider_id)
        .join(ClinicSite, ClinicSite.id == Prospect.site_id)
        .outerjoin(ProspectStatus, ProspectStatus.provider_id == Prospect.provider_id)
        .where(Provider.is_active.is_(True), not_excluded(),
               Provider.id.not_in(objected()))  # GDPR objection: never listed
    )
    if filters.status:
        stmt = stmt.where(status == bind("status", v["status"]))
    else:
        stmt = stmt.where(status != "not a fit")
    if filters.assigned_to:
        stmt = stmt.where(ProspectStatus.assigned_to == bind("assigned_to", v["assigned_to"]))
    stmt = _drive_range(stmt, filters, sort, bind)
    if filters.postal_codes:
        stmt = stmt.where(Provider.postal_code.in_(bind("postal_codes", v["postal_codes"])))
    if filters.city:
        stmt = stmt.where(func.upper(Provider.city) == bind("city", v["city"]))
    if filters.organization_id is not None:
        stmt = stmt.where(Provider.organization_id == bind("organization_id", v["organization_id"]))
    if filters.tier:
        past = select(ReferrerStat.provider_id).where(ReferrerStat.provider_id == Prospect.provider_id)
        if filters.tier != "lapsed":
            past = past.where(ReferrerStat.tier == bind("tier", v["tier"]))
        stmt = stmt.where(past.exists())
    if filters.site:
        stmt = stmt.where(ClinicSite.site_code == bind("site", v["site"]))
    if filters.specialty:
        # a NUCC code or a classification name, never both: one equality the list indexes can test
        column = Prospect.taxonomy_code if _is_code(filters.specialty) else Prospect.classification
        stmt = stmt.where(column == bind("specialty", v["specialty"]))
    if filters.min_score is not None:
        stmt = stmt.where(_bounded(Prospect.score, sort) >= bind("min_score", v["min_score"]))
    if filters.segment:
        stmt = stmt.where(Prospect.segment == bind("segment", v["segment"]))
    if filters.group_codes is not None:
        stmt = stmt.where(Prospect.taxonomy_code.in_(bind("group_codes", v["group_codes"])))
    return stmt


def _filter_values(filters: ProspectFilter) -> dict[str, Any]:
    """The SQL operand of each filter, by parameter name (what :func:`_prospect_stmt` binds)."""
    return {
        "status": filters.status, "assigned_to": filters.assigned_to,
        "min_drive_minutes": filters.min_drive_minutes, "max_drive_minutes": filters.max_drive_minutes,
        "postal_codes": list(filters.postal_codes or ()), "city": filters.city.upper() if filters.city else None,
        "organization_id": filters.organization_id, "tier": filters.tier, "site": filters.site,
        "specialty": filters.specialty, "min_score": filters.min_score, "segment": filters.segment,
        "group_codes": sorted(filters.group_codes) if filters.group_codes is not None else None,
    }  # fmt: skip


def _is_code(specialty: str) -> bool:
    return _TAXONOMY_CODE.fullmatch(specialty) is not None


def _filter_shape(filters: ProspectFilter) -> tuple:
    """Every decision :func:`_prospect_stmt` takes on the filter values (not the values)."""
    return (
        bool(filters.status), bool(filters.assigned_to), filters.min_drive_minutes is not None,
        filters.max_drive_minutes is not None, bool(filters.postal_codes), bool(filters.city),
        filters.organization_id is not None, filters.tier if filters.tier == "lapsed" else bool(filters.tier),
        bool(filters.site), _is_code(filters.specialty) if filters.specialty else None,
        filters.min_score is not None, bool(filters.segment), filters.group_codes is not None,
    )


def _page_columns() -> tuple:
    """The columns of one prospect-list item, labelled as :class:`ProspectPublic` fields."""
    return (
        Provider.id.label("provider_id"), ClinicSite.site_code, Provider.npi, Provider.display_name,
        Prospect.taxonomy_code, Prospect.classification, Provider.address_1, Provider.city,
        Provider.postal_code, Provider.phone, Prospect.score, Prospect.segment, Prospect.drive_minutes,
        Prospect.distance_km, Prospect.proximity_estimated, Prospect.profile, Prospect.components,
        func.coalesce(ProspectStatus.status, "new").label("status"), ProspectStatus.assigned_to,
        Prospect.id.label("prospect_id"),
    )


#: Labels of the item columns of :func:`_page_columns` (then ``prospect_id``, then the sort value).
_PAGE_FIELDS = tuple(c.key for c in _page_columns())[:-1]


def prospect_statement(filters: ProspectFilter) -> Select:
    """``SELECT Prospect, Provider, site_code`` of the prospects matching ``filters`` (unordered).

    Active providers only; excluded people and those who objected to processing never match.
    """
    return _prospect_stmt(filters).with_only_columns(Prospect, Provider, ClinicSite.site_code,
                                                     maintain_column_froms=True)


def _prospect_public(
    p: Prospect, prov: Provider, site_code: str, status: str = "new", assigned_to: str | None = None
) -> ProspectPublic:
    return ProspectPublic(
        provider_id=prov.id,
        site_code=site_code,
        npi=prov.npi,
        display_name=prov.display_name,
        taxonomy_code=p.taxonomy_code,
        classification=p.classification,
        address_1=prov.address_1,
        city=prov.city,
        postal_code=prov.postal_code,
        phone=prov.phone,
        score=p.score,
        segment=p.segment,
        drive_minutes=p.drive_minutes,
        distance_km=p.distance_km,
        proximity_estimated=p.proximity_estimated,
        profile=p.profile,
        components=p.components,
        status=status,
        assigned_to=assigned_to,
    )


class _Templates:
    """A bounded, thread-safe memo of immutable statements by key (least recently used out)."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._items: OrderedDict[tuple, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple, build: Callable[[], Any]) -> Any:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        value = build()  # outside the lock: two threads may build the same one, both correct
        with self._lock:
            self._items[key] = value
            while len(self._items) > self._size:
                self._items.popitem(last=False)
        return value


#: Page statements by filter shape: building one (a few hundred SQL elements) costs a third of a page.
_PAGE_TEMPLATES = _Templates(512)


def _page_template(filters: ProspectFilter, *, sort: ProspectSort, after: bool,
                   raw_components: bool) -> tuple[Select, frozenset[str]]:  # fmt: skip
    """The page statement for filters of this shape, with every value a bound parameter; its names."""
    key = (_filter_shape(filters), sort, after, raw_components)

    def build() -> tuple[Select, frozenset[str]]:
        names: set[str] = set()

        def bind(name: str, value: Any) -> Any:
            names.add(name)
            return bindparam(name, value, expanding=isinstance(value, list))

        stmt = _prospect_stmt(filters, sort=sort, bind=bind)
        sort_col, desc = _SORTS[sort]
        # plain columns, not ORM entities: a page is read, never changed
        columns = _page_columns()
        if raw_components:  # the stored JSON text, spliced into the answer unparsed
            columns = tuple(cast(Prospect.components, Text).label("components") if c.key == "components"
                            else c for c in columns)  # fmt: skip
        stmt = stmt.with_only_columns(*columns, maintain_column_froms=True)
        marks = (bindparam("_after_value", type_=sort_col.type), bindparam("_after_id", type_=Integer))
        stmt = keyset_after(stmt, sort_col=sort_col, id_col=Prospect.id, descending=desc,
                            after=marks if after else None)  # fmt: skip
        stmt = stmt.add_columns(sort_col.label("_sortval")).limit(bindparam("_limit", type_=Integer))
        return stmt, frozenset(names | {"_limit"} | ({"_after_value", "_after_id"} if after else set()))

    return _PAGE_TEMPLATES.get(key, build)


def _prospect_page(
    session: Session,
    filters: ProspectFilter,
    *,
    sort: ProspectSort,
    limit: int,
    cursor: str | None,
    count: bool,
    raw_components: bool,
) -> tuple[list[Any], int | None, str | None]:
    """The rows of one page (item fields first, in :data:`_PAGE_FIELDS` order), total, next cursor."""
    _check_limit(limit)
    if sort not in _SORTS:
        raise InputError("invalid sort", problems=[Problem(f"one of {', '.join(_SORTS)}", field="sort",
                                                           value=str(sort))])  # fmt: skip
    params: dict[str, Any] = {**_filter_values(filters), "_limit": limit + 1}
    if cursor:
        params["_after_value"], params["_after_id"] = decode_cursor(cursor)
    total = None
    if count:
        total = session.scalar(select(func.count()).select_from(_prospect_stmt(filters, sort=sort).subquery()))
    stmt, names = _page_template(filters, sort=sort, after=bool(cursor), raw_components=raw_components)
    rows = session.execute(stmt, {name: params[name] for name in names}).all()
    if not rows and filters.site:
        site_by_code(session, filters.site)  # an unknown site is a 404, not an empty page
    nxt = None
    if len(rows) > limit:
        last = rows[limit - 1]
        nxt = encode_cursor(last[-1], last[-2])  # sort value, prospect id
    return rows[:limit], total, nxt


def list_prospects(
    session: Session,
    filters: ProspectFilter,
    *,
    sort: ProspectSort = "-score",
    limit: int = 50,
    cursor: str | None = None,
    count: bool = False,
) -> Page[ProspectPublic]:
    """Scored white-space prospects, filtered, sorted and cursor-paginated.

    ``total`` (every match, all pages) is counted only when ``count`` is true:
    it scans all matches, while a page only reads as far as its last row.
    """
    rows, total, nxt = _prospect_page(session, filters, sort=sort, limit=limit, cursor=cursor, count=count,
                                      raw_components=False)  # fmt: skip
    fields = _PAGE_FIELDS
    items = [ProspectPublic.model_validate(dict(zip(fields, row, strict=False))) for row in rows]
    return Page[ProspectPublic](items=items, next_cursor=nxt, total=total)


def prospect_page_json(
    session: Session,
    filters: ProspectFilter,
    *,
    sort: ProspectSort = "-score",
    limit: int = 50,
    cursor: str | None = None,
    count: bool = False,
) -> bytes:
    """:func:`list_prospects` serialised: the JSON of its ``Page[ProspectPublic]``.

    The API's hot path: rows go straight to JSON (orjson), score components
    as the JSON text they were stored as, with no model built and validated
    per item and none serialised again (a third of the cost of a page).
    Stored values are ours, written through the models; the tests check the
    output against ``Page[ProspectPublic]`` and against :func:`list_prospects`.
    """
    rows, total, nxt = _prospect_page(session, filters, sort=sort, limit=limit, cursor=cursor, count=count,
                                      raw_components=True)  # fmt: skip
    fields = _PAGE_FIELDS
    at = fields.index("components")
    items = []
    for row in rows:
        item = dict(zip(fields, row, strict=False))
        item["components"] = orjson.Fragment(row[at] or "[]")
        items.append(item)
    return orjson.dumps({"items": items, "next_cursor": nxt, "total": total})


def count_prospects(session: Session, filters: ProspectFilter) -> int:
    """How many prospects match ``filters`` (what an export of them will hold)."""
    stmt = _prospect_stmt(filters)
    return session.scalar(select(func.count()).select_from(stmt.subquery())) or 0


CSV_COLUMNS = (
    "site_code", "provider_id", "npi", "display_name", "taxonomy_code", "classification",
    "address_1", "city", "postal_code", "phone", "score", "segment", "drive_minutes",
    "distance_km", "proximity_estimated", "profile", "status", "assigned_to", "score_breakdown",
)  # fmt: skip


def neutralise_formula(value: object) -> object:
    """Stop spreadsheets from evaluating a text cell as a formula (OWASP CSV injection)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def prospects_csv(session: Session, filters: ProspectFilter, *, sort: ProspectSort = "-score") -> Iterator[str]:
    """All prospects matching ``filters`` as CSV text chunks (header first)."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(CSV_COLUMNS)
    sort_col, desc = _SORTS[sort]
    stmt = _prospect_stmt(filters).order_by(sort_col.desc() if desc else sort_col, Prospect.id)
    for n, row in enumerate(session.execute(stmt.execution_options(yield_per=1000))):
        pub = _prospect_public(*row)
        breakdown = "; ".join(f"{c.name} {c.points:.1f} ({c.reason})" for c in pub.components)
        row = [getattr(pub, c, None) for c in CSV_COLUMNS[:-1]] + [breakdown]
        writer.writerow([neutralise_formula(v) for v in row])
        if n % 500 == 499:
            yield buf.getvalue()
            buf.seek(0)
            buf.truncate()
    yield buf.getvalue()


# --------------------------------------------------------------------------- geometry


def catchment_frame(
    session: Session,
    *,
    site_code: str | None = None,
    method: str | None = None,
    parameter: float | None = None,
) -> gpd.GeoDataFrame:
    """Catchment cells as hexagons with their white-space counts (EPSG:4326)."""
    from geo.h3grid import cells_to_geodataframe

    stmt = (
        select(
            ClinicSite.site_code,
            Catchment.id.label("catchment_id"),
            Catchment.method,
            Catchment.parameter,
            Catchment.truncated,
            Catchment.estimated,
            CatchmentCell.h3,
            CatchmentCell.drive_minutes,
            CatchmentCell.distance_km,
        )
        .join(Catchment, Catchment.site_id == ClinicSite.id)
        .join(CatchmentCell, CatchmentCell.catchment_id == Catchment.id)
    )
    if site_code:
        site_by_code(session, site_code)
        stmt = stmt.where(ClinicSite.site_code == site_code)
    if method:
        stmt = stmt.where(Catchment.method == method)
    if parameter is not None:
        stmt = stmt.where(Catchment.parameter == parameter)
    cells = pd.DataFrame(session.execute(stmt).mappings().all())
    if cells.empty:
        return gpd.GeoDataFrame(
            columns=["site_code", "method", "parameter", "h3", "white_space", "truncated", "geometry"],
            geometry="geometry",
            crs="EPSG:4326",
        )
    ws = white_space_by_cell(session, [int(c) for c in cells["catchment_id"].unique()])
    cells = cells.merge(ws, on=["catchment_id", "h3"], how="left")
    cells["white_space"] = cells["white_space"].fillna(0).astype(int)
    return cells_to_geodataframe(
        cells["h3"].to_numpy(), **{c: cells[c].to_numpy() for c in cells.columns if c != "h3"}
    )


def white_space_by_cell(session: Session, catchment_ids: list[int]) -> pd.DataFrame:
    """Prospects per catchment cell: providers in the cell that are prospects of its site."""
    frames = []
    resolutions = session.execute(
        select(Catchment.resolution).where(Catchment.id.in_(catchment_ids)).distinct()
    ).scalars()
    for res in resolutions:  # a provider is matched at the catchment's own resolution
        stmt = (
            select(
                CatchmentCell.catchment_id,
                CatchmentCell.h3,
                func.count(Prospect.id).label("white_space"),
            )
            .join(Catchment, Catchment.id == CatchmentCell.catchment_id)
            .join(Provider, h3_column(Provider, res) == CatchmentCell.h3)
            .join(
                Prospect,
                (Prospect.provider_id == Provider.id) & (Prospect.site_id == Catchment.site_id),
            )
            .where(CatchmentCell.catchment_id.in_(catchment_ids), Catchment.resolution == res)
            .group_by(CatchmentCell.catchment_id, CatchmentCell.h3)
        )
        frames.append(pd.DataFrame(session.execute(stmt).all(), columns=["catchment_id", "h3", "white_space"]))
    if not frames:
        return pd.DataFrame(columns=["catchment_id", "h3", "white_space"])
    return pd.concat(frames, ignore_index=True)


def catchments_geojson(session: Session, **filters: Any) -> dict:
    """A GeoJSON FeatureCollection (RFC 7946) of catchment hexagons, JSON-safe
    (plain Python numbers, missing values as null)."""
    frame = catchment_frame(session, **filters)
    frame = frame.assign(h3=frame["h3"].map(lambda c: format(int(c), "x")))
    frame = frame.drop(columns=["catchment_id"], errors="ignore")
    return frame.to_geo_dict(na="null", drop_id=False)


def sites_frame(session: Session) -> gpd.GeoDataFrame:
    rows = session.scalars(select(ClinicSite).order_by(ClinicSite.site_code)).all()
    return gpd.GeoDataFrame(
        {
            "site_id": [r.id for r in rows],
            "site_code": [r.site_code for r in rows],
            "name": [r.name for r in rows],
            "service_line": [r.service_line for r in rows],
        },
        geometry=[shapely.Point(r.lon, r.lat) for r in rows],
        crs="EPSG:4326",
    )


def prospects_frame(session: Session, filters: ProspectFilter, *, limit: int = 20_000) -> gpd.GeoDataFrame:
    """Prospects as points for the map, best score first (one row per provider and site)."""
    stmt = _prospect_stmt(filters).order_by(Prospect.score.desc(), Prospect.id).limit(limit)
    rows = [r[:3] for r in session.execute(stmt).all()]
    return gpd.GeoDataFrame(
        {
            "provider_id": [prov.id for _, prov, _ in rows],
            "npi": [prov.npi for _, prov, _ in rows],
            "name": [prov.display_name for _, prov, _ in rows],
            "specialty": [p.classification or p.taxonomy_code or "" for p, _, _ in rows],
            "score": [p.score for p, _, _ in rows],
            "segment": [p.segment for p, _, _ in rows],
            "drive_minutes": [p.drive_minutes for p, _, _ in rows],
            "site_code": [code for _, _, code in rows],
            "components": [p.components for p, _, _ in rows],
        },
        geometry=[shapely.Point(prov.lon, prov.lat) for _, prov, _ in rows],
        crs="EPSG:4326",
    )
