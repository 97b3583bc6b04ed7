"""The browser tests' server: ``prm serve`` over the API tests' seed on SQLite."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from core.settings import Settings
from service.context import AppContext, open_context
from tests.api.conftest import ADMIN_KEY, OSM_FILE, VIEWER_KEY, SeededDB, seed, serve_process
from tests.conftest import database_url


@contextmanager
def seeded_server(
    tmp: Path, *, prepare: Callable[[AppContext, SeededDB], None] | None = None
) -> Iterator[tuple[str, SeededDB]]:
    """Serve the seed (plus what ``prepare`` adds before the server starts); yields its URL."""
    settings = Settings(
        database_url=database_url("sqlite", tmp),
        admin_api_key=ADMIN_KEY,
        viewer_api_key=VIEWER_KEY,
        osm_file=OSM_FILE,
        cache_dir=tmp / "cache",
    )
    ctx = open_context(settings)
    try:
        db = seed(ctx, "sqlite")
        if prepare is not None:
            prepare(ctx, db)
        with serve_process(db, tmp) as (_, port, _log):
            yield f"http://127.0.0.1:{port}", db
    finally:
        ctx.close()
