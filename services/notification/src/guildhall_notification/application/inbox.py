"""The inbox: writing notifications (the second half of delivery) and reading them.

Writing. :meth:`InboxWriter.write` runs in the consumer of the notification
topic's partition that owns the recipients' shard (see domain/shards.py), one
NotificationsRouted message after another. It mints ids above everything the
shard ever wrote (the shard's high-water mark, kept in MongoDB, so a new owner
after a rebalance continues above the old one), inserts the notifications in
one ordered batch and raises the mark. A person's notifications are therefore
written by one writer at a time in increasing id order, and a reader that has
seen id X will never later find an id below X appear: the live stream can
resume "after X" without gaps. Redelivery creates nothing twice (unique
{source_event_id, person_id}); a person gets one notification per subject.
After the write it wakes the streams (this replica's directly, the others'
through NotificationDelivered) and queues the recipients for digests.

Reading. Pages are keyset pages on ``_id`` (newest first); notifications about
spaces the reader can no longer read are left out (application/access.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from guildhall_kit.auth import Principal
from guildhall_kit.errors import InvalidArgument
from guildhall_kit.paging import decode_token, encode_token, key_str, page_size
from guildhall_notification.application.access import Funnel
from guildhall_notification.application.ports import Clock, NotificationsPort, Routed
from guildhall_notification.domain.ids import MonotonicIds
from guildhall_notification.domain.model import Notification
from guildhall_notification.domain.shards import shard_of

LISTING = "inbox"


class Delivered(Protocol):
    """Told of notifications now in inboxes: wakes streams, queues digests, publishes."""

    async def delivered(self, notifications: Sequence[Notification]) -> None: ...


class InboxWriter:
    def __init__(
        self,
        store: NotificationsPort,
        *,
        shards: int,
        delivered: Delivered,
        clock: Clock,
    ) -> None:
        self._store = store
        self._shards = shards
        self._delivered = delivered
        self._clock = clock
        self._ids: dict[int, MonotonicIds] = {}
        self.written = 0
        """Notifications this writer stored since it was made (for benchmarks and metrics)."""

    async def write(self, routed: Routed) -> list[Notification]:
        """Write ``routed`` to its recipients' inboxes; return what was new.

        Raises:
            ValueError: the recipients are not all in one shard (a message this
                service never sends; the consumer dead-letters it).
        """
        if not routed.person_ids:
            return []
        shard = shard_of(routed.person_ids[0], self._shards)
        if any(shard_of(p, self._shards) != shard for p in routed.person_ids):
            raise ValueError("recipients of one NotificationsRouted must share a shard")
        existing = await self._store.already_notified(routed.source_event_id, routed.person_ids)
        todo = [p for p in dict.fromkeys(routed.person_ids) if p not in existing]
        ids = self._ids.setdefault(shard, MonotonicIds())
        ids.raise_floor(await self._store.shard_floor(shard))
        now = self._clock()
        fresh = [
            Notification(
                notification_id=ids.next(now),
                person_id=person,
                template=routed.template,
                source_event_id=routed.source_event_id,
                subject=routed.subject,
                created_at=now,
            )
            for person in todo
        ]
        stored = await self._store.insert(fresh)
        if fresh:
            await self._store.raise_shard_floor(shard, fresh[-1].notification_id)
        self.written += len(stored)
        if stored:
            await self._delivered.delivered(stored)
        return stored


class Inbox:
    def __init__(self, store: NotificationsPort, funnel: Funnel, *, clock: Clock) -> None:
        self._store = store
        self._funnel = funnel
        self._clock = clock

    async def page(
        self, principal: Principal, *, unread_only: bool, size: int, token: str
    ) -> tuple[list[Notification], str, int]:
        """One page (newest first), the next page token, and the unread count.

        Raises:
            InvalidArgument: on ``page_token``.
            Unavailable: a partner's access could not be confirmed.
        """
        person = principal.subject
        scope = ["unread" if unread_only else "all", person]
        key = decode_token(token, LISTING, (str,), scope=scope)
        before = key_str(key, 0) if key else None
        limit = page_size(size)
        found = await self._store.page(person, before=before, unread_only=unread_only, limit=limit)
        shown = await self._funnel.visible(principal, found)
        next_token = (
            encode_token(LISTING, [found[-1].notification_id], scope=scope)
            if len(found) == limit
            else ""
        )
        return shown, next_token, await self._store.unread_count(person)

    async def unread(self, principal: Principal) -> int:
        return await self._store.unread_count(principal.subject)

    async def mark_read(self, principal: Principal, ids: Sequence[str]) -> int:
        await self._store.mark_read(principal.subject, ids, self._clock())
        return await self._store.unread_count(principal.subject)

    async def mark_all_read(self, principal: Principal, up_to: str) -> tuple[int, int]:
        """Mark unread notifications read (up to ``up_to`` if given); (marked, unread now).

        Raises:
            InvalidArgument: ``up_to_notification_id`` is not one of the caller's.
        """
        person = principal.subject
        if up_to and await self._store.get(person, up_to) is None:
            raise InvalidArgument("up_to_notification_id", "not one of your notifications")
        marked = await self._store.mark_all_read(person, up_to or None, self._clock())
        return marked, await self._store.unread_count(person)
