"""CloudEvents binary-mode mapping between Event and Kafka records; no I/O."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from google.protobuf import struct_pb2, wrappers_pb2
from opentelemetry.sdk.trace import TracerProvider

from guildhall_kit.bus.errors import MalformedEvent
from guildhall_kit.bus.event import (
    CONTENT_TYPE_PROTOBUF,
    Event,
    from_kafka,
    new_event_id,
    source_for,
    to_kafka,
)

TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


def _event(**overrides: object) -> Event:
    fields: dict[str, object] = {
        "type": "google.protobuf.StringValue",
        "source": source_for("post"),
        "key": "post-1",
        "data": wrappers_pb2.StringValue(value="hello").SerializeToString(),
        "id": "5f0b6a52-8d5c-4c3e-9d7e-1e0e6b9f3c11",
        "time": datetime(2025, 1, 2, 3, 4, 5, 678901, tzinfo=UTC),
        "subject": "post/post-1",
        "traceparent": TRACEPARENT,
        "tracestate": "vendor=1",
    }
    fields.update(overrides)
    return Event(**fields)  # type: ignore[arg-type]


def test_headers_carry_every_cloudevents_attribute() -> None:
    record = to_kafka(_event())
    headers = dict(record.headers)
    assert headers == {
        "ce_specversion": b"1.0",
        "ce_id": b"5f0b6a52-8d5c-4c3e-9d7e-1e0e6b9f3c11",
        "ce_type": b"google.protobuf.StringValue",
        "ce_source": b"guildhall/post",
        "ce_time": b"2025-01-02T03:04:05.678901Z",
        "ce_subject": b"post/post-1",
        "content-type": b"application/protobuf",
        "traceparent": TRACEPARENT.encode(),
        "tracestate": b"vendor=1",
    }
    assert record.key == b"post-1"
    assert wrappers_pb2.StringValue.FromString(record.value).value == "hello"


def test_round_trip_preserves_the_event() -> None:
    event = _event()
    record = to_kafka(event)
    assert from_kafka(record.key, record.value, record.headers) == event


def test_bytes_that_are_valid_utf8_stay_bytes() -> None:
    # The SDK's JSON format would turn these into str; our payload codec must not.
    event = _event(data=b"plain ascii")
    record = to_kafka(event)
    back = from_kafka(record.key, record.value, record.headers)
    assert back.data == b"plain ascii"
    assert isinstance(back.data, bytes)


def test_optional_attributes_are_omitted_when_unset() -> None:
    record = to_kafka(_event(subject=None, traceparent=None, tracestate=None))
    names = [name for name, _ in record.headers]
    assert "ce_subject" not in names
    assert "traceparent" not in names
    assert "tracestate" not in names
    back = from_kafka(record.key, record.value, record.headers)
    assert back.subject is None
    assert back.traceparent is None


def test_explicit_trace_context_overrides_the_captured_one() -> None:
    other = "00-11111111111111111111111111111111-2222222222222222-01"
    headers = dict(to_kafka(_event(), traceparent=other).headers)
    assert headers["traceparent"] == other.encode()
    assert "tracestate" not in headers


def test_a_repeated_traceparent_header_takes_the_last_value() -> None:
    record = to_kafka(_event())
    inner = "00-0af7651916cd43dd8448eb211c80319c-00f067aa0ba902b7-01"
    back = from_kafka(record.key, record.value, [*record.headers, ("traceparent", inner.encode())])
    assert back.traceparent == inner


def test_from_message_uses_the_full_name_and_captures_the_current_span() -> None:
    provider = TracerProvider()
    tracer = provider.get_tracer("test")
    message = struct_pb2.Struct()
    message.update({"a": 1})
    with tracer.start_as_current_span("request") as span:
        event = Event.from_message(message, source="guildhall/test", key="k")
    ctx = span.get_span_context()
    assert event.type == "google.protobuf.Struct"
    assert event.traceparent == f"00-{ctx.trace_id:032x}-{ctx.span_id:016x}-{ctx.trace_flags:02x}"
    assert event.parse(struct_pb2.Struct)["a"] == 1
    assert event.content_type == CONTENT_TYPE_PROTOBUF


def test_from_message_outside_a_span_has_no_trace_context() -> None:
    event = Event.from_message(wrappers_pb2.StringValue(value="x"), source="s", key="k")
    assert event.traceparent is None


def test_from_message_defaults_subject_to_the_key_and_time_to_whole_milliseconds() -> None:
    event = Event.from_message(wrappers_pb2.StringValue(value="x"), source="s", key="post-9")
    assert event.subject == "post-9"
    assert event.time.microsecond % 1000 == 0
    assert event.id[:10] == new_event_id(event.time)[:10]  # the ULID carries the event time


def test_event_ids_are_ulids_that_sort_by_time() -> None:
    earlier = new_event_id(datetime(2025, 1, 1, tzinfo=UTC))
    later = new_event_id(datetime(2025, 1, 1, 0, 0, 0, 1000, tzinfo=UTC))
    assert len(earlier) == 26
    assert set(earlier) <= set("0123456789ABCDEFGHJKMNPQRSTVWXYZ")
    assert earlier < later
    assert new_event_id() != new_event_id()
    millis = 0
    for char in earlier[:10]:
        millis = millis * 32 + "0123456789ABCDEFGHJKMNPQRSTVWXYZ".index(char)
    assert millis == int(datetime(2025, 1, 1, tzinfo=UTC).timestamp() * 1000)


def test_parse_refuses_another_type() -> None:
    with pytest.raises(MalformedEvent, match=r"not a google\.protobuf\.Struct"):
        _event().parse(struct_pb2.Struct)


def test_parse_refuses_bytes_that_do_not_parse() -> None:
    with pytest.raises(MalformedEvent, match="does not parse"):
        _event(data=b"\xff\xff\xff").parse(wrappers_pb2.StringValue)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"key": ""}, "key"),
        ({"id": ""}, "id"),
        ({"source": ""}, "source"),
        ({"type": ""}, "type"),
        ({"subject": ""}, "subject"),
        ({"time": datetime(2025, 1, 1)}, "time"),
    ],
)
def test_invalid_attributes_are_refused(overrides: dict[str, object], message: str) -> None:
    with pytest.raises(MalformedEvent, match=message):
        _event(**overrides)


def test_time_in_another_zone_is_kept_as_the_same_instant() -> None:
    plus_two = timezone(timedelta(hours=2))
    event = _event(time=datetime(2025, 1, 2, 5, 4, 5, tzinfo=plus_two))
    record = to_kafka(event)
    back = from_kafka(record.key, record.value, record.headers)
    assert back.time == datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)


@pytest.mark.parametrize("dropped", ["ce_id", "ce_type", "ce_source", "ce_time", "ce_specversion"])
def test_records_missing_a_required_header_are_malformed(dropped: str) -> None:
    record = to_kafka(_event())
    headers = [(k, v) for k, v in record.headers if k != dropped]
    with pytest.raises(MalformedEvent, match=dropped):
        from_kafka(record.key, record.value, headers)


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("content-type", b"application/json", "content-type"),
        ("ce_specversion", b"0.3", "specversion"),
        ("ce_time", b"yesterday", "invalid CloudEvent"),
    ],
)
def test_records_with_wrong_header_values_are_malformed(
    name: str, value: bytes, message: str
) -> None:
    record = to_kafka(_event())
    headers = [(k, v) for k, v in record.headers if k != name] + [(name, value)]
    with pytest.raises(MalformedEvent, match=message):
        from_kafka(record.key, record.value, headers)


def test_records_without_key_are_malformed() -> None:
    record = to_kafka(_event())
    with pytest.raises(MalformedEvent, match="no key"):
        from_kafka(None, record.value, record.headers)
