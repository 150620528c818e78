"""The live event stream: the caller's notifications as Server-Sent Events.

``GET /v1/events`` relays the notification service's ``StreamNotifications``
(a server-streaming RPC) as ``text/event-stream``: one ``notification`` event
per notification, its ``id`` the notification id. A client that reconnects
sends ``Last-Event-ID`` (browsers do it by themselves) and the stream resumes
right after that notification: the service guarantees no gap and no
duplicate. A comment line (``: heartbeat``) goes out after every quiet
``GUILDHALL_SSE_HEARTBEAT_SECONDS``, so proxies keep the connection and a
dead client is noticed.

For a partner, every event is checked against the partner's reach, asked
afresh for that event: a notification about a space outside the open
pinholes granted to its org is never sent (the service already leaves such
notifications out; this is defence in depth), and the stream ends once the
partner has no reach left at all.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator
from typing import Annotated, Any, Final

import orjson
from fastapi import APIRouter, Header, Query, Request
from starlette.responses import StreamingResponse

from guildhall.notification.v1 import notification_pb2
from guildhall_gateway.adapters.http import protojson
from guildhall_gateway.adapters.http.context import caller_of
from guildhall_gateway.adapters.http.operations import Deps
from guildhall_gateway.adapters.http.runtime import runtime_of
from guildhall_gateway.adapters.services import Rpc, has_method
from guildhall_gateway.auth import Caller
from guildhall_gateway.domain.problems import invalid
from guildhall_kit.logging import get_logger

_log = get_logger(__name__)

router = APIRouter(tags=["events"])
STREAM = Rpc("notification", "StreamNotifications")
AVAILABLE: Final = has_method("notification", "StreamNotifications")
_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
_END = object()


def _event(reply: Any) -> bytes:
    document = protojson.to_json(reply)
    notification = document.get("notification") or {}
    data = orjson.dumps(document).decode("utf-8")
    event_id = notification.get("notification_id", "")
    return f"id: {event_id}\nevent: notification\ndata: {data}\n\n".encode()


async def _relay(
    deps: Deps, caller: Caller, after: str, heartbeat_s: float
) -> AsyncIterator[bytes]:
    """The SSE byte stream; ends when the client goes or the service ends the stream."""
    request = notification_pb2.StreamNotificationsRequest(after_notification_id=after)
    queue: asyncio.Queue[Any] = asyncio.Queue(maxsize=256)

    async def pump() -> None:
        try:
            async for reply in deps.services.stream(
                STREAM, request, caller.service_authorization()
            ):
                await queue.put(reply)
        except Exception as exc:  # noqa: BLE001 - the stream ends; the client reconnects
            _log.info("event stream ended by the service", error=repr(exc))
        finally:
            await queue.put(_END)

    task = asyncio.create_task(pump(), name="sse-pump")
    try:
        yield b": stream open\n\n"
        while True:
            try:
                item = await asyncio.wait_for(queue.get(), timeout=heartbeat_s)
            except TimeoutError:
                yield b": heartbeat\n\n"
                continue
            if item is _END:
                return
            if caller.principal.is_partner:
                reach = await deps.scope.reach(caller)
                if not reach.spaces:
                    return
                space = item.notification.space_id
                if space and not reach.allows(space):
                    _log.error("notification outside the partner's reach dropped")
                    continue
            yield _event(item)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task


if AVAILABLE:

    @router.get(
        "/v1/events",
        operation_id="streamEvents",
        openapi_extra={"x-partner": True},
        response_class=StreamingResponse,
        responses={
            200: {
                "description": "Server-Sent Events: `notification` events (id: the "
                "notification id; data: a StreamNotificationsResponse) and heartbeat "
                "comments.",
                "content": {"text/event-stream": {"schema": {"type": "string"}}},
            }
        },
    )
    async def stream_events(
        request: Request,
        last_event_id: Annotated[str | None, Header(alias="Last-Event-ID")] = None,
        after: Annotated[str | None, Query(pattern=protojson.ID_PATTERN)] = None,
    ) -> StreamingResponse:
        """The caller's notifications as they arrive. Resume with ``Last-Event-ID``
        (or ``?after=<notification id>``): no gap, no duplicate."""
        caller = caller_of(request)
        runtime = runtime_of(request)
        resume = last_event_id if last_event_id is not None else (after or "")
        if resume and not _ID.match(resume):
            raise invalid("Last-Event-ID", "must be a notification id sent by this stream")
        deps = runtime.deps()
        if caller.principal.is_partner:
            await deps.scope.reach(caller)  # refused (503) before the stream opens
        return StreamingResponse(
            _relay(deps, caller, resume, runtime.heartbeat_seconds),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )
