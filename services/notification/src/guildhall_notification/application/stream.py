"""The live stream: a person's new notifications, resumable by id.

A stream keeps a cursor (the last id it sent, or the person's newest id when it
starts without one) and reads the inbox above it in id order. Because each
person's notifications become visible in increasing id order (application/
inbox.py), reading "above the cursor" never skips one: a reconnect that gives
the last id received continues exactly after it, on any replica.

It reads when woken and at least every ``poll_seconds``. Wake-ups come from
this replica's inbox writer directly, and from the other replicas' writers
through NotificationDelivered on the notification topic, which every replica
reads from its end without a consumer group (adapters/wakeups.py). A lost
wake-up only delays a notification until the next poll; it never loses one.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import AsyncIterator, Iterable

from guildhall_kit.auth import Principal
from guildhall_kit.errors import InvalidArgument
from guildhall_notification.application.access import Funnel
from guildhall_notification.application.ports import NotificationsPort
from guildhall_notification.domain.model import Notification


class Wakeups:
    """The streams open on this replica, by person, and a way to wake them."""

    def __init__(self) -> None:
        self._waiting: dict[str, set[asyncio.Event]] = defaultdict(set)

    def register(self, person_id: str) -> asyncio.Event:
        event = asyncio.Event()
        self._waiting[person_id].add(event)
        return event

    def unregister(self, person_id: str, event: asyncio.Event) -> None:
        events = self._waiting.get(person_id)
        if events is not None:
            events.discard(event)
            if not events:
                del self._waiting[person_id]

    def wake(self, person_ids: Iterable[str]) -> int:
        """Wake every stream of these people; returns how many were woken."""
        woken = 0
        for person in person_ids:
            for event in self._waiting.get(person, ()):
                event.set()
                woken += 1
        return woken

    def watched(self, person_id: str) -> bool:
        return person_id in self._waiting

    @property
    def open_streams(self) -> int:
        return sum(len(e) for e in self._waiting.values())


class Streams:
    def __init__(
        self,
        store: NotificationsPort,
        funnel: Funnel,
        wakeups: Wakeups,
        *,
        poll_seconds: float,
        batch: int,
    ) -> None:
        self._store = store
        self._funnel = funnel
        self._wakeups = wakeups
        self._poll = poll_seconds
        self._batch = batch

    async def start(self, principal: Principal, after: str) -> str:
        """The cursor a stream starts from.

        Raises:
            InvalidArgument: ``after_notification_id`` is not one of the caller's.
        """
        if after:
            if await self._store.get(principal.subject, after) is None:
                raise InvalidArgument("after_notification_id", "not one of your notifications")
            return after
        return await self._store.newest_id(principal.subject)

    async def follow(
        self, principal: Principal, cursor: str
    ) -> AsyncIterator[tuple[Notification, int]]:
        """Notifications above ``cursor`` in id order, forever (until cancelled), each
        with the unread count at that moment.

        Raises:
            Unavailable: a partner's access could not be confirmed (the caller
                reconnects with the last id it got).
        """
        person = principal.subject
        wake = self._wakeups.register(person)
        try:
            while True:
                wake.clear()
                found = await self._store.after(person, cursor, self._batch)
                if found:
                    shown = {
                        n.notification_id for n in await self._funnel.visible(principal, found)
                    }
                    unread = await self._store.unread_count(person)
                    for notification in found:
                        cursor = notification.notification_id
                        if notification.notification_id in shown:
                            yield notification, unread
                    if len(found) == self._batch:
                        continue
                try:
                    async with asyncio.timeout(self._poll):
                        await wake.wait()
                except TimeoutError:
                    pass
        finally:
            self._wakeups.unregister(person, wake)
