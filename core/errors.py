"""The project's single exception hierarchy.

Every error raised on purpose by the service derives from :class:`ServiceError`.
Input errors carry a list of :class:`Problem` records naming the file, line and
field at fault, so the CLI and the API can report every problem at once.
The API turns any ``ServiceError`` into an RFC 9457 problem response in one
handler, using :attr:`ServiceError.status` and :attr:`ServiceError.title`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with an input.

    Parameters
    ----------
    message
        What is wrong, in words a user understands.
    file
        Name of the file (or upload) the problem was found in.
    line
        1-based physical line number in that file (the header is line 1).
    field
        Column or parameter name.
    value
        The offending value, truncated for display.
    """

    message: str
    file: str | None = None
    line: int | None = None
    field: str | None = None
    value: str | None = None

    def __str__(self) -> str:
        where = []
        if self.file:
            where.append(str(self.file))
        if self.line is not None:
            where.append(f"line {self.line}")
        if self.field:
            where.append(f"field {self.field!r}")
        prefix = ", ".join(where)
        shown = "" if self.value is None else f" (value {self.value[:60]!r})"
        return f"{prefix}: {self.message}{shown}" if prefix else f"{self.message}{shown}"

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}


class ServiceError(Exception):
    """Base of every error the service raises on purpose."""

    status: int = 500
    title: str = "Service error"

    def __init__(self, detail: str, *, problems: list[Problem] | None = None) -> None:
        self.detail = detail
        self.problems: list[Problem] = list(problems or [])
        super().__init__(self._render())

    def extend_detail(self, text: str) -> None:
        """Add ``text`` to the detail (e.g. where a refused load's rejected rows were written)."""
        self.detail = f"{self.detail}; {text}"
        self.args = (self._render(),)

    def _render(self) -> str:
        if not self.problems:
            return self.detail
        shown = "\n  ".join(str(p) for p in self.problems[:20])
        more = len(self.problems) - 20
        tail = f"\n  ... and {more} more" if more > 0 else ""
        return f"{self.detail}\n  {shown}{tail}"


class ConfigError(ServiceError, ValueError):
    """Invalid or unsafe configuration."""

    status = 500
    title = "Configuration error"


class InputError(ServiceError, ValueError):
    """Bad input data: a file, a row, a request parameter."""

    status = 422
    title = "Invalid input"


class SchemaError(InputError):
    """A file whose header matches no known layout (missing or unknown columns)."""

    title = "Unrecognised file layout"


class EncodingError(InputError):
    """A file that is not in the expected text encoding."""

    title = "Wrong file encoding"


class RejectLimitError(InputError):
    """Too many rows were rejected; the batch is refused whole."""

    title = "Too many rejected rows"


class PayloadTooLargeError(InputError):
    """An upload or request body larger than allowed."""

    status = 413
    title = "Payload too large"


class BodyTimeoutError(InputError):
    """A request body that did not arrive in time (a client trickling it)."""

    status = 408
    title = "Request timeout"


class NotFoundError(ServiceError, LookupError):
    """A requested record does not exist."""

    status = 404
    title = "Not found"


class ConflictError(ServiceError):
    """The request conflicts with stored state."""

    status = 409
    title = "Conflict"


class PreconditionFailedError(ServiceError):
    """An ``If-Match`` that names a version other than the stored one (someone changed it first)."""

    status = 412
    title = "Precondition failed"


class PreconditionRequiredError(ServiceError):
    """A change that must name the version it changes (``If-Match``) and did not."""

    status = 428
    title = "Precondition required"


class AuthenticationError(ServiceError, PermissionError):
    """Missing or invalid credentials."""

    status = 401
    title = "Unauthorized"


class SignInRequired(AuthenticationError):
    """An HTML page opened by a browser without a valid session: sent to the sign-in page."""

    def __init__(self, detail: str, *, next_url: str) -> None:
        self.next_url = next_url
        super().__init__(detail)


class AuthorizationError(ServiceError, PermissionError):
    """Valid credentials without the role the operation needs."""

    status = 403
    title = "Forbidden"


class GeoError(ServiceError, ValueError):
    """Geocoding, H3 or road-network failures (absurd coordinates, unknown places)."""

    status = 422
    title = "Geographic error"


class RoadNetworkError(GeoError):
    """A road network could not be read or does not cover the request."""

    title = "Road network error"


class MatchingError(ServiceError, ValueError):
    """Entity resolution misconfiguration or failure."""

    status = 422
    title = "Matching error"


class TerritoryError(ServiceError, ValueError):
    """Catchment or territory computation failure."""

    status = 422
    title = "Territory error"


class ScoringError(ServiceError, ValueError):
    """Invalid scoring profile or scoring failure."""

    status = 422
    title = "Scoring error"


class UnsafeDestinationError(ServiceError):
    """An outbound request (a webhook delivery) to an address the service must not reach.

    Raised when a host resolves to a loopback, private, link-local, multicast,
    reserved or otherwise non-public address while such destinations are not
    allowed (production); see :mod:`service.integration.outbound`.
    """

    status = 422
    title = "Refused destination"


class RateLimitError(ServiceError):
    """Too many requests from one API key (or one address without a valid key)."""

    status = 429
    title = "Too many requests"

    def __init__(self, detail: str, *, retry_after: float) -> None:
        self.retry_after = retry_after
        super().__init__(detail)


class EmptyDatabaseError(NotFoundError):
    """A command that reads stored data pointed at a database with no schema or no data.

    Its detail names the database URL (password hidden): a mistyped or default
    ``PRM_DATABASE_URL`` must not answer as if the data were merely empty.
    """

    title = "No data in this database"
