"""Where the tests' fixture files live: ``tests/fixtures`` (shared) and ``tests/fixtures/<package>``."""

from pathlib import Path

#: Shared fixtures (NPPES samples, NUCC, OSM extracts, ...); see ATTRIBUTION.md there.
FIXTURES = Path(__file__).resolve().parent / "fixtures"
