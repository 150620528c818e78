"""Kafka event handlers -> application (idempotent by event id).

Four consumer groups:

- ``notification.post``       post topic: content read model, notifications, webhooks, routing
- ``notification.community``  community topic: spaces, memberships, pinholes, their notices
- ``notification.profile``    profile topic: people and the expert directory
- ``notification.inbox``      the service's own topic: NotificationsRouted -> inboxes

A type the topic does not declare, or a payload that does not parse, raises
MalformedEvent, which the kit's consumer dead-letters at once (the consumer
moves on). Declared types this service has no use for are acknowledged and
ignored.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Final

from guildhall.community.v1 import community_pb2 as cpb
from guildhall.community.v1 import events_pb2 as cev
from guildhall.notification.v1 import events_pb2 as nev
from guildhall.post.v1 import events_pb2 as pev
from guildhall.profile.v1 import events_pb2 as prev
from guildhall_kit.bus import Event, MalformedEvent, Registry
from guildhall_notification.adapters import convert
from guildhall_notification.application.content import Content
from guildhall_notification.application.inbox import InboxWriter
from guildhall_notification.application.membership import Memberships
from guildhall_notification.application.people import People
from guildhall_notification.domain.model import Role, Visibility

POST_TOPIC: Final = "guildhall.post.v1"
COMMUNITY_TOPIC: Final = "guildhall.community.v1"
PROFILE_TOPIC: Final = "guildhall.profile.v1"
OWN_TOPIC: Final = "guildhall.notification.v1"

Handler = Callable[[Event], Awaitable[None]]


def _dispatch(topic: str, registry: Registry, table: Mapping[str, Handler]) -> Handler:
    declared = set(registry.get(topic).event_types)

    async def handle(event: Event) -> None:
        if event.type not in declared:
            raise MalformedEvent(f"{event.type} is not an event type of {topic}")
        handler = table.get(event.type)
        if handler is not None:
            await handler(event)

    return handle


def _name(message: type) -> str:
    return str(message.DESCRIPTOR.full_name)  # type: ignore[attr-defined]


def post_handler(content: Content, registry: Registry) -> Handler:
    async def created(event: Event) -> None:
        post = event.parse(pev.PostCreated).post
        if not post.post_id or not post.space_id or not post.author_id:
            raise MalformedEvent(f"event {event.id}: PostCreated without ids")
        await content.item_created(
            event.id,
            convert.item(post),
            body=post.body,
            mentioned=list(post.mentioned_person_ids),
            at=event.time,
        )

    async def edited(event: Event) -> None:
        m = event.parse(pev.PostEdited)
        await content.item_changed(
            event.id,
            post_id=m.post_id,
            space_id=m.space_id,
            editor_id=m.editor_id,
            title=m.title,
            body=m.body,
            tags=list(m.tags),
            revision=m.revision,
            wiki=False,
            at=event.time,
        )

    async def revised(event: Event) -> None:
        m = event.parse(pev.WikiRevised)
        await content.item_changed(
            event.id,
            post_id=m.page_id,
            space_id=m.space_id,
            editor_id=m.author_id,
            title=m.title,
            body=m.body,
            tags=list(m.tags),
            revision=m.revision,
            wiki=True,
            at=event.time,
        )

    async def deleted(event: Event) -> None:
        m = event.parse(pev.PostDeleted)
        await content.item_deleted(
            event.id, post_id=m.post_id, space_id=m.space_id, actor_id=m.actor_id, at=event.time
        )

    async def commented(event: Event) -> None:
        m = event.parse(pev.CommentAdded)
        await content.comment_added(
            event.id,
            comment_id=m.comment_id,
            post_id=m.post_id,
            space_id=m.space_id,
            parent_comment_id=m.parent_comment_id,
            author_id=m.author_id,
            body=m.body,
            at=event.time,
        )

    async def answered(event: Event) -> None:
        m = event.parse(pev.AnswerPosted)
        await content.answer_posted(
            event.id,
            answer_id=m.answer_id,
            question_id=m.question_id,
            space_id=m.space_id,
            author_id=m.author_id,
            body=m.body,
            at=event.time,
        )

    async def accepted(event: Event) -> None:
        m = event.parse(pev.AnswerAccepted)
        await content.answer_accepted(
            event.id,
            answer_id=m.answer_id,
            question_id=m.question_id,
            space_id=m.space_id,
            answer_author_id=m.answer_author_id,
            accepted_by=m.accepted_by,
            at=event.time,
        )

    async def idea_status(event: Event) -> None:
        m = event.parse(pev.IdeaStatusChanged)
        await content.idea_status_changed(
            event.id,
            idea_id=m.idea_id,
            space_id=m.space_id,
            status=convert.IDEA_STATUS.get(m.status, "new"),
            actor_id=m.actor_id,
            note=m.note,
            at=event.time,
        )

    async def mentioned(event: Event) -> None:
        m = event.parse(pev.Mentioned)
        await content.mentioned(
            event.id,
            person_id=m.person_id,
            author_id=m.author_id,
            post_id=m.post_id,
            comment_id=m.comment_id,
            space_id=m.space_id,
            at=event.time,
        )

    return _dispatch(
        POST_TOPIC,
        registry,
        {
            _name(pev.PostCreated): created,
            _name(pev.PostEdited): edited,
            _name(pev.WikiRevised): revised,
            _name(pev.PostDeleted): deleted,
            _name(pev.CommentAdded): commented,
            _name(pev.AnswerPosted): answered,
            _name(pev.AnswerAccepted): accepted,
            _name(pev.IdeaStatusChanged): idea_status,
            _name(pev.Mentioned): mentioned,
        },
    )


_HOW: Final = {
    cev.JOIN_PATH_JOINED: "joined",
    cev.JOIN_PATH_REQUEST_APPROVED: "approved",
    cev.JOIN_PATH_INVITED: "invited",
}


def community_handler(memberships: Memberships, registry: Registry) -> Handler:
    async def community(event: Event, message: cpb.Community, owner_id: str = "") -> None:
        await memberships.community(
            community_id=message.community_id,
            name=message.name,
            visibility=convert.VISIBILITY.get(message.visibility, Visibility.SECRET),
            archived=message.state == cpb.COMMUNITY_STATE_ARCHIVED,
            version=message.version,
            owner_id=owner_id,
        )

    async def created(event: Event) -> None:
        m = event.parse(cev.CommunityCreated)
        await community(event, m.community, m.owner_id)

    async def updated(event: Event) -> None:
        await community(event, event.parse(cev.CommunityUpdated).community)

    async def joined(event: Event) -> None:
        m = event.parse(cev.MemberJoined)
        await memberships.member_changed(
            event.id,
            community_id=m.community_id,
            person_id=m.person_id,
            role=convert.ROLE.get(m.role, Role.MEMBER),
            version=m.membership_version,
            actor_id=m.actor_id,
            how=_HOW.get(m.path, "joined"),
        )

    async def left(event: Event) -> None:
        m = event.parse(cev.MemberLeft)
        await memberships.member_changed(
            event.id,
            community_id=m.community_id,
            person_id=m.person_id,
            role=None,
            version=m.membership_version,
            actor_id=m.actor_id,
            how="removed" if m.reason == cev.LEAVE_REASON_REMOVED else "left",
        )

    async def role(event: Event) -> None:
        m = event.parse(cev.RoleChanged)
        await memberships.member_changed(
            event.id,
            community_id=m.community_id,
            person_id=m.person_id,
            role=convert.ROLE.get(m.role, Role.MEMBER),
            version=m.membership_version,
            actor_id=m.actor_id,
            how="role",
        )

    async def requested(event: Event) -> None:
        m = event.parse(cev.JoinRequested)
        await memberships.join_requested(
            event.id,
            community_id=m.community_id,
            person_id=m.person_id,
            version=m.membership_version,
        )

    async def rejected(event: Event) -> None:
        m = event.parse(cev.JoinRequestRejected)
        await memberships.join_rejected(
            event.id,
            community_id=m.community_id,
            person_id=m.person_id,
            version=m.membership_version,
            actor_id=m.actor_id,
        )

    async def proposed(event: Event) -> None:
        p = event.parse(cev.PinholeProposed).pinhole
        await memberships.pinhole_proposed(
            pinhole_id=p.pinhole_id,
            community_id=p.community_id,
            title=p.title,
            grants={g.org_id: convert.GRANT.get(g.level, "viewer") for g in p.grants},
            version=p.version,
        )

    async def opened(event: Event) -> None:
        m = event.parse(cev.PinholeOpened)
        await memberships.pinhole_opened(
            event.id,
            pinhole_id=m.pinhole_id,
            community_id=m.community_id,
            grants={g.org_id: convert.GRANT.get(g.level, "viewer") for g in m.grants},
            version=m.version,
            at=event.time,
        )

    async def granted(event: Event) -> None:
        m = event.parse(cev.PinholeGranted)
        await memberships.pinhole_granted(
            event.id,
            pinhole_id=m.pinhole_id,
            community_id=m.community_id,
            org_id=m.org_id,
            level=convert.GRANT.get(m.level, "viewer"),
            version=m.version,
            at=event.time,
        )

    async def revoked(event: Event) -> None:
        m = event.parse(cev.PinholeRevoked)
        await memberships.pinhole_revoked(
            event.id,
            pinhole_id=m.pinhole_id,
            community_id=m.community_id,
            org_id=m.org_id,
            version=m.version,
            at=event.time,
        )

    async def closed(event: Event) -> None:
        m = event.parse(cev.PinholeClosed)
        await memberships.pinhole_closed(
            event.id,
            pinhole_id=m.pinhole_id,
            community_id=m.community_id,
            version=m.version,
            at=event.time,
        )

    return _dispatch(
        COMMUNITY_TOPIC,
        registry,
        {
            _name(cev.CommunityCreated): created,
            _name(cev.CommunityUpdated): updated,
            _name(cev.MemberJoined): joined,
            _name(cev.MemberLeft): left,
            _name(cev.RoleChanged): role,
            _name(cev.JoinRequested): requested,
            _name(cev.JoinRequestRejected): rejected,
            _name(cev.PinholeProposed): proposed,
            _name(cev.PinholeOpened): opened,
            _name(cev.PinholeGranted): granted,
            _name(cev.PinholeRevoked): revoked,
            _name(cev.PinholeClosed): closed,
        },
    )


def profile_handler(people: People, registry: Registry) -> Handler:
    async def person(event: Event, message: object) -> None:
        p = message.person  # type: ignore[attr-defined]
        if not p.person_id:
            raise MalformedEvent(f"event {event.id}: a person without an id")
        await people.person(
            event.id,
            convert.person(p),
            version=p.version,
            declared=list(p.declared_expertise),
            earned={e.tag: e.accepted_answers for e in p.earned_expertise},
        )

    async def joined(event: Event) -> None:
        await person(event, event.parse(prev.PersonJoined))

    async def updated(event: Event) -> None:
        await person(event, event.parse(prev.ProfileUpdated))

    async def declared(event: Event) -> None:
        m = event.parse(prev.ExpertiseDeclared)
        await people.declared(event.id, m.person_id, list(m.tags))

    async def earned(event: Event) -> None:
        m = event.parse(prev.ExpertiseEarned)
        await people.earned(event.id, m.person_id, list(m.tags))

    return _dispatch(
        PROFILE_TOPIC,
        registry,
        {
            _name(prev.PersonJoined): joined,
            _name(prev.ProfileUpdated): updated,
            _name(prev.ExpertiseDeclared): declared,
            _name(prev.ExpertiseEarned): earned,
        },
    )


def inbox_handler(writer: InboxWriter, registry: Registry) -> Handler:
    async def routed(event: Event) -> None:
        message = event.parse(nev.NotificationsRouted)
        try:
            value = convert.routed(message, event.time)
        except KeyError as exc:
            raise MalformedEvent(f"event {event.id}: unknown kind or reason {exc}") from None
        try:
            await writer.write(value)
        except ValueError as exc:
            raise MalformedEvent(f"event {event.id}: {exc}") from None

    return _dispatch(OWN_TOPIC, registry, {_name(nev.NotificationsRouted): routed})
