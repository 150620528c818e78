"""E-mail digests of unread notifications for people who are away.

The inbox writer queues every recipient (``digest_queue``, once per person).
:meth:`Digests.tick` takes due people with a compare-and-set lease (any
replica may run it; one that dies mid-send leaves the lease to expire and the
digest is tried again: at least once), and for each decides with
domain/digest.py: digests off, no address or nothing unread since the last
digest -> leave the queue; active recently -> come back once they have been
away long enough; a digest sent less than a period ago -> come back then;
otherwise e-mail the unread notifications (those about spaces the person can
still read) and note the time. Sending has its own timeout and runs in the
periodic task, never on the path of the inbox or the stream; a failed send is
retried later.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Protocol

from guildhall_kit.clock import id_floor
from guildhall_kit.logging import get_logger
from guildhall_notification.application.access import Funnel, principal_of
from guildhall_notification.application.ports import Clock, NotificationsPort, ReadModelsPort
from guildhall_notification.domain.digest import (
    DEFAULT_FREQUENCY,
    MAX_ITEMS,
    DigestLine,
    Frequency,
    away,
    next_due,
    render,
)

_log = get_logger(__name__)

RETRY_AFTER = timedelta(minutes=5)
LEASE = timedelta(minutes=2)


class DigestStore(Protocol):
    async def get(self, person_id: str) -> tuple[Frequency, datetime | None] | None: ...

    async def digest_sent(self, person_id: str, at: datetime, default: Frequency) -> None: ...

    async def due(self, now: datetime, limit: int) -> list[tuple[str, datetime]]: ...

    async def claim(self, person_id: str, due_at: datetime, until: datetime) -> bool: ...

    async def reschedule(self, person_id: str, due_at: datetime) -> None: ...

    async def dequeue(self, person_id: str) -> None: ...


class Mailer(Protocol):
    async def send(self, to: str, subject: str, body: str) -> None:
        """Send one e-mail; raises on any failure (bounded by the mailer's timeout)."""
        ...


class Digests:
    def __init__(
        self,
        store: DigestStore,
        models: ReadModelsPort,
        notifications: NotificationsPort,
        funnel: Funnel,
        mailer: Mailer | None,
        *,
        inactive_after: timedelta,
        link_base: str,
        clock: Clock,
    ) -> None:
        self._store = store
        self._models = models
        self._notifications = notifications
        self._funnel = funnel
        self._mailer = mailer
        self._inactive_after = inactive_after
        self._link_base = link_base
        self._clock = clock

    async def tick(self, limit: int = 50) -> int:
        """Handle the people due now; returns how many digests were sent."""
        if self._mailer is None:
            return 0
        now = self._clock()
        sent = 0
        for person_id, due_at in await self._store.due(now, limit):
            if not await self._store.claim(person_id, due_at, now + LEASE):
                continue
            try:
                sent += await self._handle(person_id, now)
            except Exception:  # noqa: BLE001 - one person's failure must not stop the others
                _log.exception("digest failed; will retry", person_id=person_id)
                await self._store.reschedule(person_id, now + RETRY_AFTER)
        return sent

    async def _handle(self, person_id: str, now: datetime) -> int:
        assert self._mailer is not None
        person = await self._models.person(person_id)
        stored = await self._store.get(person_id)
        frequency, last = stored if stored is not None else (DEFAULT_FREQUENCY, None)
        if person is None or not person.email or frequency is Frequency.OFF:
            await self._store.dequeue(person_id)
            return 0
        if not away(person.active_at, now, self._inactive_after):
            assert person.active_at is not None
            await self._store.reschedule(person_id, person.active_at + self._inactive_after)
            return 0
        due = next_due(frequency, last, now)
        if due is not None and due > now:
            await self._store.reschedule(person_id, due)
            return 0
        since = id_floor(last) if last is not None else ""
        unread = await self._notifications.unread_since(person_id, since, 500)
        shown = await self._funnel.visible(principal_of(person), unread)
        if not shown:
            await self._store.dequeue(person_id)
            return 0
        lines: Sequence[DigestLine] = [
            DigestLine(n.template.title, n.template.excerpt, n.created_at)
            for n in shown[:MAX_ITEMS]
        ]
        subject, body = render(
            person.display_name, lines, total=len(shown), link_base=self._link_base
        )
        await self._mailer.send(person.email, subject, body)
        await self._store.digest_sent(person_id, now, DEFAULT_FREQUENCY)
        await self._store.dequeue(person_id)
        _log.info("digest sent", person_id=person_id, notifications=len(shown))
        return 1
