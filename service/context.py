"""The application context: settings, database engine and lazily loaded resources."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from core.settings import Settings
from data.db import make_engine, session_factory, upgrade

if TYPE_CHECKING:
    import geopandas as gpd
    import networkx as nx

    from geo.fallback import Fallback
    from geo.geocode import StreetIndex
    from geo.road_router import RoadRouter


@dataclass(eq=False)
class AppContext:
    """Everything a service call needs, built once per process from :class:`Settings`.

    The road graph, street index and map road lines are built on first use and
    kept for the life of the context (a parsed OSM network takes seconds).
    """

    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    #: Live progress of jobs running in this process: job id -> (stage, done, total, seconds left).
    job_progress: dict[int, tuple[str, int, int | None, float | None]] = field(
        default_factory=dict, repr=False
    )
    _lock: threading.RLock = field(default_factory=threading.RLock, repr=False)
    _resources: dict[str, Any] = field(default_factory=dict, repr=False)
    _locks: dict[str, threading.Lock] = field(default_factory=dict, repr=False)

    def _once(self, name: str, build):  # noqa: ANN001, ANN202
        """Build a resource on first use, once even when threads race for it.

        One lock per resource: a quick one (the health engine) never waits
        behind a slow one (parsing the road network).
        """
        if name not in self._resources:
            with self._lock:
                lock = self._locks.setdefault(name, threading.Lock())
            with lock:
                if name not in self._resources:
                    self._resources[name] = build()
        return self._resources[name]

    @property
    def graph(self) -> nx.MultiDiGraph:
        from geo.roads import load_drive_graph

        s = self.settings
        return self._once(
            "graph",
            lambda: load_drive_graph(s.osm_file, cache_dir=s.cache_dir, speeds=s.road_speeds_kph),
        )

    @property
    def router(self) -> RoadRouter:
        """The road graph as a :class:`geo.road_router.RoadRouter` (built once)."""
        from geo.road_router import RoadRouter

        return self._once("router", lambda: RoadRouter.from_graph(self.graph))

    @property
    def router_or_none(self) -> RoadRouter | None:
        """:attr:`router`, or None when no road network can be loaded (drive times are estimated)."""
        from core.errors import RoadNetworkError

        try:
            return self.router
        except RoadNetworkError:
            return None

    @property
    def fallback(self) -> Fallback:
        """Straight-line drive-time estimate (and access-leg speed) configured in settings."""
        from geo.fallback import Fallback

        s = self.settings
        return Fallback(circuity=s.fallback_circuity, speed_kph=s.fallback_speed_kph)

    @property
    def street_index(self) -> StreetIndex:
        from geo.geocode import StreetIndex

        return self._once("street_index", lambda: StreetIndex.from_graph(self.graph))

    @property
    def specialty_groups(self):  # noqa: ANN201 - prospects.groups.SpecialtyGroups
        """The clinic's specialty groups file in force (loaded once)."""
        from prospects.groups import load_groups

        return self._once(
            "specialty_groups", lambda: load_groups(self.settings.specialty_groups_file)
        )

    @property
    def roads(self) -> gpd.GeoDataFrame:
        """Offline base-layer road lines for the map (:data:`geo.roads.BASE_LAYER_CLASSES`)."""
        from geo.roads import BASE_LAYER_CLASSES, road_lines

        return self._once(
            "roads",
            lambda: road_lines(self.graph, highway_classes=BASE_LAYER_CLASSES, simplify_m=5),
        )

    @property
    def health_engine(self) -> Engine:
        """An engine of one connection kept for health checks alone.

        ``/health`` must answer while every pooled connection is busy serving
        a load: it never queues behind them, and waits at most a second for
        its own.
        """
        s = self.settings
        return self._once(
            "health_engine",
            lambda: make_engine(
                s.database_url,
                busy_timeout_ms=1000,
                pool_size=2,
                max_overflow=0,
                pool_timeout_s=1.0,
            ),
        )

    def close(self) -> None:
        self.engine.dispose()
        health = self._resources.get("health_engine")
        if health is not None:
            health.dispose()


def open_data_context(settings: Settings) -> AppContext:
    """:func:`open_context` for a command that reads stored data: refuses an empty database.

    A default or mistyped ``PRM_DATABASE_URL`` would otherwise answer every
    read as if the data were merely empty (and create an empty SQLite file on
    the way). A database with no schema is neither created nor migrated here.

    Raises
    ------
    core.errors.EmptyDatabaseError
        Naming the URL (password hidden): no such SQLite file, no schema, or a
        schema holding no load batch, no provider and no site.
    """
    from sqlalchemy import exists, select
    from sqlalchemy.engine import make_url

    from core.errors import EmptyDatabaseError
    from data.db import current_revision
    from data.models import ClinicSite, LoadBatch, Provider

    url = make_url(settings.database_url)
    shown = url.render_as_string(hide_password=True)
    hint = (
        "load files with `prm ingest ...` (or build the demo: `./dev demo`), "
        "or set PRM_DATABASE_URL"
    )
    in_file = url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:")
    if in_file and not Path(url.database).is_file():
        raise EmptyDatabaseError(f"{shown}: no such database file; {hint}")
    ctx = open_context(settings, migrate=False)
    try:
        if current_revision(ctx.engine) is None:
            raise EmptyDatabaseError(f"{shown} holds no prm schema (nothing loaded); {hint}")
        upgrade(ctx.engine)
        with ctx.sessions() as session:
            loaded = session.scalar(select(exists().where(LoadBatch.id.is_not(None))))
            placed = session.scalar(select(exists().where(Provider.id.is_not(None))))
            sited = session.scalar(select(exists().where(ClinicSite.id.is_not(None))))
        if not (loaded or placed or sited):
            raise EmptyDatabaseError(
                f"{shown} holds no data (no load, no provider, no site); {hint}"
            )
    except BaseException:
        ctx.close()
        raise
    return ctx


def open_context(settings: Settings, *, migrate: bool = True) -> AppContext:
    """Create the engine for ``settings.database_url`` and bring its schema up to date.

    Marking the work of stopped processes interrupted is a start-up step of
    the CLI and the API (:func:`service.leases.recover_interrupted`), not of
    every context.
    """
    # a connection for every request a worker runs at once, plus the audit writer, the data
    # stamp and a background job; a checkout that still waits gives up as the queue does (503)
    engine = make_engine(
        settings.database_url,
        busy_timeout_ms=settings.sqlite_busy_timeout_ms,
        pool_size=settings.max_active_requests + 3,
        max_overflow=10,
        pool_timeout_s=settings.queue_timeout_s,
    )
    if migrate:
        upgrade(engine)
    return AppContext(settings=settings, engine=engine, sessions=session_factory(engine))
