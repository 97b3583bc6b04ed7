"""The application context: settings, database engine and lazily loaded resources."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from core.settings import Settings
from data.db import make_engine, session_factory, upgrade

if TYPE_CHECKING:
    import networkx as nx

    from geo.geocode import StreetIndex


@dataclass(eq=False)
class AppContext:
    """Everything a service call needs, built once per process from :class:`Settings`.

    The road graph and street index are loaded on first use and kept for the
    life of the context (a parsed OSM network takes seconds to load).
    """

    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    #: Live progress of jobs running in this process: job id -> (stage, done, total).
    job_progress: dict[int, tuple[str, int, int | None]] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @cached_property
    def graph(self) -> nx.MultiDiGraph:
        from geo.roads import load_drive_graph

        with self._lock:
            return load_drive_graph(self.settings.osm_file, cache_dir=self.settings.cache_dir)

    @cached_property
    def street_index(self) -> StreetIndex:
        from geo.geocode import StreetIndex

        graph = self.graph
        with self._lock:
            return StreetIndex.from_graph(graph)

    def close(self) -> None:
        self.engine.dispose()


def open_context(settings: Settings, *, migrate: bool = True) -> AppContext:
    """Create the engine for ``settings.database_url`` and bring its schema up to date."""
    engine = make_engine(settings.database_url, busy_timeout_ms=settings.sqlite_busy_timeout_ms)
    if migrate:
        upgrade(engine)
    return AppContext(settings=settings, engine=engine, sessions=session_factory(engine))
