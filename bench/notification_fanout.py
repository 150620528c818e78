"""Benchmark of fan-out: one post in a space with many watchers, until every inbox has it.

Run: ``.venv/bin/python -m bench.notification_fanout [--watchers N] [--mongo URI]``

Starts a real community service and a real notification service in this
process against the local Kafka and a MongoDB-protocol server, makes one open
community, and seeds ``--watchers`` (default 100,000) employees watching its
space straight into the notification service's read models (people and
subscriptions, in bulk, as its consumers and SetSubscription would write
them). Then it publishes one PostCreated, as the post service would, and
measures:

- deciding: until the ``notification.post`` consumer has handed every
  recipient to the inbox writers (NotificationsRouted messages published);
- delivered: until every watcher's inbox holds the notification (as the inbox
  writers count what they stored), and the notifications per second over the
  whole fan-out.

``--mongo`` points at another server (a MongoDB 7, or a FerretDB built with
the project's patches); the default is the local one ``make infra-up`` runs.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from guildhall_kit.bus.event import new_event_id
from guildhall_kit.clock import new_id
from guildhall_notification.adapters.repository.subscriptions import subscription_document
from guildhall_notification.app import parts_of
from guildhall_notification.domain.model import Level, Source
from guildhall_testsupport.notification import NotificationHarness, employee

KAFKA = "127.0.0.1:19092"
MONGO = "mongodb://127.0.0.1:27027/"


async def run(watchers: int, mongo: str) -> None:
    h = await NotificationHarness.start(
        kafka=KAFKA, mongo=mongo, keys_dir=Path(tempfile.mkdtemp()), name="benchfan"
    )
    try:
        author = employee("bf-author")
        await h.people(author)
        space = await h.open_community(author)
        await h.settle()
        db = h.running.ctx.writer_db
        now = datetime.now(UTC)
        started = time.perf_counter()
        for start in range(0, watchers, 1000):
            ids = [f"bf-w-{i:07d}" for i in range(start, min(watchers, start + 1000))]
            await db["people"].insert_many(
                [
                    {
                        "_id": p,
                        "org_id": "home",
                        "kind": "employee",
                        "display_name": p,
                        "version": 1,
                    }
                    for p in ids
                ],
                ordered=False,
            )
            await db["subscriptions"].insert_many(
                [
                    subscription_document(
                        p,
                        "space",
                        space,
                        space_id=space,
                        level=Level.WATCHING,
                        source=Source.EXPLICIT,
                        at=now,
                        set_id=new_id(now),
                    )
                    for p in ids
                ],
                ordered=False,
            )
        print(f"seeded {watchers} watchers in {time.perf_counter() - started:.1f} s")

        event_id = new_event_id()
        posted = time.perf_counter()
        await h.post(author, space, title="To everyone watching", event_id=event_id)
        running = h.running
        post_consumer = next(c for c in running.consumers if c.group == "notification.post")
        decided_at = None
        delivered = 0
        writer = parts_of(running).writer
        before = writer.written
        deadline = posted + 1800
        while time.perf_counter() < deadline:
            if decided_at is None and post_consumer.stats.handled >= 1:
                decided_at = time.perf_counter()
                print(f"decided and handed over in {decided_at - posted:.1f} s")
            delivered = writer.written - before
            if delivered >= watchers:
                break
            await asyncio.sleep(0.2)
        elapsed = time.perf_counter() - posted
        print(f"delivered {delivered} of {watchers} in {elapsed:.1f} s")
        print(f"fan-out throughput {delivered / elapsed:.0f} notifications/s")
    finally:
        await h.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--watchers", type=int, default=100_000)
    parser.add_argument("--mongo", default=MONGO)
    args = parser.parse_args()
    asyncio.run(run(args.watchers, args.mongo))


if __name__ == "__main__":
    main()
