"""The PostService servicer: thin. Each method names its caller and delegates.

Authentication, validation, deadlines, error mapping and metrics are the kit's
interceptor's (guildhall_kit.grpc.interceptor); the operations and the access
funnel are in :mod:`.operations` and :mod:`.funnel`. The caller's bearer token is
kept only to forward it to the community service for partner access checks.
"""

from __future__ import annotations

from typing import Any

import grpc

from guildhall.post.v1 import post_pb2 as pb
from guildhall.post.v1 import post_pb2_grpc
from guildhall_post.adapters.funnel import Caller
from guildhall_post.adapters.operations import PostOperations
from guildhall_post.adapters.search import SearchService

Ctx = grpc.aio.ServicerContext[Any, Any]


def _token(context: Ctx) -> str | None:
    for key, value in context.invocation_metadata() or ():
        if key == "authorization":
            scheme, _, token = str(value).partition(" ")
            if scheme.lower() == "bearer" and token:
                return token
    return None


def caller_of(context: Ctx) -> Caller:
    """The RPC's caller (the interceptor verified the token already)."""
    return Caller.current(_token(context))


class PostServicer(post_pb2_grpc.PostServiceServicer):
    """Every RPC of guildhall.post.v1.PostService."""

    def __init__(self, ops: PostOperations, search: SearchService) -> None:
        self._ops = ops
        self._search = search

    async def CreatePost(
        self, request: pb.CreatePostRequest, context: Ctx
    ) -> pb.CreatePostResponse:
        return pb.CreatePostResponse(post=await self._ops.create_post(caller_of(context), request))

    async def GetPost(self, request: pb.GetPostRequest, context: Ctx) -> pb.GetPostResponse:
        return await self._ops.get_post(caller_of(context), request.post_id)

    async def ListSpaceFeed(
        self, request: pb.ListSpaceFeedRequest, context: Ctx
    ) -> pb.ListSpaceFeedResponse:
        return await self._ops.list_space_feed(caller_of(context), request)

    async def EditPost(self, request: pb.EditPostRequest, context: Ctx) -> pb.EditPostResponse:
        return pb.EditPostResponse(post=await self._ops.edit_post(caller_of(context), request))

    async def DeletePost(
        self, request: pb.DeletePostRequest, context: Ctx
    ) -> pb.DeletePostResponse:
        return pb.DeletePostResponse(
            post=await self._ops.delete_post(caller_of(context), request.post_id)
        )

    async def PinPost(self, request: pb.PinPostRequest, context: Ctx) -> pb.PinPostResponse:
        return pb.PinPostResponse(post=await self._ops.pin_post(caller_of(context), request))

    async def ListRevisions(
        self, request: pb.ListRevisionsRequest, context: Ctx
    ) -> pb.ListRevisionsResponse:
        return await self._ops.list_revisions(caller_of(context), request)

    async def GetRevision(
        self, request: pb.GetRevisionRequest, context: Ctx
    ) -> pb.GetRevisionResponse:
        return pb.GetRevisionResponse(
            revision=await self._ops.get_revision(caller_of(context), request)
        )

    async def DiffRevisions(
        self, request: pb.DiffRevisionsRequest, context: Ctx
    ) -> pb.DiffRevisionsResponse:
        return await self._ops.diff_revisions(caller_of(context), request)

    async def EditWikiPage(
        self, request: pb.EditWikiPageRequest, context: Ctx
    ) -> pb.EditWikiPageResponse:
        return pb.EditWikiPageResponse(
            post=await self._ops.edit_wiki_page(caller_of(context), request)
        )

    async def RestoreWikiRevision(
        self, request: pb.RestoreWikiRevisionRequest, context: Ctx
    ) -> pb.RestoreWikiRevisionResponse:
        return pb.RestoreWikiRevisionResponse(
            post=await self._ops.restore_wiki_revision(caller_of(context), request)
        )

    async def PostAnswer(
        self, request: pb.PostAnswerRequest, context: Ctx
    ) -> pb.PostAnswerResponse:
        return pb.PostAnswerResponse(
            answer=await self._ops.post_answer(caller_of(context), request)
        )

    async def ListAnswers(
        self, request: pb.ListAnswersRequest, context: Ctx
    ) -> pb.ListAnswersResponse:
        return await self._ops.list_answers(caller_of(context), request)

    async def EditAnswer(
        self, request: pb.EditAnswerRequest, context: Ctx
    ) -> pb.EditAnswerResponse:
        return pb.EditAnswerResponse(
            answer=await self._ops.edit_answer(caller_of(context), request)
        )

    async def DeleteAnswer(
        self, request: pb.DeleteAnswerRequest, context: Ctx
    ) -> pb.DeleteAnswerResponse:
        return pb.DeleteAnswerResponse(
            answer=await self._ops.delete_answer(caller_of(context), request.answer_id)
        )

    async def VoteAnswer(
        self, request: pb.VoteAnswerRequest, context: Ctx
    ) -> pb.VoteAnswerResponse:
        return pb.VoteAnswerResponse(
            answer=await self._ops.vote_answer(caller_of(context), request)
        )

    async def AcceptAnswer(
        self, request: pb.AcceptAnswerRequest, context: Ctx
    ) -> pb.AcceptAnswerResponse:
        return await self._ops.accept_answer(caller_of(context), request)

    async def VoteIdea(self, request: pb.VoteIdeaRequest, context: Ctx) -> pb.VoteIdeaResponse:
        return await self._ops.vote_idea(caller_of(context), request)

    async def ChangeIdeaStatus(
        self, request: pb.ChangeIdeaStatusRequest, context: Ctx
    ) -> pb.ChangeIdeaStatusResponse:
        return pb.ChangeIdeaStatusResponse(
            post=await self._ops.change_idea_status(caller_of(context), request)
        )

    async def AddComment(
        self, request: pb.AddCommentRequest, context: Ctx
    ) -> pb.AddCommentResponse:
        return pb.AddCommentResponse(
            comment=await self._ops.add_comment(caller_of(context), request)
        )

    async def ListComments(
        self, request: pb.ListCommentsRequest, context: Ctx
    ) -> pb.ListCommentsResponse:
        return await self._ops.list_comments(caller_of(context), request)

    async def EditComment(
        self, request: pb.EditCommentRequest, context: Ctx
    ) -> pb.EditCommentResponse:
        return pb.EditCommentResponse(
            comment=await self._ops.edit_comment(caller_of(context), request)
        )

    async def DeleteComment(
        self, request: pb.DeleteCommentRequest, context: Ctx
    ) -> pb.DeleteCommentResponse:
        return pb.DeleteCommentResponse(
            comment=await self._ops.delete_comment(caller_of(context), request.comment_id)
        )

    async def AddReaction(
        self, request: pb.AddReactionRequest, context: Ctx
    ) -> pb.AddReactionResponse:
        counts = await self._ops.react(
            caller_of(context), request.post_id, request.comment_id, request.kind, add=True
        )
        return pb.AddReactionResponse(reactions=counts)

    async def RemoveReaction(
        self, request: pb.RemoveReactionRequest, context: Ctx
    ) -> pb.RemoveReactionResponse:
        counts = await self._ops.react(
            caller_of(context), request.post_id, request.comment_id, request.kind, add=False
        )
        return pb.RemoveReactionResponse(reactions=counts)

    async def ListHomeFeed(
        self, request: pb.ListHomeFeedRequest, context: Ctx
    ) -> pb.ListHomeFeedResponse:
        return await self._ops.home_feed(caller_of(context), request)

    async def ListQuestionsForMe(
        self, request: pb.ListQuestionsForMeRequest, context: Ctx
    ) -> pb.ListQuestionsForMeResponse:
        return await self._ops.questions_for_me(caller_of(context), request)

    async def Search(self, request: pb.SearchRequest, context: Ctx) -> pb.SearchResponse:
        return await self._search.search(caller_of(context), request)
