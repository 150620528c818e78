"""The event value type and its CloudEvents binary-mode mapping onto Kafka.

An :class:`Event` is one fact, its payload the bytes of one serialized
protobuf message. On Kafka it travels in CloudEvents binary content mode: the
attributes are headers, the payload is the value, the aggregate id is the key::

    ce_specversion  1.0
    ce_id           ULID, unique per event; consumers deduplicate by it
    ce_type         full protobuf message name, e.g. guildhall.post.v1.PostCreated
    ce_source       the producing service, e.g. guildhall/post
    ce_time         RFC 3339 UTC time the fact happened (whole milliseconds)
    ce_subject      the aggregate id, like the key (docs/adr/0003-contracts.md)
    content-type    application/protobuf
    traceparent     W3C trace context of the publishing span (+ tracestate when set)
    key             the aggregate id (CloudEvents' partitionkey extension)

Attribute validation and the header mapping are delegated to the
``cloudevents`` SDK (``cloudevents.core``); only the payload codec is ours,
because the SDK's JSON format would hand back protobuf bytes as ``str`` whenever
they happen to be valid UTF-8.
"""

from __future__ import annotations

import builtins
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final, TypeVar

from cloudevents.core.base import BaseCloudEvent, EventFactory
from cloudevents.core.bindings import kafka as ce_kafka
from cloudevents.core.exceptions import BaseCloudEventException
from cloudevents.core.v1.event import CloudEvent
from google.protobuf.message import DecodeError, Message

from guildhall_kit.bus.errors import MalformedEvent
from guildhall_kit.bus.tracing import TRACEPARENT, TRACESTATE, current_trace_headers

CONTENT_TYPE_PROTOBUF: Final = "application/protobuf"
SPECVERSION: Final = "1.0"

H_SPECVERSION: Final = "ce_specversion"
H_ID: Final = "ce_id"
H_TYPE: Final = "ce_type"
H_SOURCE: Final = "ce_source"
H_TIME: Final = "ce_time"
H_SUBJECT: Final = "ce_subject"
H_CONTENT_TYPE: Final = "content-type"

Headers = list[tuple[str, bytes]]
M = TypeVar("M", bound=Message)


