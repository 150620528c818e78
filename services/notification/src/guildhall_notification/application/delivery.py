"""Deciding who gets a notification: the first half of delivery.

A :class:`Happening` says what happened, where, to whom directly (the author
of the item replied to, the person mentioned, ...), and whether followers of
the item or space may hear of it. :meth:`Fanout.deliver` finds the followers,
resolves every candidate's subscription level, applies the rules of
domain/audience.py, checks access through the funnel at this moment, and hands
the recipients, grouped by notification and shard, to the inbox writers (the
second half, application/inbox.py) through the notification topic.

Work is bounded per batch of 1,000 candidates, so a post in a space with
100,000 watchers is decided in 100 rounds of a few indexed reads each.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field

from guildhall_kit.logging import get_logger
from guildhall_notification.application.access import Funnel
from guildhall_notification.application.ports import (
    Clock,
    ReadModelsPort,
    Routed,
    RoutedSink,
    SubscriptionsPort,
)
from guildhall_notification.domain.audience import (
    RULES,
    Activity,
    Relation,
    at_least,
    decide,
    item_level,
)
from guildhall_notification.domain.model import Item, Kind, Level, Reason, Source, Space, Template
from guildhall_notification.domain.shards import by_shard

_log = get_logger(__name__)

BATCH = 1000

Texts = Callable[[Kind, Reason], Template]
"""Builds the notification for a (kind, reason): the words differ, the facts do not."""


@dataclass(frozen=True)
class Happening:
    """One thing that may notify people."""

    source_event_id: str
    activity: Activity
    space_id: str
    subject: str
    """What the notification is about, for deduplication (one per person and subject)."""
    texts: Texts
    actor_id: str = ""
    item: Item | None = None
    """The item whose subscriptions count (None: only the space's)."""
    direct: Mapping[str, frozenset[Relation]] = field(default_factory=dict)
    follow_item: bool = False
    follow_space: bool = False
    members_as: Relation | None = None
    """Every member of the space's community relates this way (announcements)."""
    about_own_access: bool = False
    """The notification is about the recipient's own access: no read check (see access.py)."""
    excluded: frozenset[str] = frozenset()
    """People who hear of this another way (the mentioned, for a new item)."""


@dataclass(frozen=True)
class Outcome:
    """What one delivery decided (for logs, tests and benchmarks)."""

    candidates: int
    recipients: int
    messages: int
    people: tuple[str, ...] = ()
    """Everyone the notification was sent to (after the access check)."""


class Fanout:
    """Decides recipients and sends them to the inbox writers."""

    def __init__(
        self,
        models: ReadModelsPort,
        subscriptions: SubscriptionsPort,
        funnel: Funnel,
        sink: RoutedSink,
        *,
        shards: int,
        chunk: int,
        clock: Clock,
    ) -> None:
        self._models = models
        self._subs = subscriptions
        self._funnel = funnel
        self._sink = sink
        self._shards = shards
        self._chunk = chunk
        self._clock = clock

    async def _sources(
        self, h: Happening, space: Space, default: Level | None, known: dict[str, Level]
    ) -> AsyncIterator[dict[str, set[Relation]]]:
        """Followers of the item, of the space, and the community's members, in batches."""
        follower_rule = RULES.get((h.activity, Relation.FOLLOWER))
        levels = [
            lv
            for lv in (Level.WATCHING, Level.TRACKING)
            if follower_rule is not None and at_least(lv, follower_rule.least)
        ]
        targets = []
        if levels and h.follow_item and h.item is not None:
            targets.append(h.item.post_id)
        if levels and h.follow_space:
            targets.append(h.space_id)
        for target in targets:
            async for rows in self._subs.holders(target, levels):
                if target == h.space_id:
                    known.update(rows)
                yield {p: {Relation.FOLLOWER} for p, _ in rows}
        members_follow = (h.follow_item or h.follow_space) and default in levels
        as_member = {h.members_as} if h.members_as is not None else set()
        if as_member or members_follow:
            extra = {Relation.FOLLOWER} if members_follow else set()
            async for ids in self._models.members(space.community_id):
                yield dict.fromkeys(ids, as_member | extra)

    async def _candidates(
        self, h: Happening, space: Space, default: Level | None, known: dict[str, Level]
    ) -> AsyncIterator[dict[str, set[Relation]]]:
        """Everyone who might hear of ``h``, each once, with every way they relate to it."""
        direct: dict[str, set[Relation]] = {p: set(r) for p, r in h.direct.items()}
        seen: set[str] = set()
        async for found in self._sources(h, space, default, known):
            batch = {p: r for p, r in found.items() if p not in seen}
            for person in batch.keys() & direct.keys():
                batch[person] = batch[person] | direct.pop(person)
            seen.update(batch)
            if batch:
                yield batch
        if direct:
            yield direct

    async def _decide(
        self,
        h: Happening,
        space: Space,
        default: Level | None,
        batch: dict[str, set[Relation]],
        known: dict[str, Level],
    ) -> dict[str, tuple[Kind, Reason]]:
        """What each person of ``batch`` gets, before the access check."""
        ids = list(batch)
        item_subs = (
            await self._subs.levels(ids, "item", h.item.post_id) if h.item is not None else {}
        )
        # Holders of the space subscription came with their level; ask for the others only.
        space_subs = {p: (known[p], Source.EXPLICIT) for p in ids if p in known}
        unknown = [p for p in ids if p not in space_subs]
        if unknown:
            space_subs.update(await self._subs.levels(unknown, "space", h.space_id))
        members = await self._models.roles(space.community_id, ids) if default else {}
        chosen: dict[str, tuple[Kind, Reason]] = {}
        for person, relations in batch.items():
            level, _ = item_level(
                item=item_subs.get(person),
                space=space_subs[person][0] if person in space_subs else None,
                community_default=default,
                is_member=person in members,
            )
            decided = decide(h.activity, relations, level)
            if decided is not None:
                chosen[person] = decided
        return chosen

    def _route(
        self, h: Happening, by_notification: dict[tuple[Kind, Reason], list[str]]
    ) -> list[Routed]:
        """One NotificationsRouted per notification and shard (chunked)."""
        routed: list[Routed] = []
        now = self._clock()
        for (kind, reason), people in by_notification.items():
            template = h.texts(kind, reason)
            for group in by_shard(people, self._shards, chunk=self._chunk):
                routed.append(
                    Routed(
                        source_event_id=h.source_event_id,
                        person_ids=tuple(group),
                        template=template,
                        subject=h.subject,
                        routed_at=now,
                    )
                )
        return routed

    async def deliver(self, h: Happening) -> Outcome:
        """Decide and send; returns counts. Sends nothing for an unknown space.

        Raises:
            Whatever the stores or the sink raise (the consumer retries the event;
            the inbox writers drop what a retry sends twice).
        """
        if not h.space_id and h.about_own_access:
            # About no space at all (a webhook of the person's org): only its direct people.
            space = Space(space_id="", community_id="")
        else:
            found = await self._models.space(h.space_id)
            if found is None:
                _log.info("activity in a space not known yet; nobody notified", space_id=h.space_id)
                return Outcome(0, 0, 0)
            space = found
        known: dict[str, Level] = {}
        default = await self._subs.default_level(space.community_id) if space.community_id else None
        # A fan-out of many batches records how many it has handed over, so a retry
        # (after a crash or a timed-out attempt) continues instead of starting over.
        key = f"{h.source_event_id}|{h.activity.value}|{','.join(sorted(h.direct))[:200]}"
        done = await self._models.fanout_progress(key)
        routed: list[Routed] = []
        candidates = 0
        index = -1
        async for batch in self._candidates(h, space, default, known):
            index += 1
            if index < done:
                continue
            for person in (h.actor_id, *h.excluded):
                batch.pop(person, None)
            candidates += len(batch)
            chosen = await self._decide(h, space, default, batch, known) if batch else {}
            if h.about_own_access:
                allowed = set(await self._models.people(chosen))
            else:
                allowed = await self._funnel.readers(h.space_id, chosen)
            by_notification: dict[tuple[Kind, Reason], list[str]] = defaultdict(list)
            for person, decided in chosen.items():
                if person in allowed:
                    by_notification[decided].append(person)
            sent_now = self._route(h, by_notification)
            if sent_now:
                await self._sink.send(sent_now)
                routed.extend(sent_now)
            if index >= 1 or done:
                await self._models.set_fanout_progress(key, index + 1)
        sent = tuple(p for r in routed for p in r.person_ids)
        return Outcome(candidates, len(sent), len(routed), sent)
