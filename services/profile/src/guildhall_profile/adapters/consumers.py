"""Event handlers: what the profile service keeps from the topics it reads.

``guildhall.post.v1`` (group ``profile-post``):

- AnswerAccepted: the answer's author earns expertise on the question's tags
  (and the author of the answer it replaced loses that credit);
- PostCreated, AnswerPosted, CommentAdded, WikiRevised: the author took part
  in the space (the participation read model for partner visibility).

``guildhall.community.v1`` (group ``profile-community``):

- CommunityCreated, MemberJoined, RoleChanged, MemberLeft: who hosts each
  community (owners and moderators), for partner visibility.

``guildhall.profile.v1``, the service's own topic (group ``profile-directory``):

- ExpertiseDeclared, ExpertiseEarned, and ProfileUpdated naming
  ``earned_expertise``: the person's expert directory rows are brought to
  their stored state. Each person write already writes its rows; this makes
  the directory follow every expertise change even when a process died
  between the two writes, because the event was stored with the person.

Handlers are idempotent: the kit skips event ids the group already finished,
and each effect is one idempotent write (a keyed upsert, an ``apply_once``
person update, or rows converged to the stored person), so a redelivery
changes nothing. Ordering: one person's membership events may arrive out of
order (the community contract says so); each carries ``membership_version``
and the highest one wins. Event types a handler does not use are
acknowledged and ignored.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Final

from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp

from guildhall.community.v1 import community_pb2
from guildhall.community.v1 import events_pb2 as community_events
from guildhall.post.v1 import events_pb2 as post_events
from guildhall.profile.v1 import events_pb2 as profile_events
from guildhall_kit.bus import Event
from guildhall_profile.adapters.convert import accepted_answer
from guildhall_profile.application.directory import Directory
from guildhall_profile.application.participants import Participants

POST_TOPIC: Final = "guildhall.post.v1"
COMMUNITY_TOPIC: Final = "guildhall.community.v1"
PROFILE_TOPIC: Final = "guildhall.profile.v1"
POST_GROUP: Final = "profile-post"
COMMUNITY_GROUP: Final = "profile-community"
DIRECTORY_GROUP: Final = "profile-directory"

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

    def __init__(self, directory: Directory, participants: Participants) -> None:
        self._directory = directory
        self._participants = participants

    async def __call__(self, event: Event) -> None:
        kind = event.type
        record = self._participants.record_author
        if kind == _full_name(post_events.AnswerAccepted):
            answer = accepted_answer(event.parse(post_events.AnswerAccepted))
            await self._directory.answer_accepted(event.id, answer)
        elif kind == _full_name(post_events.PostCreated):
            post = event.parse(post_events.PostCreated).post
            await record(post.space_id, post.author_id, _time(post.created_at, event))
        elif kind == _full_name(post_events.AnswerPosted):
            posted = event.parse(post_events.AnswerPosted)
            await record(posted.space_id, posted.author_id, _time(posted.posted_at, event))
        elif kind == _full_name(post_events.CommentAdded):
            comment = event.parse(post_events.CommentAdded)
            await record(comment.space_id, comment.author_id, _time(comment.created_at, event))
        elif kind == _full_name(post_events.WikiRevised):
            revision = event.parse(post_events.WikiRevised)
            await record(revision.space_id, revision.author_id, _time(revision.revised_at, event))


class CommunityEvents:
    """Handler of the community topic."""

    def __init__(self, participants: Participants) -> None:
        self._participants = participants

    async def __call__(self, event: Event) -> None:
        kind = event.type
        set_host = self._participants.set_host
        if kind == _full_name(community_events.CommunityCreated):
            created = event.parse(community_events.CommunityCreated)
            # The creator's membership starts at version 1.
            await set_host(created.community.community_id, created.owner_id, "owner", 1)
        elif kind == _full_name(community_events.MemberJoined):
            joined = event.parse(community_events.MemberJoined)
            await set_host(
                joined.community_id,
                joined.person_id,
                _HOST_ROLES.get(joined.role),
                joined.membership_version,
            )
        elif kind == _full_name(community_events.RoleChanged):
            changed = event.parse(community_events.RoleChanged)
            await set_host(
                changed.community_id,
                changed.person_id,
                _HOST_ROLES.get(changed.role),
                changed.membership_version,
            )
        elif kind == _full_name(community_events.MemberLeft):
            left = event.parse(community_events.MemberLeft)
            await set_host(left.community_id, left.person_id, None, left.membership_version)


class DirectoryEvents:
    """Handler of the service's own topic: the expert directory follows expertise changes."""

    def __init__(self, directory: Directory) -> None:
        self._directory = directory

    async def __call__(self, event: Event) -> None:
        if event.type == _full_name(profile_events.ExpertiseDeclared):
            person_id = event.parse(profile_events.ExpertiseDeclared).person_id
        elif event.type == _full_name(profile_events.ExpertiseEarned):
            person_id = event.parse(profile_events.ExpertiseEarned).person_id
        elif event.type == _full_name(profile_events.ProfileUpdated):
            updated = event.parse(profile_events.ProfileUpdated)
            if "earned_expertise" not in updated.changed_fields:
                return
            person_id = updated.person.person_id
        else:
            return
        if person_id:
            await self._directory.converge(person_id)
