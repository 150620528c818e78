"""The Search use case: the caller's readable spaces go into the query, and every hit is
re-checked against the stored post, so the index's lag never shows a deleted or
forbidden item (docs/adr/0008-search-engine.md)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from guildhall_kit import paging
from guildhall_kit.errors import InvalidArgument
from guildhall_post.application.access import Caller, space_not_found
from guildhall_post.application.common import Deps, Page
from guildhall_post.domain.posts import Post, PostType
from guildhall_post.search import MAX_OFFSET, ItemKind, SearchIndex

SEARCH: Final = "search"
KIND_OF: Final = {
    PostType.DISCUSSION: ItemKind.DISCUSSION,
    PostType.ANNOUNCEMENT: ItemKind.ANNOUNCEMENT,
    PostType.QUESTION: ItemKind.QUESTION,
    PostType.IDEA: ItemKind.IDEA,
    PostType.WIKI_PAGE: ItemKind.WIKI,
}
POST_KINDS: Final = frozenset(KIND_OF.values())


@dataclass(frozen=True, slots=True)
class SearchQuery:
    """What the caller asked for (every filter optional)."""

    text: str
    space_id: str = ""
    post_type: PostType | None = None
    tag: str = ""
    unanswered: bool = False
    author_id: str = ""
    created_after: datetime | None = None
    created_before: datetime | None = None


@dataclass(frozen=True, slots=True)
class Hit:
    post: Post
    score: float


class SearchUseCase:
    """Search."""

    def __init__(self, deps: Deps, index: SearchIndex) -> None:
        self._d = deps
        self._index = index

    async def search(
        self, caller: Caller, query: SearchQuery, *, page_size: int, page_token: str
    ) -> Page[Hit]:
        d = self._d
        readable = frozenset(await d.access.searchable_spaces(caller))
        if query.space_id and query.space_id not in readable:
            raise space_not_found()
        scope = [
            caller.person_id,
            query.text,
            query.space_id,
            query.post_type or "",
            query.tag,
            str(query.unanswered),
            query.author_id,
            query.created_after.isoformat() if query.created_after else "",
            query.created_before.isoformat() if query.created_before else "",
        ]
        key = paging.decode_token(page_token, SEARCH, [int], scope=scope)
        offset = paging.key_int(key, 0) if key else 0
        if offset > MAX_OFFSET:
            raise InvalidArgument(
                "page_token", "results this deep are not served; refine the query"
            )
        size = paging.page_size(page_size)
        kinds: frozenset[ItemKind] | None = None
        if query.post_type is not None:
            kinds = frozenset({KIND_OF[query.post_type]})
        if query.unanswered:
            kinds = (
                frozenset({ItemKind.QUESTION})
                if kinds in (None, {ItemKind.QUESTION})
                else frozenset()
            )
        page = await asyncio.to_thread(
            self._index.search,
            query.text,
            readable_spaces=readable,
            space=query.space_id or None,
            kinds=kinds,
            tags=[query.tag] if query.tag else None,
            author_id=query.author_id or None,
            unanswered_only=query.unanswered,
            created_from=query.created_after,
            created_to=query.created_before,
            limit=size,
            offset=offset,
            snippets=False,
        )
        # An answer or comment hit shows the item it belongs to, once, at its best rank.
        order: list[tuple[str, float]] = []
        seen: set[str] = set()
        for hit in page.hits:
            post_id = hit.item_id if hit.kind in POST_KINDS else (hit.parent_id or "")
            if post_id and post_id not in seen:
                seen.add(post_id)
                order.append((post_id, hit.score))
        posts = await d.content.posts([p for p, _ in order])
        live = [
            Hit(posts[p], score)
            for p, score in order
            if p in posts and _still_matches(posts[p], query, readable)
        ]
        token = ""
        if offset + size < page.total:
            token = paging.encode_token(SEARCH, [offset + size], scope=scope)
        shaping = await d.access.shaping_posts(caller, [h.post for h in live])
        return Page(live, token, shaping)


def _still_matches(post: Post, query: SearchQuery, readable: frozenset[str]) -> bool:
    """Whether the stored post still passes what the index matched on (it lags)."""
    return (
        post.published
        and post.space_id in readable
        and (query.post_type is None or post.type is query.post_type)
        and (
            not query.unanswered or (post.type is PostType.QUESTION and not post.accepted_answer_id)
        )
    )
