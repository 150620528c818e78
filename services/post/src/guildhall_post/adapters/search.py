"""Search: the tantivy index kept in step with the post topic.

The index (:mod:`guildhall_post.search`, a colleague's library) is a projection
of the service's own topic ``guildhall.post.v1``. Every replica keeps its own
index, so :class:`SearchProjection` is not a consumer-group member: it assigns
itself **every** partition, starts from the positions the index committed
(``SearchIndex.positions()``; from the beginning for a new or in-memory index) and
records the position after each event with the index changes, so the two are
durable together. The version of every index write is the event's Kafka offset
+ 1: all events about one item share a partition (they are keyed by the top-level
item), so offsets order them, and a replayed event is a no-op.

The Search use case (:mod:`guildhall_post.application.search`) queries the index
with the caller's readable spaces and re-checks every hit against MongoDB.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError

from guildhall.post.v1 import events_pb2 as ev
from guildhall_kit.bus import (
    BusConfig,
    Event,
    MalformedEvent,
    Registry,
    TopicSetupFailed,
    ensure_topics,
    from_kafka,
)
from guildhall_kit.logging import get_logger
from guildhall_post.adapters import convert
from guildhall_post.application.search import KIND_OF as KIND_BY_TYPE
from guildhall_post.search import (
    AutoCommitter,
    CommitPolicy,
    ItemKind,
    SearchDoc,
    SearchIndex,
)

_log = get_logger(__name__)

POST_TOPIC: Final = "guildhall.post.v1"
KIND_OF: Final = {
    pb_type: KIND_BY_TYPE[post_type] for pb_type, post_type in convert.POST_TYPE_IN.items()
}


def _time(value: Any) -> datetime:
    result: datetime = value.ToDatetime(tzinfo=UTC)
    return result


def _post_created(index: SearchIndex, event: Event, version: int) -> None:
    post = event.parse(ev.PostCreated).post
    index.upsert(
        SearchDoc(
            item_id=post.post_id,
            space_id=post.space_id,
            kind=KIND_OF.get(post.type, ItemKind.DISCUSSION),
            title=post.title,
            body=post.body,
            author_id=post.author_id,
            created_at=_time(post.created_at),
            version=version,
            tags=tuple(post.tags),
            answered=bool(post.accepted_answer_id),
        )
    )


def _post_edited(index: SearchIndex, event: Event, version: int) -> None:
    edited = event.parse(ev.PostEdited)
    index.patch(
        edited.post_id, version=version, title=edited.title, body=edited.body, tags=edited.tags
    )


def _wiki_revised(index: SearchIndex, event: Event, version: int) -> None:
    revised = event.parse(ev.WikiRevised)
    patched = index.patch(
        revised.page_id, version=version, title=revised.title, body=revised.body, tags=revised.tags
    )
    if not patched and revised.revision == 1 and index.get(revised.page_id) is None:
        index.upsert(
            SearchDoc(
                item_id=revised.page_id,
                space_id=revised.space_id,
                kind=ItemKind.WIKI,
                title=revised.title,
                body=revised.body,
                author_id=revised.author_id,
                created_at=_time(revised.revised_at),
                version=version,
                tags=tuple(revised.tags),
            )
        )


def _post_deleted(index: SearchIndex, event: Event, version: int) -> None:
    index.delete(event.parse(ev.PostDeleted).post_id, version=version)


def _answer_posted(index: SearchIndex, event: Event, version: int) -> None:
    answer = event.parse(ev.AnswerPosted)
    index.upsert(
        SearchDoc(
            item_id=answer.answer_id,
            space_id=answer.space_id,
            kind=ItemKind.ANSWER,
            title="",
            body=answer.body,
            author_id=answer.author_id,
            created_at=_time(answer.posted_at),
            version=version,
            parent_id=answer.question_id,
        )
    )


def _answer_edited(index: SearchIndex, event: Event, version: int) -> None:
    edited = event.parse(ev.AnswerEdited)
    index.patch(edited.answer_id, version=version, body=edited.body)


def _answer_deleted(index: SearchIndex, event: Event, version: int) -> None:
    deleted = event.parse(ev.AnswerDeleted)
    index.delete(deleted.answer_id, version=version)
    if deleted.was_accepted:
        index.patch(deleted.question_id, version=version, answered=False)


def _answer_accepted(index: SearchIndex, event: Event, version: int) -> None:
    index.patch(event.parse(ev.AnswerAccepted).question_id, version=version, answered=True)


def _comment_added(index: SearchIndex, event: Event, version: int) -> None:
    comment = event.parse(ev.CommentAdded)
    index.upsert(
        SearchDoc(
            item_id=comment.comment_id,
            space_id=comment.space_id,
            kind=ItemKind.COMMENT,
            title="",
            body=comment.body,
            author_id=comment.author_id,
            created_at=_time(comment.created_at),
            version=version,
            parent_id=comment.post_id,
        )
    )


def _comment_edited(index: SearchIndex, event: Event, version: int) -> None:
    edited = event.parse(ev.CommentEdited)
    index.patch(edited.comment_id, version=version, body=edited.body)


def _comment_deleted(index: SearchIndex, event: Event, version: int) -> None:
    index.delete(event.parse(ev.CommentDeleted).comment_id, version=version)


_APPLY: Final[dict[str, Callable[[SearchIndex, Event, int], None]]] = {
    ev.PostCreated.DESCRIPTOR.full_name: _post_created,
    ev.PostEdited.DESCRIPTOR.full_name: _post_edited,
    ev.WikiRevised.DESCRIPTOR.full_name: _wiki_revised,
    ev.PostDeleted.DESCRIPTOR.full_name: _post_deleted,
    ev.AnswerPosted.DESCRIPTOR.full_name: _answer_posted,
    ev.AnswerEdited.DESCRIPTOR.full_name: _answer_edited,
    ev.AnswerDeleted.DESCRIPTOR.full_name: _answer_deleted,
    ev.AnswerAccepted.DESCRIPTOR.full_name: _answer_accepted,
    ev.CommentAdded.DESCRIPTOR.full_name: _comment_added,
    ev.CommentEdited.DESCRIPTOR.full_name: _comment_edited,
    ev.CommentDeleted.DESCRIPTOR.full_name: _comment_deleted,
}


def apply_event(index: SearchIndex, event: Event, version: int) -> None:
    """Stage the index change ``event`` implies, at ``version``. Blocking (run in a thread).

    Events that change nothing searchable (votes, reactions, mentions, idea status)
    are ignored.

    Raises:
        MalformedEvent: the payload does not parse as its type.
    """
    handler = _APPLY.get(event.type)
    if handler is not None:
        handler(index, event, version)


@dataclass(frozen=True, slots=True)
class _Record:
    topic: str
    partition: int
    offset: int
    event: Event | None


def _apply_batch(index: SearchIndex, records: Sequence[_Record]) -> None:
    for record in records:
        if record.event is not None:
            try:
                apply_event(index, record.event, record.offset + 1)
            except (MalformedEvent, ValueError) as exc:
                # A payload the index cannot take is skipped, not retried forever: the
                # item stays unsearchable, which the log says; the topic keeps it.
                _log.error(
                    "search index skipped an event",
                    event_id=record.event.id,
                    type=record.event.type,
                    error=repr(exc),
                )
        index.record_position(record.topic, record.partition, record.offset + 1)


async def assign_all(consumer: AIOKafkaConsumer, topic: str) -> list[TopicPartition]:
    """Have ``consumer`` (without a group) read every partition of ``topic``; return them.

    Without a group, subscribing assigns every partition; waiting for the assignment
    also waits for the topic's metadata.
    """
    consumer.subscribe([topic])
    for _ in range(600):  # metadata normally arrives within a few hundred ms
        if consumer.assignment():
            return sorted(consumer.assignment(), key=lambda tp: tp.partition)
        await asyncio.sleep(0.05)
    raise KafkaError(f"no partitions of {topic} were assigned within 30 s")


class SearchProjection:
    """Consumes every partition of the post topic into this replica's index (see the module)."""

    def __init__(
        self,
        index: SearchIndex,
        bus: BusConfig,
        registry: Registry,
        *,
        policy: CommitPolicy | None = None,
        on_batch: Callable[[], None] | None = None,
    ) -> None:
        self.index = index
        self._bus = bus
        self._registry = registry
        self._topic = bus.topic(POST_TOPIC)
        self._committer = AutoCommitter(
            index, policy or CommitPolicy(max_pending=1000, max_delay=0.5)
        )
        self._on_batch = on_batch
        self.applied = 0

    async def run(self) -> None:
        """Consume until cancelled. Kafka errors are logged and retried after a pause."""
        committer = asyncio.create_task(self._committer.run(), name="search-commit")
        try:
            while True:
                try:
                    await self._consume()
                except (KafkaError, OSError, TopicSetupFailed) as exc:
                    _log.warning("search projection lost Kafka; retrying", error=repr(exc))
                    await asyncio.sleep(1.0)
        finally:
            committer.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await committer

    async def _consume(self) -> None:
        # The projection may start before the kit has created the topics; creating is idempotent.
        await ensure_topics(self._bus, self._registry, [POST_TOPIC])
        options = self._bus.consumer_options(self._bus.group("post.search"))
        # Not a group member: every replica reads every partition into its own index.
        options["group_id"] = None
        consumer = AIOKafkaConsumer(**options)
        await consumer.start()
        try:
            tps = await assign_all(consumer, self._topic)
            known = self.index.positions()
            for tp in tps:
                start = known.get((self._topic, tp.partition))
                if start is None:
                    await consumer.seek_to_beginning(tp)
                else:
                    consumer.seek(tp, start)
            while True:
                batches = await consumer.getmany(timeout_ms=500, max_records=500)
                records: list[_Record] = []
                for tp, messages in batches.items():
                    for message in messages:
                        try:
                            event: Event | None = from_kafka(
                                message.key, message.value, list(message.headers or ())
                            )
                        except MalformedEvent as exc:
                            _log.error("search index skipped a malformed record", error=repr(exc))
                            event = None
                        records.append(_Record(tp.topic, tp.partition, message.offset, event))
                if records:
                    await asyncio.to_thread(_apply_batch, self.index, records)
                    self.applied += len(records)
                    self._committer.kick()
                    if self._on_batch is not None:
                        self._on_batch()
        finally:
            await consumer.stop()

    async def flush(self) -> None:
        """Commit what is staged (on shutdown)."""
        await self._committer.flush()
