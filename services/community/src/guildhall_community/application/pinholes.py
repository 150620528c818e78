"""Use cases of the pinhole aggregate: propose, open, grant, revoke, close, list, sweep."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from guildhall_community import domain as dom
from guildhall_community.domain import (
    NO_CHANGE,
    Change,
    Community,
    GrantLevel,
    Membership,
    PartnerOrg,
    Pinhole,
    PinholeSpace,
    PinholeState,
    Principal,
    effective_state,
    facts_for,
    require_employee,
)
from guildhall_kit import paging
from guildhall_kit.clock import new_id
from guildhall_kit.errors import Aborted, NotFound
from guildhall_kit.logging import get_logger

from .core import Core, Page, keyset_page

_log = get_logger(__name__)

PINHOLES = "pinholes"


class Pinholes:
    """The pinholes of a community and their grants (changes: employees only).

    Reading one pinhole is in :mod:`.access`, the funnel partners go through.
    """

    def __init__(self, core: Core) -> None:
        self._core = core
        self._store = core.store

    async def propose(
        self,
        principal: Principal,
        community_id: str,
        *,
        title: str,
        purpose: str,
        expires_at: datetime | None,
    ) -> Pinhole:
        """Propose a pinhole (MODERATE on the main space; PinholeProposed)."""
        require_employee(principal)
        pinhole_id = new_id()

        async def attempt() -> Pinhole:
            view = await self._core.with_member(community_id, principal.subject)
            change = dom.propose_pinhole(
                view.community,
                principal,
                actor_membership=view.membership,
                pinhole_id=pinhole_id,
                title=title,
                purpose=purpose,
                expires_at=expires_at,
                now=self._core.now(),
            )
            await self._core.commit(change)
            assert change.pinhole is not None
            return change.pinhole

        return await self._core.retrying(attempt)

    async def _change(
        self,
        principal: Principal,
        pinhole_id: str,
        decide: Callable[[Pinhole, Community, Membership | None], Change],
    ) -> tuple[Pinhole, Community]:
        require_employee(principal)

        async def attempt() -> tuple[Pinhole, Community]:
            pinhole, record = await self._core.pinhole(pinhole_id)
            membership = await self._store.membership(record.community.id, principal.subject)
            change = decide(pinhole, record.community, membership)
            await self._core.commit(change)
            return change.pinhole or pinhole, record.community

        return await self._core.retrying(attempt)

    async def open(self, principal: Principal, pinhole_id: str) -> tuple[Pinhole, Community]:
        """Open a proposed pinhole (PinholeOpened), as the open policy allows."""
        return await self._change(
            principal,
            pinhole_id,
            lambda p, c, m: dom.open_pinhole(
                p, c, principal, actor_membership=m, policy=self._core.policy, now=self._core.now()
            ),
        )

    async def grant(
        self, principal: Principal, pinhole_id: str, org_id: str, level: GrantLevel
    ) -> tuple[Pinhole, Community]:
        """Grant a partner org (PinholeGranted). An org the profile facts do not know is
        NOT_FOUND — decided after the principal's own rights."""
        require_employee(principal)
        facts = await self._store.org(org_id)
        org = PartnerOrg(org_id=org_id)
        if facts is not None:
            org = PartnerOrg(org_id=org_id, is_home=facts.is_home, suspended=facts.suspended)

        def decide(p: Pinhole, c: Community, m: Membership | None) -> Change:
            change = dom.grant(
                p,
                c,
                principal,
                actor_membership=m,
                org=org,
                level=level,
                policy=self._core.policy,
                now=self._core.now(),
            )
            if facts is None:
                raise NotFound("org", org_id)
            return change

        return await self._change(principal, pinhole_id, decide)

    async def revoke(
        self, principal: Principal, pinhole_id: str, org_id: str
    ) -> tuple[Pinhole, Community]:
        """Take an org's grant away (PinholeRevoked). Exact once this returns."""
        return await self._change(
            principal,
            pinhole_id,
            lambda p, c, m: dom.revoke(
                p, c, principal, actor_membership=m, org_id=org_id, now=self._core.now()
            ),
        )

    async def close(self, principal: Principal, pinhole_id: str) -> tuple[Pinhole, Community]:
        """Close the pinhole for good (PinholeClosed). Exact once this returns."""
        return await self._change(
            principal,
            pinhole_id,
            lambda p, c, m: dom.close_pinhole(
                p, c, principal, actor_membership=m, now=self._core.now()
            ),
        )

    async def of_community(
        self,
        principal: Principal,
        community_id: str,
        *,
        state: PinholeState | None,
        size: int,
        token: str,
    ) -> tuple[Community, Page[Pinhole]]:
        """The community's pinholes the principal may see, newest first, in effective ``state``.

        Pinhole ids are ULIDs minted at proposal, so newest first is descending
        ``_id``. Visibility and the effective state (expiry, an archived
        community) are judged on each row after it is read.
        """
        require_employee(principal)
        scope = (community_id, "" if state is None else state.value)
        position = paging.decode_token(token, PINHOLES, (str,), scope=scope)
        view = await self._core.with_member(community_id, principal.subject)
        now = self._core.now()
        facts = facts_for(principal, view.community, view.membership, now=now)
        dom.access_community(principal, view.community, facts, None)
        community = view.community

        async def fetch(before: str | None, limit: int) -> list[Pinhole]:
            return await self._store.pinholes_page(community_id, before=before, limit=limit)

        async def keep(batch: list[Pinhole]) -> list[Pinhole]:
            return [
                p
                for p in batch
                if dom.can_see(principal, PinholeSpace(p, community), facts)
                and (state is None or effective_state(p, community, now) is state)
            ]

        found, next_at = await keyset_page(
            fetch,
            lambda p: p.id,
            keep,
            after=None if position is None else paging.key_str(position, 0),
            want=paging.page_size(size),
        )
        next_token = (
            "" if next_at is None else paging.encode_token(PINHOLES, (next_at,), scope=scope)
        )
        return community, Page(found, next_token)

    # ---------------------------------------------------------------- sweeping

    async def close_lapsed_in(self, community_id: str) -> int:
        """Record every lapsed pinhole of one community closed; how many were recorded."""
        closed = 0
        for pinhole in await self._store.pinholes_of([community_id]):
            closed += await self._close_lapsed(pinhole.id)
        return closed

    async def _close_lapsed(self, pinhole_id: str) -> int:
        async def attempt() -> int:
            found = await self._store.pinhole(pinhole_id)
            if found is None:
                return 0
            record = await self._store.community(found.community_id)
            if record is None:
                return 0
            change = dom.close_lapsed(found, record.community, now=self._core.now())
            await self._core.commit(change)
            return int(change.changed)

        return await self._core.retrying(attempt)

    async def sweep(self, batch: int = 200) -> int:
        """One pass of the sweeper: record every live pinhole that lapsed; how many.

        Bookkeeping, not security: a lapsed pinhole is closed for every
        decision already. Idempotent; a pinhole that keeps conflicting is left
        for the next pass.
        """
        now = self._core.now()
        communities: dict[str, Community | None] = {}
        closed = 0
        after = ""
        while True:
            pinholes = await self._store.live_pinholes(after, batch)
            for pinhole in pinholes:
                cid = pinhole.community_id
                if cid not in communities:
                    record = await self._store.community(cid)
                    communities[cid] = None if record is None else record.community
                community = communities[cid]
                if community is None:
                    continue
                if dom.close_lapsed(pinhole, community, now=now) == NO_CHANGE:
                    continue
                try:
                    closed += await self._close_lapsed(pinhole.id)
                except Aborted:
                    _log.warning("sweeper: pinhole keeps changing; next pass", pinhole=pinhole.id)
            if len(pinholes) < batch:
                return closed
            after = pinholes[-1].id
