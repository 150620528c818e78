"""Mapping between the domain's values and protobuf messages (the profile contract, and the
post events the service consumes). Pure."""

from __future__ import annotations

from datetime import UTC, datetime

from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp

from guildhall.post.v1 import events_pb2 as post_events
from guildhall.profile.v1 import events_pb2, profile_pb2
from guildhall_kit.bus import Event
from guildhall_kit.outbox import Outbox
from guildhall_profile.domain import events
from guildhall_profile.domain.expertise import AcceptedAnswer, ExpertMatch
from guildhall_profile.domain.model import Org, OrgKind, OrgState, Person, PersonKind

ORG_KINDS: dict[OrgKind, profile_pb2.OrgKind.ValueType] = {
    OrgKind.HOME: profile_pb2.ORG_KIND_HOME,
    OrgKind.VENDOR: profile_pb2.ORG_KIND_VENDOR,
    OrgKind.SUPPLIER: profile_pb2.ORG_KIND_SUPPLIER,
    OrgKind.CUSTOMER: profile_pb2.ORG_KIND_CUSTOMER,
}
ORG_KINDS_BY_PROTO = {v: k for k, v in ORG_KINDS.items()}
ORG_STATES: dict[OrgState, profile_pb2.OrgState.ValueType] = {
    OrgState.ACTIVE: profile_pb2.ORG_STATE_ACTIVE,
    OrgState.SUSPENDED: profile_pb2.ORG_STATE_SUSPENDED,
}
ORG_STATES_BY_PROTO = {v: k for k, v in ORG_STATES.items()}
PERSON_KINDS: dict[PersonKind, profile_pb2.PersonKind.ValueType] = {
    PersonKind.EMPLOYEE: profile_pb2.PERSON_KIND_EMPLOYEE,
    PersonKind.PARTNER_USER: profile_pb2.PERSON_KIND_PARTNER_USER,
}


def timestamp(value: datetime) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(value)
    return stamp


def org_message(org: Org) -> profile_pb2.Org:
    return profile_pb2.Org(
        org_id=org.org_id,
        kind=ORG_KINDS[org.kind],
        display_name=org.display_name,
        state=ORG_STATES[org.state],
        created_at=timestamp(org.created_at),
        updated_at=timestamp(org.updated_at),
        version=org.version,
    )


def card_message(person: Person, org_name: str) -> profile_pb2.PersonCard:
    """The display card: what anyone who may see the person at all sees."""
    return profile_pb2.PersonCard(
        person_id=person.person_id,
        display_name=person.display_name,
        title=person.title,
        org_id=person.org_id,
        org_display_name=org_name,
        kind=PERSON_KINDS[person.kind],
    )


def person_message(person: Person, org_name: str) -> profile_pb2.Person:
    """The full profile (employees and the person themself only)."""
    return profile_pb2.Person(
        person_id=person.person_id,
        kind=PERSON_KINDS[person.kind],
        org_id=person.org_id,
        display_name=person.display_name,
        email=person.email,
        title=person.title,
        department=person.department,
        location=person.location,
        manager_id=person.manager_id,
        bio=person.bio,
        languages=list(person.languages),
        declared_expertise=list(person.declared),
        earned_expertise=[
            profile_pb2.EarnedExpertise(
                tag=e.tag,
                accepted_answers=e.accepted_answers,
                last_earned_at=timestamp(e.last_earned_at),
            )
            for e in person.earned_strongest_first()
        ],
        card=card_message(person, org_name),
        created_at=timestamp(person.created_at),
        updated_at=timestamp(person.updated_at),
        version=person.version,
    )


def expert_message(match: ExpertMatch, person: Person, org_name: str) -> profile_pb2.Expert:
    return profile_pb2.Expert(
        card=card_message(person, org_name),
        signals=[
            profile_pb2.ExpertTagSignal(
                tag=s.tag, accepted_answers=s.accepted_answers, declared=s.declared
            )
            for s in match.signals
        ],
        earned_score=match.earned_score,
        declared_matches=match.declared_matches,
    )


def event_message(event: events.Event, org_name: str) -> Message:
    """The protobuf payload of a domain event. ``org_name``: the display name of the
    organisation of the person the event is about (for the card inside Person)."""
    message: Message
    match event:
        case events.OrgRegistered():
            message = events_pb2.OrgRegistered(org=org_message(event.org), actor_id=event.actor_id)
        case events.OrgSuspended():
            message = events_pb2.OrgSuspended(
                org_id=event.org.org_id,
                actor_id=event.actor_id,
                reason=event.reason,
                suspended_at=timestamp(event.org.updated_at),
                version=event.org.version,
            )
        case events.OrgReinstated():
            message = events_pb2.OrgReinstated(
                org_id=event.org.org_id,
                actor_id=event.actor_id,
                reinstated_at=timestamp(event.org.updated_at),
                version=event.org.version,
            )
        case events.PersonJoined():
            message = events_pb2.PersonJoined(
                person=person_message(event.person, org_name), actor_id=event.actor_id
            )
        case events.ProfileUpdated():
            message = events_pb2.ProfileUpdated(
                person=person_message(event.person, org_name),
                changed_fields=list(event.changed_fields),
                actor_id=event.actor_id,
            )
        case events.ExpertiseDeclared():
            message = events_pb2.ExpertiseDeclared(
                person_id=event.person_id,
                tags=list(event.tags),
                added=list(event.added),
                removed=list(event.removed),
                declared_at=timestamp(event.declared_at),
            )
        case events.ExpertiseEarned():
            message = events_pb2.ExpertiseEarned(
                person_id=event.person_id,
                tags=list(event.tags),
                answer_id=event.answer_id,
                question_id=event.question_id,
                space_id=event.space_id,
                source_event_id=event.source_event_id,
                earned_at=timestamp(event.earned_at),
            )
    return message


def outbox_event(outbox: Outbox, event: events.Event, org_name: str) -> Event:
    """The outbox event of a domain event, keyed by the org or person it is about."""
    return outbox.event(event_message(event, org_name), key=event.aggregate_id)


def accepted_answer(message: post_events.AnswerAccepted) -> AcceptedAnswer:
    """The domain's view of the post service's AnswerAccepted."""
    return AcceptedAnswer(
        answer_id=message.answer_id,
        question_id=message.question_id,
        space_id=message.space_id,
        author_id=message.answer_author_id,
        accepted_by=message.accepted_by,
        question_tags=tuple(message.question_tags),
        previous_answer_id=message.previous_answer_id,
        accepted_at=(
            message.accepted_at.ToDatetime(tzinfo=UTC) if message.HasField("accepted_at") else None
        ),
    )
