"""Credentials in logged URLs are masked, however their names are spelled or encoded."""

from __future__ import annotations

import logging

import pytest

from core.redact import MASK, RedactSecretsFilter, redact_params, redact_query


@pytest.mark.parametrize(
    "line",
    [
        "/v1/sites?api_key=SECRET",
        "/v1/sites?x=1&API_KEY=SECRET",
        "/v1/sites?api%5Fkey=SECRET",
        "/v1/sites?%61pi_key=SECRET&x=1",
        "/signin?key=SECRET",
        "/x?token=SECRET",
        "api_key=SECRET",
        "/x?session=SECRET#frag",
    ],
)
def test_sensitive_values_are_masked(line: str) -> None:
    out = redact_query(line)
    assert "SECRET" not in out and MASK in out


def test_other_parameters_are_kept() -> None:
    assert redact_query("/v1/prospects?site=AGS-N&limit=50") == "/v1/prospects?site=AGS-N&limit=50"
    assert redact_params({"site": "AGS-N", "Api_Key": "SECRET"}) == {
        "site": "AGS-N",
        "Api_Key": MASK,
    }


def test_the_access_log_filter_masks_the_request_line() -> None:
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5", "GET", "/map?api%5Fkey=SECRET", "1.1", 401),
        None,
    )
    assert RedactSecretsFilter().filter(record)
    assert "SECRET" not in record.getMessage()
