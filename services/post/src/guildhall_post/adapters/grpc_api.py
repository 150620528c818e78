"""The PostService servicer: request -> use case -> reply, nothing else.

Authentication, validation, deadlines, error mapping and metrics are the kit's
interceptor's (guildhall_kit.grpc.interceptor); the use cases are in
:mod:`guildhall_post.application`. The caller's ``authorization`` metadata is kept
only to forward it to the community service for partner access checks.
"""

from __future__ import annotations

from typing import Any

import grpc

from guildhall.post.v1 import post_pb2 as pb
from guildhall.post.v1 import post_pb2_grpc
from guildhall_post.adapters import convert
from guildhall_post.application import Application
from guildhall_post.application.access import Caller
from guildhall_post.application.search import SearchQuery

Ctx = grpc.aio.ServicerContext[Any, Any]


def caller_of(context: Ctx) -> Caller:
    """The RPC's caller (the interceptor verified the token already)."""
    authorization = None
    for key, value in context.invocation_metadata() or ():
        if key == "authorization" and isinstance(value, str):
            authorization = value
    return Caller.current(authorization, context.time_remaining())


def _expected(request: Any) -> int | None:
    return request.expected_revision if request.HasField("expected_revision") else None


class PostServicer(post_pb2_grpc.PostServiceServicer):
    """Every RPC of guildhall.post.v1.PostService."""

    def __init__(self, app: Application) -> None:
        self._app = app

    # ------------------------------------------------------------------ posts

    async def CreatePost(
        self, request: pb.CreatePostRequest, context: Ctx
    ) -> pb.CreatePostResponse:
        shaped = await self._app.posts.create(
            caller_of(context),
            space_id=request.space_id,
            post_type=convert.post_type_in(request.type),
            title=request.title,
            body=request.body,
            tags=request.tags,
            mentions=request.mentioned_person_ids,
            quoted_post_id=request.quoted_post_id,
            pinned=request.pinned,
            summary=request.summary,
        )
        return pb.CreatePostResponse(post=convert.post(shaped.item, shaped.shaping))

    async def GetPost(self, request: pb.GetPostRequest, context: Ctx) -> pb.GetPostResponse:
        shaped, viewer = await self._app.posts.get(caller_of(context), request.post_id)
        return pb.GetPostResponse(
            post=convert.post(shaped.item, shaped.shaping),
            viewer=pb.ViewerState(
                voted=viewer.voted,
                reactions=[convert.REACTION[k] for k in convert.REACTION if k in viewer.reactions],
                can_edit=viewer.can_edit,
                can_moderate=viewer.can_moderate,
            ),
        )

    async def EditPost(self, request: pb.EditPostRequest, context: Ctx) -> pb.EditPostResponse:
        shaped = await self._app.posts.edit(
            caller_of(context),
            request.post_id,
            title=request.title,
            body=request.body,
            tags=request.tags,
            mentions=request.mentioned_person_ids,
            summary=request.summary,
            expected_revision=_expected(request),
        )
        return pb.EditPostResponse(post=convert.post(shaped.item, shaped.shaping))

    async def DeletePost(
        self, request: pb.DeletePostRequest, context: Ctx
    ) -> pb.DeletePostResponse:
        shaped = await self._app.posts.delete(caller_of(context), request.post_id)
        return pb.DeletePostResponse(post=convert.post(shaped.item, shaped.shaping))

    async def PinPost(self, request: pb.PinPostRequest, context: Ctx) -> pb.PinPostResponse:
        shaped = await self._app.posts.pin(caller_of(context), request.post_id, request.pinned)
        return pb.PinPostResponse(post=convert.post(shaped.item, shaped.shaping))

    # ------------------------------------------------------------------ feeds

    async def ListSpaceFeed(
        self, request: pb.ListSpaceFeedRequest, context: Ctx
    ) -> pb.ListSpaceFeedResponse:
        page = await self._app.feeds.space(
            caller_of(context),
            request.space_id,
            post_type=convert.post_type_filter(request.type),
            tag=request.tag,
            pinned_only=request.pinned_only,
            page_size=request.page_size,
            page_token=request.page_token,
        )
        return pb.ListSpaceFeedResponse(
            posts=convert.posts(page.items, page.shaping), next_page_token=page.next_page_token
        )

    async def ListHomeFeed(
        self, request: pb.ListHomeFeedRequest, context: Ctx
    ) -> pb.ListHomeFeedResponse:
        page = await self._app.feeds.home(
            caller_of(context),
            post_type=convert.post_type_filter(request.type),
            page_size=request.page_size,
            page_token=request.page_token,
        )
        return pb.ListHomeFeedResponse(
            posts=convert.posts(page.items, page.shaping), next_page_token=page.next_page_token
        )

    # ------------------------------------------------------------------ history, wiki

    async def ListRevisions(
        self, request: pb.ListRevisionsRequest, context: Ctx
    ) -> pb.ListRevisionsResponse:
        page = await self._app.wiki.revisions(
            caller_of(context),
            request.item_id,
            page_size=request.page_size,
            page_token=request.page_token,
        )
        return pb.ListRevisionsResponse(
            revisions=[convert.revision(r, page.shaping, with_body=False) for r in page.items],
            next_page_token=page.next_page_token,
        )

    async def GetRevision(
        self, request: pb.GetRevisionRequest, context: Ctx
    ) -> pb.GetRevisionResponse:
        shaped = await self._app.wiki.revision(
            caller_of(context), request.item_id, request.revision
        )
        return pb.GetRevisionResponse(
            revision=convert.revision(shaped.item, shaped.shaping, with_body=True)
        )

    async def DiffRevisions(
        self, request: pb.DiffRevisionsRequest, context: Ctx
    ) -> pb.DiffRevisionsResponse:
        result = await self._app.wiki.compare(
            caller_of(context), request.item_id, request.from_revision, request.to_revision
        )
        return pb.DiffRevisionsResponse(
            older=convert.revision(result.older, result.shaping, with_body=False),
            newer=convert.revision(result.newer, result.shaping, with_body=False),
            lines=[
                pb.DiffLine(op=convert.DIFF_OP[op], text=text) for op, text in result.diff.lines
            ],
            unified_diff=result.diff.unified,
            tags_added=result.diff.tags_added,
            tags_removed=result.diff.tags_removed,
        )

    async def EditWikiPage(
        self, request: pb.EditWikiPageRequest, context: Ctx
    ) -> pb.EditWikiPageResponse:
        shaped = await self._app.wiki.edit(
            caller_of(context),
            request.page_id,
            base_revision=request.base_revision,
            title=request.title,
            body=request.body,
            tags=request.tags,
            mentions=request.mentioned_person_ids,
            summary=request.summary,
        )
        return pb.EditWikiPageResponse(post=convert.post(shaped.item, shaped.shaping))

    async def RestoreWikiRevision(
        self, request: pb.RestoreWikiRevisionRequest, context: Ctx
    ) -> pb.RestoreWikiRevisionResponse:
        shaped = await self._app.wiki.restore(
            caller_of(context),
            request.page_id,
            base_revision=request.base_revision,
            revision=request.revision,
            summary=request.summary,
        )
        return pb.RestoreWikiRevisionResponse(post=convert.post(shaped.item, shaped.shaping))

    # ------------------------------------------------------------------ questions

    async def PostAnswer(
        self, request: pb.PostAnswerRequest, context: Ctx
    ) -> pb.PostAnswerResponse:
        shaped = await self._app.questions.post(
            caller_of(context),
            request.question_id,
            body=request.body,
            mentions=request.mentioned_person_ids,
        )
        return pb.PostAnswerResponse(answer=convert.answer(shaped.item, shaped.shaping))

    async def ListAnswers(
        self, request: pb.ListAnswersRequest, context: Ctx
    ) -> pb.ListAnswersResponse:
        page = await self._app.questions.list_answers(
            caller_of(context),
            request.question_id,
            page_size=request.page_size,
            page_token=request.page_token,
        )
        return pb.ListAnswersResponse(
            answers=[convert.answer(a, page.shaping) for a in page.items],
            next_page_token=page.next_page_token,
        )

    async def EditAnswer(
        self, request: pb.EditAnswerRequest, context: Ctx
    ) -> pb.EditAnswerResponse:
        shaped = await self._app.questions.edit(
            caller_of(context),
            request.answer_id,
            body=request.body,
            mentions=request.mentioned_person_ids,
            expected_revision=_expected(request),
        )
        return pb.EditAnswerResponse(answer=convert.answer(shaped.item, shaped.shaping))

    async def DeleteAnswer(
        self, request: pb.DeleteAnswerRequest, context: Ctx
    ) -> pb.DeleteAnswerResponse:
        shaped = await self._app.questions.delete(caller_of(context), request.answer_id)
        return pb.DeleteAnswerResponse(answer=convert.answer(shaped.item, shaped.shaping))

    async def VoteAnswer(
        self, request: pb.VoteAnswerRequest, context: Ctx
    ) -> pb.VoteAnswerResponse:
        shaped = await self._app.questions.vote(
            caller_of(context), request.answer_id, convert.VOTE_IN.get(request.vote)
        )
        return pb.VoteAnswerResponse(answer=convert.answer(shaped.item, shaped.shaping))

    async def AcceptAnswer(
        self, request: pb.AcceptAnswerRequest, context: Ctx
    ) -> pb.AcceptAnswerResponse:
        question, answer = await self._app.questions.accept(
            caller_of(context), request.question_id, request.answer_id
        )
        return pb.AcceptAnswerResponse(
            question=convert.post(question.item, question.shaping),
            answer=convert.answer(answer.item, answer.shaping),
        )

    async def ListQuestionsForMe(
        self, request: pb.ListQuestionsForMeRequest, context: Ctx
    ) -> pb.ListQuestionsForMeResponse:
        page, tags = await self._app.questions.for_me(
            caller_of(context),
            tag=request.tag,
            page_size=request.page_size,
            page_token=request.page_token,
        )
        return pb.ListQuestionsForMeResponse(
            posts=convert.posts(page.items, page.shaping),
            next_page_token=page.next_page_token,
            expertise_tags=tags,
        )

    # ------------------------------------------------------------------ ideas

    async def VoteIdea(self, request: pb.VoteIdeaRequest, context: Ctx) -> pb.VoteIdeaResponse:
        shaped, voted = await self._app.ideas.vote(
            caller_of(context), request.idea_id, withdraw=request.withdraw
        )
        return pb.VoteIdeaResponse(post=convert.post(shaped.item, shaped.shaping), voted=voted)

    async def ChangeIdeaStatus(
        self, request: pb.ChangeIdeaStatusRequest, context: Ctx
    ) -> pb.ChangeIdeaStatusResponse:
        shaped = await self._app.ideas.change_status(
            caller_of(context),
            request.idea_id,
            convert.idea_status_in(request.status),
            request.note,
        )
        return pb.ChangeIdeaStatusResponse(post=convert.post(shaped.item, shaped.shaping))

    # ------------------------------------------------------------------ comments, reactions

    async def AddComment(
        self, request: pb.AddCommentRequest, context: Ctx
    ) -> pb.AddCommentResponse:
        shaped = await self._app.comments.add(
            caller_of(context),
            request.post_id,
            answer_id=request.answer_id,
            parent_comment_id=request.parent_comment_id,
            body=request.body,
            mentions=request.mentioned_person_ids,
        )
        return pb.AddCommentResponse(comment=convert.comment(shaped.item, shaped.shaping))

    async def ListComments(
        self, request: pb.ListCommentsRequest, context: Ctx
    ) -> pb.ListCommentsResponse:
        page = await self._app.comments.list_comments(
            caller_of(context),
            request.post_id,
            answer_id=request.answer_id,
            page_size=request.page_size,
            page_token=request.page_token,
        )
        return pb.ListCommentsResponse(
            comments=[convert.comment(c, page.shaping) for c in page.items],
            next_page_token=page.next_page_token,
        )

    async def EditComment(
        self, request: pb.EditCommentRequest, context: Ctx
    ) -> pb.EditCommentResponse:
        shaped = await self._app.comments.edit(
            caller_of(context),
            request.comment_id,
            body=request.body,
            mentions=request.mentioned_person_ids,
            expected_revision=_expected(request),
        )
        return pb.EditCommentResponse(comment=convert.comment(shaped.item, shaped.shaping))

    async def DeleteComment(
        self, request: pb.DeleteCommentRequest, context: Ctx
    ) -> pb.DeleteCommentResponse:
        shaped = await self._app.comments.delete(caller_of(context), request.comment_id)
        return pb.DeleteCommentResponse(comment=convert.comment(shaped.item, shaped.shaping))

    async def AddReaction(
        self, request: pb.AddReactionRequest, context: Ctx
    ) -> pb.AddReactionResponse:
        counts = await self._app.comments.react(
            caller_of(context),
            request.post_id,
            request.comment_id,
            convert.reaction_in(request.kind),
            add=True,
        )
        return pb.AddReactionResponse(reactions=convert.reactions(counts))

    async def RemoveReaction(
        self, request: pb.RemoveReactionRequest, context: Ctx
    ) -> pb.RemoveReactionResponse:
        counts = await self._app.comments.react(
            caller_of(context),
            request.post_id,
            request.comment_id,
            convert.reaction_in(request.kind),
            add=False,
        )
        return pb.RemoveReactionResponse(reactions=convert.reactions(counts))

    # ------------------------------------------------------------------ search

    async def Search(self, request: pb.SearchRequest, context: Ctx) -> pb.SearchResponse:
        query = SearchQuery(
            text=request.query,
            space_id=request.space_id,
            post_type=convert.post_type_filter(request.type),
            tag=request.tag,
            unanswered=request.unanswered,
            author_id=request.author_id,
            created_after=convert.time_in(request, "created_after"),
            created_before=convert.time_in(request, "created_before"),
        )
        page = await self._app.search.search(
            caller_of(context), query, page_size=request.page_size, page_token=request.page_token
        )
        return pb.SearchResponse(
            hits=[
                pb.SearchHit(post=convert.post(h.post, page.shaping), score=h.score)
                for h in page.items
            ],
            next_page_token=page.next_page_token,
        )
