"""Schemathesis against the OpenAPI schema, in process (no network): no 5xx, errors are problems.

Bounded: a few generated examples per operation (``PRM_SCHEMATHESIS_EXAMPLES``,
default 5) and no shrinking. Operations that start background work (uploads,
pipeline jobs) or build expensive plans are left out here; a fuller run is
``PRM_SCHEMATHESIS_EXAMPLES=200 ./dev test tests/api/test_schemathesis.py`` (docs/security.md).
"""

from __future__ import annotations

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings

from api.main import create_app
from api.problems import PROBLEM_MEDIA_TYPE
from api.ratelimit import TokenBuckets
from service.placement.drivetime import router_or_none
from tests.api.conftest import ADMIN, SeededDB

pytestmark = pytest.mark.slow  # starts servers or processes, or fuzzes: see README

EXAMPLES = int(os.environ.get("PRM_SCHEMATHESIS_EXAMPLES", "5"))
#: Background jobs, plan builds and webhook dispatch (would call fuzzed URLs): tested on their own.
SLOW = r"^/v1/(uploads/|jobs/pipeline|territory-plans$|expansion/scenarios$|webhooks/dispatch$)"


@pytest.fixture(scope="module")
def api_schema(api_db: SeededDB):
    app = create_app(context=api_db.ctx)
    app.state.rate_limiter = TokenBuckets(rate=1e9, burst=10**9)  # fuzzing, not throttling
    # the road network loads once per process (seconds on a busy machine): not inside a fuzzed
    # request, whose client gives up after 10 s
    router_or_none(api_db.ctx)
    return schemathesis.openapi.from_asgi("/openapi.json", app).exclude(
        path_regex=SLOW, method="POST"
    )


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
def test_no_server_error_and_problem_bodies(case) -> None:
    # in process, but schemathesis still gives a call 10 s by default: a busy machine is not a bug
    response = case.call(headers=ADMIN, timeout=600)
    assert response.status_code < 500, (case.method, case.formatted_path, response.text[:300])
    if response.status_code >= 400:
        ctype = response.headers.get("content-type") or [""]
        ctype = ctype[0] if isinstance(ctype, list) else ctype
        assert ctype.startswith(PROBLEM_MEDIA_TYPE), (case.formatted_path, response.text[:200])
        assert response.json()["status"] == response.status_code
