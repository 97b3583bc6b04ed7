"""Schemathesis against the OpenAPI schema, in process (no network), with all of its checks.

Every operation's answers must be what the document says: documented status codes and media
types, bodies and headers matching their schemas (timestamps RFC 3339 with their offset),
schema-valid requests accepted and schema-violating ones refused, authentication enforced,
``Allow`` on 405, and never a server error. Both backends (``api_db``).

Bounded: a few generated examples per operation (``PRM_SCHEMATHESIS_EXAMPLES``, default 5) on
top of the schema's explicit examples and schemathesis's coverage cases, with no shrinking.
Operations that start background work, build expensive plans or would call fuzzed URLs are
left out (tests/api/test_contract.py checks their answers against the document); a fuller
run is ``PRM_SCHEMATHESIS_EXAMPLES=200 ./dev test tests/api/test_schemathesis.py``
(docs/security.md).
"""

from __future__ import annotations

import os
import re
from urllib.parse import parse_qs, urlsplit

import jsonschema_rs
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from schemathesis.core.parameters import ParameterLocation
from schemathesis.specs.openapi.checks import (
    missing_required_header,
    negative_data_rejection,
    positive_data_acceptance,
)

from api.deps import takes_several
from api.main import create_app
from api.ratelimit import TokenBuckets
from service.placement.drivetime import router_or_none
from tests.api.conftest import ADMIN, ADMIN_KEY, SeededDB

pytestmark = pytest.mark.slow  # starts servers or processes, or fuzzes: see README

EXAMPLES = int(os.environ.get("PRM_SCHEMATHESIS_EXAMPLES", "5"))
#: The admin key in both headers the document offers (X-API-Key, Bearer), put in the case itself:
#: the checks then judge the request the server received. A generated ``Authorization: true``
#: beside the test's X-API-Key is ignored by the server (one security alternative suffices) but
#: would count as invalid data. ignored_auth still checks that requests without them are refused.
CREDENTIALS = ADMIN | {"Authorization": f"Bearer {ADMIN_KEY}"}
#: Background jobs, plan builds and webhook dispatch (would call the fuzzed URLs of fuzzed
#: subscriptions): tested on their own.
SLOW = r"^/v1/(uploads/|jobs/pipeline|territory-plans$|expansion/scenarios$|webhooks/dispatch$)"

#: Refusals of schema-valid input (422) by rules no JSON Schema can state, by the problem's
#: ``field``: positive_data_acceptance (schema-valid input must be accepted) is wrong for those
#: answers, and is skipped for them only.
BEYOND_THE_SCHEMA = {
    # an opaque token: valid only as the server issued it, whatever its characters
    "cursor": "a cursor the server never issued",
    # the offline geocoder's reference data decides which addresses exist
    "address_1": "an address the geocoder cannot locate",
    "start.address": "a visit day's start address the geocoder cannot locate",
    "end.address": "a visit day's end address the geocoder cannot locate",
    # two query parameters that come together (JSON Schema states parameters one by one)
    "west": "a map view's four sides given together (or none)",
    # two fields compared with each other (JSON Schema compares a value with constants only)
    "right_record_id": "the same record twice",
    "right": "the same record twice",
    "since": "a period that ends before it starts",
    "day_end": "a visit day that ends before it starts",
    "window_end": "a visit window that ends before it starts",
    # the calendar: a referral cannot be booked after today (JSON Schema has no "now")
    "referral_date": "a referral dated after today",
    # a checksum: an NPI's last digit is its Luhn check digit
    "body.referrer_npi": "an NPI whose check digit is wrong",
    # reference data: the numbering plan of the number's country (phonenumbers' metadata)
    "body.phone": "a number its country's numbering plan does not have",
    # stored state: a record merged with no other has nothing to unmerge
    "record_id": "a record alone in its golden record",
    # stored state: a day's route needs the start stored first
    "start": "a visit day whose start is not set yet",
    # reference data: the NUCC code set loaded, and the specialty groups resolved against it
    "taxonomy_code": "a code that is not in the NUCC code set",
    "group": "a specialty group with no code in the loaded NUCC set",
    # stored state: the clinic's sites
    "start.site_code": "a visit day starting at a site the clinic does not have",
    "end.site_code": "a visit day ending at a site the clinic does not have",
    # stored state: the clinic's history of a service line, which a learned score is fitted
    # and backtested on (/v1/scoring)
    "referrals": "a service line with no referral linked to a provider",
    "as_of": "a day outside the line's history, or a history shorter than the horizon",
    "history": "a history with no origin that could be backtested",
    "started_next_month": "a history with one class or too few starts to fit",
}


