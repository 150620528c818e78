"""Use cases of the feeds: one space's, and the home feed across a person's spaces.

Both are the same keyset query (docs/adr/0006-feeds-fan-out.md): published posts of the
spaces, newest first (``_id`` descending: ULIDs sort by creation), strictly below the
page token's id, ``page size + 1`` read to know whether more follow. A post written
while someone pages is either newer than the reader's position (seen on the next
refresh) or lands behind it (seen on a later page): no duplicates, no gaps.
"""

from __future__ import annotations

from typing import Final

from guildhall_kit import paging
from guildhall_post.application.access import Caller
from guildhall_post.application.common import Deps, Page, keyset
from guildhall_post.domain.access import Action
from guildhall_post.domain.posts import Post, PostType

SPACE_FEED: Final = "space_feed"
HOME_FEED: Final = "home_feed"


class FeedUseCases:
    """ListSpaceFeed, ListHomeFeed."""

    def __init__(self, deps: Deps) -> None:
        self._d = deps

    async def space(
        self,
        caller: Caller,
        space_id: str,
        *,
        post_type: PostType | None,
        tag: str,
        pinned_only: bool,
        page_size: int,
        page_token: str,
    ) -> Page[Post]:
        d = self._d
        await d.access.access_space(caller, space_id, Action.READ)
        scope = [space_id, post_type or "", tag, str(pinned_only)]
        key = paging.decode_token(page_token, SPACE_FEED, [str], scope=scope)
        size = paging.page_size(page_size)
        posts = await d.content.feed(
            [space_id],
            before=paging.key_str(key, 0) if key else None,
            limit=size + 1,
            post_type=post_type,
            tag=tag,
            pinned_only=pinned_only,
        )
        posts, token = keyset(posts, size, SPACE_FEED, lambda p: [p.post_id], scope)
        return Page(posts, token, await d.access.shaping_posts(caller, posts))

    async def home(
        self, caller: Caller, *, post_type: PostType | None, page_size: int, page_token: str
    ) -> Page[Post]:
        d = self._d
        scope = [caller.person_id, post_type or ""]
        key = paging.decode_token(page_token, HOME_FEED, [str], scope=scope)
        # Asked again for every page: a partner whose grant was revoked loses it at once.
        spaces = await d.access.home_spaces(caller, d.home_feed_max_spaces)
        if not spaces:
            return Page([])
        size = paging.page_size(page_size)
        posts = await d.content.feed(
            spaces,
            before=paging.key_str(key, 0) if key else None,
            limit=size + 1,
            post_type=post_type,
        )
        posts, token = keyset(posts, size, HOME_FEED, lambda p: [p.post_id], scope)
        return Page(posts, token, await d.access.shaping_posts(caller, posts))
