"""Post service life cycles against real Kafka and FerretDB: every content type, its events.

One post service per module (tests use their own community ids, so they never
see each other's content). The community service's access decision comes from
the contract double in guildhall_testsupport.post until its implementation serves.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest

from guildhall.post.v1 import events_pb2 as ev
from guildhall.post.v1 import post_pb2 as pb
from guildhall_testsupport.post import PostHarness, running_post_service

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture(scope="module")
async def h(infra: Any, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[PostHarness]:
    async with running_post_service(
        kafka=infra.kafka_bootstrap_servers,
        mongo=infra.mongo_uri,
        unique=secrets.token_hex(4),
        tmp=tmp_path_factory.mktemp("post"),
    ) as harness:
        yield harness


def _id(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(4)}"


async def _community(h: PostHarness, **members: str) -> str:
    cid = _id("c")
    await h.community(cid, owner="olga", members=members)
    await h.known(communities=[cid], members=[(cid, p) for p in members] + [(cid, "olga")])
    return cid


async def _create(
    h: PostHarness, who: str, space: str, kind: pb.PostType.ValueType, **fields: Any
) -> pb.Post:
    fields.setdefault("title", "A title")
    fields.setdefault("body", "Some *markdown* body")
    reply = await h.stub.CreatePost(
        pb.CreatePostRequest(space_id=space, type=kind, **fields),
        metadata=h.auth(who),
        timeout=10,
    )
    return reply.post


def _events_of(events: list[Any], cls: type[Any], key: str) -> list[Any]:
    name = cls.DESCRIPTOR.full_name
    return [e.parse(cls) for e in events if e.type == name and e.key == key]


async def test_discussion_create_get_edit_delete_with_history(h: PostHarness) -> None:
    cid = await _community(h, mia="member", mo="moderator")
    post = await _create(h, "mia", cid, pb.POST_TYPE_DISCUSSION, tags=["sap-fi", "abap"])
    assert post.revision == 1
    assert list(post.tags) == ["abap", "sap-fi"]
    got = await h.stub.GetPost(
        pb.GetPostRequest(post_id=post.post_id), metadata=h.auth("mo"), timeout=10
    )
    assert got.post.body == "Some *markdown* body"
    assert got.viewer.can_moderate

    edited = await h.stub.EditPost(
        pb.EditPostRequest(
            post_id=post.post_id,
            title="New title",
            body="New body",
            tags=["abap"],
            expected_revision=1,
        ),
        metadata=h.auth("mia"),
        timeout=10,
    )
    assert edited.post.revision == 2
    with pytest.raises(grpc.aio.AioRpcError) as stale:
        await h.stub.EditPost(
            pb.EditPostRequest(post_id=post.post_id, title="X", body="Y", expected_revision=1),
            metadata=h.auth("mia"),
            timeout=10,
        )
    assert stale.value.code() == grpc.StatusCode.ABORTED

    # Another member may not edit; the space feed shows the item.
    with pytest.raises(grpc.aio.AioRpcError) as denied:
        await h.stub.EditPost(
            pb.EditPostRequest(post_id=post.post_id, title="X", body="Y"),
            metadata=h.auth("olga2"),
            timeout=10,
        )
    assert denied.value.code() == grpc.StatusCode.PERMISSION_DENIED

    await h.stub.DeletePost(
        pb.DeletePostRequest(post_id=post.post_id), metadata=h.auth("mo"), timeout=10
    )
    feed = await h.stub.ListSpaceFeed(
        pb.ListSpaceFeedRequest(space_id=cid), metadata=h.auth("mia"), timeout=10
    )
    assert post.post_id not in [p.post_id for p in feed.posts]
    # Gone for readers, kept for the author and moderators with its history.
    with pytest.raises(grpc.aio.AioRpcError) as gone:
        await h.stub.GetPost(
            pb.GetPostRequest(post_id=post.post_id), metadata=h.auth("zed"), timeout=10
        )
    assert gone.value.code() == grpc.StatusCode.NOT_FOUND
    history = await h.stub.ListRevisions(
        pb.ListRevisionsRequest(item_id=post.post_id), metadata=h.auth("mia"), timeout=10
    )
    assert [r.revision for r in history.revisions] == [2, 1]
    first = await h.stub.GetRevision(
        pb.GetRevisionRequest(item_id=post.post_id, revision=1), metadata=h.auth("mo"), timeout=10
    )
    assert first.revision.body == "Some *markdown* body"

    events = await h.post_events(min_count=3)
    assert len(_events_of(events, ev.PostCreated, post.post_id)) == 1
    assert [e.revision for e in _events_of(events, ev.PostEdited, post.post_id)] == [2]
    assert len(_events_of(events, ev.PostDeleted, post.post_id)) == 1


async def _rpc_error(call: Any) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await call
    return info.value


async def test_announcements_are_for_moderators_and_pin(h: PostHarness) -> None:
    cid = await _community(h, mia="member", mo="moderator")
    denied = await _rpc_error(
        h.stub.CreatePost(
            pb.CreatePostRequest(
                space_id=cid, type=pb.POST_TYPE_ANNOUNCEMENT, title="Hear ye", body="x"
            ),
            metadata=h.auth("mia"),
            timeout=10,
        )
    )
    assert denied.code() == grpc.StatusCode.PERMISSION_DENIED
    news = await _create(h, "mo", cid, pb.POST_TYPE_ANNOUNCEMENT, pinned=True)
    assert news.pinned
    await _create(h, "mia", cid, pb.POST_TYPE_DISCUSSION)
    pinned = await h.stub.ListSpaceFeed(
        pb.ListSpaceFeedRequest(space_id=cid, pinned_only=True), metadata=h.auth("mia"), timeout=10
    )
    assert [p.post_id for p in pinned.posts] == [news.post_id]
    unpinned = await h.stub.PinPost(
        pb.PinPostRequest(post_id=news.post_id, pinned=False), metadata=h.auth("mo"), timeout=10
    )
    assert not unpinned.post.pinned
    not_mod = await _rpc_error(
        h.stub.PinPost(
            pb.PinPostRequest(post_id=news.post_id, pinned=True), metadata=h.auth("mia"), timeout=10
        )
    )
    assert not_mod.code() == grpc.StatusCode.PERMISSION_DENIED


async def test_question_answers_votes_and_accepting_publishes_once(h: PostHarness) -> None:
    cid = await _community(h, asker="member", ann="member", ben="member", mo="moderator")
    question = await _create(h, "asker", cid, pb.POST_TYPE_QUESTION, tags=["sap-fi", "tax"])
    answers = []
    for who in ("ann", "ben"):
        reply = await h.stub.PostAnswer(
            pb.PostAnswerRequest(question_id=question.post_id, body=f"{who} says so"),
            metadata=h.auth(who),
            timeout=10,
        )
        answers.append(reply.answer)
    ann_answer, ben_answer = answers
    own = await _rpc_error(
        h.stub.VoteAnswer(
            pb.VoteAnswerRequest(answer_id=ann_answer.answer_id, vote=pb.ANSWER_VOTE_UP),
            metadata=h.auth("ann"),
            timeout=10,
        )
    )
    assert own.code() == grpc.StatusCode.FAILED_PRECONDITION
    up = await h.stub.VoteAnswer(
        pb.VoteAnswerRequest(answer_id=ann_answer.answer_id, vote=pb.ANSWER_VOTE_UP),
        metadata=h.auth("ben"),
        timeout=10,
    )
    assert (up.answer.score, up.answer.my_vote) == (1, pb.ANSWER_VOTE_UP)
    down = await h.stub.VoteAnswer(
        pb.VoteAnswerRequest(answer_id=ann_answer.answer_id, vote=pb.ANSWER_VOTE_DOWN),
        metadata=h.auth("ben"),
        timeout=10,
    )
    assert down.answer.score == -1

    # Only the asker or a moderator accepts.
    nope = await _rpc_error(
        h.stub.AcceptAnswer(
            pb.AcceptAnswerRequest(question_id=question.post_id, answer_id=ann_answer.answer_id),
            metadata=h.auth("ben"),
            timeout=10,
        )
    )
    assert nope.code() == grpc.StatusCode.PERMISSION_DENIED
    # The asker accepts the same answer several times, some of them at once: one event.
    accept = pb.AcceptAnswerRequest(question_id=question.post_id, answer_id=ann_answer.answer_id)
    replies = await asyncio.gather(
        *[h.stub.AcceptAnswer(accept, metadata=h.auth("asker"), timeout=10) for _ in range(5)]
    )
    assert {r.question.accepted_answer_id for r in replies} == {ann_answer.answer_id}
    again = await h.stub.AcceptAnswer(accept, metadata=h.auth("asker"), timeout=10)
    assert again.answer.accepted
    # A moderator moves the accepted answer: a second event, naming the previous one.
    await h.stub.AcceptAnswer(
        pb.AcceptAnswerRequest(question_id=question.post_id, answer_id=ben_answer.answer_id),
        metadata=h.auth("mo"),
        timeout=10,
    )
    listed = await h.stub.ListAnswers(
        pb.ListAnswersRequest(question_id=question.post_id), metadata=h.auth("ann"), timeout=10
    )
    assert [(a.answer_id, a.accepted) for a in listed.answers] == [
        (ann_answer.answer_id, False),
        (ben_answer.answer_id, True),
    ]
    got = await h.stub.GetPost(
        pb.GetPostRequest(post_id=question.post_id), metadata=h.auth("ann"), timeout=10
    )
    assert got.post.answer_count == 2

    events = await h.post_events(min_count=4)
    accepted = _events_of(events, ev.AnswerAccepted, question.post_id)
    assert [(a.answer_id, a.answer_author_id, a.previous_answer_id) for a in accepted] == [
        (ann_answer.answer_id, "ann", ""),
        (ben_answer.answer_id, "ben", ann_answer.answer_id),
    ]
    assert list(accepted[0].question_tags) == ["sap-fi", "tax"]
    assert len(_events_of(events, ev.AnswerPosted, question.post_id)) == 2


async def test_idea_votes_and_status_workflow(h: PostHarness) -> None:
    cid = await _community(h, ida="member", ann="member", ben="member", mo="moderator")
    idea = await _create(h, "ida", cid, pb.POST_TYPE_IDEA)
    assert idea.idea_status == pb.IDEA_STATUS_NEW
    voters = ["ann", "ben", "mo"]
    await asyncio.gather(
        *[
            h.stub.VoteIdea(
                pb.VoteIdeaRequest(idea_id=idea.post_id), metadata=h.auth(v), timeout=10
            )
            for v in voters
        ]
    )
    twice = await h.stub.VoteIdea(
        pb.VoteIdeaRequest(idea_id=idea.post_id), metadata=h.auth("ann"), timeout=10
    )
    assert (twice.post.vote_count, twice.voted) == (3, True)
    withdrawn = await h.stub.VoteIdea(
        pb.VoteIdeaRequest(idea_id=idea.post_id, withdraw=True), metadata=h.auth("ben"), timeout=10
    )
    assert (withdrawn.post.vote_count, withdrawn.voted) == (2, False)

    skip = await _rpc_error(
        h.stub.ChangeIdeaStatus(
            pb.ChangeIdeaStatusRequest(idea_id=idea.post_id, status=pb.IDEA_STATUS_IMPLEMENTED),
            metadata=h.auth("mo"),
            timeout=10,
        )
    )
    assert skip.code() == grpc.StatusCode.FAILED_PRECONDITION
    member = await _rpc_error(
        h.stub.ChangeIdeaStatus(
            pb.ChangeIdeaStatusRequest(idea_id=idea.post_id, status=pb.IDEA_STATUS_UNDER_REVIEW),
            metadata=h.auth("ida"),
            timeout=10,
        )
    )
    assert member.code() == grpc.StatusCode.PERMISSION_DENIED
    for status in (
        pb.IDEA_STATUS_UNDER_REVIEW,
        pb.IDEA_STATUS_ACCEPTED,
        pb.IDEA_STATUS_ACCEPTED,  # no change, no event
        pb.IDEA_STATUS_IMPLEMENTED,
    ):
        changed = await h.stub.ChangeIdeaStatus(
            pb.ChangeIdeaStatusRequest(idea_id=idea.post_id, status=status, note="ok"),
            metadata=h.auth("mo"),
            timeout=10,
        )
        assert changed.post.idea_status == status

    events = await h.post_events(min_count=4)
    votes = _events_of(events, ev.IdeaVoted, idea.post_id)
    assert sorted(v.vote_count for v in votes if not v.withdrawn) == [1, 2, 3]
    assert [v.vote_count for v in votes if v.withdrawn] == [2]
    statuses = _events_of(events, ev.IdeaStatusChanged, idea.post_id)
    assert [s.status for s in statuses] == [
        pb.IDEA_STATUS_UNDER_REVIEW,
        pb.IDEA_STATUS_ACCEPTED,
        pb.IDEA_STATUS_IMPLEMENTED,
    ]


async def test_wiki_revisions_diff_restore_and_stale_edits_lose_nothing(h: PostHarness) -> None:
    cid = await _community(h, wes="member", kim="member")
    page = await _create(
        h, "wes", cid, pb.POST_TYPE_WIKI_PAGE, title="Invoice flow", body="step 1\nstep 2\n"
    )
    v2 = await h.stub.EditWikiPage(
        pb.EditWikiPageRequest(
            page_id=page.post_id,
            base_revision=1,
            title="Invoice flow",
            body="step 1\nstep 2 (checked)\nstep 3\n",
            summary="checks",
        ),
        metadata=h.auth("kim"),
        timeout=10,
    )
    assert (v2.post.revision, v2.post.edited_by) == (2, "kim")

    # Two people edit revision 2 at once: exactly one wins, the other is ABORTED.
    async def edit(who: str) -> Any:
        try:
            return await h.stub.EditWikiPage(
                pb.EditWikiPageRequest(
                    page_id=page.post_id,
                    base_revision=2,
                    title="Invoice flow",
                    body=f"by {who}\n",
                ),
                metadata=h.auth(who),
                timeout=10,
            )
        except grpc.aio.AioRpcError as exc:
            return exc.code()

    results = await asyncio.gather(edit("wes"), edit("kim"))
    codes = [r for r in results if isinstance(r, grpc.StatusCode)]
    winners = [r for r in results if not isinstance(r, grpc.StatusCode)]
    assert codes == [grpc.StatusCode.ABORTED]
    assert len(winners) == 1
    assert winners[0].post.revision == 3

    revisions = await h.stub.ListRevisions(
        pb.ListRevisionsRequest(item_id=page.post_id), metadata=h.auth("kim"), timeout=10
    )
    assert [r.revision for r in revisions.revisions] == [3, 2, 1]
    assert all(r.body == "" for r in revisions.revisions)
    diff = await h.stub.DiffRevisions(
        pb.DiffRevisionsRequest(item_id=page.post_id, from_revision=1, to_revision=2),
        metadata=h.auth("kim"),
        timeout=10,
    )
    assert [(d.op, d.text) for d in diff.lines] == [
        (pb.DIFF_OP_EQUAL, "step 1"),
        (pb.DIFF_OP_DELETE, "step 2"),
        (pb.DIFF_OP_INSERT, "step 2 (checked)"),
        (pb.DIFF_OP_INSERT, "step 3"),
    ]
    assert "+step 3" in diff.unified_diff

    restored = await h.stub.RestoreWikiRevision(
        pb.RestoreWikiRevisionRequest(page_id=page.post_id, revision=1, base_revision=3),
        metadata=h.auth("wes"),
        timeout=10,
    )
    assert (restored.post.revision, restored.post.body) == (4, "step 1\nstep 2\n")
    stale_restore = await _rpc_error(
        h.stub.RestoreWikiRevision(
            pb.RestoreWikiRevisionRequest(page_id=page.post_id, revision=2, base_revision=3),
            metadata=h.auth("kim"),
            timeout=10,
        )
    )
    assert stale_restore.code() == grpc.StatusCode.ABORTED
    # Nothing was lost: every revision is still there, bodies intact.
    for number, body in ((1, "step 1\nstep 2\n"), (2, "step 1\nstep 2 (checked)\nstep 3\n")):
        got = await h.stub.GetRevision(
            pb.GetRevisionRequest(item_id=page.post_id, revision=number),
            metadata=h.auth("kim"),
            timeout=10,
        )
        assert got.revision.body == body
    unknown = await _rpc_error(
        h.stub.GetRevision(
            pb.GetRevisionRequest(item_id=page.post_id, revision=9),
            metadata=h.auth("kim"),
            timeout=10,
        )
    )
    assert unknown.code() == grpc.StatusCode.NOT_FOUND

    events = await h.post_events(min_count=5)
    revised = _events_of(events, ev.WikiRevised, page.post_id)
    assert [(r.revision, r.restored_from_revision) for r in revised] == [
        (1, 0),
        (2, 0),
        (3, 0),
        (4, 1),
    ]


async def test_comments_thread_one_level_react_and_mention(h: PostHarness) -> None:
    cid = await _community(h, cat="member", dan="member")
    await h.person("dan")
    await h.person("outsider")
    await h.known(people=["dan", "outsider"])
    post = await _create(h, "cat", cid, pb.POST_TYPE_DISCUSSION)
    top = await h.stub.AddComment(
        pb.AddCommentRequest(
            post_id=post.post_id, body="@dan what do you think?", mentioned_person_ids=["dan"]
        ),
        metadata=h.auth("cat"),
        timeout=10,
    )
    reply = await h.stub.AddComment(
        pb.AddCommentRequest(
            post_id=post.post_id, parent_comment_id=top.comment.comment_id, body="agreed"
        ),
        metadata=h.auth("dan"),
        timeout=10,
    )
    deeper = await _rpc_error(
        h.stub.AddComment(
            pb.AddCommentRequest(
                post_id=post.post_id, parent_comment_id=reply.comment.comment_id, body="too deep"
            ),
            metadata=h.auth("cat"),
            timeout=10,
        )
    )
    assert deeper.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "parent_comment_id" in (deeper.details() or "")
    second = await h.stub.AddComment(
        pb.AddCommentRequest(post_id=post.post_id, body="another thread"),
        metadata=h.auth("dan"),
        timeout=10,
    )
    listed = await h.stub.ListComments(
        pb.ListCommentsRequest(post_id=post.post_id, page_size=2),
        metadata=h.auth("cat"),
        timeout=10,
    )
    rest = await h.stub.ListComments(
        pb.ListCommentsRequest(post_id=post.post_id, page_token=listed.next_page_token),
        metadata=h.auth("cat"),
        timeout=10,
    )
    assert [c.comment_id for c in [*listed.comments, *rest.comments]] == [
        top.comment.comment_id,
        reply.comment.comment_id,
        second.comment.comment_id,
    ]
    # Deleting keeps the place in the thread; its text is the author's and moderators'.
    await h.stub.DeleteComment(
        pb.DeleteCommentRequest(comment_id=top.comment.comment_id),
        metadata=h.auth("cat"),
        timeout=10,
    )
    seen_by_dan = await h.stub.ListComments(
        pb.ListCommentsRequest(post_id=post.post_id), metadata=h.auth("dan"), timeout=10
    )
    assert (seen_by_dan.comments[0].state, seen_by_dan.comments[0].body) == (
        pb.POST_STATE_DELETED,
        "",
    )

    for who in ("cat", "dan", "dan"):
        counts = await h.stub.AddReaction(
            pb.AddReactionRequest(post_id=post.post_id, kind=pb.REACTION_KIND_LIKE),
            metadata=h.auth(who),
            timeout=10,
        )
    assert [(r.kind, r.count) for r in counts.reactions] == [(pb.REACTION_KIND_LIKE, 2)]
    removed = await h.stub.RemoveReaction(
        pb.RemoveReactionRequest(post_id=post.post_id, kind=pb.REACTION_KIND_LIKE),
        metadata=h.auth("dan"),
        timeout=10,
    )
    assert [(r.kind, r.count) for r in removed.reactions] == [(pb.REACTION_KIND_LIKE, 1)]

    # Mentions: a person who may read the space is notified; one the service does not
    # know, or who may not read it, is not. (An open community: everyone reads it, so
    # the unknown person is what is refused here.)
    await h.stub.CreatePost(
        pb.CreatePostRequest(
            space_id=cid,
            type=pb.POST_TYPE_DISCUSSION,
            title="Hi",
            body="@dan @ghost",
            mentioned_person_ids=["dan", "ghost"],
        ),
        metadata=h.auth("cat"),
        timeout=10,
    )
    events = await h.post_events(min_count=6)
    mentions = [e.parse(ev.Mentioned) for e in events if e.type.endswith(".Mentioned")]
    ours = [m for m in mentions if m.space_id == cid]
    assert sorted(m.person_id for m in ours) == ["dan", "dan"]
    assert {m.comment_id for m in ours} == {top.comment.comment_id, ""}
    added = _events_of(events, ev.ReactionAdded, post.post_id)
    assert sorted(a.person_id for a in added) == ["cat", "dan"]
