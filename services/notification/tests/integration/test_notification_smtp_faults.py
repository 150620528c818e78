"""A silent or dead SMTP relay holds up nothing but the digest itself.

The relay here accepts the TCP connection and never says a word (the worst
case: no refusal to react to, only the mailer's timeout). While the digest
task waits on it, new notifications still reach the inbox and the live
stream; the digest is not marked sent, and nothing is lost.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest

from guildhall.notification.v1 import notification_pb2 as pb
from guildhall_kit.clock import now_ms
from guildhall_notification.app import parts_of
from guildhall_testsupport.notification import NotificationHarness, collect, employee

pytestmark = pytest.mark.integration

OWNER = employee("sf-owner", email="owner@home.example")
AWAY = employee("sf-away", email="away@home.example")


class SilentRelay:
    """A TCP server on 127.0.0.1 that accepts connections and never answers."""

    def __init__(self) -> None:
        self.connections = 0
        self._held: list[asyncio.StreamWriter] = []
        self._server: asyncio.Server | None = None

    async def start(self) -> int:
        async def hold(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            self.connections += 1
            self._held.append(writer)

        self._server = await asyncio.start_server(hold, "127.0.0.1", 0)
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    async def stop(self) -> None:
        for writer in self._held:
            writer.close()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()


@pytest.fixture(scope="module")
async def relay() -> AsyncIterator[tuple[SilentRelay, int]]:
    silent = SilentRelay()
    port = await silent.start()
    try:
        yield silent, port
    finally:
        await silent.stop()


@pytest.fixture(scope="module")
async def harness(
    infra: Any, tmp_path_factory: pytest.TempPathFactory, relay: tuple[SilentRelay, int]
) -> AsyncIterator[NotificationHarness]:
    h = await NotificationHarness.start(
        kafka=infra.kafka_bootstrap_servers,
        mongo=infra.mongo_uri,
        keys_dir=tmp_path_factory.mktemp("keys"),
        name="smtpfault",
        smtp_host="127.0.0.1",
        smtp_port=relay[1],
        smtp_starttls=False,
        smtp_timeout_seconds=60.0,
        digest_check_seconds=0.5,
        digest_inactive_after_seconds=1.0,
    )
    try:
        yield h
    finally:
        await h.stop()


async def test_a_silent_smtp_relay_holds_up_neither_inbox_nor_stream(
    harness: NotificationHarness, relay: tuple[SilentRelay, int]
) -> None:
    h, (silent, _) = harness, relay
    await h.people(OWNER, AWAY)
    space = await h.open_community(OWNER, [AWAY])
    await h.settle()
    await h.call(
        AWAY,
        "SetSubscription",
        pb.SetSubscriptionRequest(space_id=space, level=pb.SUBSCRIPTION_LEVEL_WATCHING),
    )
    await parts_of(h.running).models.touch_active(AWAY.person_id, now_ms() - timedelta(minutes=1))
    first = await h.post(OWNER, space, title="Before the relay went quiet")
    await h.wait_inbox(AWAY, lambda found: any(n.post_id == first for n in found))

    # AWAY is away with an unread notification: the digest task connects and waits.
    deadline = time.monotonic() + 30
    while silent.connections == 0:
        assert time.monotonic() < deadline, "the digest task never tried the relay"
        await asyncio.sleep(0.1)

    stream = h.stub.StreamNotifications(
        pb.StreamNotificationsRequest(after_notification_id=""),
        metadata=h.auth(AWAY),
    )
    try:
        later = [await h.post(OWNER, space, title=t) for t in ("During", "the outage")]
        started = time.monotonic()
        got = await collect(stream, 2, within=20)
        assert {n.post_id for n in got} == set(later)
        found = await h.wait_inbox(
            AWAY, lambda found: set(later) <= {n.post_id for n in found}, within=20
        )
        assert time.monotonic() - started < 20
        unread = await h.call(AWAY, "GetUnreadCount", pb.GetUnreadCountRequest())
        assert unread.unread_count == len(found) >= 3
    finally:
        stream.cancel()

    # The relay never accepted a message: no digest is recorded as sent.
    prefs = await h.call(AWAY, "GetPreferences", pb.GetPreferencesRequest())
    assert not prefs.preferences.HasField("last_digest_at")
    assert silent.connections >= 1
