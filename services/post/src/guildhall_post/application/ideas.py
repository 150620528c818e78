"""Use cases of ideas: votes and the status workflow."""

from __future__ import annotations

from guildhall_kit.errors import Aborted, FailedPrecondition
from guildhall_post.application.access import Caller
from guildhall_post.application.common import OPTIMISTIC_ATTEMPTS, Deps, Shaped
from guildhall_post.domain.access import Action
from guildhall_post.domain.content import item_not_found, require_published
from guildhall_post.domain.ideas import IdeaStatus, idea_transition
from guildhall_post.domain.posts import Post, PostType


class IdeaUseCases:
    """VoteIdea, ChangeIdeaStatus."""

    def __init__(self, deps: Deps) -> None:
        self._d = deps

    async def vote(
        self, caller: Caller, idea_id: str, *, withdraw: bool
    ) -> tuple[Shaped[Post], bool]:
        """The idea after the caller's vote (or its withdrawal), and whether they now vote.

        Raises:
            Aborted: the votes kept changing concurrently.
        """
        d = self._d
        idea, _ = await d.access.access_post(caller, idea_id, Action.COMMENT)
        if idea.type is not PostType.IDEA:
            raise FailedPrecondition("only ideas take votes")
        require_published(idea.state, "idea")
        me = caller.person_id
        for _ in range(OPTIMISTIC_ATTEMPTS):
            current = await d.content.post(idea_id)
            if current is None:
                raise item_not_found()
            voted = (await d.content.own_marks(idea_id, me)).voted
            if voted != withdraw:
                # Already as asked: nothing to write, nothing to publish.
                return await self._shaped(caller, current), voted
            count = current.vote_count - 1 if withdraw else current.vote_count + 1
            event = d.events.idea_voted(current, me, withdraw, count, d.clock())
            after = await d.content.vote_idea(
                idea_id, me, withdraw=withdraw, count=current.vote_count, event=event
            )
            if after is not None:
                return await self._shaped(caller, after), not withdraw
        raise Aborted("the idea's votes changed concurrently; retry")

    async def change_status(
        self, caller: Caller, idea_id: str, target: IdeaStatus, note: str
    ) -> Shaped[Post]:
        d = self._d
        idea, _ = await d.access.access_post(caller, idea_id, Action.MODERATE)
        if idea.type is not PostType.IDEA or idea.idea_status is None:
            raise FailedPrecondition("only ideas have a status")
        require_published(idea.state, "idea")
        current = idea.idea_status
        if not idea_transition(current, target):
            return await self._shaped(caller, idea)
        at = d.clock()
        event = d.events.idea_status_changed(
            idea, previous=current, status=target, actor_id=caller.person_id, note=note, at=at
        )
        after = await d.content.change_idea_status(idea_id, current, target, at, event)
        if after is None:
            raise Aborted("the idea's status changed concurrently; re-read it and retry")
        return await self._shaped(caller, after)

    async def _shaped(self, caller: Caller, post: Post) -> Shaped[Post]:
        return Shaped(post, await self._d.access.shaping_posts(caller, [post]))
