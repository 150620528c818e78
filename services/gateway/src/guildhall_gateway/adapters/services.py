"""The services behind the gateway, as gRPC stubs with a deadline on every call.

:class:`Services` owns one channel per service. :meth:`Services.call` is the
only way the HTTP routes reach a service: it forwards the caller's signed
service authorization, applies the configured deadline, and turns a gRPC
error into the HTTP problem of :mod:`guildhall_gateway.domain.problems`
(with the wrong fields named from the status's ``BadRequest`` details).
Only reads are retried, on UNAVAILABLE, by the channel's policy.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any, Final

import grpc
from google.protobuf import descriptor_pool, message_factory
from google.protobuf.descriptor import MethodDescriptor
from google.protobuf.message import Message
from google.rpc import error_details_pb2, status_pb2

from guildhall.community.v1 import community_pb2
from guildhall.notification.v1 import notification_pb2
from guildhall.post.v1 import post_pb2
from guildhall.profile.v1 import profile_pb2
from guildhall_gateway.domain.problems import FieldError, Problem, from_grpc
from guildhall_kit import roundtrips
from guildhall_kit.grpc.client import make_channel
from guildhall_kit.logging import get_logger

_log = get_logger(__name__)

SERVICES: Final[Mapping[str, str]] = {
    "profile": profile_pb2.DESCRIPTOR.services_by_name["ProfileService"].full_name,
    "community": community_pb2.DESCRIPTOR.services_by_name["CommunityService"].full_name,
    "post": post_pb2.DESCRIPTOR.services_by_name["PostService"].full_name,
    "notification": notification_pb2.DESCRIPTOR.services_by_name["NotificationService"].full_name,
}

# Methods that change nothing; the channel may retry them on UNAVAILABLE.
_READ_PREFIXES: Final = ("Get", "List", "Batch", "Find", "Search", "Check", "Diff", "Stream")


@dataclass(frozen=True, slots=True)
class Rpc:
    """One method of one service: ``Rpc("community", "GetCommunity")``."""

    service: str
    method: str

    @property
    def descriptor(self) -> MethodDescriptor:
        pool = descriptor_pool.Default()
        service = pool.FindServiceByName(SERVICES[self.service])
        found: MethodDescriptor = service.methods_by_name[self.method]
        return found

    @property
    def path(self) -> str:
        """The gRPC path, ``/guildhall.community.v1.CommunityService/GetCommunity``."""
        return f"/{SERVICES[self.service]}/{self.method}"

    @property
    def full_name(self) -> str:
        return f"{SERVICES[self.service]}.{self.method}"

    def request_class(self) -> type[Message]:
        return message_factory.GetMessageClass(self.descriptor.input_type)

    def response_class(self) -> type[Message]:
        return message_factory.GetMessageClass(self.descriptor.output_type)

    @property
    def is_read(self) -> bool:
        return self.method.startswith(_READ_PREFIXES)

    @property
    def streams(self) -> bool:
        return bool(self.descriptor.server_streaming)


def has_method(service: str, method: str) -> bool:
    """Whether the contract on this build has the method (routes of contracts still landing)."""
    pool = descriptor_pool.Default()
    return method in pool.FindServiceByName(SERVICES[service]).methods_by_name


def _fields(error: grpc.aio.AioRpcError) -> tuple[FieldError, ...]:
    """The field violations a service put in its status details (protovalidate)."""
    for key, value in error.trailing_metadata() or ():
        if key != "grpc-status-details-bin" or not isinstance(value, bytes):
            continue
        status = status_pb2.Status()
        try:
            status.ParseFromString(value)
        except Exception:  # noqa: BLE001 - undecodable details: fall back to the message
            return ()
        found: list[FieldError] = []
        for detail in status.details:
            bad = error_details_pb2.BadRequest()
            if detail.Unpack(bad):
                found.extend(FieldError(v.field, v.description) for v in bad.field_violations)
        return tuple(found)
    return ()


def problem_of(error: grpc.aio.AioRpcError) -> Problem:
    """The HTTP problem for a failed call."""
    code = error.code()
    fields = _fields(error) if code == grpc.StatusCode.INVALID_ARGUMENT else ()
    if code not in (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.INVALID_ARGUMENT):
        _log.info("service call failed", code=code.name, detail=error.details())
    return from_grpc(code, error.details() or "", fields)


class Services:
    """Channels to the four services and the one call path of the gateway."""

    def __init__(self, addresses: Mapping[str, str], *, deadline_s: float) -> None:
        self._deadline = deadline_s
        self._channels: dict[str, grpc.aio.Channel] = {}
        self._calls: dict[str, Any] = {}
        for name, target in addresses.items():
            self._channels[name] = make_channel(target, idempotent_services=())
        self._reads: dict[str, grpc.aio.Channel] = {
            name: make_channel(target, idempotent_services=[SERVICES[name]])
            for name, target in addresses.items()
        }

    def _callable(self, rpc: Rpc) -> Any:
        key = rpc.full_name
        found = self._calls.get(key)
        if found is None:
            channel = (self._reads if rpc.is_read else self._channels)[rpc.service]
            request_class, response_class = rpc.request_class(), rpc.response_class()
            factory = channel.unary_stream if rpc.streams else channel.unary_unary
            found = factory(
                rpc.path,
                request_serializer=request_class.SerializeToString,
                response_deserializer=response_class.FromString,
            )
            self._calls[key] = found
        return found

    async def call(
        self, rpc: Rpc, request: Message, authorization: str, *, deadline_s: float | None = None
    ) -> Message:
        """Call ``rpc`` as the caller whose service authorization is given.

        Raises:
            Problem: the service answered an error (mapped in one place), or the
                deadline passed (504).
        """
        try:
            reply: Message = await roundtrips.unary(
                self._callable(rpc)(
                    request,
                    timeout=deadline_s or self._deadline,
                    metadata=(("authorization", authorization),),
                )
            )
        except grpc.aio.AioRpcError as exc:
            raise problem_of(exc) from None
        return reply

    async def stream(
        self, rpc: Rpc, request: Message, authorization: str
    ) -> AsyncIterator[Message]:
        """A server-streaming call with no deadline (it lives as long as the client);
        cancelled when the consumer stops iterating.

        Raises:
            Problem: the service refused the stream or it failed.
        """
        call = self._callable(rpc)(request, metadata=(("authorization", authorization),))
        try:
            async for reply in call:
                yield reply
        except grpc.aio.AioRpcError as exc:
            raise problem_of(exc) from None
        finally:
            call.cancel()

    async def close(self) -> None:
        for channel in (*self._channels.values(), *self._reads.values()):
            await channel.close()
