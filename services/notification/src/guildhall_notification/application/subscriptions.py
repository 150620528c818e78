"""Subscriptions to spaces and items, community defaults, and delivery preferences."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from guildhall_kit.auth import Principal, PrincipalKind, require_principal
from guildhall_kit.clients import Action
from guildhall_kit.clock import new_id
from guildhall_kit.errors import NotFound, PermissionDenied
from guildhall_kit.paging import decode_token, encode_token, key_str, page_size
from guildhall_notification.application.access import Funnel
from guildhall_notification.application.ports import (
    Clock,
    CommunityAccess,
    ReadModelsPort,
    StoredDefault,
    StoredSubscription,
    SubscriptionsPort,
    TargetKind,
)
from guildhall_notification.domain.audience import item_level, space_level
from guildhall_notification.domain.digest import DEFAULT_FREQUENCY, Frequency
from guildhall_notification.domain.model import Level, Source


@dataclass(frozen=True, slots=True)
class Effective:
    """A person's subscription as the contract shows it."""

    person_id: str
    target_kind: TargetKind
    target_id: str
    level: Level
    source: Source
    updated_at: datetime | None
    item_space_id: str = ""


@dataclass(frozen=True, slots=True)
class CommunityDefaultView:
    community_id: str
    level: Level
    updated_by: str
    updated_at: datetime | None


@dataclass(frozen=True, slots=True)
class PreferencesView:
    person_id: str
    digest_frequency: Frequency
    email: str
    last_digest_at: datetime | None


class OwnSubscriptions(Protocol):
    """The reads and writes of a person's own subscriptions beyond the fan-out's."""

    async def get(
        self, person_id: str, kind: TargetKind, target_id: str
    ) -> StoredSubscription | None: ...

    async def delete(self, person_id: str, kind: TargetKind, target_id: str) -> None: ...

    async def page(
        self, person_id: str, *, before: str | None, limit: int
    ) -> Sequence[StoredSubscription]: ...

    async def default(self, community_id: str) -> StoredDefault | None: ...

    async def put_default(
        self, community_id: str, level: Level, *, updated_by: str, at: datetime
    ) -> StoredDefault: ...


class PreferencesStore(Protocol):
    async def get(self, person_id: str) -> tuple[Frequency, datetime | None] | None: ...

    async def put_frequency(self, person_id: str, frequency: Frequency, at: datetime) -> None: ...


LISTING = "subscriptions"


