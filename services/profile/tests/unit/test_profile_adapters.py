"""The pure parts of the adapters: event mapping against the registry, queries against
indexes, and the orders the index keys give."""

from __future__ import annotations

from datetime import UTC, datetime

from guildhall.profile.v1 import events_pb2
from guildhall_kit.bus import load_registry
from guildhall_profile.adapters.convert import event_message
from guildhall_profile.adapters.repository import (
    EXPERTS,
    PEOPLE,
    QUERY_SHAPES,
    expert_row_document,
    indexes,
    person_document,
)
from guildhall_profile.domain import events
from guildhall_profile.domain.expertise import ExpertRow
from guildhall_profile.domain.model import Org, OrgKind, OrgState, Person, PersonKind, list_key

T0 = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
ORG = Org("acme", OrgKind.VENDOR, "Acme", OrgState.ACTIVE, T0, T0)
PERSON = Person("ann", PersonKind.EMPLOYEE, "home", "Ann", "ann@x.example", T0, T0)


def every_event() -> list[events.Event]:
    return [
        events.OrgRegistered(org=ORG, actor_id="root"),
        events.OrgSuspended(org=ORG, actor_id="root", reason="r"),
        events.OrgReinstated(org=ORG, actor_id="root"),
        events.PersonJoined(person=PERSON, actor_id="root"),
        events.ProfileUpdated(person=PERSON, changed_fields=("bio",), actor_id="ann"),
        events.ExpertiseDeclared(
            person_id="ann", tags=("go",), added=("go",), removed=(), declared_at=T0
        ),
        events.ExpertiseEarned(
            person_id="ann",
            tags=("go",),
            answer_id="a",
            question_id="q",
            space_id="s",
            source_event_id="e",
            earned_at=T0,
        ),
    ]


def test_every_domain_event_maps_to_its_message_and_the_topic_declares_them_all() -> None:
    declared = set(load_registry().get("guildhall.profile.v1").event_types)
    mapped = set()
    for event in every_event():
        message = event_message(event, "Home")
        assert message.DESCRIPTOR.name == type(event).__name__
        mapped.add(message.DESCRIPTOR.full_name)
    assert mapped == declared
    assert mapped == {m.full_name for m in events_pb2.DESCRIPTOR.message_types_by_name.values()}


def test_events_carry_the_full_state_and_the_card() -> None:
    joined = event_message(events.PersonJoined(person=PERSON, actor_id="root"), "Home")
    assert isinstance(joined, events_pb2.PersonJoined)
    assert joined.person.card.org_display_name == "Home"
    assert joined.person.email == "ann@x.example"


def test_every_query_shape_is_served_by_an_index() -> None:
    by_collection: dict[str, list[list[str]]] = {}
    for spec in indexes():
        by_collection.setdefault(spec.collection, []).append([k for k, _ in spec.keys])
    for collection, equality, ranged in QUERY_SHAPES:
        wanted = len(equality) + (1 if ranged else 0)
        served = [
            keys
            for keys in by_collection.get(collection, [])
            if set(keys[: len(equality)]) == set(equality)
            and (ranged is None or keys[len(equality)] == ranged)
            and len(keys) >= wanted
        ]
        assert served, f"no index serves {collection} {equality} {ranged}"


def test_every_index_serves_a_query_shape_or_is_a_unique_rule() -> None:
    # An index no query uses is paid on every write for nothing.
    for spec in indexes():
        keys = [k for k, _ in spec.keys]
        used = any(
            collection == spec.collection
            and set(keys[: len(equality)]) == set(equality)
            and (ranged is None or keys[len(equality)] == ranged)
            for collection, equality, ranged in QUERY_SHAPES
        )
        assert used or spec.unique, f"index {spec.name} serves no query"


def test_the_listings_query_the_fields_the_documents_carry() -> None:
    # Each shape's fields exist, with string values, in the documents written (a field
    # renamed in one place and not the other would list nobody).
    row = expert_row_document(ExpertRow("python", "ann", 2, True), version=3)
    docs = {PEOPLE: person_document(PERSON), EXPERTS: row}
    for collection, equality, ranged in QUERY_SHAPES:
        if collection in docs:
            for name in (*equality, *([ranged] if ranged else [])):
                assert isinstance(docs[collection][name], str), (collection, name)
    assert row["_id"] == "python/ann"
    assert row["key"] == ExpertRow("python", "ann", 2, True).key


def test_list_keys_order_by_name_then_id() -> None:
    keys = [
        list_key("bea", "s4"),
        list_key("bea c", "s1"),
        list_key("ab", "z"),
        list_key("bea", "s3"),
    ]
    assert sorted(keys) == [
        list_key("ab", "z"),
        list_key("bea", "s3"),
        list_key("bea", "s4"),
        list_key("bea c", "s1"),
    ]
