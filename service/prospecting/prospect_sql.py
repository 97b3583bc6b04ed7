"""SQL of the prospect list, its exports and segments: filters, sorts, page statements.

Statements only (no session, no I/O): :mod:`service.queries` runs them. Range
filters are written per sort so the sort's index is walked; a page's
statement is built once per filter *shape* with every filter value a bound
parameter and the page size written into the SQL (:func:`page_template`),
since building it costs a third of serving a page.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from sqlalchemy import (
    Float,
    Integer,
    Select,
    Text,
    bindparam,
    cast,
    exists,
    func,
    literal_column,
    or_,
    select,
)

from core.text import fold
from data.models import (
    DRIVE_SORT_ASC,
    DRIVE_SORT_DESC,
    ClinicSite,
    Organization,
    Prospect,
    Provider,
    ReferrerStat,
    TerritoryCell,
)
from data.models.prospecting import ProspectExclusion, ProspectStatus
from service.pagination import keyset_after
from service.schemas import ProspectFilter, ProspectSort
from service.security.privacy import objected

__all__ = [
    "PAGE_FIELDS",
    "SORTS",
    "filter_values",
    "not_excluded",
    "page_columns",
    "page_template",
    "prospect_statement",
    "prospect_stmt",
]

#: A NUCC taxonomy code (``207X00000X``); any other specialty text is a classification name.
_TAXONOMY_CODE = re.compile(r"[0-9A-Z]{9}X")

SORTS: dict[str, tuple[Any, bool]] = {
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
_SORTED_ON = {
    "-score": "score",
    "score": "score",
    "drive_minutes": "drive_minutes",
    "-drive_minutes": "drive_minutes",
    "distance_km": "distance_km",
}


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


def _drive_range(
    stmt: Select, filters: ProspectFilter, sort: str | None, bind: Callable[[str, Any], Any]
) -> Select:
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


def prospect_stmt(
    filters: ProspectFilter, *, sort: str | None = None, bind: Callable[[str, Any], Any] = _literal
) -> Select:
    """Prospects with their provider, site code, status and liaison.

    Deactivated providers and excluded ones never appear; "not a fit"
    dismissals only when ``status='not a fit'`` is asked for. ``sort`` (a
    list sort) writes the range filters so that the sort's index is walked.
    ``bind(name, value)`` gives each filter value's SQL operand: the value
    itself, or a bound parameter of that name (:func:`page_template`); which
    conditions are written depends only on :func:`_filter_shape`.
    """
    v = filter_values(filters)
    status = func.coalesce(ProspectStatus.status, "new")
    stmt = (
        select(
            Prospect,
            Provider,
            ClinicSite.site_code,
            status.label("status"),
            ProspectStatus.assigned_to,
        )
        .join(Provider, Provider.id == Prospect.provider_id)
        .join(ClinicSite, ClinicSite.id == Prospect.site_id)
        .outerjoin(ProspectStatus, ProspectStatus.provider_id == Prospect.provider_id)
        .where(
            Provider.is_active.is_(True), not_excluded(), Provider.id.not_in(objected())
        )  # GDPR objection: never listed
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
        past = select(ReferrerStat.provider_id).where(
            ReferrerStat.provider_id == Prospect.provider_id
        )
        if filters.tier != "lapsed":
            past = past.where(ReferrerStat.tier == bind("tier", v["tier"]))
        stmt = stmt.where(past.exists())
    if filters.site:
        # the site's id as a value (a one-row subquery, run first): the planners then walk the
        # (site_id, sort value, id) index in order; through the join PostgreSQL sorted every row
        site_id = select(ClinicSite.id).where(ClinicSite.site_code == bind("site", v["site"]))
        stmt = stmt.where(Prospect.site_id == site_id.scalar_subquery())
    if filters.specialty:
        # a NUCC code or a classification name, never both: one equality the list indexes can test
        column = Prospect.taxonomy_code if _is_code(filters.specialty) else Prospect.classification
        stmt = stmt.where(column == bind("specialty", v["specialty"]))
    if filters.min_score is not None:
        stmt = stmt.where(_bounded(Prospect.score, sort) >= bind("min_score", v["min_score"]))
    if filters.segment:
        stmt = stmt.where(Prospect.segment == bind("segment", v["segment"]))
    if filters.in_catchment is not None:
        stmt = stmt.where(Prospect.in_catchment == bind("in_catchment", v["in_catchment"]))
    if filters.group_codes is not None:
        stmt = stmt.where(Prospect.taxonomy_code.in_(bind("group_codes", v["group_codes"])))
    return _app_filters(stmt, filters, v, bind)


def _app_filters(
    stmt: Select, filters: ProspectFilter, v: dict[str, Any], bind: Callable[[str, Any], Any]
) -> Select:
    """Service line, referral history, territory and free text (the app's filter panel)."""
    if filters.service_line:
        stmt = stmt.where(ClinicSite.service_line == bind("service_line", v["service_line"]))
    if filters.history:
        referred = (
            select(ReferrerStat.provider_id)
            .where(
                ReferrerStat.provider_id == Prospect.provider_id,
                ReferrerStat.referrals_total > 0,
            )
            .exists()
        )
        # prospects exclude referrers still referring: one who referred before has lapsed
        stmt = stmt.where(referred if filters.history == "lapsed" else ~referred)
    if filters.territory_id is not None:
        cells = select(TerritoryCell.h3).where(
            TerritoryCell.territory_id == bind("territory_id", v["territory_id"])
        )
        # a plan's cells are of one resolution; ids of different resolutions never collide
        stmt = stmt.where(
            or_(Provider.h3_r7.in_(cells), Provider.h3_r8.in_(cells), Provider.h3_r9.in_(cells))
        )
    if filters.q:
        pattern = bind("q", v["q"])
        practice = select(Organization.id).where(
            func.upper(Organization.name).like(pattern, escape="\\")
        )
        stmt = stmt.where(
            or_(
                func.upper(Provider.display_name).like(pattern, escape="\\"),
                func.upper(Provider.organization_name).like(pattern, escape="\\"),
                Provider.organization_id.in_(practice),
            )
        )
    return stmt


def _like_pattern(text: str) -> str:
    """``%TEXT%`` for a case-blind LIKE: accents dropped, upper case, wildcards escaped."""
    plain = fold(text).upper()
    return "%" + re.sub(r"([\\%_])", r"\\\1", plain) + "%"


def filter_values(filters: ProspectFilter) -> dict[str, Any]:
    """The SQL operand of each filter, by parameter name (what :func:`prospect_stmt` binds)."""
    return {
        "status": filters.status,
        "assigned_to": filters.assigned_to,
        "min_drive_minutes": filters.min_drive_minutes,
        "max_drive_minutes": filters.max_drive_minutes,
        "postal_codes": list(filters.postal_codes or ()),
        "city": filters.city.upper() if filters.city else None,
        "organization_id": filters.organization_id,
        "tier": filters.tier,
        "site": filters.site,
        "specialty": filters.specialty,
        "min_score": filters.min_score,
        "segment": filters.segment,
        "in_catchment": filters.in_catchment,
        "group_codes": sorted(filters.group_codes) if filters.group_codes is not None else None,
        "service_line": filters.service_line,
        "territory_id": filters.territory_id,
        "q": _like_pattern(filters.q) if filters.q else None,
    }


def _is_code(specialty: str) -> bool:
    return _TAXONOMY_CODE.fullmatch(specialty) is not None


def _filter_shape(filters: ProspectFilter) -> tuple:
    """Every decision :func:`prospect_stmt` takes on the filter values (not the values)."""
    return (
        bool(filters.status),
        bool(filters.assigned_to),
        filters.min_drive_minutes is not None,
        filters.max_drive_minutes is not None,
        bool(filters.postal_codes),
        bool(filters.city),
        filters.organization_id is not None,
        filters.tier if filters.tier == "lapsed" else bool(filters.tier),
        bool(filters.site),
        _is_code(filters.specialty) if filters.specialty else None,
        filters.min_score is not None,
        bool(filters.segment),
        filters.in_catchment is not None,
        filters.group_codes is not None,
        bool(filters.service_line),
        filters.history,
        filters.territory_id is not None,
        bool(filters.q),
    )


def page_columns() -> tuple:
    """The columns of one prospect-list item, labelled as :class:`ProspectPublic` fields."""
    return (
        Provider.id.label("provider_id"),
        ClinicSite.site_code,
        Provider.npi,
        Provider.display_name,
        Prospect.taxonomy_code,
        Prospect.classification,
        Provider.address_1,
        Provider.city,
        Provider.postal_code,
        Provider.phone,
        Prospect.score,
        Prospect.segment,
        Prospect.drive_minutes,
        Prospect.distance_km,
        Prospect.proximity_estimated,
        Prospect.in_catchment,
        Prospect.profile,
        Prospect.components,
        func.coalesce(ProspectStatus.status, "new").label("status"),
        ProspectStatus.assigned_to,
        Prospect.id.label("prospect_id"),
    )


#: Labels of the item columns of :func:`page_columns` (then ``prospect_id``, then the sort value).
PAGE_FIELDS = tuple(c.key for c in page_columns())[:-1]


def prospect_statement(filters: ProspectFilter) -> Select:
    """``SELECT Prospect, Provider, site_code`` of the prospects matching ``filters`` (unordered).

    Active providers only; excluded people and those who objected to processing never match.
    """
    return prospect_stmt(filters).with_only_columns(
        Prospect, Provider, ClinicSite.site_code, maintain_column_froms=True
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


def page_template(
    filters: ProspectFilter, *, sort: ProspectSort, after: bool, raw_components: bool
) -> tuple[Select, frozenset[str]]:
    """The page statement for filters of this shape, filter values bound, page size inlined; its names."""
    key = (_filter_shape(filters), sort, after, raw_components)

    def build() -> tuple[Select, frozenset[str]]:
        names: set[str] = set()

        def bind(name: str, value: Any) -> Any:
            names.add(name)
            return bindparam(name, value, expanding=isinstance(value, list))

        stmt = prospect_stmt(filters, sort=sort, bind=bind)
        sort_col, desc = SORTS[sort]
        # plain columns, not ORM entities: a page is read, never changed
        columns = page_columns()
        if raw_components:  # the stored JSON text, spliced into the answer unparsed
            columns = tuple(
                cast(Prospect.components, Text).label("components") if c.key == "components" else c
                for c in columns
            )
        stmt = stmt.with_only_columns(*columns, maintain_column_froms=True)
        marks = (
            bindparam("_after_value", type_=sort_col.type),
            bindparam("_after_id", type_=Integer),
        )
        stmt = keyset_after(
            stmt,
            sort_col=sort_col,
            id_col=Prospect.id,
            descending=desc,
            after=marks if after else None,
        )
        # the page size written into the SQL text (an int, rendered at execution): PostgreSQL can then
        # reuse one generic plan of a prepared page statement; a LIMIT parameter makes it plan every time
        stmt = stmt.add_columns(sort_col.label("_sortval")).limit(
            bindparam("_limit", type_=Integer, literal_execute=True)
        )
        return stmt, frozenset(
            names | {"_limit"} | ({"_after_value", "_after_id"} if after else set())
        )

    return _PAGE_TEMPLATES.get(key, build)