_CROCKFORD: Final = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_event_id(at: datetime | None = None) -> str:
    """A ULID: 48 bits of milliseconds since the epoch, then 80 random bits, in Crockford base32.

    Ids sort by creation time (to the millisecond), which makes logs, outbox
    entries and dead letters easy to read in order; 80 random bits make
    collisions practically impossible.
    """
    millis = int((at or datetime.now(UTC)).timestamp() * 1000)
    value = (millis << 80) | int.from_bytes(os.urandom(10), "big")
    chars = []
    for _ in range(26):
        chars.append(_CROCKFORD[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def source_for(service: str) -> str:
    """The ``ce_source`` of events a Guildhall service publishes: ``guildhall/<service>``."""
    return f"guildhall/{service}"


@dataclass(frozen=True, slots=True)
class Event:
    """One event: CloudEvents attributes, the aggregate key and the protobuf payload.

    Constructing one validates it (CloudEvents v1.0 rules plus a non-empty key).

    Raises:
        MalformedEvent: naming the invalid attributes.
    """

    type: str
    """Full protobuf message name of :attr:`data`, e.g. ``guildhall.post.v1.PostCreated``."""
    source: str
    """URI-reference of the producer, see :func:`source_for`."""
    key: str
    """Aggregate id; the Kafka message key, so one aggregate's events stay in order."""
    data: bytes
    """The serialized protobuf message."""
    id: str = field(default_factory=new_event_id)
    """Unique per event; redeliveries and outbox re-publishes keep it."""
    time: datetime = field(default_factory=lambda: datetime.now(UTC))
    """When the fact happened (timezone-aware)."""
    subject: str | None = None
    traceparent: str | None = None
    """W3C trace context the event continues; captured at creation by :meth:`from_message`."""
    tracestate: str | None = None
    content_type: str = CONTENT_TYPE_PROTOBUF

    def __post_init__(self) -> None:
        if not self.key:
            raise MalformedEvent("event key (the aggregate id) must not be empty")
        if not isinstance(self.data, bytes):
            raise MalformedEvent("event data must be bytes")
        try:
            self._as_cloudevent()
        except BaseCloudEventException as exc:
            raise MalformedEvent(f"invalid CloudEvent attributes: {exc}") from None
        if self.time.utcoffset():
            # One spelling on the wire (…Z) whatever zone the producer used.
            object.__setattr__(self, "time", self.time.astimezone(UTC))

    @classmethod
    def from_message(
        cls,
        message: Message,
        *,
        source: str,
        key: str,
        subject: str | None = None,
        time: datetime | None = None,
        event_id: str | None = None,
    ) -> Event:
        """An event carrying ``message``, continuing the current trace.

        ``type`` is the message's full name; the current OpenTelemetry span (if
        any) is captured into :attr:`traceparent`, so an event written to the
        outbox now and published later still belongs to this request's trace.
        ``time`` defaults to now, in whole milliseconds; ``subject`` defaults
        to ``key`` (the contracts' convention: both are the aggregate id); the
        id is a new ULID unless ``event_id`` is given.

        Raises:
            MalformedEvent: when an attribute is invalid (e.g. empty key).
        """
        traceparent, tracestate = current_trace_headers()
        if time is None:
            # Whole milliseconds: what BSON stores, so an outbox round trip is lossless.
            now = datetime.now(UTC)
            time = now.replace(microsecond=now.microsecond // 1000 * 1000)
        return cls(
            type=message.DESCRIPTOR.full_name,
            source=source,
            key=key,
            data=message.SerializeToString(),
            id=event_id or new_event_id(time),
            time=time,
            subject=key if subject is None else subject,
            traceparent=traceparent,
            tracestate=tracestate,
        )

    def parse(self, message_cls: builtins.type[M]) -> M:
        """The payload as ``message_cls``.

        Raises:
            MalformedEvent: when :attr:`type` is not ``message_cls``'s full name
                or the bytes do not parse.
        """
        expected = message_cls.DESCRIPTOR.full_name
        if self.type != expected:
            raise MalformedEvent(f"event {self.id} is a {self.type}, not a {expected}")
        message = message_cls()
        try:
            message.ParseFromString(self.data)
        except DecodeError as exc:
            raise MalformedEvent(f"event {self.id}: payload does not parse: {exc}") from None
        return message

    def _as_cloudevent(self) -> CloudEvent:
        attributes: dict[str, Any] = {
            "specversion": SPECVERSION,
            "id": self.id,
            "type": self.type,
            "source": self.source,
            "time": self.time,
            "datacontenttype": self.content_type,
        }
        if self.subject is not None:
            attributes["subject"] = self.subject
        return CloudEvent(attributes, self.data)


class _RawBytes:
    """A CloudEvents ``Format`` for binary mode whose payload is opaque bytes.

    Only the data half is used (binary mode); structured mode is not supported
    on our topics, so ``read``/``write`` refuse.
    """

    def read(self, event_factory: EventFactory | None, data: str | bytes) -> BaseCloudEvent:
        raise MalformedEvent("structured-mode CloudEvents are not accepted; use binary mode")

    def write(self, event: BaseCloudEvent) -> bytes:
        raise NotImplementedError("the bus writes binary-mode CloudEvents only")

    def write_data(
        self, data: dict[str, Any] | str | bytes | None, datacontenttype: str | None
    ) -> bytes:
        if not isinstance(data, bytes):
            raise MalformedEvent("event data must be bytes")
        return data

    def read_data(self, body: bytes, datacontenttype: str | None) -> bytes:
        return bytes(body)

    def get_content_type(self) -> str:
        return CONTENT_TYPE_PROTOBUF


_FORMAT: Final = _RawBytes()


@dataclass(frozen=True, slots=True)
class KafkaRecord:
    """What goes on the wire for one event: key, value and headers."""

    key: bytes
    value: bytes
    headers: Headers


def to_kafka(
    event: Event, *, traceparent: str | None = None, tracestate: str | None = None
) -> KafkaRecord:
    """The binary-mode Kafka record for ``event``.

    ``traceparent``/``tracestate`` override the event's own (the producer passes
    its publish span here); with neither, the event's captured context is sent.
    Pure: no I/O.
    """
    message = ce_kafka.to_binary(event._as_cloudevent(), _FORMAT, key_mapper=lambda _: event.key)
    headers: Headers = list(message.headers.items())
    parent = traceparent or event.traceparent
    state = tracestate if traceparent else event.tracestate
    if parent:
        headers.append((TRACEPARENT, parent.encode("ascii")))
        if state:
            headers.append((TRACESTATE, state.encode("ascii")))
    return KafkaRecord(key=event.key.encode("utf-8"), value=message.value, headers=headers)


def _last_values(headers: Iterable[tuple[str, bytes | None]]) -> dict[str, bytes]:
    # When a header repeats, the last one wins: an aiokafka instrumentation, if a
    # process enables it, appends its own traceparent after ours (same trace).
    values: dict[str, bytes] = {}
    for name, value in headers:
        if value is not None:
            values[name.lower()] = value
    return values


def from_kafka(
    key: bytes | None, value: bytes | None, headers: Sequence[tuple[str, bytes | None]]
) -> Event:
    """The event a binary-mode Kafka record carries. Pure: no I/O.

    Raises:
        MalformedEvent: when a required CloudEvents header is missing or invalid,
            the content type is not protobuf, or the key is missing.
    """
    values = _last_values(headers)
    missing = [h for h in (H_SPECVERSION, H_ID, H_TYPE, H_SOURCE, H_TIME) if h not in values]
    if missing:
        raise MalformedEvent(f"not a binary-mode CloudEvent: missing headers {missing}")
    if values[H_SPECVERSION] != SPECVERSION.encode():
        raise MalformedEvent(f"unsupported ce_specversion {values[H_SPECVERSION]!r}")
    content_type = values.get(H_CONTENT_TYPE, b"").decode("utf-8", "replace")
    if content_type != CONTENT_TYPE_PROTOBUF:
        raise MalformedEvent(f"content-type {content_type!r} is not {CONTENT_TYPE_PROTOBUF}")
    if not key:
        raise MalformedEvent("message has no key (the aggregate id)")
    ce_headers = {name: val for name, val in values.items() if name.startswith("ce_")}
    ce_headers[H_CONTENT_TYPE] = values[H_CONTENT_TYPE]
    try:
        parsed = ce_kafka.from_binary(
            ce_kafka.KafkaMessage(headers=ce_headers, key=key, value=value or b""),
            _FORMAT,
            CloudEvent,
        )
        time = parsed.get_time()
        data = parsed.get_data()
        traceparent = values.get(TRACEPARENT)
        tracestate = values.get(TRACESTATE)
        if time is None or not isinstance(data, bytes):
            raise MalformedEvent("ce_time or the payload is missing")
        return Event(
            id=parsed.get_id(),
            type=parsed.get_type(),
            source=parsed.get_source(),
            subject=parsed.get_subject(),
            time=time,
            key=key.decode("utf-8"),
            data=data,
            content_type=content_type,
            traceparent=traceparent.decode("ascii") if traceparent else None,
            tracestate=tracestate.decode("ascii") if tracestate else None,
        )
    except (BaseCloudEventException, ValueError, UnicodeDecodeError) as exc:
        raise MalformedEvent(f"invalid CloudEvent headers: {exc}") from None
