"""The access funnel against real Kafka and FerretDB: partners see only their granted open
pinholes, revocation is exact from the next call on, links never leak across spaces, missing
and forbidden look the same, and access never fails open."""

from __future__ import annotations

import secrets
import time
from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest

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


async def _post(h: PostHarness, who: str, space: str, **fields: Any) -> pb.Post:
    fields.setdefault("title", "Title")
    fields.setdefault("body", "Body")
    fields.setdefault("type", pb.POST_TYPE_DISCUSSION)
    reply = await h.stub.CreatePost(
        pb.CreatePostRequest(space_id=space, **fields),
        metadata=h.auth(who),
        timeout=10,
    )
    return reply.post


async def _code(call: Any) -> grpc.StatusCode:
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await call
    code: grpc.StatusCode = info.value.code()
    return code


class World:
    """One community with an internal post and two pinholes granted to two partner orgs."""

    def __init__(self) -> None:
        self.cid = _id("c")
        self.acme_hole = _id("p")
        self.globex_hole = _id("p")
        self.acme = _id("acme")
        self.globex = _id("globex")
        self.internal: pb.Post
        self.in_acme: pb.Post
        self.in_globex: pb.Post


@pytest.fixture
async def world(h: PostHarness) -> World:
    w = World()
    await h.community(w.cid, owner="own", members={"emp": "member"})
    await h.pinhole(w.acme_hole, w.cid, grants={w.acme: "viewer"})
    await h.pinhole(w.globex_hole, w.cid, grants={w.globex: "contributor"})
    await h.known(
        communities=[w.cid], pinholes=[w.acme_hole, w.globex_hole], members=[(w.cid, "emp")]
    )
    w.internal = await _post(h, "emp", w.cid, title="Internal pricing")
    link = f"guildhall://post/{w.internal.post_id}"
    w.in_acme = await _post(
        h,
        "emp",
        w.acme_hole,
        title="Shared with Acme",
        body=f"Background: see {link} (internal)",
        quoted_post_id=w.internal.post_id,
    )
    w.in_globex = await _post(h, "emp", w.globex_hole, title="Shared with Globex")
    return w


async def test_partner_reads_only_granted_open_pinholes(h: PostHarness, world: World) -> None:
    val = h.auth("val", partner_org=world.acme)
    got = await h.stub.GetPost(
        pb.GetPostRequest(post_id=world.in_acme.post_id), metadata=val, timeout=10
    )
    assert got.post.post_id == world.in_acme.post_id
    for other in (world.internal.post_id, world.in_globex.post_id, "01nothinghere0000000000000"):
        assert (
            await _code(h.stub.GetPost(pb.GetPostRequest(post_id=other), metadata=val, timeout=10))
            == grpc.StatusCode.NOT_FOUND
        )
    assert (
        await _code(
            h.stub.ListSpaceFeed(
                pb.ListSpaceFeedRequest(space_id=world.cid), metadata=val, timeout=10
            )
        )
        == grpc.StatusCode.NOT_FOUND
    )
    home = await h.stub.ListHomeFeed(pb.ListHomeFeedRequest(), metadata=val, timeout=10)
    assert [p.post_id for p in home.posts] == [world.in_acme.post_id]
    # A viewer reads; a contributor (Globex) also posts and comments.
    assert (
        await _code(
            h.stub.CreatePost(
                pb.CreatePostRequest(
                    space_id=world.acme_hole, type=pb.POST_TYPE_DISCUSSION, title="t", body="b"
                ),
                metadata=val,
                timeout=10,
            )
        )
        == grpc.StatusCode.PERMISSION_DENIED
    )
    gus = h.auth("gus", partner_org=world.globex)
    created = await h.stub.CreatePost(
        pb.CreatePostRequest(
            space_id=world.globex_hole, type=pb.POST_TYPE_QUESTION, title="Q", body="b"
        ),
        metadata=gus,
        timeout=10,
    )
    assert created.post.author_id == "gus"
    viewer = await h.stub.GetPost(
        pb.GetPostRequest(post_id=created.post.post_id), metadata=gus, timeout=10
    )
    assert viewer.viewer.can_edit
    assert not viewer.viewer.can_moderate


