"""The one ASGI middleware every request passes: ids, body limit, caller, rate limit, audit.

In order, for each HTTP request:

1. a request id (minted here, never taken from the client, so nothing a
   client sends is echoed into a header) and the arrival time;
2. the body limit: a ``Content-Length`` over the limit is 413 at once; a
   body sent without one is counted as it is read and cut off at the limit;
   a body with a non-JSON content type is 415 (except the form of the OAuth
   token request, ``POST /oauth/token``);
3. for every ``/v1`` request, the caller is authenticated (401 otherwise; 503
   when the identity provider's keys cannot be fetched at all) and takes a
   token from its rate-limit buckets (429 with Retry-After);
4. for a partner caller, the answer is held until the request's audit
   record is in its chain, then sent: no partner request is answered without
   a record. If the record cannot be written the partner gets 503 instead.
   A live stream (``text/event-stream``) is recorded when it starts.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from opentelemetry import trace
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from guildhall_gateway.adapters.http.context import KEY, RequestState
from guildhall_gateway.adapters.http.responses import problem_response
from guildhall_gateway.application.audit import AuditTrail
from guildhall_gateway.application.ratelimit import RateLimits
from guildhall_gateway.auth import Authenticator
from guildhall_gateway.domain.audit import AuditEntry, chain_of
from guildhall_gateway.domain.problems import Problem, ProblemType
from guildhall_gateway.domain.scoping import single_space
from guildhall_kit import roundtrips
from guildhall_kit.clock import new_id
from guildhall_kit.errors import Unauthenticated, Unavailable
from guildhall_kit.logging import get_logger

_log = get_logger(__name__)

_BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
TOKEN_PATH = "/oauth/token"  # noqa: S105 - a URL path, not a secret


class BodyTooLarge(Exception):  # noqa: N818 - a signal, rendered as 413 content-too-large
    """Raised from ``receive`` when a body grows past the limit."""


@dataclass
class MiddlewareDeps:
    authenticator: Authenticator
    limits: RateLimits
    trail: AuditTrail | None
    max_body_bytes: int


def _outcome(status: int) -> str:
    if status < 400:
        return "allowed"
    if status in (403, 404):
        return "denied"
    if status == 429:
        return "rate_limited"
    if status == 401:
        return "unauthenticated"
    return "failed"


def _client_address(scope: Scope) -> str:
    client = scope.get("client")
    return str(client[0]) if client else ""


def _trace_id() -> str:
    context = trace.get_current_span().get_span_context()
    return format(context.trace_id, "032x") if context.is_valid else ""


class GatewayMiddleware:
    """See the module docstring."""

    def __init__(self, app: ASGIApp, deps: Callable[[], MiddlewareDeps]) -> None:
        self.app = app
        self._deps = deps

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        with roundtrips.request_scope("http") as tally:
            try:
                await self._serve(scope, receive, send)
            finally:
                route = scope.get("route")
                tally.operation = f"{scope['method']} {getattr(route, 'path', '(no route)')}"

    async def _serve(self, scope: Scope, receive: Receive, send: Send) -> None:
        deps = self._deps()
        state = RequestState(request_id=new_id())
        scope.setdefault("state", {})[KEY] = state
        headers = Headers(scope=scope)

        async def answer(problem: Problem) -> None:
            response = problem_response(problem)
            response.headers["X-Request-Id"] = state.request_id
            await response(scope, receive, send)

        early = self._check_body(scope, headers, deps.max_body_bytes)
        if early is not None:
            await answer(early)
            return
        if scope["path"].startswith("/v1/"):
            try:
                state.caller = await deps.authenticator.authenticate(headers.get("authorization"))
            except Unauthenticated as exc:
                await answer(
                    Problem(
                        ProblemType.UNAUTHENTICATED,
                        exc.message,
                        headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
                    )
                )
                return
            except Unavailable as exc:
                # The identity provider's keys cannot be fetched: not the caller's fault.
                await answer(Problem(ProblemType.UNAVAILABLE, exc.message, retry_after=5))
                return
            wait = await deps.limits.retry_after(state.caller)
            if wait is not None:
                problem = Problem(
                    ProblemType.RATE_LIMITED, "over the rate limit; retry later", retry_after=wait
                )
                if state.caller.principal.is_partner and deps.trail is not None:
                    await self._audited(
                        scope=scope,
                        state=state,
                        trail=deps.trail,
                        app=_replay(problem),
                        receive=receive,
                        send=send,
                    )
                else:
                    await answer(problem)
                return
        limited = _limit_receive(receive, deps.max_body_bytes)
        if state.caller is not None and state.caller.principal.is_partner and deps.trail:
            await self._audited(
                scope=scope,
                state=state,
                trail=deps.trail,
                app=self.app,
                receive=limited,
                send=send,
            )
            return

        async def tag(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [
                    *message.get("headers", []),
                    (b"x-request-id", state.request_id.encode()),
                    *roundtrips.headers(),
                ]
            await send(message)

        await self.app(scope, limited, tag)

    @staticmethod
    def _check_body(  # noqa: PLR0911 - one early answer per body check, in order
        scope: Scope, headers: Headers, limit: int
    ) -> Problem | None:
        if scope["method"] not in _BODY_METHODS:
            return None
        length = headers.get("content-length")
        if length is not None:
            if not length.isdigit():
                return Problem(ProblemType.INVALID_REQUEST, "Content-Length is not a number")
            if int(length) > limit:
                return Problem(
                    ProblemType.CONTENT_TOO_LARGE, f"the body may be at most {limit} bytes"
                )
            if int(length) == 0:
                return None
        elif "transfer-encoding" not in headers:
            return None
        media = headers.get("content-type", "").split(";")[0].strip().lower()
        if scope["path"] == TOKEN_PATH and media == "application/x-www-form-urlencoded":
            return None  # RFC 6749 §4.4.2: the token request is a form
        if media != "application/json" and not media.endswith("+json"):
            return Problem(ProblemType.UNSUPPORTED_MEDIA_TYPE, "the body must be application/json")
        return None

    async def _audited(
        self,
        *,
        scope: Scope,
        state: RequestState,
        trail: AuditTrail,
        app: ASGIApp,
        receive: Receive,
        send: Send,
    ) -> None:
        """Run ``app``, hold its answer, append the audit record, then send the answer."""
        held: list[Message] = []
        status = 500
        size = 0
        streaming = False

        async def capture(message: Message) -> None:
            nonlocal status, size, streaming
            if streaming:
                await send(message)
                return
            if message["type"] == "http.response.start":
                status = int(message["status"])
                message["headers"] = [
                    *message.get("headers", []),
                    (b"x-request-id", state.request_id.encode()),
                ]
                content_type = Headers(raw=message["headers"]).get("content-type", "")
                if content_type.startswith("text/event-stream"):
                    streaming = True
                    await self._record(scope, state, trail, status, 0)
                    await send(message)
                    return
                held.append(message)
                return
            if message["type"] == "http.response.body":
                size += len(message.get("body", b""))
                held.append(message)
                if not message.get("more_body", False):
                    await self._record(scope, state, trail, status, size)
                    held[0]["headers"] = [*held[0]["headers"], *roundtrips.headers()]
                    for item in held:
                        await send(item)
                return
            await send(message)

        try:
            await app(scope, receive, capture)
        except AuditFailed:
            problem = Problem(
                ProblemType.UNAVAILABLE, "the request could not be audited", retry_after=1
            )
            await problem_response(problem)(scope, receive, send)

    async def _record(
        self, scope: Scope, state: RequestState, trail: AuditTrail, status: int, size: int
    ) -> None:
        caller = state.caller
        assert caller is not None
        principal = caller.principal
        route = scope.get("route")
        template = str(getattr(route, "path", "")) or "(no route)"
        params = scope.get("path_params") or {}
        reach = state.reach
        pinhole = single_space(s for s in state.spaces if reach is None or reach.allows(s))
        if reach is None or pinhole is None or not reach.allows(pinhole):
            pinhole = None
        entry = AuditEntry(
            audit_id=new_id(),
            person_id=principal.subject,
            org_id=principal.org_id,
            client_id=caller.client_id or "",
            method=str(scope["method"]),
            route=template,
            object_ids=tuple(str(v) for v in params.values())[:10],
            pinhole_id=pinhole or "",
            outcome=_outcome(status),
            http_status=status,
            bytes_returned=size,
            request_id=state.request_id,
            trace_id=_trace_id(),
            client_address=_client_address(scope),
            received_at=state.received_at,
            duration_ms=int((time.monotonic() - state.started) * 1000),
        )
        try:
            await trail.append(entry, chain_of(pinhole, principal.org_id))
        except Exception as exc:
            _log.error("audit record not written; partner request refused", error=repr(exc))
            raise AuditFailed from exc


class AuditFailed(Exception):  # noqa: N818 - a signal, rendered as 503 by the app
    """The audit record of a partner request could not be written."""


def _replay(problem: Problem) -> ASGIApp:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await problem_response(problem)(scope, receive, send)

    return app


def _limit_receive(receive: Receive, limit: int) -> Receive:
    seen = 0

    async def limited() -> Message:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                raise BodyTooLarge
        return message

    return limited


Receiver = Callable[[], Awaitable[Message]]
