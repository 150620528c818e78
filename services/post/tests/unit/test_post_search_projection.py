"""The post topic's events map onto the search index as the projection applies them.

Pure: an in-memory tantivy index, events built as the service builds them.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp

from guildhall.post.v1 import events_pb2 as ev
from guildhall.post.v1 import post_pb2 as pb
from guildhall_kit.bus import Event
from guildhall_post.adapters.search import apply_event
from guildhall_post.search import SearchIndex

T = Timestamp(seconds=1_795_000_000)
SPACES = frozenset({"s1"})


def _event(message: Message, key: str) -> Event:
    return Event.from_message(message, source="guildhall/post", key=key)


@pytest.fixture
def index() -> Iterator[SearchIndex]:
    with SearchIndex.open(None) as idx:
        yield idx


def _apply(index: SearchIndex, *events: tuple[Message, str]) -> None:
    for version, (message, key) in enumerate(events, start=1):
        apply_event(index, _event(message, key), version)
    index.commit()


def _hits(index: SearchIndex, query: str, **filters: object) -> list[str]:
    page = index.search(query, readable_spaces=SPACES, **filters)  # type: ignore[arg-type]
    return [h.item_id for h in page.hits]


def _question(post_id: str = "q1", title: str = "Posting periods in FI") -> ev.PostCreated:
    return ev.PostCreated(
        post=pb.Post(
            post_id=post_id,
            space_id="s1",
            type=pb.POST_TYPE_QUESTION,
            title=title,
            body="How do I open the next period?",
            tags=["sap-fi"],
            author_id="ann",
            created_at=T,
        )
    )


def test_created_edited_deleted(index: SearchIndex) -> None:
    _apply(index, (_question(), "q1"))
    assert _hits(index, "posting periods") == ["q1"]
    _apply(
        index,
        (_question(), "q1"),  # a replay of an older version changes nothing
    )
    edited = ev.PostEdited(post_id="q1", space_id="s1", title="Closing periods", body="b", tags=[])
    apply_event(index, _event(edited, "q1"), 10)
    index.commit()
    assert _hits(index, "closing") == ["q1"]
    assert _hits(index, "posting") == []
    apply_event(index, _event(ev.PostDeleted(post_id="q1", space_id="s1"), "q1"), 11)
    index.commit()
    assert _hits(index, "closing") == []
    # An older event arriving after the deletion cannot bring it back.
    apply_event(index, _event(_question(), "q1"), 5)
    index.commit()
    assert _hits(index, "posting") == []


def test_answers_and_acceptance(index: SearchIndex) -> None:
    answer = ev.AnswerPosted(
        answer_id="a1",
        question_id="q1",
        space_id="s1",
        author_id="ben",
        body="Use transaction OB52",
        posted_at=T,
    )
    _apply(index, (_question(), "q1"), (answer, "q1"))
    assert _hits(index, "ob52") == ["a1"]
    assert _hits(index, "periods", unanswered_only=True) == ["q1"]
    accepted = ev.AnswerAccepted(answer_id="a1", question_id="q1", space_id="s1")
    apply_event(index, _event(accepted, "q1"), 3)
    index.commit()
    assert _hits(index, "periods", unanswered_only=True) == []
    gone = ev.AnswerDeleted(answer_id="a1", question_id="q1", space_id="s1", was_accepted=True)
    apply_event(index, _event(gone, "q1"), 4)
    index.commit()
    assert _hits(index, "ob52") == []
    assert _hits(index, "periods", unanswered_only=True) == ["q1"]


def test_wiki_revisions_replace_title_body_and_tags(index: SearchIndex) -> None:
    page = ev.PostCreated(
        post=pb.Post(
            post_id="w1",
            space_id="s1",
            type=pb.POST_TYPE_WIKI_PAGE,
            title="Invoice flow",
            body="old text",
            author_id="wes",
            created_at=T,
        )
    )
    revised = ev.WikiRevised(
        page_id="w1",
        space_id="s1",
        revision=2,
        title="Invoice approval",
        body="new text",
        tags=["ap"],
        author_id="kim",
        revised_at=T,
    )
    _apply(index, (page, "w1"), (revised, "w1"))
    assert _hits(index, "approval") == ["w1"]
    assert _hits(index, "text", tags=["ap"]) == ["w1"]


def test_comments_follow_their_item(index: SearchIndex) -> None:
    comment = ev.CommentAdded(
        comment_id="c1",
        post_id="q1",
        space_id="s1",
        author_id="dan",
        body="Seconded, zebracrossing",
        created_at=T,
    )
    _apply(index, (_question(), "q1"), (comment, "q1"))
    assert _hits(index, "zebracrossing") == ["c1"]
    apply_event(index, _event(ev.PostDeleted(post_id="q1", space_id="s1"), "q1"), 9)
    index.commit()
    assert _hits(index, "zebracrossing") == []


def test_other_events_change_nothing(index: SearchIndex) -> None:
    _apply(index, (_question(), "q1"))
    for message in (
        ev.IdeaVoted(idea_id="q1", space_id="s1"),
        ev.ReactionAdded(post_id="q1", space_id="s1"),
        ev.Mentioned(person_id="x", post_id="q1", space_id="s1"),
    ):
        apply_event(index, _event(message, "q1"), 50)
    index.commit()
    assert _hits(index, "periods") == ["q1"]