class Subscriptions:
    def __init__(
        self,
        models: ReadModelsPort,
        subs: SubscriptionsPort,
        own: OwnSubscriptions,
        prefs: PreferencesStore,
        *,
        funnel: Funnel,
        community: CommunityAccess,
        clock: Clock,
    ) -> None:
        self._models = models
        self._subs = subs
        self._own = own
        self._prefs = prefs
        self._funnel = funnel
        self._community = community
        self._clock = clock

    async def _target_space(self, principal: Principal, kind: TargetKind, target_id: str) -> str:
        """The space of the target, if the caller may read it; NOT_FOUND otherwise."""
        if kind == "item":
            item = await self._models.item(target_id)
            if item is None or item.deleted:
                raise NotFound("item")
            space_id = item.space_id
        else:
            space_id = target_id
        if not await self._funnel.may_read(principal, space_id):
            raise NotFound(kind)
        return space_id

    async def effective(self, principal: Principal, kind: TargetKind, target_id: str) -> Effective:
        """The caller's effective subscription (NOT_FOUND when they may not read it)."""
        space_id = await self._target_space(principal, kind, target_id)
        person = principal.subject
        space = await self._models.space(space_id)
        community_id = space.community_id if space else ""
        default = await self._subs.default_level(community_id) if community_id else None
        member = bool(await self._models.roles(community_id, [person])) if default else False
        space_own = await self._subs.levels([person], "space", space_id)
        stored = None
        if kind == "item":
            item_own = await self._subs.levels([person], "item", target_id)
            level, source = item_level(
                item=item_own.get(person),
                space=space_own[person][0] if person in space_own else None,
                community_default=default,
                is_member=member,
            )
            stored = await self._own.get(person, "item", target_id)
        else:
            level, source = space_level(
                space=space_own[person][0] if person in space_own else None,
                community_default=default,
                is_member=member,
            )
            stored = await self._own.get(person, "space", target_id)
        updated = stored.updated_at if stored is not None and source in _OWN else None
        return Effective(
            person,
            kind,
            target_id,
            level,
            source,
            updated,
            space_id if kind == "item" else "",
        )

    async def set(
        self, principal: Principal, kind: TargetKind, target_id: str, level: Level
    ) -> Effective:
        space_id = await self._target_space(principal, kind, target_id)
        now = self._clock()
        await self._subs.put(
            principal.subject,
            kind,
            target_id,
            space_id=space_id,
            level=level,
            source=Source.EXPLICIT,
            at=now,
            set_id=new_id(now),
        )
        return await self.effective(principal, kind, target_id)

    async def clear(self, principal: Principal, kind: TargetKind, target_id: str) -> Effective:
        await self._target_space(principal, kind, target_id)
        await self._own.delete(principal.subject, kind, target_id)
        return await self.effective(principal, kind, target_id)

    async def page(
        self, principal: Principal, *, size: int, token: str
    ) -> tuple[list[Effective], str]:
        scope = [principal.subject]
        key = decode_token(token, LISTING, (str,), scope=scope)
        limit = page_size(size)
        found = await self._own.page(
            principal.subject, before=key_str(key, 0) if key else None, limit=limit
        )
        out = [
            Effective(
                person_id=principal.subject,
                target_kind=s.target_kind,
                target_id=s.target_id,
                level=s.level,
                source=s.source,
                updated_at=s.updated_at,
                item_space_id=s.space_id if s.target_kind == "item" else "",
            )
            for s in found
        ]
        next_token = (
            encode_token(LISTING, [found[-1].set_id], scope=scope) if len(found) == limit else ""
        )
        return out, next_token

    # ----------------------------------------------------------- community default

    async def community_default(
        self, principal: Principal, community_id: str
    ) -> CommunityDefaultView:
        require_principal(PrincipalKind.EMPLOYEE)
        if not await self._funnel.may_read(principal, community_id):
            raise NotFound("community")
        stored = await self._own.default(community_id)
        if stored is None:
            return CommunityDefaultView(community_id, Level.NORMAL, "", None)
        return CommunityDefaultView(
            community_id,
            stored.level,
            stored.updated_by,
            stored.updated_at,
        )

    async def set_community_default(
        self, principal: Principal, community_id: str, level: Level
    ) -> CommunityDefaultView:
        """Owners and home admins, decided exactly by the community service.

        Raises:
            PermissionDenied: a partner (before any lookup), or a reader who does not
                administer the community.
            NotFound: the caller may not read the community.
            Unavailable: the community service did not answer.
        """
        require_principal(PrincipalKind.EMPLOYEE)
        if not await self._community.check(principal, community_id, Action.ADMINISTER):
            if not await self._community.check(principal, community_id, Action.READ):
                raise NotFound("community")
            raise PermissionDenied("only the community's owners set its default")
        stored = await self._own.put_default(
            community_id, level, updated_by=principal.subject, at=self._clock()
        )
        return CommunityDefaultView(
            community_id,
            stored.level,
            stored.updated_by,
            stored.updated_at,
        )

    # ----------------------------------------------------------------- preferences

    async def preferences(self, principal: Principal) -> PreferencesView:
        stored = await self._prefs.get(principal.subject)
        person = await self._models.person(principal.subject)
        frequency, last = stored if stored is not None else (DEFAULT_FREQUENCY, None)
        return PreferencesView(principal.subject, frequency, person.email if person else "", last)

    async def set_frequency(self, principal: Principal, frequency: Frequency) -> PreferencesView:
        await self._prefs.put_frequency(principal.subject, frequency, self._clock())
        return await self.preferences(principal)


_OWN = frozenset({Source.EXPLICIT, Source.AUTHOR, Source.PARTICIPANT})
