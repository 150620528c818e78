"""Pure rules: shards, ids, access, texts, webhooks, routing and digests (no I/O)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from aiokafka.partitioner import DefaultPartitioner
from aiokafka.partitioner import murmur2 as kafka_murmur2

from guildhall_notification.domain import texts, webhooks
from guildhall_notification.domain.access import employee_may_read
from guildhall_notification.domain.digest import DigestLine, Frequency, away, next_due, render
from guildhall_notification.domain.ids import MonotonicIds, decode, encode
from guildhall_notification.domain.model import PinholeState, Role, Space, Visibility
from guildhall_notification.domain.routing import Audience, Expertise, audience_of, pick, rank
from guildhall_notification.domain.shards import by_shard, murmur2, shard_of

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "key", ["", "a", "ab", "abc", "abcd", "alice", "01jc7x9m4q8v2n5k3r6t0w1y2z", "é"]
)
def test_murmur2_is_kafkas(key: str) -> None:
    assert murmur2(key.encode()) == kafka_murmur2(key.encode())
    partitioner = DefaultPartitioner()
    assert shard_of(key, 6) == partitioner(key.encode(), list(range(6)), list(range(6)))


def test_shards_group_people_by_their_partition() -> None:
    people = [f"p{i}" for i in range(200)]
    groups = by_shard(people, 6, chunk=10)
    assert sorted(p for g in groups for p in g) == sorted(people)
    for group in groups:
        assert len(group) <= 10
        assert len({shard_of(p, 6) for p in group}) == 1


def test_ids_only_grow_even_when_the_clock_does_not() -> None:
    ids = MonotonicIds()
    made = [ids.next(NOW) for _ in range(1000)]
    assert made == sorted(made)
    assert len(set(made)) == 1000
    ids.raise_floor(made[-1])
    earlier = ids.next(NOW - timedelta(hours=1))
    assert earlier > made[-1]
    assert encode(decode(earlier)) == earlier


def test_a_floor_from_another_process_is_respected() -> None:
    later = MonotonicIds().next(NOW + timedelta(days=1))
    ids = MonotonicIds()
    ids.raise_floor(later)
    assert ids.next(NOW) > later
    ids.raise_floor("not a ulid")  # ignored


def _space(**kw: object) -> Space:
    values: dict[str, object] = {
        "space_id": "s",
        "community_id": "c",
        "visibility": Visibility.OPEN,
    }
    values.update(kw)
    return Space(**values)  # type: ignore[arg-type]


def test_employees_read_as_the_access_model_says() -> None:
    assert employee_may_read(_space(), None)
    assert not employee_may_read(_space(visibility=Visibility.PRIVATE), None)
    assert employee_may_read(_space(visibility=Visibility.SECRET), Role.MEMBER)
    proposed = _space(is_pinhole=True, pinhole_state=PinholeState.PROPOSED)
    assert not employee_may_read(proposed, Role.MEMBER)
    assert employee_may_read(proposed, Role.MODERATOR)
    withdrawn = _space(is_pinhole=True, pinhole_state=PinholeState.CLOSED, ever_opened=False)
    assert not employee_may_read(withdrawn, Role.MEMBER)
    closed = _space(is_pinhole=True, pinhole_state=PinholeState.CLOSED, ever_opened=True)
    assert employee_may_read(closed, None)
    assert not employee_may_read(
        _space(is_pinhole=True, pinhole_state=PinholeState.OPEN, visibility=Visibility.PRIVATE),
        None,
    )


def test_texts_are_one_bounded_line() -> None:
    assert texts.one_line("a\n\n b\tc ", 10) == "a b c"
    long = texts.title("x" * 500)
    assert len(long) == texts.TITLE_MAX
    assert long.endswith("\u2026")
    assert texts.quoted("") == "\u201cuntitled\u201d"


def test_a_signature_verifies_and_a_tampered_body_does_not() -> None:
    secret = webhooks.new_secret()
    assert secret.startswith("whsec_")
    body = b'{"id":"x"}'
    header = webhooks.signature_header([secret, "whsec_old"], 1_700_000_000, body)
    assert webhooks.verify(secret, header, 1_700_000_000, body, now=1_700_000_010)
    assert webhooks.verify("whsec_old", header, 1_700_000_000, body, now=1_700_000_010)
    assert not webhooks.verify(secret, header, 1_700_000_000, body + b" ", now=1_700_000_010)
    assert not webhooks.verify(secret, header, 1_700_000_000, body, now=1_700_001_000)
    assert not webhooks.verify("whsec_other", header, 1_700_000_000, body, now=1_700_000_010)


def test_backoff_grows_with_jitter_and_a_cap() -> None:
    rng = random.Random(7)  # noqa: S311 - a fixed sequence for the test, not security
    pauses = [webhooks.backoff_seconds(n, base=10, cap=300, rng=rng) for n in range(1, 10)]
    for n, pause in enumerate(pauses, start=1):
        ceiling = min(300, 10 * 2 ** (n - 1))
        assert ceiling / 2 <= pause <= ceiling
    assert webhooks.backoff_seconds(0, base=10, cap=300) == 0


@pytest.mark.parametrize(
    ("url", "allow_http", "allow_private", "ok"),
    [
        ("https://partner.example/hook", False, False, True),
        ("http://partner.example/hook", False, False, False),
        ("http://partner.example/hook", True, False, True),
        ("https://127.0.0.1/hook", False, False, False),
        ("https://10.1.2.3/hook", False, False, False),
        ("https://localhost/hook", False, False, False),
        ("https://127.0.0.1/hook", False, True, True),
        ("https://user:pw@partner.example/hook", False, False, False),
        ("ftp://partner.example/hook", True, True, False),
    ],
)
def test_endpoint_policy(url: str, allow_http: bool, allow_private: bool, ok: bool) -> None:
    if ok:
        assert webhooks.check_endpoint(url, allow_http=allow_http, allow_private=allow_private)
    else:
        with pytest.raises(webhooks.EndpointRefused):
            webhooks.check_endpoint(url, allow_http=allow_http, allow_private=allow_private)


def test_experts_are_ranked_by_accepted_answers_then_declarations() -> None:
    experts = {
        "declared": {"sap": Expertise(declared=True)},
        "earned": {"sap": Expertise(earned=3)},
        "both": {"sap": Expertise(True, 3), "abap": Expertise(True, 0)},
        "elsewhere": {"java": Expertise(True, 9)},
    }
    assert rank(["sap", "abap"], experts) == ["both", "earned", "declared"]


def test_picking_skips_the_asker_those_asked_and_the_loaded() -> None:
    ranked = ["a", "b", "c", "d", "e"]
    chosen = pick(ranked, count=2, exclude={"a"}, load={"b": 5, "c": 4}, max_open=5)
    assert chosen == ["c", "d"]


def test_the_chain_goes_experts_experts_moderators_owners_then_ends() -> None:
    assert [audience_of(s) for s in range(5)] == [
        Audience.EXPERTS,
        Audience.EXPERTS,
        Audience.MODERATORS,
        Audience.OWNERS,
        None,
    ]


def test_digest_timing() -> None:
    assert next_due(Frequency.OFF, None, NOW) is None
    assert next_due(Frequency.DAILY, None, NOW) == NOW
    assert next_due(Frequency.WEEKLY, NOW, NOW) == NOW + timedelta(days=7)
    assert away(None, NOW, timedelta(hours=1))
    assert not away(NOW - timedelta(minutes=5), NOW, timedelta(hours=1))


def test_a_digest_lists_the_newest_and_counts_the_rest() -> None:
    lines = [DigestLine(f"Title {i}", "", NOW) for i in range(3)]
    subject, body = render("Ada", lines, total=5, link_base="https://gh.example/n")
    assert subject == "Guildhall: 5 unread notifications"
    assert "Title 0" in body
    assert "Title 2" in body
    assert "and 2 more" in body
    assert "https://gh.example/n" in body


def test_production_refuses_the_development_webhook_key() -> None:
    from guildhall_kit.settings import ConfigError, load_settings
    from guildhall_notification.settings import NotificationSettings

    base = {"kafka_bootstrap_servers": "k:1", "mongo_uri": "mongodb://m:1/"}
    assert load_settings(NotificationSettings, **base).webhook_allow_http is False
    with pytest.raises(ConfigError, match="GUILDHALL_WEBHOOK_SECRET_KEY"):
        load_settings(NotificationSettings, deployment="production", **base)
    with pytest.raises(ConfigError, match="WEBHOOK_SECRET_KEY"):
        load_settings(NotificationSettings, webhook_secret_key="c2hvcnQ=", **base)
