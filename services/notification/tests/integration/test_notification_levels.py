"""Each subscription level against each kind of event, through the real service.

Four followers, members of one open community, hold one level each on its
space (watching, tracking, normal, muted). For every row of :data:`TABLE` and
every follower, a fresh item is made and then the row's activity happens; the
follower's inbox must hold exactly the expected kind of notification from that
activity's event (or nothing). Rows about the follower's own content clear the
author's automatic subscription first, so the space level decides.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import pytest

from guildhall.notification.v1 import notification_pb2 as pb
from guildhall.post.v1 import post_pb2 as ppb
from guildhall_kit.bus.event import new_event_id
from guildhall_testsupport.notification import NotificationHarness, Who, employee, harness_fixture

pytestmark = pytest.mark.integration

harness = harness_fixture()

OWNER = employee("lv-owner")
ACTOR = employee("lv-actor")
LEVELS = {
    "watching": pb.SUBSCRIPTION_LEVEL_WATCHING,
    "tracking": pb.SUBSCRIPTION_LEVEL_TRACKING,
    "normal": pb.SUBSCRIPTION_LEVEL_NORMAL,
    "muted": pb.SUBSCRIPTION_LEVEL_MUTED,
}
FOLLOWERS = {level: employee(f"lv-{level}") for level in LEVELS}

K = pb.NotificationKind
W, T, N = "watching", "tracking", "normal"

# row -> (levels that hear it, the kind they get)
TABLE: dict[str, tuple[set[str], pb.NotificationKind.ValueType]] = {
    "new item": ({W}, pb.NOTIFICATION_KIND_WATCHED_SPACE),
    "announcement": ({W, T, N}, pb.NOTIFICATION_KIND_ANNOUNCEMENT),
    "comment on a followed item": ({W, T}, pb.NOTIFICATION_KIND_WATCHED_ITEM),
    "answer on a followed question": ({W, T}, pb.NOTIFICATION_KIND_WATCHED_ITEM),
    "comment on my item": ({W, T, N}, pb.NOTIFICATION_KIND_COMMENT),
    "reply to my comment": ({W, T, N}, pb.NOTIFICATION_KIND_COMMENT),
    "answer to my question": ({W, T, N}, pb.NOTIFICATION_KIND_ANSWER),
    "mention": ({W, T, N}, pb.NOTIFICATION_KIND_MENTION),
    "my answer accepted": ({W, T, N}, pb.NOTIFICATION_KIND_ANSWER_ACCEPTED),
    "edit of a followed item": ({W}, pb.NOTIFICATION_KIND_WATCHED_ITEM),
    "idea status of a followed idea": ({W, T}, pb.NOTIFICATION_KIND_IDEA_STATUS),
}


@dataclass
class Case:
    """One (row, follower): prepared in phase 1, acted in phase 2."""

    row: str
    level: str
    follower: Who
    act: Callable[[], Awaitable[None]] | None = None
    event_id: str = ""


async def _prepare(h: NotificationHarness, space: str, case: Case) -> None:
    """Make the item (and whatever the row needs first); set ``case.act``."""
    f, eid = case.follower, new_event_id()
    case.event_id = eid
    row = case.row
    if row == "new item":

        async def act() -> None:
            await h.post(OWNER, space, title="New", event_id=eid)

    elif row == "announcement":

        async def act() -> None:
            await h.post(OWNER, space, type=ppb.POST_TYPE_ANNOUNCEMENT, event_id=eid)

    elif row in ("comment on a followed item", "edit of a followed item", "mention"):
        pid = await h.post(OWNER, space, title=row)

        async def act() -> None:
            if row == "mention":
                await h.mention(ACTOR, f, pid, space, event_id=eid)
            elif row == "edit of a followed item":
                await h.edit(OWNER, pid, space, event_id=eid)
            else:
                await h.comment(ACTOR, pid, space, event_id=eid)

    elif row == "answer on a followed question":
        qid = await h.post(OWNER, space, type=ppb.POST_TYPE_QUESTION)

        async def act() -> None:
            await h.answer(ACTOR, qid, space, event_id=eid)

    elif row in ("comment on my item", "answer to my question"):
        kind = ppb.POST_TYPE_QUESTION if "answer" in row else ppb.POST_TYPE_DISCUSSION
        pid = await h.post(f, space, type=kind)
        await h.settle()
        await h.call(f, "ClearSubscription", pb.ClearSubscriptionRequest(post_id=pid))

        async def act() -> None:
            if "answer" in row:
                await h.answer(ACTOR, pid, space, event_id=eid)
            else:
                await h.comment(ACTOR, pid, space, event_id=eid)

    elif row == "reply to my comment":
        pid = await h.post(OWNER, space)
        cid = await h.comment(f, pid, space)

        async def act() -> None:
            await h.comment(ACTOR, pid, space, parent_comment_id=cid, event_id=eid)

    elif row == "my answer accepted":
        qid = await h.post(OWNER, space, type=ppb.POST_TYPE_QUESTION)
        aid = await h.answer(f, qid, space)

        async def act() -> None:
            await h.accept(OWNER, aid, f, qid, space, event_id=eid)

    elif row == "idea status of a followed idea":
        iid = await h.post(OWNER, space, type=ppb.POST_TYPE_IDEA)

        async def act() -> None:
            await h.idea_status(ACTOR, iid, space, event_id=eid)

    else:
        raise AssertionError(row)
    case.act = act


async def test_every_level_against_every_kind_of_event(harness: NotificationHarness) -> None:
    h = harness
    await h.people(OWNER, ACTOR, *FOLLOWERS.values())
    space = await h.open_community(OWNER, [ACTOR, *FOLLOWERS.values()])
    await h.settle()
    for level, who in FOLLOWERS.items():
        await h.call(
            who, "SetSubscription", pb.SetSubscriptionRequest(space_id=space, level=LEVELS[level])
        )
    cases = [Case(row, level, FOLLOWERS[level]) for row in TABLE for level in LEVELS]
    for case in cases:
        await _prepare(h, space, case)
    await h.settle()
    for case in cases:
        assert case.act is not None
        await case.act()
    await h.settle()

    inboxes = {level: await h.inbox(who) for level, who in FOLLOWERS.items()}
    problems = []
    for case in cases:
        got = sorted(
            K.Name(n.kind) for n in inboxes[case.level] if n.source_event_id == case.event_id
        )
        hearers, kind = TABLE[case.row]
        want = [K.Name(kind)] if case.level in hearers else []
        if got != want:
            problems.append(f"{case.row} / {case.level}: got {got}, want {want}")
    assert not problems, "\n".join(problems)
