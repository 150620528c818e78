"""Building outbox writes: state and events in one document write; no I/O."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from bson import Binary
from google.protobuf import struct_pb2, wrappers_pb2

from guildhall_kit.bus.errors import MalformedEvent
from guildhall_kit.bus.event import Event
from guildhall_kit.bus.registry import Registry, TopicSpec, UndeclaredEventType, UnknownTopic
from guildhall_kit.outbox import (
    OUTBOX_FIELD,
    OUTBOX_PENDING_FIELD,
    OUTBOX_SINCE_FIELD,
    PENDING,
    Outbox,
    entry,
    outbox_indexes,
    parse_entry,
)

REGISTRY = Registry(
    [
        TopicSpec(
            name="test.outbox.v1",
            owner="test",
            event_types=("google.protobuf.StringValue",),
            partitions=1,
            retention_ms=3_600_000,
        )
    ]
)
T1 = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)
T2 = datetime(2025, 1, 1, 12, 5, tzinfo=UTC)


@pytest.fixture
def outbox() -> Outbox:
    return Outbox(REGISTRY, topic="test.outbox.v1", source="guildhall/test")


def _event(outbox: Outbox, text: str, time: datetime = T1) -> Event:
    return outbox.event(wrappers_pb2.StringValue(value=text), key="agg-1", time=time)


def test_update_appends_events_next_to_the_state_change(outbox: Outbox) -> None:
    first, second = _event(outbox, "a", T2), _event(outbox, "b", T1)
    update = outbox.update({"$set": {"title": "x"}, "$inc": {"rev": 1}}, first, second)
    assert update["$set"] == {"title": "x", OUTBOX_PENDING_FIELD: PENDING}
    assert update["$inc"] == {"rev": 1}
    pushed = update["$push"][OUTBOX_FIELD]["$each"]
    assert [e["id"] for e in pushed] == [first.id, second.id]  # write order, not time order
    assert update["$min"] == {OUTBOX_SINCE_FIELD: T1}


def test_update_keeps_the_callers_own_push_and_min(outbox: Outbox) -> None:
    update = outbox.update({"$push": {"tags": "t"}, "$min": {"low": 3}}, _event(outbox, "a"))
    assert update["$push"]["tags"] == "t"
    assert OUTBOX_FIELD in update["$push"]
    assert update["$min"] == {"low": 3, OUTBOX_SINCE_FIELD: T1}


@pytest.mark.parametrize(
    "bad",
    [
        {"title": "replacement documents cannot carry an outbox"},
        {"$set": {OUTBOX_FIELD: []}},
        {"$unset": {OUTBOX_SINCE_FIELD: ""}},
        {"$set": {OUTBOX_PENDING_FIELD: "0"}},
        {"$pull": {f"{OUTBOX_FIELD}.id": "x"}},
    ],
)
def test_update_refuses_replacements_and_outbox_tampering(
    outbox: Outbox, bad: dict[str, object]
) -> None:
    with pytest.raises(ValueError, match=r"operator update|outbox owns it"):
        outbox.update(bad, _event(outbox, "a"))


def test_update_needs_at_least_one_event(outbox: Outbox) -> None:
    with pytest.raises(ValueError, match="no events"):
        outbox.update({"$set": {"a": 1}})


def test_insert_fields_hold_the_events_and_the_pending_marker(outbox: Outbox) -> None:
    event = _event(outbox, "a")
    fields = outbox.fields(event)
    assert fields[OUTBOX_SINCE_FIELD] == T1
    assert fields[OUTBOX_PENDING_FIELD] == PENDING
    (stored,) = fields[OUTBOX_FIELD]
    assert stored["topic"] == "test.outbox.v1"
    assert isinstance(stored["data"], Binary)


def test_types_not_declared_for_the_topic_are_refused_before_any_write(outbox: Outbox) -> None:
    with pytest.raises(UndeclaredEventType):
        outbox.event(struct_pb2.Struct(), key="agg-1")
    foreign = Event.from_message(struct_pb2.Struct(), source="/x", key="agg-1")
    with pytest.raises(UndeclaredEventType):
        outbox.fields(foreign)
    with pytest.raises(UnknownTopic):
        Outbox(REGISTRY, topic="nope.v1", source="/x")


def test_entries_round_trip(outbox: Outbox) -> None:
    event = Event(
        type="google.protobuf.StringValue",
        source="guildhall/test",
        key="agg-1",
        data=b"\x0a\x01a",
        time=T1,
        subject="thing/1",
        traceparent="00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        tracestate="v=1",
    )
    pending = parse_entry(entry("test.outbox.v1", event))
    assert pending.topic == "test.outbox.v1"
    assert pending.event == event


def test_entries_read_back_without_tz_are_utc(outbox: Outbox) -> None:
    raw = entry("test.outbox.v1", _event(outbox, "a"))
    raw["time"] = datetime(2025, 1, 1, 12, 0)
    assert parse_entry(raw).event.time == T1


def test_broken_entries_are_malformed(outbox: Outbox) -> None:
    raw = entry("test.outbox.v1", _event(outbox, "a"))
    del raw["key"]
    with pytest.raises(MalformedEvent):
        parse_entry(raw)


def test_the_relay_index_is_on_the_pending_marker() -> None:
    (spec,) = outbox_indexes("posts")
    assert spec.collection == "posts"
    # Equality on a string marker first (every server answers it from the index),
    # then the publishing order.
    assert list(spec.keys) == [(OUTBOX_PENDING_FIELD, 1), (OUTBOX_SINCE_FIELD, 1)]
