"""The post service with the real community service, both in process on real Kafka and
FerretDB: partners see only their granted open pinholes, revocation is exact from the next
call on (no waiting for the event), links never leak across spaces, search never returns
what the caller may not read, and hidden and missing items answer the same in every RPC.

Nothing stands in for the community service: communities, memberships and pinholes are
made through its API, the post service learns them from its events, and every partner
request is decided by its CheckAccess / ListSpaces.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import grpc
import pytest

from guildhall.post.v1 import post_pb2 as pb
from guildhall_testsupport.post import PostPlatform, running_post_platform

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture(scope="module")
async def pf(infra: Any, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[PostPlatform]:
    async with running_post_platform(
        kafka=infra.kafka_bootstrap_servers,
        mongo=infra.mongo_uri,
        tmp=tmp_path_factory.mktemp("platform"),
    ) as platform:
        yield platform


def _id(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(4)}"


async def _post(pf: PostPlatform, who: str, space: str, **fields: Any) -> pb.Post:
    fields.setdefault("title", "Title")
    fields.setdefault("body", "Body")
    fields.setdefault("type", pb.POST_TYPE_DISCUSSION)
    reply = await pf.post.stub.CreatePost(
        pb.CreatePostRequest(space_id=space, **fields), metadata=pf.auth(who), timeout=10
    )
    return reply.post


async def _code(call: Any) -> grpc.StatusCode:
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await call
    code: grpc.StatusCode = info.value.code()
    return code


@dataclass
class World:
    """One community with an internal post and two pinholes granted to two partner orgs:
    Acme (viewer, its user ``val``) and Globex (contributor, its user ``gus``)."""

    owner: str
    emp: str
    val: str
    gus: str
    acme: str
    globex: str
    cid: str = ""
    acme_hole: str = ""
    globex_hole: str = ""
    internal: pb.Post | None = None
    in_acme: pb.Post | None = None
    in_globex: pb.Post | None = None

    def posts(self) -> tuple[pb.Post, pb.Post, pb.Post]:
        assert self.internal is not None
        assert self.in_acme is not None
        assert self.in_globex is not None
        return self.internal, self.in_acme, self.in_globex


@pytest.fixture
async def world(pf: PostPlatform) -> World:
    w = World(
        owner=_id("own"), emp=_id("emp"), val=_id("val"), gus=_id("gus"),
        acme=_id("acme"), globex=_id("globex"),
    )  # fmt: skip
    await pf.people(w.owner, w.emp, partners={w.val: w.acme, w.gus: w.globex})
    w.cid = await pf.new_community(w.owner, members={w.emp: "member"})
    w.acme_hole = await pf.open_pinhole(w.cid, w.owner, grants={w.acme: "viewer"})
    w.globex_hole = await pf.open_pinhole(w.cid, w.owner, grants={w.globex: "contributor"})
    w.internal = await _post(pf, w.emp, w.cid, title="Internal pricing")
    link = f"guildhall://post/{w.internal.post_id}"
    w.in_acme = await _post(
        pf,
        w.emp,
        w.acme_hole,
        title="Shared with Acme",
        body=f"Background: see {link} (internal)",
        quoted_post_id=w.internal.post_id,
    )
    w.in_globex = await _post(pf, w.emp, w.globex_hole, title="Shared with Globex")
    return w


async def test_partner_reads_only_granted_open_pinholes(pf: PostPlatform, world: World) -> None:
    s = pf.post.stub
    internal, in_acme, in_globex = world.posts()
    val = pf.auth(world.val, partner_org=world.acme)
    got = await s.GetPost(pb.GetPostRequest(post_id=in_acme.post_id), metadata=val, timeout=10)
    assert got.post.post_id == in_acme.post_id
    for other in (internal.post_id, in_globex.post_id, "01nothinghere0000000000000"):
        assert (
            await _code(s.GetPost(pb.GetPostRequest(post_id=other), metadata=val, timeout=10))
            == grpc.StatusCode.NOT_FOUND
        )
    assert (
        await _code(
            s.ListSpaceFeed(pb.ListSpaceFeedRequest(space_id=world.cid), metadata=val, timeout=10)
        )
        == grpc.StatusCode.NOT_FOUND
    )
    home = await s.ListHomeFeed(pb.ListHomeFeedRequest(), metadata=val, timeout=10)
    assert [p.post_id for p in home.posts] == [in_acme.post_id]
    # A viewer reads; a contributor (Globex) also posts and comments.
    assert (
        await _code(
            s.CreatePost(
                pb.CreatePostRequest(
                    space_id=world.acme_hole, type=pb.POST_TYPE_DISCUSSION, title="t", body="b"
                ),
                metadata=val,
                timeout=10,
            )
        )
        == grpc.StatusCode.PERMISSION_DENIED
    )
    gus = pf.auth(world.gus, partner_org=world.globex)
    created = await s.CreatePost(
        pb.CreatePostRequest(
            space_id=world.globex_hole, type=pb.POST_TYPE_QUESTION, title="Q", body="b"
        ),
        metadata=gus,
        timeout=10,
    )
    assert created.post.author_id == world.gus
    viewer = await s.GetPost(
        pb.GetPostRequest(post_id=created.post.post_id), metadata=gus, timeout=10
    )
    assert viewer.viewer.can_edit
    assert not viewer.viewer.can_moderate
    comment = await s.AddComment(
        pb.AddCommentRequest(post_id=in_globex.post_id, body="from Globex"),
        metadata=gus,
        timeout=10,
    )
    assert comment.comment.author_id == world.gus


async def test_links_to_internal_content_are_unavailable_to_partners(
    pf: PostPlatform, world: World
) -> None:
    s = pf.post.stub
    internal, in_acme, _ = world.posts()
    partner = await s.GetPost(
        pb.GetPostRequest(post_id=in_acme.post_id),
        metadata=pf.auth(world.val, partner_org=world.acme),
        timeout=10,
    )
    assert internal.post_id not in partner.post.body
    assert "guildhall://post/unavailable" in partner.post.body
    assert [(link.available, link.post_id, link.title) for link in partner.post.links] == [
        (False, "", "")
    ]
    assert (partner.post.quoted_post.available, partner.post.quoted_post.post_id) == (False, "")
    employee = await s.GetPost(
        pb.GetPostRequest(post_id=in_acme.post_id), metadata=pf.auth(world.emp), timeout=10
    )
    assert f"guildhall://post/{internal.post_id}" in employee.post.body
    assert [(link.available, link.title) for link in employee.post.links] == [
        (True, "Internal pricing")
    ]
    assert employee.post.quoted_post.post_id == internal.post_id
    # The stored body is untouched: the author's history shows it as written.
    history = await s.GetRevision(
        pb.GetRevisionRequest(item_id=in_acme.post_id, revision=1),
        metadata=pf.auth(world.emp),
        timeout=10,
    )
    assert internal.post_id in history.revision.body


async def test_revoked_partner_cannot_read_the_next_page(pf: PostPlatform, world: World) -> None:
    s = pf.post.stub
    _, in_acme, _ = world.posts()
    for i in range(4):
        await _post(pf, world.emp, world.acme_hole, title=f"more {i}")
    val = pf.auth(world.val, partner_org=world.acme)
    first = await s.ListSpaceFeed(
        pb.ListSpaceFeedRequest(space_id=world.acme_hole, page_size=2), metadata=val, timeout=10
    )
    assert len(first.posts) == 2
    assert first.next_page_token
    await pf.revoke(world.acme_hole, world.acme, by=world.owner)
    # No waiting for the event: the very next request is refused.
    assert (
        await _code(
            s.ListSpaceFeed(
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
        await _code(s.GetPost(pb.GetPostRequest(post_id=in_acme.post_id), metadata=val, timeout=10))
        == grpc.StatusCode.NOT_FOUND
    )
    home = await s.ListHomeFeed(pb.ListHomeFeedRequest(), metadata=val, timeout=10)
    assert list(home.posts) == []
    # Employees keep the content.
    mine = await s.ListSpaceFeed(
        pb.ListSpaceFeedRequest(space_id=world.acme_hole), metadata=pf.auth(world.emp), timeout=10
    )
    assert len(mine.posts) == 5


async def test_search_never_returns_what_the_caller_may_not_read(
    pf: PostPlatform, world: World
) -> None:
    s, word = pf.post.stub, f"narwhal{secrets.token_hex(3)}"
    secret = await pf.new_community(world.owner, visibility="secret")
    made = {
        name: await _post(pf, who, space, title=f"{word} {name}")
        for name, who, space in (
            ("internal", world.emp, world.cid),
            ("secret", world.owner, secret),
            ("shared", world.emp, world.acme_hole),
            ("elsewhere", world.emp, world.globex_hole),
        )
    }
    for post in made.values():
        await pf.post.index_has(post.post_id)

    async def search(auth: Any, **filters: Any) -> list[str]:
        reply = await s.Search(pb.SearchRequest(query=word, **filters), metadata=auth, timeout=10)
        return [hit.post.post_id for hit in reply.hits]

    employee = set(await search(pf.auth(world.emp)))
    assert employee == {made[n].post_id for n in ("internal", "shared", "elsewhere")}
    val = pf.auth(world.val, partner_org=world.acme)
    assert await search(val) == [made["shared"].post_id]
    assert await _code(search(val, space_id=world.cid)) == grpc.StatusCode.NOT_FOUND
    await pf.revoke(world.acme_hole, world.acme, by=world.owner)
    assert await search(val) == []


def _every_item_rpc(pf: PostPlatform, who: Any, post: str, answer: str, comment: str) -> list[Any]:
    """Every RPC that names an item, called for ``post`` (a question), ``answer`` and
    ``comment`` as ``who``: the awaitables, in one list."""
    s, m = pf.post.stub, {"metadata": who, "timeout": 10}
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
    pf: PostPlatform, world: World
) -> None:
    s = pf.post.stub
    sam, out = _id("sam"), _id("out")
    await pf.people(sam, out)
    secret = await pf.new_community(sam, visibility="secret")
    ids: dict[str, tuple[str, str, str]] = {}
    for name, space, author in (("secret", secret, sam), ("internal", world.cid, world.emp)):
        question = await _post(pf, author, space, type=pb.POST_TYPE_QUESTION)
        answer = await s.PostAnswer(
            pb.PostAnswerRequest(question_id=question.post_id, body="a"),
            metadata=pf.auth(author),
            timeout=10,
        )
        comment = await s.AddComment(
            pb.AddCommentRequest(post_id=question.post_id, body="c"),
            metadata=pf.auth(author),
            timeout=10,
        )
        ids[name] = (question.post_id, answer.answer.answer_id, comment.comment.comment_id)
    missing = ("01nothinghere0000000000000", "01nothinghere0000000000001", "01nothinghere00000002")
    outsider, partner = pf.auth(out), pf.auth(world.val, partner_org=world.acme)
    seen = {
        "employee, secret community": await _outcomes(
            _every_item_rpc(pf, outsider, *ids["secret"])
        ),
        "employee, missing": await _outcomes(_every_item_rpc(pf, outsider, *missing)),
        "partner, internal space": await _outcomes(_every_item_rpc(pf, partner, *ids["internal"])),
        "partner, missing": await _outcomes(_every_item_rpc(pf, partner, *missing)),
    }
    expected = [(grpc.StatusCode.NOT_FOUND, "item not found")] * len(seen["employee, missing"])
    for case, outcomes in seen.items():
        assert outcomes == expected, case
    # The items exist and their authors see them: the answers above are about access.
    got = await s.GetPost(
        pb.GetPostRequest(post_id=ids["secret"][0]), metadata=pf.auth(sam), timeout=10
    )
    assert got.post.post_id == ids["secret"][0]
