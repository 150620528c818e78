"""Domain errors and the one place that maps them to gRPC status codes.

Handlers and domain code raise these; the server interceptor turns them into
statuses. "Not found" and "forbidden to see" are deliberately the same error
(:class:`NotFound`), so a caller never learns whether an object it may not see
exists.
"""

from __future__ import annotations

import grpc


class DomainError(Exception):
    """Base of every error a service reports to its caller on purpose."""

    code: grpc.StatusCode = grpc.StatusCode.UNKNOWN

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidArgument(DomainError):
    """The request is malformed; ``field`` names the offending field path."""

    code = grpc.StatusCode.INVALID_ARGUMENT

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


class NotFound(DomainError):
    """The object does not exist, or the principal may not know that it does."""

    code = grpc.StatusCode.NOT_FOUND

    def __init__(self, kind: str, ident: str = "") -> None:
        super().__init__(f"{kind} not found" + (f": {ident}" if ident else ""))
        self.kind = kind


class PermissionDenied(DomainError):
    """The principal may see the object (or the method is closed to its kind) but not act."""

    code = grpc.StatusCode.PERMISSION_DENIED


class Unauthenticated(DomainError):
    """No valid credentials were presented."""

    code = grpc.StatusCode.UNAUTHENTICATED


class AlreadyExists(DomainError):
    """Creating an object whose natural key is already taken."""

    code = grpc.StatusCode.ALREADY_EXISTS


class FailedPrecondition(DomainError):
    """The object is not in a state that allows the operation (e.g. archived)."""

    code = grpc.StatusCode.FAILED_PRECONDITION


class Aborted(DomainError):
    """A concurrency conflict (stale revision); the caller should re-read and retry."""

    code = grpc.StatusCode.ABORTED


class ResourceExhausted(DomainError):
    """A quota or rate limit was exceeded."""

    code = grpc.StatusCode.RESOURCE_EXHAUSTED


class Unavailable(DomainError):
    """A dependency is temporarily unavailable; idempotent calls may be retried."""

    code = grpc.StatusCode.UNAVAILABLE
