"""One server interceptor carries every cross-cutting RPC concern.

For each call, in this order:

1. **deadline**: a call that arrives without a deadline gets the service's
   default; one whose deadline already passed is answered DEADLINE_EXCEEDED;
2. **principal**: the ``authorization: Bearer <jwt>`` metadata is verified
   and the principal is set for the handler (:func:`current_principal`); a bad
   token is UNAUTHENTICATED; no token means an anonymous call, and handlers
   decide whether that is allowed (``require_principal``);
3. **validation**: the request is checked against its protovalidate rules;
   violations are INVALID_ARGUMENT with every field path in the message and a
   ``google.rpc.BadRequest`` in the status details;
4. **errors**: domain errors map to their status codes; a request that does
   not decode is INVALID_ARGUMENT (grpcio decodes before any interceptor code
   runs, so the kit installs a deserializer that cannot raise); a database that
   cannot be reached is UNAVAILABLE, so callers retry or fail over; a method
   the servicer does not implement is UNIMPLEMENTED; anything else is INTERNAL
   with a trace id and no internals;
5. **telemetry**: a log line per failed call, and metrics (count by method and
   code, duration) for every call. Spans come from the OpenTelemetry grpc
   instrumentation; this interceptor adds the principal to the active span.

Handlers therefore only implement their body.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import grpc
import protovalidate
import structlog
from google.protobuf.message import Message
from google.rpc import code_pb2, error_details_pb2, status_pb2
from opentelemetry import metrics, trace
from pymongo.errors import ConnectionFailure

from guildhall_kit import roundtrips
from guildhall_kit.auth.principal import Principal, principal_scope
from guildhall_kit.auth.tokens import TokenVerifier
from guildhall_kit.errors import DomainError, Unauthenticated
from guildhall_kit.logging import get_logger
from guildhall_kit.telemetry import DURATION_BUCKETS

_log = get_logger(__name__)

# Infrastructure services answer without a principal and carry no validation rules.
_OPEN_PREFIXES = ("/grpc.health.v1.", "/grpc.reflection.")

_validator = protovalidate.Validator()

_meter = metrics.get_meter("guildhall_kit.grpc")
_calls = _meter.create_counter("rpc.server.calls", description="RPCs served, by method and code")
_duration = _meter.create_histogram(
    "rpc.server.duration",
    unit="s",
    description="RPC duration, by method",
    explicit_bucket_boundaries_advisory=DURATION_BUCKETS,
)

Ctx = grpc.aio.ServicerContext[Any, Any]
Handler = Callable[[Any, Ctx], Awaitable[Any]]


class _Undecodable:
    """Stands in for a request whose bytes are not a valid message of its type."""

    __slots__ = ()


_UNDECODABLE = _Undecodable()


def _lenient(deserializer: Callable[[bytes], Any] | None) -> Callable[[bytes], Any] | None:
    """``deserializer`` that answers :data:`_UNDECODABLE` instead of raising.

    grpcio runs the deserializer before the handler; when it raises, the client
    gets UNKNOWN naming a Python class. With this the wrapped handler sees the
    marker and answers INVALID_ARGUMENT like any other bad request.
    """
    if deserializer is None:
        return None

    def parse(data: bytes) -> Any:
        try:
            return deserializer(data)
        except Exception:  # noqa: BLE001 - DecodeError, or anything the parser raises on garbage
            return _UNDECODABLE

    return parse


class _Abort(Exception):  # noqa: N818 - an internal control-flow signal, not an error type
    def __init__(self, code: grpc.StatusCode, message: str, details: bytes | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details


def violations_of(request: Message) -> list[tuple[str, str]]:
    """(field path, message) for every protovalidate rule ``request`` breaks."""
    found = []
    for violation in _validator.collect_violations(request):
        proto: Any = violation.proto
        parts = []
        for element in proto.field.elements if proto.field is not None else ():
            name = str(element.field_name)
            if element.subscript is not None:
                name += f"[{getattr(element.subscript, 'value', element.subscript)}]"
            parts.append(name)
        found.append((".".join(parts) or "(message)", str(proto.message or proto.rule_id)))
    return found


def _bad_request(violations: list[tuple[str, str]]) -> bytes:
    detail = error_details_pb2.BadRequest(
        field_violations=[
            error_details_pb2.BadRequest.FieldViolation(field=f, description=d)
            for f, d in violations
        ]
    )
    status = status_pb2.Status(
        code=code_pb2.INVALID_ARGUMENT,
        message="; ".join(f"{f}: {d}" for f, d in violations),
    )
    status.details.add().Pack(detail)
    encoded: bytes = status.SerializeToString()
    return encoded


class RpcInterceptor(grpc.aio.ServerInterceptor):
    """The template every Guildhall RPC runs through (see module docstring)."""

    def __init__(self, verifier: TokenVerifier | None, *, default_deadline_s: float) -> None:
        self._verifier = verifier
        self._default_deadline = default_deadline_s

    async def intercept_service(
        self,
        continuation: Callable[
            [grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler[Any, Any] | None]
        ],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler[Any, Any] | None:
        handler = await continuation(handler_call_details)
        method: str = handler_call_details.method
        if handler is None or method.startswith(_OPEN_PREFIXES):
            return handler
        if handler.unary_unary is not None:
            return grpc.unary_unary_rpc_method_handler(
                self._wrap(method, handler.unary_unary),  # type: ignore[arg-type]
                request_deserializer=_lenient(handler.request_deserializer),
                response_serializer=handler.response_serializer,
            )
        if handler.unary_stream is not None:
            return grpc.unary_stream_rpc_method_handler(
                self._wrap_stream(method, handler.unary_stream),
                request_deserializer=_lenient(handler.request_deserializer),
                response_serializer=handler.response_serializer,
            )
        return handler  # client-streaming methods are not used by Guildhall

    def _principal(self, context: Ctx) -> Principal | None:
        for key, value in context.invocation_metadata() or ():
            if key == "authorization":
                scheme, _, token = str(value).partition(" ")
                if scheme.lower() != "bearer" or not token:
                    raise _Abort(
                        grpc.StatusCode.UNAUTHENTICATED, "authorization must be 'Bearer <token>'"
                    )
                if self._verifier is None:
                    raise _Abort(
                        grpc.StatusCode.UNAUTHENTICATED, "this server has no key set configured"
                    )
                try:
                    return self._verifier.verify(token)
                except Unauthenticated as exc:
                    raise _Abort(exc.code, exc.message) from None
        return None

    def _prepare(self, request: Any, context: Ctx) -> tuple[Principal | None, float]:
        remaining = context.time_remaining()
        if remaining is not None and remaining <= 0:
            raise _Abort(grpc.StatusCode.DEADLINE_EXCEEDED, "deadline already exceeded")
        budget = self._default_deadline if remaining is None else min(remaining, 600.0)
        if request is _UNDECODABLE:
            raise _Abort(
                grpc.StatusCode.INVALID_ARGUMENT,
                "the request is not a valid protobuf message of this method's request type",
            )
        principal = self._principal(context)
        if isinstance(request, Message):
            bad = violations_of(request)
            if bad:
                raise _Abort(
                    grpc.StatusCode.INVALID_ARGUMENT,
                    "; ".join(f"{f}: {d}" for f, d in bad),
                    _bad_request(bad),
                )
        if principal is not None:
            span = trace.get_current_span()
            span.set_attribute("guildhall.principal.kind", principal.kind.value)
            span.set_attribute("guildhall.principal.org", principal.org_id)
        return principal, budget

    async def _finish(
        self,
        method: str,
        started: float,
        code: grpc.StatusCode,
        context: Ctx,
        abort: _Abort | None,
    ) -> None:
        _calls.add(1, {"rpc.method": method, "rpc.grpc.status_code": code.name})
        _duration.record(time.perf_counter() - started, {"rpc.method": method})
        if abort is not None:
            metadata = (("grpc-status-details-bin", abort.details),) if abort.details else ()
            await context.abort(abort.code, abort.message, trailing_metadata=metadata)

    def _to_abort(self, method: str, exc: BaseException) -> _Abort:
        if isinstance(exc, _Abort):
            return exc
        if isinstance(exc, DomainError):
            return _Abort(exc.code, exc.message)
        if isinstance(exc, TimeoutError):
            return _Abort(grpc.StatusCode.DEADLINE_EXCEEDED, "deadline exceeded while serving")
        if isinstance(exc, ConnectionFailure):
            # Server selection timed out, the connection dropped, a socket timed out:
            # the dependency is down, not the request wrong. Callers may retry.
            _log.warning("database unavailable", rpc=method, error=type(exc).__name__)
            return _Abort(grpc.StatusCode.UNAVAILABLE, "the service's database is unavailable")
        if isinstance(exc, NotImplementedError):
            return _Abort(grpc.StatusCode.UNIMPLEMENTED, f"{method} is not implemented")
        ctx = trace.get_current_span().get_span_context()
        trace_id = format(ctx.trace_id, "032x") if ctx.is_valid else "-"
        _log.error("unhandled error in rpc", rpc=method, exc_info=exc)
        return _Abort(grpc.StatusCode.INTERNAL, f"internal error (trace {trace_id})")

    def _wrap(self, method: str, behaviour: Handler) -> Handler:
        async def wrapped(request: Any, context: Ctx) -> Any:
            started = time.perf_counter()
            structlog.contextvars.bind_contextvars(rpc=method)
            try:
                principal, budget = self._prepare(request, context)
                with principal_scope(principal), roundtrips.request_scope(method) as tally:
                    async with asyncio.timeout(budget):
                        response = await behaviour(request, context)
                    if roundtrips.EXPOSE:
                        context.set_trailing_metadata(((roundtrips.TRAILER, tally.encode()),))
            except (asyncio.CancelledError, grpc.aio.AbortError):
                raise
            except Exception as exc:  # noqa: BLE001 - every failure is mapped to a status here
                abort = self._to_abort(method, exc)
                if abort.code in (grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN):
                    _log.warning("rpc failed", rpc=method, code=abort.code.name)
                await self._finish(method, started, abort.code, context, abort)
                raise AssertionError("unreachable: context.abort raises") from None
            finally:
                structlog.contextvars.unbind_contextvars("rpc")
            await self._finish(method, started, grpc.StatusCode.OK, context, None)
            return response

        return wrapped

    def _wrap_stream(self, method: str, behaviour: Callable[..., Any]) -> Callable[..., Any]:
        async def wrapped(request: Any, context: Ctx) -> Any:
            started = time.perf_counter()
            try:
                principal, _ = self._prepare(request, context)
                with principal_scope(principal):
                    async for item in behaviour(request, context):
                        yield item
            except (asyncio.CancelledError, grpc.aio.AbortError):
                raise
            except Exception as exc:  # noqa: BLE001 - every failure is mapped to a status here
                abort = self._to_abort(method, exc)
                await self._finish(method, started, abort.code, context, abort)
                return
            await self._finish(method, started, grpc.StatusCode.OK, context, None)

        return wrapped
