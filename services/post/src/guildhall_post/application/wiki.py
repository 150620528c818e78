"""Use cases of revision history (every item) and of wiki pages (edit, restore)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Final

from guildhall_kit import paging
from guildhall_kit.errors import FailedPrecondition, NotFound
from guildhall_post.application.access import Caller
from guildhall_post.application.common import Deps, Page, Shaped, mention_events
from guildhall_post.domain.access import Action
from guildhall_post.domain.content import (
    added_mentions,
    normalise_tags,
    require_edit,
    require_published,
)
from guildhall_post.domain.links import Shaping
from guildhall_post.domain.posts import Post
from guildhall_post.domain.revisions import Diff, Revision, diff, require_base, require_revision

REVISIONS: Final = "revisions"


@dataclass(frozen=True, slots=True)
class Comparison:
    """Two revisions and their difference, as one reader may see them."""

    older: Revision
    newer: Revision
    diff: Diff
    shaping: Shaping


class WikiUseCases:
    """ListRevisions, GetRevision, DiffRevisions, EditWikiPage, RestoreWikiRevision."""

    def __init__(self, deps: Deps) -> None:
        self._d = deps

    # ------------------------------------------------------------------ history

    async def revisions(
        self, caller: Caller, item_id: str, *, page_size: int, page_token: str
    ) -> Page[Revision]:
        """The item's revisions, newest first, without bodies."""
        d = self._d
        item = await d.access.access_history(caller, item_id)
        scope = [item_id]
        key = paging.decode_token(page_token, REVISIONS, [int], scope=scope)
        size = paging.page_size(page_size)
        revs = await d.content.revisions(
            item.current_revision(),
            before=paging.key_int(key, 0) if key else None,
            limit=size + 1,
            bodies=False,
        )
        token = ""
        if len(revs) > size:
            revs = revs[:size]
            token = paging.encode_token(REVISIONS, [revs[-1].revision], scope=scope)
        return Page(revs, token)

    async def revision(self, caller: Caller, item_id: str, number: int) -> Shaped[Revision]:
        d = self._d
        item = await d.access.access_history(caller, item_id)
        current = item.current_revision()
        require_revision(number, current.revision)
        rev = await d.content.revision(current, number)
        if rev is None:
            raise NotFound("revision", str(number))
        return Shaped(rev, await d.access.shaping(caller, [rev.body]))

    async def compare(self, caller: Caller, item_id: str, older: int, newer: int) -> Comparison:
        d = self._d
        item = await d.access.access_history(caller, item_id)
        current = item.current_revision()
        require_revision(older, current.revision)
        require_revision(newer, current.revision)
        old = await d.content.revision(current, older)
        new = await d.content.revision(current, newer)
        if old is None or new is None:
            raise NotFound("revision", str(older if old is None else newer))
        shaping = await d.access.shaping(caller, [old.body, new.body])
        # Compare what the caller may see: unreadable links are shaped on both sides.
        result = diff(
            replace(old, body=shaping.text(old.body)), replace(new, body=shaping.text(new.body))
        )
        return Comparison(old, new, result, shaping)

    # ------------------------------------------------------------------ wiki pages

    async def edit(
        self,
        caller: Caller,
        page_id: str,
        *,
        base_revision: int,
        title: str,
        body: str,
        tags: Sequence[str],
        mentions: Sequence[str],
        summary: str,
    ) -> Shaped[Post]:
        """The page at its next revision; nothing is written when nothing changes.

        Raises:
            Aborted: ``base_revision`` is not current (someone else edited first).
        """
        page = await self._editable(caller, page_id)
        require_base(page.revision, base_revision)
        new_tags, new_mentions = normalise_tags(tags), tuple(mentions)
        if page.same_content(title, body, new_tags, new_mentions):
            return await self._shaped(caller, page)
        return await self._write(
            caller,
            page,
            title=title,
            body=body,
            tags=new_tags,
            mentions=new_mentions,
            summary=summary,
            restored_from=0,
        )

    async def restore(
        self, caller: Caller, page_id: str, *, base_revision: int, revision: int, summary: str
    ) -> Shaped[Post]:
        """The page at its next revision, holding the content of ``revision``."""
        d = self._d
        page = await self._editable(caller, page_id)
        require_base(page.revision, base_revision)
        require_revision(revision, page.revision)
        old = await d.content.revision(page.current_revision(), revision)
        if old is None:
            raise NotFound("revision", str(revision))
        return await self._write(
            caller,
            page,
            title=old.title,
            body=old.body,
            tags=old.tags,
            mentions=page.mentions,
            summary=summary or f"restored revision {revision}",
            restored_from=revision,
        )

    async def _editable(self, caller: Caller, page_id: str) -> Post:
        page, view = await self._d.access.access_post(caller, page_id, Action.READ, Action.POST)
        if not page.is_wiki:
            raise FailedPrecondition("not a wiki page")
        require_edit(caller.person_id, page.author_id, view, own_action=Action.POST, wiki=True)
        require_published(page.state, "page")
        return page

    async def _write(
        self,
        caller: Caller,
        page: Post,
        *,
        title: str,
        body: str,
        tags: tuple[str, ...],
        mentions: tuple[str, ...],
        summary: str,
        restored_from: int,
    ) -> Shaped[Post]:
        d = self._d
        at = d.clock()
        after = page.revised(
            title=title,
            body=body,
            tags=tags,
            mentions=mentions,
            editor_id=caller.person_id,
            at=at,
            summary=summary,
            restored_from=restored_from,
        )
        events = [d.events.wiki_revised(after)]
        events += await mention_events(
            d,
            added_mentions(page.mentions, after.mentions),
            author_id=caller.person_id,
            post_id=page.post_id,
            space_id=page.space_id,
            at=at,
        )
        await d.content.revise(page, after, events)
        return await self._shaped(caller, after)

    async def _shaped(self, caller: Caller, post: Post) -> Shaped[Post]:
        return Shaped(post, await self._d.access.shaping_posts(caller, [post]))