async def test_links_to_internal_content_are_unavailable_to_partners(
    h: PostHarness, world: World
) -> None:
    partner = await h.stub.GetPost(
        pb.GetPostRequest(post_id=world.in_acme.post_id),
        metadata=h.auth("val", partner_org=world.acme),
        timeout=10,
    )
    assert world.internal.post_id not in partner.post.body
    assert "guildhall://post/unavailable" in partner.post.body
    assert [(link.available, link.post_id, link.title) for link in partner.post.links] == [
        (False, "", "")
    ]
    assert (partner.post.quoted_post.available, partner.post.quoted_post.post_id) == (False, "")
    employee = await h.stub.GetPost(
        pb.GetPostRequest(post_id=world.in_acme.post_id), metadata=h.auth("emp"), timeout=10
    )
    assert f"guildhall://post/{world.internal.post_id}" in employee.post.body
    assert [(link.available, link.title) for link in employee.post.links] == [
        (True, "Internal pricing")
    ]
    assert employee.post.quoted_post.post_id == world.internal.post_id
    # The stored body is untouched: the author's history shows it as written.
    history = await h.stub.GetRevision(
        pb.GetRevisionRequest(item_id=world.in_acme.post_id, revision=1),
        metadata=h.auth("emp"),
        timeout=10,
    )
    assert world.internal.post_id in history.revision.body


async def test_revoked_partner_cannot_read_the_next_page(h: PostHarness, world: World) -> None:
    for i in range(4):
        await _post(h, "emp", world.acme_hole, title=f"more {i}")
    val = h.auth("val", partner_org=world.acme)
    first = await h.stub.ListSpaceFeed(
        pb.ListSpaceFeedRequest(space_id=world.acme_hole, page_size=2), metadata=val, timeout=10
    )
    assert first.next_page_token
    await h.revoke(world.acme_hole, world.acme)
    # No waiting for the event: the very next request is refused.
    assert (
        await _code(
            h.stub.ListSpaceFeed(
                pb.ListSpaceFeedRequest(
                    space_id=world.acme_hole, page_size=2, page_token=first.next_page_token
                ),
                metadata=val,
                timeout=10,
            )
        )
        == grpc.StatusCode.NOT_FOUND
    )
    assert (
        await _code(
            h.stub.GetPost(
                pb.GetPostRequest(post_id=world.in_acme.post_id), metadata=val, timeout=10
            )
        )
        == grpc.StatusCode.NOT_FOUND
    )
    home = await h.stub.ListHomeFeed(pb.ListHomeFeedRequest(), metadata=val, timeout=10)
    assert list(home.posts) == []


async def test_access_never_fails_open(h: PostHarness, world: World) -> None:
    val = h.auth("val", partner_org=world.acme)
    request = pb.GetPostRequest(post_id=world.in_acme.post_id)
    h.double.fail = True
    try:
        assert await _code(h.stub.GetPost(request, metadata=val, timeout=10)) == (
            grpc.StatusCode.UNAVAILABLE
        )
    finally:
        h.double.fail = False
    h.double.delay_s = h.settings.community_deadline_seconds + 0.5
    try:
        started = time.monotonic()
        assert await _code(h.stub.GetPost(request, metadata=val, timeout=10)) == (
            grpc.StatusCode.UNAVAILABLE
        )
        assert time.monotonic() - started < h.settings.community_deadline_seconds + 2
    finally:
        h.double.delay_s = 0.0
    # Employees are decided from the read model: no call, so no outage for them.
    calls = h.double.calls
    await h.stub.GetPost(
        pb.GetPostRequest(post_id=world.internal.post_id), metadata=h.auth("emp"), timeout=10
    )
    assert h.double.calls == calls


