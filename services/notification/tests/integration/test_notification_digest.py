"""E-mail digests over SMTP to a real local server (aiosmtpd on 127.0.0.1).

The SMTP server is started before the service (its port is in the settings);
people with an address who are away get one digest of their unread
notifications; someone active gets none. A silent relay holding up nothing is
test_notification_smtp_faults.py.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from guildhall.notification.v1 import notification_pb2 as pb
from guildhall_kit.clock import now_ms
from guildhall_notification.app import parts_of
from guildhall_testsupport.notification import (
    MailCatcher,
    NotificationHarness,
    Who,
    employee,
)

pytestmark = pytest.mark.integration

OWNER = employee("dg-owner", email="owner@home.example")
AWAY = employee("dg-away", email="away@home.example")
ACTIVE = employee("dg-active", email="active@home.example")


@pytest.fixture(scope="module")
async def mail() -> AsyncIterator[MailCatcher]:
    catcher = MailCatcher()
    await catcher.start()
    try:
        yield catcher
    finally:
        await catcher.stop()


@pytest.fixture(scope="module")
async def harness(
    infra: Any, tmp_path_factory: pytest.TempPathFactory, mail: MailCatcher
) -> AsyncIterator[NotificationHarness]:
    h = await NotificationHarness.start(
        kafka=infra.kafka_bootstrap_servers,
        mongo=infra.mongo_uri,
        keys_dir=tmp_path_factory.mktemp("keys"),
        name="digest",
        smtp_host="127.0.0.1",
        smtp_port=mail.port,
        smtp_starttls=False,
        digest_check_seconds=0.5,
        digest_inactive_after_seconds=8.0,
        digest_link_base="https://guildhall.test/inbox",
    )
    try:
        yield h
    finally:
        await h.stop()


async def _active(h: NotificationHarness, *people: Who) -> None:
    """What an RPC of theirs records (RPCs note activity at most once a minute)."""
    for who in people:
        await parts_of(h.running).models.touch_active(who.person_id, now_ms())


async def test_a_digest_of_unread_notifications_arrives_over_smtp(
    harness: NotificationHarness, mail: MailCatcher
) -> None:
    h = harness
    await h.people(OWNER, AWAY, ACTIVE)
    await _active(h, AWAY, ACTIVE)
    space = await h.open_community(OWNER, [AWAY, ACTIVE])
    await h.settle()
    for who in (AWAY, ACTIVE):
        await h.call(
            who,
            "SetSubscription",
            pb.SetSubscriptionRequest(space_id=space, level=pb.SUBSCRIPTION_LEVEL_WATCHING),
        )
    await _active(h, AWAY, ACTIVE)
    titles = ["Quarter close", "Vendor onboarding", "Audit findings"]
    for title in titles:
        await h.post(OWNER, space, title=title, body=f"About {title.lower()}")
    await h.settle()
    assert mail.messages == []
    # ACTIVE keeps using the service; AWAY does not, and gets a digest once away long enough.
    for _ in range(40):
        await _active(h, ACTIVE)
        if [m for m in mail.messages if m["To"] == AWAY.email]:
            break
        await asyncio.sleep(0.5)
    got = await mail.wait(1, within=5)
    away = [m for m in got if m["To"] == AWAY.email]
    assert len(away) == 1
    body = away[0].get_payload()
    for title in titles:
        assert title in body
    assert "https://guildhall.test/inbox" in body
    assert away[0]["Subject"].startswith("Guildhall: ")
    assert [m for m in got if m["To"] == ACTIVE.email] == []
    prefs = await h.call(AWAY, "GetPreferences", pb.GetPreferencesRequest())
    assert prefs.preferences.HasField("last_digest_at")
    assert prefs.preferences.email == AWAY.email

    # Nothing new since: no second digest, even once the period could allow one.
    await h.call(
        AWAY,
        "UpdatePreferences",
        pb.UpdatePreferencesRequest(digest_frequency=pb.DIGEST_FREQUENCY_HOURLY),
    )
    count = len(mail.messages)
    await asyncio.sleep(2.0)
    assert len([m for m in mail.messages if m["To"] == AWAY.email]) == 1
    assert len(mail.messages) >= count


async def test_digests_off_sends_nothing(harness: NotificationHarness, mail: MailCatcher) -> None:
    h = harness
    quiet = employee("dg-quiet", email="quiet@home.example")
    await h.people(quiet)
    await h.call(
        quiet,
        "UpdatePreferences",
        pb.UpdatePreferencesRequest(digest_frequency=pb.DIGEST_FREQUENCY_OFF),
    )
    space = await h.open_community(OWNER, [quiet])
    await h.settle()
    await h.post(OWNER, space, title="Hello", mentioned=[quiet])
    await h.settle()
    await asyncio.sleep(10.0)
    assert [m for m in mail.messages if m["To"] == quiet.email] == []
