"""Problem types (RFC 9457) and the one mapping from gRPC status to HTTP status.

Every error the HTTP API answers is an ``application/problem+json`` document
whose ``type`` is one of the stable URIs below; a client switches on ``type``,
never on ``title`` or ``detail``. ``errors`` lists the fields that were wrong
(``field`` is a dotted path in the request: a body field, a query parameter,
a path parameter or a header such as ``If-Match``).

"Not found" has exactly one body, :data:`NOT_FOUND_BODY`, whatever was asked
for and whyever it is missing (absent, or outside a partner's pinholes), so the
answer never tells a caller whether an object it may not see exists.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Final

import grpc

PREFIX: Final = "urn:guildhall:problem:"


class ProblemType(enum.Enum):
    """The stable problem types: (slug, HTTP status, title)."""

    INVALID_REQUEST = ("invalid-request", 400, "The request is not valid")
    MALFORMED_JSON = ("malformed-json", 400, "The request body is not valid JSON")
    UNAUTHENTICATED = ("unauthenticated", 401, "Authentication is required")
    FORBIDDEN = ("forbidden", 403, "Not allowed")
    NOT_FOUND = ("not-found", 404, "Not found")
    METHOD_NOT_ALLOWED = ("method-not-allowed", 405, "Method not allowed")
    NOT_ACCEPTABLE = ("not-acceptable", 406, "Not acceptable")
    CONFLICT = ("conflict", 409, "Conflict with the current state")
    ALREADY_EXISTS = ("already-exists", 409, "Already exists")
    PRECONDITION_FAILED = ("precondition-failed", 412, "The object changed since it was read")
    CONTENT_TOO_LARGE = ("content-too-large", 413, "The request body is too large")
    UNSUPPORTED_MEDIA_TYPE = ("unsupported-media-type", 415, "Send application/json")
    PRECONDITION_REQUIRED = ("precondition-required", 428, "If-Match is required")
    RATE_LIMITED = ("rate-limited", 429, "Too many requests")
    UPSTREAM_ERROR = ("upstream-error", 502, "A service failed")
    NOT_IMPLEMENTED = ("not-implemented", 501, "Not implemented")
    UNAVAILABLE = ("unavailable", 503, "Temporarily unavailable")
    TIMEOUT = ("timeout", 504, "A service did not answer in time")

    @property
    def slug(self) -> str:
        return self.value[0]

    @property
    def status(self) -> int:
        return self.value[1]

    @property
    def title(self) -> str:
        return self.value[2]

    @property
    def uri(self) -> str:
        return PREFIX + self.slug


@dataclass(frozen=True, slots=True)
class FieldError:
    """One wrong field: its dotted path in the request and what is wrong with it."""

    field: str
    message: str


@dataclass(eq=False)
class Problem(Exception):  # noqa: N818 - an HTTP answer, named as RFC 9457 names it
    """An error answer. Raised anywhere below the routes; rendered in one place."""

    type: ProblemType
    detail: str = ""
    errors: tuple[FieldError, ...] = ()
    retry_after: int | None = None
    """Seconds, for 429 and 503 (sent as the ``Retry-After`` header)."""
    headers: dict[str, str] = field(default_factory=dict)

    def body(self) -> dict[str, object]:
        """The problem document (``not-found`` is always :data:`NOT_FOUND_BODY`)."""
        if self.type is ProblemType.NOT_FOUND:
            return dict(NOT_FOUND_BODY)
        document: dict[str, object] = {
            "type": self.type.uri,
            "title": self.type.title,
            "status": self.type.status,
            "detail": self.detail or self.type.title,
        }
        if self.errors:
            document["errors"] = [{"field": e.field, "message": e.message} for e in self.errors]
        return document


NOT_FOUND_BODY: Final[dict[str, object]] = {
    "type": ProblemType.NOT_FOUND.uri,
    "title": ProblemType.NOT_FOUND.title,
    "status": 404,
    "detail": "There is no such object, or it is not visible to you.",
}


def not_found() -> Problem:
    """The one answer for anything missing or out of the caller's reach."""
    return Problem(ProblemType.NOT_FOUND)


def invalid(field_path: str, message: str) -> Problem:
    """A 400 naming one wrong field."""
    return Problem(
        ProblemType.INVALID_REQUEST,
        f"{field_path}: {message}",
        (FieldError(field_path, message),),
    )


# The one gRPC -> HTTP mapping. A service's status says what happened; the
# gateway only translates it.
_FROM_GRPC: Final[dict[grpc.StatusCode, ProblemType]] = {
    grpc.StatusCode.INVALID_ARGUMENT: ProblemType.INVALID_REQUEST,
    grpc.StatusCode.OUT_OF_RANGE: ProblemType.INVALID_REQUEST,
    grpc.StatusCode.UNAUTHENTICATED: ProblemType.UNAUTHENTICATED,
    grpc.StatusCode.PERMISSION_DENIED: ProblemType.FORBIDDEN,
    grpc.StatusCode.NOT_FOUND: ProblemType.NOT_FOUND,
    grpc.StatusCode.ALREADY_EXISTS: ProblemType.ALREADY_EXISTS,
    grpc.StatusCode.FAILED_PRECONDITION: ProblemType.CONFLICT,
    grpc.StatusCode.ABORTED: ProblemType.PRECONDITION_FAILED,
    grpc.StatusCode.RESOURCE_EXHAUSTED: ProblemType.RATE_LIMITED,
    grpc.StatusCode.UNAVAILABLE: ProblemType.UNAVAILABLE,
    grpc.StatusCode.CANCELLED: ProblemType.UNAVAILABLE,
    grpc.StatusCode.DEADLINE_EXCEEDED: ProblemType.TIMEOUT,
    grpc.StatusCode.UNIMPLEMENTED: ProblemType.NOT_IMPLEMENTED,
}


def from_grpc(code: grpc.StatusCode, message: str, fields: tuple[FieldError, ...] = ()) -> Problem:
    """The HTTP problem for a service's status.

    INTERNAL, UNKNOWN and DATA_LOSS become 502 with no detail from the service
    (its message may carry internals); every other code keeps the service's
    message, which the contracts keep free of internals.
    """
    kind = _FROM_GRPC.get(code, ProblemType.UPSTREAM_ERROR)
    if kind is ProblemType.UPSTREAM_ERROR:
        return Problem(kind, "a service failed; the request id is in the logs")
    retry = 1 if kind in (ProblemType.UNAVAILABLE, ProblemType.RATE_LIMITED) else None
    return Problem(kind, message, fields, retry_after=retry)
