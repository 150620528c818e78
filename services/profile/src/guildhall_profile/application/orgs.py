"""Organisations: the home enterprise, partner registration, suspension and listing."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from guildhall_kit.clock import new_id
from guildhall_kit.errors import Aborted, NotFound
from guildhall_kit.logging import get_logger
from guildhall_kit.paging import decode_token, encode_token, key_str, page_size
from guildhall_profile.domain.model import Org, OrgKind, OrgState
from guildhall_profile.domain.orgs import (
    OrgChange,
    home_org,
    register_org,
    reinstate_org,
    suspend_org,
)

from .common import WRITE_ATTEMPTS, Writes

_log = get_logger(__name__)


class Orgs:
    """Use cases of organisations (the caller's right to act is checked by the gate)."""

    def __init__(self, writes: Writes, *, home_org_id: str) -> None:
        self._w = writes
        self._repo = writes.repo
        self.home_org_id = home_org_id

    async def bootstrap_home(self, display_name: str) -> Org:
        """Create the home org on first start; afterwards return it. Idempotent.

        Raises:
            RuntimeError: another org is the home org (GUILDHALL_HOME_ORG_ID changed).
        """
        homes = await self._repo.home_orgs()
        others = [o.org_id for o in homes if o.org_id != self.home_org_id]
        if others:
            raise RuntimeError(
                f"GUILDHALL_HOME_ORG_ID is {self.home_org_id!r} but the home org in the "
                f"database is {others[0]!r}; there is exactly one home org"
            )
        if homes:
            home = homes[0]
            if home.display_name != display_name:
                _log.warning(
                    "GUILDHALL_HOME_ORG_NAME differs from the stored home org name; keeping it",
                    stored=home.display_name,
                )
            return home
        change = home_org(self.home_org_id, display_name, self._w.now())
        assert change.event is not None
        await self._w.insert_org(change.org, change.event)
        _log.info("home org created", org_id=self.home_org_id)
        return change.org

    async def register(self, actor_id: str, *, org_id: str, kind: OrgKind, name: str) -> Org:
        """Raises InvalidArgument (home kind, blank name), AlreadyExists (id or name taken)."""
        now = self._w.now()
        change = register_org(
            org_id=org_id or new_id(now), kind=kind, display_name=name, actor_id=actor_id, now=now
        )
        assert change.event is not None
        await self._w.insert_org(change.org, change.event)
        return change.org

    async def names(self, org_ids: Sequence[str]) -> dict[str, str]:
        """Display names of these orgs ("" for an unknown one), for cards."""
        return await self._w.org_names(org_ids)

    async def get(self, org_id: str) -> Org:
        """Raises NotFound."""
        org = await self._repo.get_org(org_id)
        if org is None:
            raise NotFound("org", org_id)
        return org

    async def list(
        self, *, kind: OrgKind | None, state: OrgState | None, size: int, token: str
    ) -> tuple[list[Org], str]:
        """A page of orgs by display name, and the next page's token ("" on the last).

        Raises:
            InvalidArgument: ``page_token`` is not one of this listing with these filters.
        """
        scope = [kind.value if kind else "", state.value if state else ""]
        key = decode_token(token, "orgs", (str,), scope=scope)
        limit = page_size(size)
        rows = await self._repo.list_orgs(
            kind=kind, state=state, after=key_str(key, 0) if key else None, limit=limit + 1
        )
        page = rows[:limit]
        more = len(rows) > limit
        return page, encode_token("orgs", [page[-1].list_key], scope=scope) if more else ""

    async def _change(self, org_id: str, op: Callable[[Org], OrgChange]) -> Org:
        for _ in range(WRITE_ATTEMPTS):
            before = await self.get(org_id)
            change = op(before)
            if change.event is None:
                return change.org
            if await self._w.update_org(before, change.org, change.event):
                return change.org
        raise Aborted(f"org {org_id} kept changing; try again")

    async def suspend(self, actor_id: str, org_id: str, reason: str) -> Org:
        """Raises NotFound, FailedPrecondition (the home org)."""
        return await self._change(
            org_id,
            lambda org: suspend_org(org, reason=reason, actor_id=actor_id, now=self._w.now()),
        )

    async def reinstate(self, actor_id: str, org_id: str) -> Org:
        """Raises NotFound, FailedPrecondition (the home org)."""
        return await self._change(
            org_id, lambda org: reinstate_org(org, actor_id=actor_id, now=self._w.now())
        )
