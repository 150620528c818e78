"""Use cases of posts: create, read, edit, delete, pin."""

from __future__ import annotations

from collections.abc import Sequence

from guildhall_kit.errors import FailedPrecondition, InvalidArgument
from guildhall_post.application.access import Caller
from guildhall_post.application.common import Deps, Shaped, ViewerState, mention_events
from guildhall_post.domain.access import Action
from guildhall_post.domain.content import (
    added_mentions,
    is_moderator,
    item_not_found,
    may_edit,
    normalise_tags,
    require_edit,
    require_published,
)
from guildhall_post.domain.posts import Post, PostType, new_post, require_create
from guildhall_post.domain.revisions import require_base


class PostUseCases:
    """CreatePost, GetPost, EditPost, DeletePost, PinPost."""

    def __init__(self, deps: Deps) -> None:
        self._d = deps

    async def shaped(self, caller: Caller, post: Post) -> Shaped[Post]:
        return Shaped(post, await self._d.access.shaping_posts(caller, [post]))

    async def create(
        self,
        caller: Caller,
        *,
        space_id: str,
        post_type: PostType,
        title: str,
        body: str,
        tags: Sequence[str],
        mentions: Sequence[str],
        quoted_post_id: str,
        pinned: bool,
        summary: str,
    ) -> Shaped[Post]:
        d = self._d
        view = await d.access.access_space(caller, space_id, Action.POST)
        if post_type is PostType.ANNOUNCEMENT:
            view = await d.access.view(caller, space_id, Action.POST, Action.MODERATE)
        require_create(post_type, view, pinned=pinned)
        if quoted_post_id:
            shaping = await d.access.shaping(caller, [], [quoted_post_id])
            if quoted_post_id not in shaping.available:
                raise InvalidArgument("quoted_post_id", "no such item")
        at = d.clock()
        post = new_post(
            post_id=d.ids(at),
            space_id=space_id,
            post_type=post_type,
            title=title,
            body=body,
            tags=normalise_tags(tags),
            mentions=tuple(mentions),
            quoted_post_id=quoted_post_id,
            author_id=caller.person_id,
            pinned=pinned,
            summary=summary,
            at=at,
        )
        events = [d.events.post_created(post)]
        if post.is_wiki:
            events.append(d.events.wiki_revised(post))
        events += await mention_events(
            d,
            post.mentions,
            author_id=post.author_id,
            post_id=post.post_id,
            space_id=space_id,
            at=at,
        )
        await d.content.insert_post(post, events)
        return await self.shaped(caller, post)

    async def get(self, caller: Caller, post_id: str) -> tuple[Shaped[Post], ViewerState]:
        d = self._d
        post, view = await d.access.access_post(caller, post_id, Action.READ)
        if caller.is_partner and (post.is_wiki or post.author_id == caller.person_id):
            # Partners' views hold only what was asked; editing needs POST confirmed.
            view = await d.access.view(caller, post.space_id, Action.READ, Action.POST)
        marks = await d.content.own_marks(post_id, caller.person_id)
        viewer = ViewerState(
            voted=marks.voted,
            reactions=marks.reactions,
            can_edit=post.published
            and may_edit(
                caller.person_id, post.author_id, view, own_action=Action.POST, wiki=post.is_wiki
            ),
            can_moderate=is_moderator(view),
        )
        return await self.shaped(caller, post), viewer

    async def edit(
        self,
        caller: Caller,
        post_id: str,
        *,
        title: str,
        body: str,
        tags: Sequence[str],
        mentions: Sequence[str],
        summary: str,
        expected_revision: int | None,
    ) -> Shaped[Post]:
        d = self._d
        post, view = await d.access.access_post(caller, post_id, Action.READ, Action.POST)
        if post.is_wiki:
            raise FailedPrecondition("wiki pages are edited with EditWikiPage")
        require_edit(caller.person_id, post.author_id, view, own_action=Action.POST)
        require_published(post.state, "item")
        if expected_revision is not None:
            require_base(post.revision, expected_revision)
        new_tags, new_mentions = normalise_tags(tags), tuple(mentions)
        if post.same_content(title, body, new_tags, new_mentions):
            return await self.shaped(caller, post)
        at = d.clock()
        after = post.revised(
            title=title,
            body=body,
            tags=new_tags,
            mentions=new_mentions,
            editor_id=caller.person_id,
            at=at,
            summary=summary,
        )
        events = [d.events.post_edited(after)]
        events += await mention_events(
            d,
            added_mentions(post.mentions, after.mentions),
            author_id=caller.person_id,
            post_id=post_id,
            space_id=post.space_id,
            at=at,
        )
        await d.content.revise(post, after, events)
        return await self.shaped(caller, after)

    async def delete(self, caller: Caller, post_id: str) -> Shaped[Post]:
        d = self._d
        post, view = await d.access.access_post(caller, post_id, Action.READ, Action.POST)
        # Deleting a wiki page is not an edit: its author or a moderator only.
        require_edit(caller.person_id, post.author_id, view, own_action=Action.POST)
        if not post.published:
            return await self.shaped(caller, post)
        at = d.clock()
        event = d.events.post_deleted(post, caller.person_id, at)
        after = await d.content.delete(post, actor_id=caller.person_id, at=at, events=[event])
        if not isinstance(after, Post):  # deleted meanwhile by someone else: same outcome
            again = await d.content.post(post_id)
            if again is None:
                raise item_not_found()
            after = again
        return await self.shaped(caller, after)

    async def pin(self, caller: Caller, post_id: str, pinned: bool) -> Shaped[Post]:
        d = self._d
        post, _ = await d.access.access_post(caller, post_id, Action.MODERATE)
        if post.type is not PostType.ANNOUNCEMENT:
            raise FailedPrecondition("only announcements can be pinned")
        require_published(post.state, "item")
        after = await d.content.pin(post_id, pinned)
        if after is None:
            raise item_not_found()
        return await self.shaped(caller, after)