@pytest.fixture(scope="module")
def api_schema(api_db: SeededDB):
    app = create_app(context=api_db.ctx)
    app.state.rate_limiter = TokenBuckets(rate=1e9, burst=10**9)  # fuzzing, not throttling
    # the road network loads once per process (seconds on a busy machine): not inside a fuzzed
    # request, whose client gives up after 10 s
    router_or_none(api_db.ctx)
    return schemathesis.openapi.from_asgi("/openapi.json", app)


# the filter goes on the lazy schema: schemathesis replaces a fixture schema's own filters
schema = schemathesis.pytest.from_fixture("api_schema").exclude(path_regex=SLOW, method="POST")


_JSON_INTEGER = re.compile(r"-?[0-9]+")
_JSON_NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?")


def _readings(text: str) -> list[object]:
    """What a query text may stand for: itself, or the JSON integer, number or boolean it spells."""
    out: list[object] = [text]
    if _JSON_INTEGER.fullmatch(text):
        out.append(int(text))
    if _JSON_NUMBER.fullmatch(text):
        out.append(float(text))
    if text in ("true", "false"):
        out.append(text == "true")
    return out


def _sent_query_is_valid(case, response) -> bool:
    """Whether a case invalid only in its query reached the server valid.

    Schemathesis judges the generated values, not the text sent: ``[]`` or ``{}`` is not sent
    at all, ``[false]`` for a string is ``?specialty=false``, a string for an array of strings
    is a one-value array, ``0`` for a string is ``"0"``. The query as sent is read here as the
    document types each parameter, and validated against the document.
    """
    meta = case.meta
    others = (ParameterLocation.PATH, ParameterLocation.HEADER, ParameterLocation.COOKIE)
    if meta is None or any(meta.is_negative_at(loc) for loc in (*others, ParameterLocation.BODY)):
        return False
    parameters = case.operation.get_parameter_set(ParameterLocation.QUERY)
    root = parameters.schema
    properties = root.get("properties", {})
    sent = parse_qs(urlsplit(response.request.url).query, keep_blank_values=True)
    if not sent.keys() <= properties.keys():
        return False  # undeclared parameters: the check has its own rule for those

    def fits(name: str, value: object) -> bool:
        alone = {**root, "properties": {name: properties[name]}, "required": []}
        return jsonschema_rs.validator_for(alone).is_valid({name: value})

    def read(name: str, text: str, several: bool) -> object:
        wrap = (lambda v: [v]) if several else (lambda v: v)
        return next((v for v in _readings(text) if fits(name, wrap(v))), text)

    query: dict[str, object] = {}
    for name, texts in sent.items():
        several = takes_several(properties[name])
        if not several and len(texts) > 1:
            return False
        values = [read(name, t, several) for t in texts]
        query[name] = values if several else values[0]
    return parameters.get_strict_validator().is_valid(query)


def _not_applicable(response, case) -> list:
    """The checks that are wrong for this answer (each with its reason)."""
    if response.status_code < 400 and _sent_query_is_valid(case, response):
        return [negative_data_rejection]
    if response.status_code == 412:  # an If-Match naming another version: stored state, no schema
        return [positive_data_acceptance]
    if response.status_code == 428:  # RFC 6585's answer to a missing If-Match; the check knows 4xx
        return [missing_required_header]  # for a missing header as 400/422 only
    if response.status_code != 422:
        return []
    fields = {e.get("field") for e in response.json().get("errors", [])}
    return [positive_data_acceptance] if fields and fields <= BEYOND_THE_SCHEMA.keys() else []


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
def test_api_keeps_its_contract(case) -> None:
    # in process, but schemathesis still gives a call 10 s by default: a busy machine is not a bug
    case.headers = {**(case.headers or {}), **CREDENTIALS}
    response = case.call(timeout=600)
    case.validate_response(
        response,
        headers=CREDENTIALS,
        excluded_checks=_not_applicable(response, case),
        transport_kwargs={"headers": CREDENTIALS, "timeout": 600},
    )
    if response.status_code >= 400:  # beyond the schema: the problem names the status it came with
        assert response.json()["status"] == response.status_code
