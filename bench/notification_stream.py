"""Benchmark of the live stream: event -> notification visible in the stream, under steady posting.

Run: ``.venv/bin/python -m bench.notification_stream [--rate R] [--seconds S] [--watchers W]``
(``--mongo URI`` for another MongoDB-protocol server)

Starts a real community service and a real notification service in this
process (``guildhall_testsupport.notification``) against the local Kafka and
MongoDB-protocol server. ``--watchers`` employees (default 20) watch one open
community's space and each holds a live stream open (gRPC on loopback, the
stream's fallback poll set to 30 s so every delivery is a wake-up). First it
publishes ten posts one at a time (each waits for its notifications: the
latency of the path with nothing queued); then it publishes PostCreated
events, as the post service would, at a steady ``--rate`` per second
(default 10) for ``--seconds`` (default 20), and records, for every (post,
watcher), the time from publishing the event to the notification arriving on
that watcher's stream. It prints p50 / p90 / p99 /
max in ms, the notifications per second delivered, and whether every
notification arrived exactly once.

The path measured: post topic -> the ``notification.post`` consumer decides the
recipients -> NotificationsRouted -> the ``notification.inbox`` consumer writes
the inbox -> wake-up (in-process, or NotificationDelivered) -> the stream reads
the inbox and sends.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from guildhall.notification.v1 import notification_pb2 as pb
from guildhall_testsupport.notification import NotificationHarness, Who, employee

KAFKA = "127.0.0.1:19092"
MONGO = "mongodb://127.0.0.1:27027/"


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def _one_at_a_time(
    h: NotificationHarness,
    author: Who,
    space: str,
    people: list[Who],
    arrivals: dict[tuple[str, str], list[float]],
) -> None:
    """One post at a time: the latency of the path itself, nothing queued."""
    single: list[float] = []
    for i in range(10):
        at = time.perf_counter()
        post_id = await h.post(author, space, title=f"Alone {i}")
        for _ in range(3000):
            if all((w.person_id, post_id) in arrivals for w in people):
                break
            await asyncio.sleep(0.005)
        single.extend(
            (arrivals[(w.person_id, post_id)][0] - at) * 1000
            for w in people
            if (w.person_id, post_id) in arrivals
        )
    if single:
        print(
            f"one post at a time, {len(people)} streams: event -> stream ms "
            f"p50 {_pct(single, 0.5):.1f}  p99 {_pct(single, 0.99):.1f}  max {max(single):.1f}"
        )


async def run(rate: float, seconds: float, watchers: int, mongo: str) -> None:
    h = await NotificationHarness.start(
        kafka=KAFKA,
        mongo=mongo,
        keys_dir=Path(tempfile.mkdtemp()),
        name="benchstream",
        stream_poll_seconds=30.0,
    )
    try:
        author = employee("bs-author")
        people = [employee(f"bs-watcher-{i}") for i in range(watchers)]
        await h.people(author, *people)
        space = await h.open_community(author, people)
        await h.settle()
        for who in people:
            await h.call(
                who,
                "SetSubscription",
                pb.SetSubscriptionRequest(space_id=space, level=pb.SUBSCRIPTION_LEVEL_WATCHING),
            )
        arrivals: dict[tuple[str, str], list[float]] = {}
        published: dict[str, float] = {}
        tasks = []
        ready = 0

        async def follow(who: object) -> None:
            nonlocal ready
            newest = await h.call(who, "ListInbox", pb.ListInboxRequest(page_size=1))  # type: ignore[arg-type]
            after = newest.notifications[0].notification_id if newest.notifications else ""
            call = h.stub.StreamNotifications(
                pb.StreamNotificationsRequest(after_notification_id=after),
                metadata=h.auth(who),  # type: ignore[arg-type]
            )
            ready += 1
            async for message in call:
                n = message.notification
                arrivals.setdefault((who.person_id, n.post_id), []).append(time.perf_counter())  # type: ignore[attr-defined]

        for who in people:
            tasks.append(asyncio.create_task(follow(who)))
        for _ in range(600):  # the streams are open once each has read its cursor
            if ready >= watchers:
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.5)
        await _one_at_a_time(h, author, space, people, arrivals)
        arrivals.clear()
        total = int(rate * seconds)
        started = time.perf_counter()
        for i in range(total):
            due = started + i / rate
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
            at = time.perf_counter()
            post_id = await h.post(author, space, title=f"Post {i}")
            published[post_id] = at
        expected = total * watchers
        for _ in range(600):  # at most 60 s for the last ones
            if sum(len(v) for v in arrivals.values()) >= expected:
                break
            await asyncio.sleep(0.1)
        finished = max((t for v in arrivals.values() for t in v), default=started)
        for task in tasks:
            task.cancel()
        latencies = [
            (times[0] - published[post]) * 1000
            for (_, post), times in arrivals.items()
            if post in published
        ]
        duplicates = sum(len(v) - 1 for v in arrivals.values())
        print(f"watchers {watchers}, posts {total} at {rate:g}/s for {seconds:g} s")
        print(
            f"notifications expected {expected}, arrived {len(latencies)}, duplicates {duplicates}"
        )
        if latencies:
            print(
                "event -> stream latency ms: "
                f"p50 {_pct(latencies, 0.5):.1f}  p90 {_pct(latencies, 0.9):.1f}  "
                f"p99 {_pct(latencies, 0.99):.1f}  max {max(latencies):.1f}  "
                f"mean {statistics.fmean(latencies):.1f}"
            )
            print(f"delivered {len(latencies) / max(finished - started, 1e-9):.0f} notifications/s")
    finally:
        await h.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rate", type=float, default=10.0, help="posts per second")
    parser.add_argument("--seconds", type=float, default=20.0, help="how long to post")
    parser.add_argument("--watchers", type=int, default=20, help="streams open")
    parser.add_argument("--mongo", default=MONGO, help="MongoDB-protocol server")
    args = parser.parse_args()
    asyncio.run(run(args.rate, args.seconds, args.watchers, args.mongo))


if __name__ == "__main__":
    main()
