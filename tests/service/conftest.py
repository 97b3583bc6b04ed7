from __future__ import annotations

from pathlib import Path

import pytest

from core.settings import Settings
from service.context import open_context

DATA = Path(__file__).resolve().parent.parent / "data"


@pytest.fixture
def ctx(backend_url, tmp_path):  # noqa: ANN001, ANN201
    settings = Settings(
        database_url=backend_url,
        osm_file=DATA / "osm" / "aguascalientes.osm.bz2",
        cache_dir=tmp_path / "cache",
        nucc_file=DATA / "nucc_taxonomy_220.csv",
    )
    context = open_context(settings)
    yield context
    context.close()