async def test_private_and_secret_content_for_employees(h: PostHarness) -> None:
    private, secret = _id("c"), _id("c")
    await h.community(private, owner="own", members={"pia": "member"}, visibility="private")
    await h.community(secret, owner="own", members={"sam": "member"}, visibility="secret")
    await h.known(communities=[private, secret], members=[(private, "pia"), (secret, "sam")])
    in_private = await _post(h, "pia", private)
    in_secret = await _post(h, "sam", secret)
    outsider = h.auth("out")
    # A private community's card is visible (PERMISSION_DENIED), its items are not.
    assert (
        await _code(
            h.stub.ListSpaceFeed(
                pb.ListSpaceFeedRequest(space_id=private), metadata=outsider, timeout=10
            )
        )
        == grpc.StatusCode.PERMISSION_DENIED
    )
    for post_id in (in_private.post_id, in_secret.post_id):
        assert (
            await _code(
                h.stub.GetPost(pb.GetPostRequest(post_id=post_id), metadata=outsider, timeout=10)
            )
            == grpc.StatusCode.NOT_FOUND
        )
    assert (
        await _code(
            h.stub.ListSpaceFeed(
                pb.ListSpaceFeedRequest(space_id=secret), metadata=outsider, timeout=10
            )
        )
        == grpc.StatusCode.NOT_FOUND
    )
    # A home admin reads and moderates everything, but posts only where a member.
    admin = h.auth("root", admin=True)
    got = await h.stub.GetPost(
        pb.GetPostRequest(post_id=in_secret.post_id), metadata=admin, timeout=10
    )
    assert got.viewer.can_moderate
    assert (
        await _code(
            h.stub.CreatePost(
                pb.CreatePostRequest(
                    space_id=secret, type=pb.POST_TYPE_DISCUSSION, title="t", body="b"
                ),
                metadata=admin,
                timeout=10,
            )
        )
        == grpc.StatusCode.PERMISSION_DENIED
    )
    # A member who leaves loses the content once the read model has the event.
    await h.leave(secret, "sam")
    await h.known(gone_members=[(secret, "sam")])
    assert (
        await _code(
            h.stub.GetPost(
                pb.GetPostRequest(post_id=in_secret.post_id), metadata=h.auth("sam"), timeout=10
            )
        )
        == grpc.StatusCode.NOT_FOUND
    )


async def test_archived_community_is_read_only(h: PostHarness) -> None:
    cid = _id("c")
    await h.community(cid, owner="own", members={"arc": "member"})
    await h.known(communities=[cid], members=[(cid, "arc")])
    post = await _post(h, "arc", cid)
    await h.community(cid, owner="own", archived=True)

    async def archived(db: Any) -> bool:
        return await db["rm_communities"].find_one({"_id": cid, "state": "archived"}) is not None

    await h.settle(archived)
    await h.stub.GetPost(
        pb.GetPostRequest(post_id=post.post_id), metadata=h.auth("arc"), timeout=10
    )
    assert (
        await _code(
            h.stub.CreatePost(
                pb.CreatePostRequest(
                    space_id=cid, type=pb.POST_TYPE_DISCUSSION, title="t", body="b"
                ),
                metadata=h.auth("arc"),
                timeout=10,
            )
        )
        == grpc.StatusCode.FAILED_PRECONDITION
    )


async def test_a_late_older_membership_event_does_not_undo_a_newer_one(h: PostHarness) -> None:
    secret = _id("c")
    await h.community(secret, owner="own", visibility="secret")
    await h.known(communities=[secret])
    post = await _post(h, "own", secret)
    # The person left (version 3) before the join (version 2) arrived.
    await h.membership_event(secret, "late", None, 3)
    await h.membership_event(secret, "late", "member", 2)
    # A later event on the same key (same partition): once it is applied, so are both above.
    await h.membership_event(secret, "sentinel", "member", 1)
    await h.known(members=[(secret, "sentinel")])
    doc = await h.db["rm_memberships"].find_one({"_id": f"{secret}:late"})
    assert (doc["role"], doc["membership_version"]) == ("", 3)
    assert (
        await _code(
            h.stub.GetPost(
                pb.GetPostRequest(post_id=post.post_id), metadata=h.auth("late"), timeout=10
            )
        )
        == grpc.StatusCode.NOT_FOUND
    )


