"""Secrets kept out of logs: query parameters that carry credentials, masked wherever a URL is logged.

Keys travel in headers and sessions in cookies, neither of which is ever
logged, and ``?api_key=`` is refused; but a client may still put a secret in
a URL, and the access log writes request lines as they came. Every such line
goes through :class:`RedactSecretsFilter` (installed on ``uvicorn.access`` by
:func:`log_config`), and the audit log's recorded parameters through
:func:`redact_params`.
"""

from __future__ import annotations

import copy
import logging
import re
from typing import Any
from urllib.parse import unquote_plus

__all__ = [
    "MASK",
    "SENSITIVE_PARAMS",
    "RedactSecretsFilter",
    "is_sensitive",
    "log_config",
    "redact_params",
    "redact_query",
]

SENSITIVE_PARAMS = frozenset(
    {
        "api_key",
        "apikey",
        "key",
        "token",
        "session",
        "session_id",
        "prm_session",
        "csrf_token",
        "password",
        "secret",
    }
)
"""Query parameter names (any case) whose values are never logged."""

MASK = "[redacted]"

_PAIR = re.compile(r"(?P<name>[^&=?#]+)=(?P<value>[^&#]*)")


def redact_query(text: str) -> str:
    """``text`` (a path with its query, or a bare query) with sensitive values masked."""

    def mask(match: re.Match[str]) -> str:
        name = match.group("name")
        # judged as the application reads it: ``api%5Fkey`` is ``api_key``
        return f"{name}={MASK}" if is_sensitive(unquote_plus(name)) else match.group(0)

    if "?" in text:
        path, _, query = text.partition("?")
        return f"{path}?{_PAIR.sub(mask, query)}"
    return _PAIR.sub(mask, text)


def is_sensitive(name: str) -> bool:
    """Whether a (decoded) query parameter name carries a credential."""
    return name.strip().lower() in SENSITIVE_PARAMS


def redact_params(params: dict[str, Any]) -> dict[str, Any]:
    """Query parameters as recorded in the audit log (names decoded): sensitive ones masked."""
    return {k: (MASK if is_sensitive(k) else v) for k, v in params.items()}


class RedactSecretsFilter(logging.Filter):
    """Mask sensitive query values in access-log records (uvicorn's ``full_path`` argument)."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if (
            isinstance(args, tuple)
            and len(args) == 5
            and isinstance(args[2], str)
            and "=" in args[2]
        ):
            record.args = (*args[:2], redact_query(args[2]), *args[3:])
        elif isinstance(record.msg, str) and "=" in record.msg and not args:
            record.msg = redact_query(record.msg)
        return True


def log_config(base: dict[str, Any]) -> dict[str, Any]:
    """A copy of a ``logging.config.dictConfig`` dict whose handlers all mask secrets."""
    config = copy.deepcopy(base)
    config.setdefault("filters", {})["redact_secrets"] = {"()": RedactSecretsFilter}
    for handler in config.get("handlers", {}).values():
        handler.setdefault("filters", []).append("redact_secrets")
    return config
