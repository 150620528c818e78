"""The post service's operations: one method per RPC, access first, then the rules, then one write.

Every method takes the :class:`~.funnel.Caller` and the request, asks the
:class:`~.funnel.AccessFunnel` before it reads or writes any content, applies the
domain rules, stores the change with its events in one write, and returns the
contract's message shaped for the caller. Items the caller may not read are
NOT_FOUND exactly like missing ones.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any, Final

from guildhall.post.v1 import post_pb2 as pb
from guildhall_kit.errors import (
    Aborted,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    PermissionDenied,
)
from guildhall_post.adapters import convert
from guildhall_post.adapters.clock import new_id, now_ms
from guildhall_post.adapters.events import EventFactory
from guildhall_post.adapters.funnel import AccessFunnel, Caller
from guildhall_post.adapters.readmodel import ReadModel
from guildhall_post.adapters.store import (
    Kind,
    Store,
    answer_document,
    comment_document,
    post_document,
)
from guildhall_post.domain import cursor
from guildhall_post.domain.access import Action, PinholeState, View, check_item, employee_view
from guildhall_post.domain.content import (
    CommentParent,
    IdeaStatus,
    ItemState,
    PostType,
    ReactionKind,
    Vote,
    added_mentions,
    answer_not_found,
    comment_not_found,
    decide_accept,
    idea_transition,
    is_moderator,
    may_edit,
    may_see_deleted,
    may_see_history,
    normalise_tags,
    post_not_found,
    require_create,
    require_edit,
    require_published,
    thread_for_reply,
    vote_change,
)
from guildhall_post.domain.links import MAX_LINKS, linked_ids
from guildhall_post.domain.revisions import diff, require_base, require_revision

DEFAULT_PAGE: Final = 20
OPTIMISTIC_ATTEMPTS: Final = 10
"""Retries of a compare-and-set write (votes) before answering ABORTED."""
QUESTIONS_SCAN_BATCHES: Final = 5
"""Batches scanned per "questions for me" page before returning a short page."""


def _page_size(value: int) -> int:
    return value or DEFAULT_PAGE


def _keyset_page(
    docs: list[dict[str, Any]], size: int, scope: str
) -> tuple[list[dict[str, Any]], str]:
    """The first ``size`` of ``size + 1`` documents read, and the token after the last one
    kept ("" when nothing follows)."""
    if len(docs) <= size:
        return docs, ""
    kept = docs[:size]
    return kept, cursor.encode(scope, {"after": str(kept[-1]["_id"])})


class PostOperations:
    """The use cases behind the PostService RPCs."""

    def __init__(
        self,
        store: Store,
        funnel: AccessFunnel,
        read_model: ReadModel,
        events: EventFactory,
        *,
        home_feed_max_spaces: int = 2000,
    ) -> None:
        self._store = store
        self._funnel = funnel
        self._rm = read_model
        self._events = events
        self._home_max = home_feed_max_spaces

    # ------------------------------------------------------------------ helpers

    async def shaping(
        self, caller: Caller, texts: Iterable[str], extra: Iterable[str] = ()
    ) -> convert.Shaping:
        """Which of the items linked from ``texts`` (and ``extra`` ids) the caller may read."""
        ids = list(dict.fromkeys([*linked_ids(*texts), *extra]))[: MAX_LINKS * 4]
        if not ids:
            return convert.Shaping()
        targets = await self._store.get_many(Kind.POST, ids)
        live = {i: d for i, d in targets.items() if d.get("state") == ItemState.PUBLISHED.value}
        readable = await self._funnel.readable(caller, {str(d["space_id"]) for d in live.values()})
        return convert.Shaping(
            available={
                i: convert.LinkTarget(i, str(d["title"]), PostType(d["type"]), str(d["space_id"]))
                for i, d in live.items()
                if str(d["space_id"]) in readable
            }
        )

    async def shape_posts(self, caller: Caller, docs: Sequence[Mapping[str, Any]]) -> list[pb.Post]:
        shaping = await self.shaping(
            caller,
            [str(d["body"]) for d in docs],
            [str(d["quoted_post_id"]) for d in docs if d.get("quoted_post_id")],
        )
        return [convert.post(d, shaping) for d in docs]

    async def _load_post(
        self, caller: Caller, post_id: str, action: Action = Action.READ, *more: Action
    ) -> tuple[dict[str, Any], View]:
        """The post and the caller's view of its space, checked for ``action``.

        READ is checked first and a deleted post is NOT_FOUND unless the caller is its
        author or a moderator, so nothing about an item leaks to whoever may not see it.
        """
        nf = post_not_found(post_id)
        doc = await self._store.get(Kind.POST, post_id)
        if doc is None:
            raise nf
        view = await self._funnel.view(caller, str(doc["space_id"]), Action.READ, action, *more)
        check_item(view, Action.READ, nf)
        if doc["state"] == ItemState.DELETED.value and not may_see_deleted(
            caller.person_id, str(doc["author_id"]), view
        ):
            raise nf
        check_item(view, action, nf)
        return doc, view

    async def _load_answer(
        self, caller: Caller, answer_id: str, action: Action = Action.READ
    ) -> tuple[dict[str, Any], dict[str, Any], View]:
        """The answer, its question and the caller's view, checked like :meth:`_load_post`."""
        nf = answer_not_found(answer_id)
        answer = await self._store.get(Kind.ANSWER, answer_id)
        if answer is None:
            raise nf
        question = await self._store.get(Kind.POST, str(answer["question_id"]))
        if question is None:
            raise nf
        view = await self._funnel.view(caller, str(answer["space_id"]), Action.READ, action)
        check_item(view, Action.READ, nf)
        for doc in (question, answer):
            if doc["state"] == ItemState.DELETED.value and not may_see_deleted(
                caller.person_id, str(doc["author_id"]), view
            ):
                raise nf
        check_item(view, action, nf)
        return answer, question, view

    async def _load_comment(
        self, caller: Caller, comment_id: str, action: Action = Action.READ
    ) -> tuple[dict[str, Any], View]:
        nf = comment_not_found(comment_id)
        comment = await self._store.get(Kind.COMMENT, comment_id)
        if comment is None:
            raise nf
        post = await self._store.get(Kind.POST, str(comment["post_id"]))
        if post is None:
            raise nf
        view = await self._funnel.view(caller, str(comment["space_id"]), Action.READ, action)
        check_item(view, Action.READ, nf)
        for doc in (post, comment):
            if doc["state"] == ItemState.DELETED.value and not may_see_deleted(
                caller.person_id, str(doc["author_id"]), view
            ):
                raise nf
        check_item(view, action, nf)
        return comment, view

    async def _mentionable(self, space_id: str, author_id: str, people: Sequence[str]) -> list[str]:
        """The mentioned people who may read the space, in order (never the author).

        Decided from the read models: a person the profile events have not told us
        about, or a partner whose org has no open grant on the space, is not notified.
        """
        wanted = [p for p in people if p != author_id]
        if not wanted:
            return []
        space = await self._rm.space(space_id)
        if space is None:
            return []
        known = await self._rm.people(wanted)
        roles = await self._rm.roles_in(space.community.community_id, wanted)
        now = now_ms()
        out = []
        for person_id in wanted:
            person = known.get(person_id)
            if person is None:
                continue
            if person.partner:
                pinhole = space.pinhole
                if (
                    pinhole is not None
                    and pinhole.effective_state(space.community, now) is PinholeState.OPEN
                    and person.org_id in pinhole.grants
                ):
                    out.append(person_id)
                continue
            view = employee_view(is_admin=False, role=roles.get(person_id), space=space, now=now)
            if view.allows(Action.READ):
                out.append(person_id)
        return out

    async def _require_quotable(self, caller: Caller, quoted_post_id: str) -> None:
        if not quoted_post_id:
            return
        shaping = await self.shaping(caller, [], [quoted_post_id])
        if quoted_post_id not in shaping.available:
            raise InvalidArgument("quoted_post_id", "no such item")

    # ------------------------------------------------------------------ posts

    async def create_post(self, caller: Caller, req: pb.CreatePostRequest) -> pb.Post:
        post_type = convert.post_type_in(req.type)
        view = await self._funnel.access_space(caller, req.space_id, Action.POST)
        if post_type is PostType.ANNOUNCEMENT:
            view = await self._funnel.view(caller, req.space_id, Action.POST, Action.MODERATE)
        require_create(post_type, view, pinned=req.pinned)
        await self._require_quotable(caller, req.quoted_post_id)
        at = now_ms()
        post_id = new_id(at)
        doc = post_document(
            post_id=post_id,
            space_id=req.space_id,
            post_type=post_type,
            title=req.title,
            body=req.body,
            tags=normalise_tags(req.tags),
            mentions=list(req.mentioned_person_ids),
            quoted_post_id=req.quoted_post_id,
            author_id=caller.person_id,
            pinned=bool(req.pinned),
            summary=req.summary,
            at=at,
        )
        events = [self._events.post_created(doc)]
        if post_type is PostType.WIKI_PAGE:
            events.append(self._events.wiki_revised(doc, at))
        mentioned = await self._mentionable(req.space_id, caller.person_id, doc["mentions"])
        events.extend(
            self._events.mentioned(
                mentioned, author_id=caller.person_id, post_id=post_id, space_id=req.space_id, at=at
            )
        )
        await self._store.insert(Kind.POST, doc, events)
        return (await self.shape_posts(caller, [doc]))[0]

    async def get_post(self, caller: Caller, post_id: str) -> pb.GetPostResponse:
        doc, view = await self._load_post(caller, post_id, Action.READ)
        wiki = doc["type"] == PostType.WIKI_PAGE.value
        author = str(doc["author_id"])
        if caller.is_partner and (wiki or author == caller.person_id):
            # Partners' views hold only what was asked; editing needs POST confirmed.
            view = await self._funnel.view(caller, str(doc["space_id"]), Action.READ, Action.POST)
        arrays = await self._store.arrays(Kind.POST, post_id, ["voters", "reactors"])
        reactors = arrays.get("reactors") or {}
        viewer = pb.ViewerState(
            voted=caller.person_id in (arrays.get("voters") or ()),
            reactions=[
                convert.REACTION[k]
                for k in ReactionKind
                if caller.person_id in reactors.get(k.value, ())
            ],
            can_edit=doc["state"] == ItemState.PUBLISHED.value
            and may_edit(caller.person_id, author, view, own_action=Action.POST, wiki=wiki),
            can_moderate=is_moderator(view),
        )
        post = (await self.shape_posts(caller, [doc]))[0]
        return pb.GetPostResponse(post=post, viewer=viewer)

    async def list_space_feed(
        self, caller: Caller, req: pb.ListSpaceFeedRequest
    ) -> pb.ListSpaceFeedResponse:
        await self._funnel.access_space(caller, req.space_id, Action.READ)
        scope = f"space|{req.space_id}|{req.type}|{req.tag}|{req.pinned_only}"
        after = cursor.position_id(cursor.decode(req.page_token, scope))
        size = _page_size(req.page_size)
        docs = await self._store.feed(
            [req.space_id],
            before=after,
            limit=size + 1,
            post_type=convert.post_type_in(req.type).value if req.type else "",
            tag=str(req.tag),
            pinned_only=req.pinned_only,
        )
        docs, token = _keyset_page(docs, size, scope)
        return pb.ListSpaceFeedResponse(
            posts=await self.shape_posts(caller, docs), next_page_token=token
        )

    async def edit_post(self, caller: Caller, req: pb.EditPostRequest) -> pb.Post:
        doc, view = await self._load_post(caller, req.post_id, Action.READ, Action.POST)
        if doc["type"] == PostType.WIKI_PAGE.value:
            raise FailedPrecondition("wiki pages are edited with EditWikiPage")
        require_edit(caller.person_id, str(doc["author_id"]), view, own_action=Action.POST)
        require_published(ItemState(doc["state"]), "item")
        if req.HasField("expected_revision"):
            require_base(int(doc["revision"]), req.expected_revision)
        new = {
            "title": req.title,
            "body": req.body,
            "tags": normalise_tags(req.tags),
            "mentions": list(req.mentioned_person_ids),
        }
        if all(doc.get(k) == v for k, v in new.items()):
            return (await self.shape_posts(caller, [doc]))[0]
        at = now_ms()
        changes = {
            **new,
            "updated_at": at,
            "edited_by": caller.person_id,
            "revision_summary": req.summary,
        }
        preview = {**doc, **changes, "revision": int(doc["revision"]) + 1}
        events = [self._events.post_edited(preview, at)]
        fresh = await self._mentionable(
            str(doc["space_id"]),
            caller.person_id,
            added_mentions(doc.get("mentions") or (), new["mentions"]),
        )
        events.extend(
            self._events.mentioned(
                fresh,
                author_id=caller.person_id,
                post_id=req.post_id,
                space_id=str(doc["space_id"]),
                at=at,
            )
        )
        after = await self._store.revise(Kind.POST, doc, changes, events)
        return (await self.shape_posts(caller, [after]))[0]

    async def delete_post(self, caller: Caller, post_id: str) -> pb.Post:
        doc, view = await self._load_post(caller, post_id, Action.READ, Action.POST)
        # Deleting a wiki page is not an edit: its author or a moderator only.
        require_edit(caller.person_id, str(doc["author_id"]), view, own_action=Action.POST)
        if doc["state"] == ItemState.DELETED.value:
            return (await self.shape_posts(caller, [doc]))[0]
        at = now_ms()
        after = await self._store.update(
            Kind.POST,
            {"_id": post_id, "state": ItemState.PUBLISHED.value},
            {
                "$set": {
                    "state": ItemState.DELETED.value,
                    "deleted_by": caller.person_id,
                    "deleted_at": at,
                    "pinned": False,
                }
            },
            [self._events.post_deleted(doc, caller.person_id, at)],
        )
        if after is None:  # deleted meanwhile by someone else: same outcome
            after = await self._store.get(Kind.POST, post_id)
            assert after is not None
        return (await self.shape_posts(caller, [after]))[0]

    async def pin_post(self, caller: Caller, req: pb.PinPostRequest) -> pb.Post:
        doc, _ = await self._load_post(caller, req.post_id, Action.MODERATE)
        if doc["type"] != PostType.ANNOUNCEMENT.value:
            raise FailedPrecondition("only announcements can be pinned")
        require_published(ItemState(doc["state"]), "item")
        after = await self._store.update(
            Kind.POST, {"_id": req.post_id}, {"$set": {"pinned": bool(req.pinned)}}
        )
        if after is None:
            raise post_not_found(req.post_id)
        return (await self.shape_posts(caller, [after]))[0]

    # ------------------------------------------------------------------ history

    async def _history_item(self, caller: Caller, item_id: str) -> dict[str, Any]:
        """The item (post, answer or comment) whose history the caller may see.

        Raises:
            NotFound: missing, or not readable (the same error).
            PermissionDenied: readable, but its history is the author's and moderators'.
        """
        post = await self._store.get(Kind.POST, item_id)
        if post is not None:
            doc, view = await self._load_post(caller, item_id)
            wiki = doc["type"] == PostType.WIKI_PAGE.value
        elif await self._store.get(Kind.ANSWER, item_id) is not None:
            doc, _, view = await self._load_answer(caller, item_id)
            wiki = False
        elif await self._store.get(Kind.COMMENT, item_id) is not None:
            doc, view = await self._load_comment(caller, item_id)
            wiki = False
        else:
            raise NotFound("item", item_id)
        if not may_see_history(caller.person_id, str(doc["author_id"]), view, wiki=wiki):
            raise PermissionDenied("the history is visible to the author and moderators")
        return doc

    async def list_revisions(
        self, caller: Caller, req: pb.ListRevisionsRequest
    ) -> pb.ListRevisionsResponse:
        doc = await self._history_item(caller, req.item_id)
        scope = f"revisions|{req.item_id}"
        position = cursor.decode(req.page_token, scope)
        before = cursor.position_int(position, "before") or None
        size = _page_size(req.page_size)
        revs = await self._store.revisions(doc, before=before, limit=size + 1, bodies=False)
        token = ""
        if len(revs) > size:
            revs = revs[:size]
            token = cursor.encode(scope, {"before": revs[-1].revision})
        shaping = convert.Shaping()
        return pb.ListRevisionsResponse(
            revisions=[convert.revision(r, shaping, with_body=False) for r in revs],
            next_page_token=token,
        )

    async def get_revision(self, caller: Caller, req: pb.GetRevisionRequest) -> pb.Revision:
        doc = await self._history_item(caller, req.item_id)
        require_revision(req.revision, int(doc["revision"]), req.item_id)
        rev = await self._store.revision(doc, req.revision)
        if rev is None:
            raise NotFound("revision", f"{req.item_id}@{req.revision}")
        shaping = await self.shaping(caller, [rev.body])
        return convert.revision(rev, shaping, with_body=True)

    async def diff_revisions(
        self, caller: Caller, req: pb.DiffRevisionsRequest
    ) -> pb.DiffRevisionsResponse:
        doc = await self._history_item(caller, req.item_id)
        current = int(doc["revision"])
        require_revision(req.from_revision, current, req.item_id)
        require_revision(req.to_revision, current, req.item_id)
        older = await self._store.revision(doc, req.from_revision)
        newer = await self._store.revision(doc, req.to_revision)
        if older is None or newer is None:
            raise NotFound("revision", req.item_id)
        shaping = await self.shaping(caller, [older.body, newer.body])
        # Compare what the caller may see: unreadable links are shaped on both sides.
        result = diff(
            replace(older, body=shaping.text(older.body)),
            replace(newer, body=shaping.text(newer.body)),
        )
        return pb.DiffRevisionsResponse(
            older=convert.revision(older, shaping, with_body=False),
            newer=convert.revision(newer, shaping, with_body=False),
            lines=[pb.DiffLine(op=convert.DIFF_OP[op], text=text) for op, text in result.lines],
            unified_diff=result.unified,
            tags_added=result.tags_added,
            tags_removed=result.tags_removed,
        )

    # ------------------------------------------------------------------ wiki

    async def _load_wiki(self, caller: Caller, page_id: str) -> dict[str, Any]:
        doc, view = await self._load_post(caller, page_id, Action.READ, Action.POST)
        if doc["type"] != PostType.WIKI_PAGE.value:
            raise FailedPrecondition("not a wiki page")
        require_edit(
            caller.person_id, str(doc["author_id"]), view, own_action=Action.POST, wiki=True
        )
        require_published(ItemState(doc["state"]), "page")
        return doc

    async def _write_wiki(
        self,
        caller: Caller,
        doc: Mapping[str, Any],
        changes: dict[str, Any],
        mentions_before: Sequence[str],
    ) -> pb.Post:
        at = now_ms()
        changes = {**changes, "updated_at": at, "edited_by": caller.person_id}
        preview = {**doc, **changes, "revision": int(doc["revision"]) + 1}
        events = [self._events.wiki_revised(preview, at)]
        fresh = await self._mentionable(
            str(doc["space_id"]),
            caller.person_id,
            added_mentions(mentions_before, changes.get("mentions") or ()),
        )
        events.extend(
            self._events.mentioned(
                fresh,
                author_id=caller.person_id,
                post_id=str(doc["_id"]),
                space_id=str(doc["space_id"]),
                at=at,
            )
        )
        after = await self._store.revise(Kind.POST, doc, changes, events)
        return (await self.shape_posts(caller, [after]))[0]

    async def edit_wiki_page(self, caller: Caller, req: pb.EditWikiPageRequest) -> pb.Post:
        doc = await self._load_wiki(caller, req.page_id)
        require_base(int(doc["revision"]), req.base_revision)
        new = {
            "title": req.title,
            "body": req.body,
            "tags": normalise_tags(req.tags),
            "mentions": list(req.mentioned_person_ids),
        }
        if all(doc.get(k) == v for k, v in new.items()):
            return (await self.shape_posts(caller, [doc]))[0]
        changes = {**new, "revision_summary": req.summary, "restored_from": 0}
        return await self._write_wiki(caller, doc, changes, doc.get("mentions") or ())

    async def restore_wiki_revision(
        self, caller: Caller, req: pb.RestoreWikiRevisionRequest
    ) -> pb.Post:
        doc = await self._load_wiki(caller, req.page_id)
        require_base(int(doc["revision"]), req.base_revision)
        require_revision(req.revision, int(doc["revision"]), req.page_id)
        old = await self._store.revision(doc, req.revision)
        if old is None:
            raise NotFound("revision", f"{req.page_id}@{req.revision}")
        changes = {
            "title": old.title,
            "body": old.body,
            "tags": list(old.tags),
            "revision_summary": req.summary or f"restored revision {req.revision}",
            "restored_from": req.revision,
        }
        return await self._write_wiki(caller, doc, changes, doc.get("mentions") or ())

    # ------------------------------------------------------------------ answers

    async def _answers_out(
        self, caller: Caller, question: Mapping[str, Any], docs: Sequence[Mapping[str, Any]]
    ) -> list[pb.Answer]:
        ids = [str(d["_id"]) for d in docs]
        me = caller.person_id
        ups, downs = await asyncio.gather(
            self._store.members_of(Kind.ANSWER, ids, Vote.UP.value, me),
            self._store.members_of(Kind.ANSWER, ids, Vote.DOWN.value, me),
        )
        shaping = await self.shaping(caller, [str(d["body"]) for d in docs])
        accepted = str(question.get("accepted_answer_id", ""))
        return [
            convert.answer(
                d,
                shaping,
                accepted=str(d["_id"]) == accepted,
                my_vote=Vote.UP
                if str(d["_id"]) in ups
                else Vote.DOWN
                if str(d["_id"]) in downs
                else None,
            )
            for d in docs
        ]

    async def post_answer(self, caller: Caller, req: pb.PostAnswerRequest) -> pb.Answer:
        question, _ = await self._load_post(caller, req.question_id, Action.COMMENT)
        if question["type"] != PostType.QUESTION.value:
            raise FailedPrecondition("only questions take answers")
        require_published(ItemState(question["state"]), "question")
        at = now_ms()
        answer_id = new_id(at)
        space_id = str(question["space_id"])
        doc = answer_document(
            answer_id=answer_id,
            question_id=req.question_id,
            space_id=space_id,
            author_id=caller.person_id,
            body=req.body,
            mentions=req.mentioned_person_ids,
            at=at,
        )
        events = [self._events.answer_posted(doc)]
        fresh = await self._mentionable(space_id, caller.person_id, doc["mentions"])
        events.extend(
            self._events.mentioned(
                fresh, author_id=caller.person_id, post_id=req.question_id, space_id=space_id, at=at
            )
        )
        await self._store.insert(Kind.ANSWER, doc, events)
        await self._store.bump(Kind.POST, req.question_id, {"answer_count": 1, "comment_count": 1})
        return (await self._answers_out(caller, question, [doc]))[0]

    async def list_answers(
        self, caller: Caller, req: pb.ListAnswersRequest
    ) -> pb.ListAnswersResponse:
        question, view = await self._load_post(caller, req.question_id)
        scope = f"answers|{req.question_id}"
        after = cursor.position_id(cursor.decode(req.page_token, scope))
        size = _page_size(req.page_size)
        docs = await self._store.answers(
            req.question_id,
            after=after,
            limit=size + 1,
            # Deleted answers stay visible to their author and the space's moderators.
            visible_to=None if is_moderator(view) else caller.person_id,
        )
        docs, token = _keyset_page(docs, size, scope)
        return pb.ListAnswersResponse(
            answers=await self._answers_out(caller, question, docs), next_page_token=token
        )

    async def edit_answer(self, caller: Caller, req: pb.EditAnswerRequest) -> pb.Answer:
        answer, question, view = await self._load_answer(caller, req.answer_id, Action.COMMENT)
        require_edit(caller.person_id, str(answer["author_id"]), view, own_action=Action.COMMENT)
        require_published(ItemState(answer["state"]), "answer")
        if req.HasField("expected_revision"):
            require_base(int(answer["revision"]), req.expected_revision)
        new = {"body": req.body, "mentions": list(req.mentioned_person_ids)}
        if all(answer.get(k) == v for k, v in new.items()):
            return (await self._answers_out(caller, question, [answer]))[0]
        at = now_ms()
        changes = {**new, "updated_at": at, "edited_by": caller.person_id}
        preview = {**answer, **changes, "revision": int(answer["revision"]) + 1}
        events = [self._events.answer_edited(preview, at)]
        fresh = await self._mentionable(
            str(answer["space_id"]),
            caller.person_id,
            added_mentions(answer.get("mentions") or (), new["mentions"]),
        )
        events.extend(
            self._events.mentioned(
                fresh,
                author_id=caller.person_id,
                post_id=str(answer["question_id"]),
                space_id=str(answer["space_id"]),
                at=at,
            )
        )
        after = await self._store.revise(Kind.ANSWER, answer, changes, events)
        return (await self._answers_out(caller, question, [after]))[0]

    async def delete_answer(self, caller: Caller, answer_id: str) -> pb.Answer:
        answer, question, view = await self._load_answer(caller, answer_id, Action.COMMENT)
        require_edit(caller.person_id, str(answer["author_id"]), view, own_action=Action.COMMENT)
        if answer["state"] == ItemState.DELETED.value:
            return (await self._answers_out(caller, question, [answer]))[0]
        at = now_ms()
        was_accepted = question.get("accepted_answer_id") == answer_id
        after = await self._store.update(
            Kind.ANSWER,
            {"_id": answer_id, "state": ItemState.PUBLISHED.value},
            {
                "$set": {
                    "state": ItemState.DELETED.value,
                    "deleted_by": caller.person_id,
                    "deleted_at": at,
                }
            },
            [self._events.answer_deleted(answer, caller.person_id, was_accepted, at)],
        )
        if after is None:
            after = await self._store.get(Kind.ANSWER, answer_id)
            assert after is not None
            return (await self._answers_out(caller, question, [after]))[0]
        qid = str(answer["question_id"])
        if was_accepted:
            await self._store.update(
                Kind.POST,
                {"_id": qid, "accepted_answer_id": answer_id},
                {"$set": {"accepted_answer_id": "", "accepted_answer_author_id": ""}},
            )
            question = {**question, "accepted_answer_id": ""}
        await self._store.bump(Kind.POST, qid, {"answer_count": -1, "comment_count": -1})
        return (await self._answers_out(caller, question, [after]))[0]

    async def vote_answer(self, caller: Caller, req: pb.VoteAnswerRequest) -> pb.Answer:
        answer, question, _ = await self._load_answer(caller, req.answer_id, Action.COMMENT)
        require_published(ItemState(answer["state"]), "answer")
        if str(answer["author_id"]) == caller.person_id:
            raise FailedPrecondition("you cannot vote on your own answer")
        wanted = {pb.ANSWER_VOTE_UP: Vote.UP, pb.ANSWER_VOTE_DOWN: Vote.DOWN}.get(req.vote)
        me = caller.person_id
        for _ in range(OPTIMISTIC_ATTEMPTS):
            up = await self._store.has_member(Kind.ANSWER, req.answer_id, "up", me)
            down = await self._store.has_member(Kind.ANSWER, req.answer_id, "down", me)
            current = Vote.UP if up else Vote.DOWN if down else None
            change = vote_change(current, wanted)
            if not change.changed:
                break
            query: dict[str, Any] = {
                "_id": req.answer_id,
                "up": me if up else {"$ne": me},
                "down": me if down else {"$ne": me},
            }
            update: dict[str, Any] = {"$inc": {"score": change.delta}}
            if current is not None:
                update["$pull"] = {current.value: me}
            if wanted is not None:
                update["$addToSet"] = {wanted.value: me}
            if await self._store.update(Kind.ANSWER, query, update) is not None:
                break
        else:
            raise Aborted("the vote changed concurrently; retry")
        fresh = await self._store.get(Kind.ANSWER, req.answer_id)
        assert fresh is not None
        return (await self._answers_out(caller, question, [fresh]))[0]

    async def accept_answer(
        self, caller: Caller, req: pb.AcceptAnswerRequest
    ) -> pb.AcceptAnswerResponse:
        question, view = await self._load_post(caller, req.question_id, Action.READ, Action.COMMENT)
        answer = await self._store.get(Kind.ANSWER, req.answer_id)
        if answer is None:
            raise answer_not_found(req.answer_id)
        require_published(ItemState(question["state"]), "question")
        for _ in range(2):
            decision = decide_accept(
                caller_id=caller.person_id,
                asker_id=str(question["author_id"]),
                view=view,
                question_type=PostType(question["type"]),
                current_accepted_id=str(question.get("accepted_answer_id", "")),
                answer_id=req.answer_id,
                answer_question_id=str(answer["question_id"]),
                answer_state=ItemState(answer["state"]),
                question_id=req.question_id,
            )
            if not decision.changed:
                break
            at = now_ms()
            after = await self._store.update(
                Kind.POST,
                {"_id": req.question_id, "accepted_answer_id": decision.previous_answer_id},
                {
                    "$set": {
                        "accepted_answer_id": req.answer_id,
                        "accepted_answer_author_id": str(answer["author_id"]),
                        "accepted_at": at,
                    }
                },
                [
                    self._events.answer_accepted(
                        question, answer, caller.person_id, decision.previous_answer_id, at
                    )
                ],
            )
            if after is not None:
                question = after
                break
            # Someone accepted meanwhile: decide again against what is stored now.
            reread = await self._store.get(Kind.POST, req.question_id)
            if reread is None:
                raise post_not_found(req.question_id)
            question = reread
        else:
            raise Aborted("the accepted answer changed concurrently; retry")
        out_question = (await self.shape_posts(caller, [question]))[0]
        out_answer = (await self._answers_out(caller, question, [answer]))[0]
        return pb.AcceptAnswerResponse(question=out_question, answer=out_answer)

    # ------------------------------------------------------------------ ideas

    async def vote_idea(self, caller: Caller, req: pb.VoteIdeaRequest) -> pb.VoteIdeaResponse:
        idea, _ = await self._load_post(caller, req.idea_id, Action.COMMENT)
        if idea["type"] != PostType.IDEA.value:
            raise FailedPrecondition("only ideas take votes")
        require_published(ItemState(idea["state"]), "idea")
        me = caller.person_id
        for _ in range(OPTIMISTIC_ATTEMPTS):
            current = await self._store.get(Kind.POST, req.idea_id)
            if current is None:
                raise post_not_found(req.idea_id)
            voted = await self._store.has_member(Kind.POST, req.idea_id, "voters", me)
            if voted != req.withdraw:
                # Already as asked: nothing to write, nothing to publish.
                return pb.VoteIdeaResponse(
                    post=(await self.shape_posts(caller, [current]))[0], voted=voted
                )
            count = int(current.get("vote_count", 0))
            new_count = count - 1 if req.withdraw else count + 1
            at = now_ms()
            event = self._events.idea_voted(current, me, req.withdraw, new_count, at)
            query: dict[str, Any] = {
                "_id": req.idea_id,
                "vote_count": count,
                "voters": me if req.withdraw else {"$ne": me},
            }
            update: dict[str, Any] = {"$inc": {"vote_count": new_count - count}}
            update["$pull" if req.withdraw else "$addToSet"] = {"voters": me}
            after = await self._store.update(Kind.POST, query, update, [event])
            if after is not None:
                return pb.VoteIdeaResponse(
                    post=(await self.shape_posts(caller, [after]))[0], voted=not req.withdraw
                )
        raise Aborted("the idea's votes changed concurrently; retry")

    async def change_idea_status(self, caller: Caller, req: pb.ChangeIdeaStatusRequest) -> pb.Post:
        idea, _ = await self._load_post(caller, req.idea_id, Action.MODERATE)
        if idea["type"] != PostType.IDEA.value:
            raise FailedPrecondition("only ideas have a status")
        require_published(ItemState(idea["state"]), "idea")
        target = convert.IDEA_STATUS_IN.get(req.status)
        if target is None:
            raise InvalidArgument("status", "unknown status")
        current = IdeaStatus(idea["idea_status"])
        if not idea_transition(current, target):
            return (await self.shape_posts(caller, [idea]))[0]
        at = now_ms()
        after = await self._store.update(
            Kind.POST,
            {"_id": req.idea_id, "idea_status": current.value},
            {"$set": {"idea_status": target.value, "updated_at": at}},
            [
                self._events.idea_status_changed(
                    idea=idea,
                    previous=current,
                    status=target,
                    actor_id=caller.person_id,
                    note=req.note,
                    at=at,
                )
            ],
        )
        if after is None:
            raise Aborted("the idea's status changed concurrently; re-read it and retry")
        return (await self.shape_posts(caller, [after]))[0]

    # ------------------------------------------------------------------ comments

    async def add_comment(self, caller: Caller, req: pb.AddCommentRequest) -> pb.Comment:
        post, _ = await self._load_post(caller, req.post_id, Action.COMMENT)
        require_published(ItemState(post["state"]), "item")
        if req.answer_id:
            answer = await self._store.get(Kind.ANSWER, req.answer_id)
            if answer is None or answer["question_id"] != req.post_id:
                raise answer_not_found(req.answer_id)
            require_published(ItemState(answer["state"]), "answer")
        parent = None
        if req.parent_comment_id:
            found = await self._store.get(Kind.COMMENT, req.parent_comment_id)
            if found is not None:
                parent = CommentParent(
                    comment_id=str(found["_id"]),
                    post_id=str(found["post_id"]),
                    answer_id=str(found.get("answer_id", "")),
                    parent_comment_id=str(found.get("parent_comment_id", "")),
                )
        thread = thread_for_reply(
            parent,
            post_id=req.post_id,
            answer_id=req.answer_id,
            parent_comment_id=req.parent_comment_id,
        )
        at = now_ms()
        comment_id = new_id(at)
        space_id = str(post["space_id"])
        doc = comment_document(
            comment_id=comment_id,
            post_id=req.post_id,
            answer_id=req.answer_id,
            parent_comment_id=req.parent_comment_id,
            thread_id=thread,
            space_id=space_id,
            author_id=caller.person_id,
            body=req.body,
            mentions=req.mentioned_person_ids,
            at=at,
        )
        events = [self._events.comment_added(doc)]
        fresh = await self._mentionable(space_id, caller.person_id, doc["mentions"])
        events.extend(
            self._events.mentioned(
                fresh,
                author_id=caller.person_id,
                post_id=req.post_id,
                space_id=space_id,
                at=at,
                comment_id=comment_id,
            )
        )
        await self._store.insert(Kind.COMMENT, doc, events)
        await self._store.bump(Kind.POST, req.post_id, {"comment_count": 1})
        if req.answer_id:
            await self._store.bump(Kind.ANSWER, req.answer_id, {"comment_count": 1})
        shaping = await self.shaping(caller, [req.body])
        return convert.comment(doc, shaping, show_body=True)

    async def list_comments(
        self, caller: Caller, req: pb.ListCommentsRequest
    ) -> pb.ListCommentsResponse:
        _, view = await self._load_post(caller, req.post_id)
        scope = f"comments|{req.post_id}|{req.answer_id}"
        position = cursor.decode(req.page_token, scope)
        thread = cursor.position_id(position, "thread")
        after = cursor.position_id(position, "after")
        size = _page_size(req.page_size)
        docs = await self._store.comments(
            req.post_id,
            req.answer_id,
            after=(thread, after) if thread is not None and after is not None else None,
            limit=size + 1,
        )
        token = ""
        if len(docs) > size:
            docs = docs[:size]
            last = docs[-1]
            token = cursor.encode(
                scope, {"thread": str(last["thread_id"]), "after": str(last["_id"])}
            )
        shown = [
            d["state"] == ItemState.PUBLISHED.value
            or may_see_deleted(caller.person_id, str(d["author_id"]), view)
            for d in docs
        ]
        shaping = await self.shaping(
            caller, [str(d["body"]) for d, s in zip(docs, shown, strict=True) if s]
        )
        return pb.ListCommentsResponse(
            comments=[
                convert.comment(d, shaping, show_body=s) for d, s in zip(docs, shown, strict=True)
            ],
            next_page_token=token,
        )

    async def edit_comment(self, caller: Caller, req: pb.EditCommentRequest) -> pb.Comment:
        comment, view = await self._load_comment(caller, req.comment_id, Action.COMMENT)
        require_edit(caller.person_id, str(comment["author_id"]), view, own_action=Action.COMMENT)
        require_published(ItemState(comment["state"]), "comment")
        if req.HasField("expected_revision"):
            require_base(int(comment["revision"]), req.expected_revision)
        new = {"body": req.body, "mentions": list(req.mentioned_person_ids)}
        if not all(comment.get(k) == v for k, v in new.items()):
            at = now_ms()
            changes = {**new, "updated_at": at, "edited_by": caller.person_id}
            preview = {**comment, **changes, "revision": int(comment["revision"]) + 1}
            events = [self._events.comment_edited(preview, at)]
            fresh = await self._mentionable(
                str(comment["space_id"]),
                caller.person_id,
                added_mentions(comment.get("mentions") or (), new["mentions"]),
            )
            events.extend(
                self._events.mentioned(
                    fresh,
                    author_id=caller.person_id,
                    post_id=str(comment["post_id"]),
                    space_id=str(comment["space_id"]),
                    at=at,
                    comment_id=req.comment_id,
                )
            )
            comment = await self._store.revise(Kind.COMMENT, comment, changes, events)
        shaping = await self.shaping(caller, [str(comment["body"])])
        return convert.comment(comment, shaping, show_body=True)

    async def delete_comment(self, caller: Caller, comment_id: str) -> pb.Comment:
        comment, view = await self._load_comment(caller, comment_id, Action.COMMENT)
        require_edit(caller.person_id, str(comment["author_id"]), view, own_action=Action.COMMENT)
        if comment["state"] == ItemState.PUBLISHED.value:
            at = now_ms()
            after = await self._store.update(
                Kind.COMMENT,
                {"_id": comment_id, "state": ItemState.PUBLISHED.value},
                {
                    "$set": {
                        "state": ItemState.DELETED.value,
                        "deleted_by": caller.person_id,
                        "deleted_at": at,
                    }
                },
                [self._events.comment_deleted(comment, caller.person_id, at)],
            )
            if after is not None:
                comment = after
                await self._store.bump(Kind.POST, str(comment["post_id"]), {"comment_count": -1})
                if comment.get("answer_id"):
                    await self._store.bump(
                        Kind.ANSWER, str(comment["answer_id"]), {"comment_count": -1}
                    )
        shaping = await self.shaping(caller, [str(comment["body"])])
        return convert.comment(comment, shaping, show_body=True)

    # ------------------------------------------------------------------ reactions

    async def react(
        self, caller: Caller, post_id: str, comment_id: str, kind_value: int, *, add: bool
    ) -> list[pb.ReactionCount]:
        kind = convert.REACTION_IN.get(kind_value)  # type: ignore[call-overload]
        if kind is None:
            raise InvalidArgument("kind", "unknown reaction")
        post, _ = await self._load_post(caller, post_id, Action.COMMENT)
        require_published(ItemState(post["state"]), "item")
        target_kind, target_id = Kind.POST, post_id
        if comment_id:
            found = await self._store.get(Kind.COMMENT, comment_id)
            if found is None or found["post_id"] != post_id:
                raise comment_not_found(comment_id)
            require_published(ItemState(found["state"]), "comment")
            target_kind, target_id = Kind.COMMENT, comment_id
        me = caller.person_id
        field = f"reactors.{kind.value}"
        query: dict[str, Any] = {"_id": target_id, field: {"$ne": me} if add else me}
        update: dict[str, Any] = {
            "$addToSet" if add else "$pull": {field: me},
            "$inc": {f"reaction_counts.{kind.value}": 1 if add else -1},
        }
        events = (
            [
                self._events.reaction_added(
                    post_id=post_id,
                    comment_id=comment_id,
                    space_id=str(post["space_id"]),
                    person_id=me,
                    kind=kind,
                    at=now_ms(),
                )
            ]
            if add
            else []
        )
        after = await self._store.update(target_kind, query, update, events)
        if after is None:
            after = await self._store.get(target_kind, target_id)
            if after is None:
                raise post_not_found(post_id)
        return convert.reactions(after)

    # ------------------------------------------------------------------ feeds

    async def home_feed(
        self, caller: Caller, req: pb.ListHomeFeedRequest
    ) -> pb.ListHomeFeedResponse:
        # Asked again for every page: a partner whose grant was revoked loses it at once.
        spaces = await self._funnel.home_spaces(caller, self._home_max)
        scope = f"home|{caller.person_id}|{req.type}"
        after = cursor.position_id(cursor.decode(req.page_token, scope))
        if not spaces:
            return pb.ListHomeFeedResponse()
        size = _page_size(req.page_size)
        docs = await self._store.feed(
            spaces,
            before=after,
            limit=size + 1,
            post_type=convert.post_type_in(req.type).value if req.type else "",
        )
        docs, token = _keyset_page(docs, size, scope)
        return pb.ListHomeFeedResponse(
            posts=await self.shape_posts(caller, docs), next_page_token=token
        )

    async def questions_for_me(
        self, caller: Caller, req: pb.ListQuestionsForMeRequest
    ) -> pb.ListQuestionsForMeResponse:
        tags = await self._rm.expertise(caller.person_id)
        wanted = [t for t in tags if t == req.tag] if req.tag else tags
        scope = f"questions|{caller.person_id}|{req.tag}"
        after = cursor.position_id(cursor.decode(req.page_token, scope))
        if not wanted:
            return pb.ListQuestionsForMeResponse(expertise_tags=tags)
        size = _page_size(req.page_size)
        base: dict[str, Any] = {
            "type": PostType.QUESTION.value,
            "state": ItemState.PUBLISHED.value,
            "accepted_answer_id": "",
            "tags": {"$in": wanted},
            "author_id": {"$ne": caller.person_id},
        }
        if caller.is_partner:
            base["space_id"] = {"$in": sorted(await self._funnel.searchable_spaces(caller))}
        found: list[dict[str, Any]] = []
        token = ""
        position = after
        for _ in range(QUESTIONS_SCAN_BATCHES):
            query = dict(base)
            if position is not None:
                query["_id"] = {"$lt": position}
            batch = await self._store.find(Kind.POST, query, [("_id", -1)], size * 2)
            if not batch:
                break
            readable = await self._funnel.readable(caller, {str(d["space_id"]) for d in batch})
            for doc in batch:
                position = str(doc["_id"])
                if str(doc["space_id"]) in readable:
                    found.append(doc)
                    if len(found) == size:
                        break
            if len(found) == size or len(batch) < size * 2:
                break
        if position is not None and (len(found) == size or len(found) < size):
            # More may follow unless the last batch ran dry; a short page is allowed.
            more = await self._store.find(
                Kind.POST, {**base, "_id": {"$lt": position}}, [("_id", -1)], 1
            )
            if more:
                token = cursor.encode(scope, {"after": position})
        return pb.ListQuestionsForMeResponse(
            posts=await self.shape_posts(caller, found), next_page_token=token, expertise_tags=tags
        )