def _every_item_rpc(h: PostHarness, who: Any, post: str, answer: str, comment: str) -> list[Any]:
    """Every RPC that names an item, called for ``post`` (a question), ``answer`` and
    ``comment`` as ``who``: the awaitables, in one list."""
    s, m = h.stub, {"metadata": who, "timeout": 10}
    calls: list[Any] = [
        s.GetPost(pb.GetPostRequest(post_id=post), **m),
        s.EditPost(pb.EditPostRequest(post_id=post, title="t", body="b"), **m),
        s.DeletePost(pb.DeletePostRequest(post_id=post), **m),
        s.PinPost(pb.PinPostRequest(post_id=post, pinned=True), **m),
        s.EditWikiPage(
            pb.EditWikiPageRequest(page_id=post, base_revision=1, title="t", body="b"), **m
        ),
        s.RestoreWikiRevision(
            pb.RestoreWikiRevisionRequest(page_id=post, revision=1, base_revision=1), **m
        ),
        s.PostAnswer(pb.PostAnswerRequest(question_id=post, body="b"), **m),
        s.ListAnswers(pb.ListAnswersRequest(question_id=post), **m),
        s.EditAnswer(pb.EditAnswerRequest(answer_id=answer, body="b"), **m),
        s.DeleteAnswer(pb.DeleteAnswerRequest(answer_id=answer), **m),
        s.VoteAnswer(pb.VoteAnswerRequest(answer_id=answer, vote=pb.ANSWER_VOTE_UP), **m),
        s.AcceptAnswer(pb.AcceptAnswerRequest(question_id=post, answer_id=answer), **m),
        s.VoteIdea(pb.VoteIdeaRequest(idea_id=post), **m),
        s.ChangeIdeaStatus(
            pb.ChangeIdeaStatusRequest(idea_id=post, status=pb.IDEA_STATUS_UNDER_REVIEW), **m
        ),
        s.AddComment(pb.AddCommentRequest(post_id=post, body="b"), **m),
        s.ListComments(pb.ListCommentsRequest(post_id=post), **m),
        s.EditComment(pb.EditCommentRequest(comment_id=comment, body="b"), **m),
        s.DeleteComment(pb.DeleteCommentRequest(comment_id=comment), **m),
        s.AddReaction(pb.AddReactionRequest(post_id=post, kind=pb.REACTION_KIND_LIKE), **m),
        s.RemoveReaction(pb.RemoveReactionRequest(post_id=post, kind=pb.REACTION_KIND_LIKE), **m),
    ]
    for item in (post, answer, comment):
        calls += [
            s.ListRevisions(pb.ListRevisionsRequest(item_id=item), **m),
            s.GetRevision(pb.GetRevisionRequest(item_id=item, revision=1), **m),
            s.DiffRevisions(
                pb.DiffRevisionsRequest(item_id=item, from_revision=1, to_revision=1), **m
            ),
        ]
    return calls


async def _outcomes(calls: list[Any]) -> list[tuple[grpc.StatusCode, str]]:
    out = []
    for call in calls:
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await call
        out.append((info.value.code(), info.value.details() or ""))
    return out


async def test_hidden_and_missing_items_answer_the_same_in_every_rpc(
    h: PostHarness, world: World
) -> None:
    secret = _id("c")
    await h.community(secret, owner="own", members={"sam": "member"}, visibility="secret")
    await h.known(communities=[secret], members=[(secret, "sam")])
    ids: dict[str, tuple[str, str, str]] = {}
    for name, space, author in (("secret", secret, "sam"), ("internal", world.cid, "emp")):
        question = await _post(h, author, space, type=pb.POST_TYPE_QUESTION)
        answer = await h.stub.PostAnswer(
            pb.PostAnswerRequest(question_id=question.post_id, body="a"),
            metadata=h.auth(author),
            timeout=10,
        )
        comment = await h.stub.AddComment(
            pb.AddCommentRequest(post_id=question.post_id, body="c"),
            metadata=h.auth(author),
            timeout=10,
        )
        ids[name] = (question.post_id, answer.answer.answer_id, comment.comment.comment_id)
    missing = ("01nothinghere0000000000000", "01nothinghere0000000000001", "01nothinghere00000002")
    outsider, partner = h.auth("out"), h.auth("val", partner_org=world.acme)
    seen = {
        "employee, secret community": await _outcomes(_every_item_rpc(h, outsider, *ids["secret"])),
        "employee, missing": await _outcomes(_every_item_rpc(h, outsider, *missing)),
        "partner, internal space": await _outcomes(_every_item_rpc(h, partner, *ids["internal"])),
        "partner, missing": await _outcomes(_every_item_rpc(h, partner, *missing)),
    }
    expected = [(grpc.StatusCode.NOT_FOUND, "item not found")] * len(seen["employee, missing"])
    for case, outcomes in seen.items():
        assert outcomes == expected, case
    # The items exist and their authors see them: the answers above are about access.
    got = await h.stub.GetPost(
        pb.GetPostRequest(post_id=ids["secret"][0]), metadata=h.auth("sam"), timeout=10
    )
    assert got.post.post_id == ids["secret"][0]
