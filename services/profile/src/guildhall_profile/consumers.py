"""Event handlers: what the profile service keeps from other services' topics.

``guildhall.post.v1`` (group ``profile-post``):

- AnswerAccepted: the answer's author earns expertise on the question's tags
  (and the author of the answer it replaced loses that credit);
- PostCreated, AnswerPosted, CommentAdded, WikiRevised: the author took part
  in the space (the participation read model for partner visibility).

``guildhall.community.v1`` (group ``profile-community``):

- CommunityCreated, MemberJoined, RoleChanged, MemberLeft: who hosts each
  community (owners and moderators), for partner visibility.

Handlers are idempotent: the kit skips event ids the group already finished,
and each effect is one idempotent write (a keyed upsert, or an ``apply_once``
person update), so a redelivery changes nothing. Ordering: one person's
membership events may arrive out of order (the community contract says so);
each carries ``membership_version`` and the highest one wins.
Event types a handler does not use are acknowledged and ignored.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Final

from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp

from guildhall.community.v1 import community_pb2
from guildhall.community.v1 import events_pb2 as community_events
from guildhall.post.v1 import events_pb2 as post_events
from guildhall_kit.bus import Event
from guildhall_profile.application import Profiles

POST_TOPIC: Final = "guildhall.post.v1"
COMMUNITY_TOPIC: Final = "guildhall.community.v1"
POST_GROUP: Final = "profile-post"
COMMUNITY_GROUP: Final = "profile-community"

_HOST_ROLES: Final = {
    community_pb2.ROLE_OWNER: "owner",
    community_pb2.ROLE_MODERATOR: "moderator",
}


def _full_name(message: type[Message]) -> str:
    return str(message.DESCRIPTOR.full_name)


def _time(stamp: Timestamp, event: Event) -> datetime:
    return stamp.ToDatetime(tzinfo=UTC) if stamp.seconds or stamp.nanos else event.time


class PostEvents:
    """Handler of the post topic."""

    def __init__(self, profiles: Profiles) -> None:
        self._profiles = profiles

    @property
    def profiles(self) -> Profiles:
        """The use cases it drives (tests replay events through them)."""
        return self._profiles

    async def __call__(self, event: Event) -> None:
        kind = event.type
        if kind == _full_name(post_events.AnswerAccepted):
            await self._profiles.answer_accepted(event.id, event.parse(post_events.AnswerAccepted))
        elif kind == _full_name(post_events.PostCreated):
            post = event.parse(post_events.PostCreated).post
            await self._profiles.record_author(
                post.space_id, post.author_id, _time(post.created_at, event)
            )
        elif kind == _full_name(post_events.AnswerPosted):
            answer = event.parse(post_events.AnswerPosted)
            await self._profiles.record_author(
                answer.space_id, answer.author_id, _time(answer.posted_at, event)
            )
        elif kind == _full_name(post_events.CommentAdded):
            comment = event.parse(post_events.CommentAdded)
            await self._profiles.record_author(
                comment.space_id, comment.author_id, _time(comment.created_at, event)
            )
        elif kind == _full_name(post_events.WikiRevised):
            revision = event.parse(post_events.WikiRevised)
            await self._profiles.record_author(
                revision.space_id, revision.author_id, _time(revision.revised_at, event)
            )


class CommunityEvents:
    """Handler of the community topic."""

    def __init__(self, profiles: Profiles) -> None:
        self._profiles = profiles

    @property
    def profiles(self) -> Profiles:
        """The use cases it drives (tests replay events through them)."""
        return self._profiles

    async def __call__(self, event: Event) -> None:
        kind = event.type
        if kind == _full_name(community_events.CommunityCreated):
            created = event.parse(community_events.CommunityCreated)
            # The creator's membership starts at version 1.
            await self._profiles.set_host(
                created.community.community_id, created.owner_id, "owner", 1
            )
        elif kind == _full_name(community_events.MemberJoined):
            joined = event.parse(community_events.MemberJoined)
            await self._profiles.set_host(
                joined.community_id,
                joined.person_id,
                _HOST_ROLES.get(joined.role),
                joined.membership_version,
            )
        elif kind == _full_name(community_events.RoleChanged):
            changed = event.parse(community_events.RoleChanged)
            await self._profiles.set_host(
                changed.community_id,
                changed.person_id,
                _HOST_ROLES.get(changed.role),
                changed.membership_version,
            )
        elif kind == _full_name(community_events.MemberLeft):
            left = event.parse(community_events.MemberLeft)
            await self._profiles.set_host(
                left.community_id, left.person_id, None, left.membership_version
            )
