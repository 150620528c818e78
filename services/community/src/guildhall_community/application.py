"""The community service's operations: read current state, ask the domain, apply its change.

Every method here is one RPC's body without the protobuf: it takes the
domain principal and plain arguments, reads what the domain needs through the
:class:`~guildhall_community.adapters.repository.Repository` (point reads by
``_id``), calls the domain operation or decision with the service clock's
``now``, and applies the returned change. A lost compare-and-set re-runs the
whole read-decide-write step a bounded number of times (``write_attempts``),
then answers ABORTED.

Errors are the kit's domain errors; the gRPC interceptor maps them. An
unknown id raises exactly the error the funnel raises for a hidden one
(:func:`~guildhall_community.domain.missing_community`,
:func:`~guildhall_community.domain.missing_pinhole`), and employee-only
operations refuse a partner before anything is read.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Generic, TypeVar

from guildhall_community import domain as dom
from guildhall_community.domain import (
    NO_CHANGE,
    AccessFacts,
    Action,
    Change,
    Community,
    CommunitySpace,
    GrantLevel,
    JoinRequestState,
    Membership,
    PartnerOrg,
    Pinhole,
    PinholeOpenPolicy,
    PinholeSpace,
    PinholeState,
    Principal,
    PrincipalKind,
    Role,
    Space,
    SpaceAccess,
    Visibility,
    effective_state,
    facts_for,
    missing_community,
    missing_pinhole,
    require_employee,
)
from guildhall_kit.bus.event import new_event_id
from guildhall_kit.errors import Aborted, DomainError, InvalidArgument, NotFound
from guildhall_kit.logging import get_logger

from .adapters import paging
from .adapters.documents import name_key
from .adapters.repository import CommunityRecord, Repository, WriteConflict

_log = get_logger(__name__)

T = TypeVar("T")

Clock = Callable[[], datetime]


def utc_now_ms() -> datetime:
    """The service clock: now in UTC, in whole milliseconds (what BSON stores)."""
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def new_id() -> str:
    """A new community or pinhole id: a lowercase ULID (sortable by creation time)."""
    return new_event_id().lower()


@dataclass(frozen=True, slots=True)
class MemberView:
    """A community with one person's membership in it (None: not a member)."""

    record: CommunityRecord
    membership: Membership | None

    @property
    def community(self) -> Community:
        return self.record.community


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a listing and the token of the next (empty when this is the last)."""

    items: list[T]
    next_token: str


class CommunityApp:
    """Every operation of the community service (see the module docstring)."""

    def __init__(
        self,
        repository: Repository,
        *,
        policy: PinholeOpenPolicy,
        write_attempts: int = 5,
        clock: Clock = utc_now_ms,
        on_events: Callable[[Sequence[tuple[str, str]]], None] = lambda _: None,
    ) -> None:
        if write_attempts < 1:
            raise ValueError("write_attempts must be at least 1")
        self.repo = repository
        self.policy = policy
        self._attempts = write_attempts
        self._clock = clock
        self._on_events = on_events

    def now(self) -> datetime:
        return self._clock()

    # ----------------------------------------------------------------- helpers

    async def _retrying(
        self,
        attempt: Callable[[], Awaitable[T]],
        *,
        repair: Callable[[], Awaitable[None]] | None = None,
    ) -> T:
        """Run ``attempt`` (read, decide, write) until no compare-and-set is lost.

        A two-document change whose second write lost leaves its first write
        behind; the re-run normally completes it. When the re-run is refused
        instead (or the attempts run out), ``repair`` puts the first write's
        document back in line before the error goes to the caller.

        Raises:
            Aborted: still conflicting after ``write_attempts`` runs.
            DomainError: the re-run's answer (after ``repair``).
        """
        conflicted = False
        for n in range(self._attempts):
            try:
                return await attempt()
            except WriteConflict as conflict:
                conflicted = True
                _log.info("write conflict; re-running", document=str(conflict), attempt=n + 1)
                await asyncio.sleep(random.uniform(0, 0.005 * 2**n))  # noqa: S311 - jitter
            except DomainError:
                if conflicted and repair is not None:
                    await repair()
                raise
        if repair is not None:
            await repair()
        raise Aborted("the object is changing too fast; re-read and retry")

    async def _reconcile(self, community_id: str, person_id: str, by: str) -> None:
        """Best effort: the person's membership document in line with the staff entry."""

        async def attempt() -> None:
            view = await self._with_member(community_id, person_id)
            change = dom.reconcile_membership(
                view.community, person_id, view.membership, by=by, now=self.now()
            )
            await self._commit(change, view.record)

        try:
            await self._retrying(attempt)
        except Exception:  # noqa: BLE001 - a later operation on this person repairs it as well
            _log.warning("membership not reconciled", community=community_id, person=person_id)

    async def _commit(self, change: Change, before: CommunityRecord | None = None) -> None:
        written = await self.repo.apply(change, before=before)
        if written:
            self._on_events(written)

    async def _community(self, community_id: str) -> CommunityRecord:
        record = await self.repo.community(community_id)
        if record is None:
            raise missing_community(community_id)
        return record

    async def _with_member(self, community_id: str, person_id: str) -> MemberView:
        record, membership = await asyncio.gather(
            self._community(community_id), self.repo.membership(community_id, person_id)
        )
        return MemberView(record, membership)

    async def _pinhole(self, pinhole_id: str) -> tuple[Pinhole, CommunityRecord]:
        pinhole = await self.repo.pinhole(pinhole_id)
        if pinhole is None:
            raise missing_pinhole(pinhole_id)
        record = await self.repo.community(pinhole.community_id)
        if record is None:
            raise missing_pinhole(pinhole_id)
        return pinhole, record

    async def _facts(self, principal: Principal, community: Community) -> AccessFacts:
        """The principal's facts in ``community`` now: their membership, or their org's status."""
        now = self.now()
        if principal.is_partner:
            suspended = await self.repo.org_suspended(principal.org_id)
            return facts_for(principal, community, None, now=now, org_suspended=suspended)
        membership = await self.repo.membership(community.id, principal.subject)
        return facts_for(principal, community, membership, now=now)

    # ------------------------------------------------------------- communities

    async def create_community(
        self,
        principal: Principal,
        *,
        name: str,
        description: str,
        visibility: Visibility,
        tags: Sequence[str],
    ) -> CommunityRecord:
        """Create a community with the principal as its first owner.

        Raises:
            PermissionDenied: a partner.
            InvalidArgument: a malformed field.
            AlreadyExists: an active community has this name (case-insensitively).
        """
        require_employee(principal)
        community_id = new_id()
        change = dom.create_community(
            principal,
            community_id=community_id,
            name=name,
            description=description,
            visibility=visibility,
            tags=tags,
            now=self.now(),
        )
        await self.repo.claim_name(name, community_id)
        try:
            await self._commit(change)
        except BaseException:
            await self.repo.release_name(name, community_id)
            raise
        return await self._community(community_id)

    async def get_community(self, principal: Principal, community_id: str) -> MemberView:
        """The community, if the principal may see it, with their membership.

        Raises:
            PermissionDenied: a partner.
            NotFound: missing, or hidden from the principal.
        """
        require_employee(principal)
        view = await self._with_member(community_id, principal.subject)
        facts = facts_for(principal, view.community, view.membership, now=self.now())
        dom.access_community(principal, view.community, facts, None)
        mine = (
            view.membership if view.community.role_of(principal.subject, view.membership) else None
        )
        return MemberView(view.record, mine)

    async def list_communities(
        self,
        principal: Principal,
        *,
        prefix: str,
        visibility: Visibility | None,
        include_archived: bool,
        size: int,
        token: str,
    ) -> Page[CommunityRecord]:
        """Communities the principal may see, by name. Secret ones only to members and admins.

        Raises:
            PermissionDenied: a partner.
            InvalidArgument: a token this listing did not mint.
        """
        require_employee(principal)
        position = paging.decode("communities", token, 2)
        after = None if position is None else (str(position[0]), str(position[1]))
        want = paging.page_size(size)
        now = self.now()
        found: list[CommunityRecord] = []
        more = True
        # Secret communities the principal may not see are skipped, so read a few
        # batches at most; a short page with a token is a valid answer.
        for _ in range(4):
            need = want + 1 - len(found)
            batch = await self.repo.communities_page(
                prefix=prefix,
                visibility=None if visibility is None else visibility.value,
                include_archived=include_archived,
                after=after,
                limit=need,
            )
            secret = [
                r.community.id
                for r in batch
                if r.community.visibility is Visibility.SECRET and not principal.is_home_admin
            ]
            memberships = await self.repo.memberships_of(principal.subject, secret)
            for record in batch:
                membership = memberships.get(record.community.id)
                facts = facts_for(principal, record.community, membership, now=now)
                if dom.can_see(principal, CommunitySpace(record.community), facts):
                    found.append(record)
            if batch:
                last = batch[-1].community
                after = (name_key(last.name), last.id)
            if len(batch) < need:
                more = False
                break
            if len(found) > want:
                break
        if len(found) > want:
            found = found[:want]
            last = found[-1].community
            return Page(found, paging.encode("communities", name_key(last.name), last.id))
        if more and after is not None:
            return Page(found, paging.encode("communities", *after))
        return Page(found, "")

    async def update_community(
        self,
        principal: Principal,
        community_id: str,
        *,
        name: str | None,
        description: str | None,
        visibility: Visibility | None,
        expected_version: int | None,
    ) -> CommunityRecord:
        """Change name, description or visibility (ADMINISTER).

        Raises:
            PermissionDenied, NotFound, FailedPrecondition, InvalidArgument, Aborted:
                as :func:`~guildhall_community.domain.update_community`.
            AlreadyExists: the new name is taken.
        """
        require_employee(principal)

        async def attempt() -> CommunityRecord:
            view = await self._with_member(community_id, principal.subject)
            old = view.community
            change = dom.update_community(
                old,
                principal,
                actor_membership=view.membership,
                name=name,
                description=description,
                visibility=visibility,
                expected_version=expected_version,
                now=self.now(),
            )
            new = change.community
            renamed = new is not None and name_key(new.name) != name_key(old.name)
            if new is not None and renamed:
                await self.repo.claim_name(new.name, community_id)
            try:
                await self._commit(change, view.record)
            except BaseException:
                if new is not None and renamed:
                    await self.repo.release_name(new.name, community_id)
                raise
            if new is not None and renamed:
                await self.repo.release_name(old.name, community_id)
            return view.record

        await self._retrying(attempt)
        return await self._community(community_id)

    async def archive_community(self, principal: Principal, community_id: str) -> CommunityRecord:
        """Archive the community (ADMINISTER); its pinholes close to partners at once.

        The name becomes free for a new community, and the pinholes are
        recorded closed right away (the sweeper catches any left behind).

        Raises:
            PermissionDenied, NotFound: as :func:`~guildhall_community.domain.archive_community`.
        """
        require_employee(principal)

        async def attempt() -> Change:
            view = await self._with_member(community_id, principal.subject)
            change = dom.archive_community(
                view.community, principal, actor_membership=view.membership, now=self.now()
            )
            await self._commit(change, view.record)
            return change

        change = await self._retrying(attempt)
        record = await self._community(community_id)
        if change.changed:
            await self.repo.release_name(record.community.name, community_id)
            await self.close_lapsed_in(community_id)
        return record

    # -------------------------------------------------------------- membership

    async def _membership_op(
        self,
        principal: Principal,
        community_id: str,
        decide: Callable[[MemberView], Change],
    ) -> MemberView:
        """Run a membership operation about the principal themself; return the result."""
        require_employee(principal)

        async def attempt() -> None:
            view = await self._with_member(community_id, principal.subject)
            await self._commit(decide(view), view.record)

        async def repair() -> None:
            await self._reconcile(community_id, principal.subject, principal.subject)

        await self._retrying(attempt, repair=repair)
        return await self._with_member(community_id, principal.subject)

    async def join(self, principal: Principal, community_id: str) -> MemberView:
        """The principal joins an open community (see :func:`~guildhall_community.domain.join`)."""
        return await self._membership_op(
            principal,
            community_id,
            lambda v: dom.join(v.community, principal, membership=v.membership, now=self.now()),
        )

    async def request_membership(
        self, principal: Principal, community_id: str, message: str
    ) -> MemberView:
        """The principal asks to join a private community (JoinRequested)."""
        return await self._membership_op(
            principal,
            community_id,
            lambda v: dom.request_membership(
                v.community, principal, membership=v.membership, message=message, now=self.now()
            ),
        )

    async def leave(self, principal: Principal, community_id: str) -> None:
        """The principal leaves the community (MemberLeft)."""
        await self._membership_op(
            principal,
            community_id,
            lambda v: dom.leave(v.community, principal, membership=v.membership, now=self.now()),
        )

    async def _staff_op(
        self,
        principal: Principal,
        community_id: str,
        person_id: str,
        decide: Callable[[MemberView, Membership | None], Change],
    ) -> MemberView:
        """Run an operation of a staff member (or admin) about ``person_id``; return theirs."""
        require_employee(principal)

        async def attempt() -> None:
            view, target = await asyncio.gather(
                self._with_member(community_id, principal.subject),
                self.repo.membership(community_id, person_id),
            )
            await self._commit(decide(view, target), view.record)

        async def repair() -> None:
            await self._reconcile(community_id, person_id, principal.subject)

        await self._retrying(attempt, repair=repair)
        return await self._with_member(community_id, person_id)

    async def approve_request(
        self, principal: Principal, community_id: str, person_id: str
    ) -> MemberView:
        """Approve a pending join request (MemberJoined)."""
        return await self._staff_op(
            principal,
            community_id,
            person_id,
            lambda v, t: dom.approve_request(
                v.community,
                principal,
                actor_membership=v.membership,
                person_id=person_id,
                target_membership=t,
                now=self.now(),
            ),
        )

    async def reject_request(
        self, principal: Principal, community_id: str, person_id: str, reason: str
    ) -> MemberView:
        """Reject a pending join request (JoinRequestRejected)."""
        return await self._staff_op(
            principal,
            community_id,
            person_id,
            lambda v, t: dom.reject_request(
                v.community,
                principal,
                actor_membership=v.membership,
                person_id=person_id,
                target_membership=t,
                reason=reason,
                now=self.now(),
            ),
        )

    async def invite(
        self, principal: Principal, community_id: str, person_id: str, role: Role
    ) -> MemberView:
        """Add an employee at once (MemberJoined).

        The invitee's kind comes from the profile read model. A person it does
        not know is NOT_FOUND — decided after the principal's own rights, so
        only those who may add members learn it.
        """
        require_employee(principal)
        person = await self.repo.person(person_id)
        kind = PrincipalKind.EMPLOYEE if person is None else person.kind

        def decide(view: MemberView, target: Membership | None) -> Change:
            change = dom.invite(
                view.community,
                principal,
                actor_membership=view.membership,
                person_id=person_id,
                invitee_kind=kind,
                target_membership=target,
                role=role,
                now=self.now(),
            )
            if person is None:
                raise NotFound("person", person_id)
            return change

        return await self._staff_op(principal, community_id, person_id, decide)

    async def remove_member(self, principal: Principal, community_id: str, person_id: str) -> None:
        """Remove a member (MemberLeft). Exact: the next decision for them says no."""
        await self._staff_op(
            principal,
            community_id,
            person_id,
            lambda v, t: dom.remove_member(
                v.community,
                principal,
                actor_membership=v.membership,
                person_id=person_id,
                target_membership=t,
                now=self.now(),
            ),
        )

    async def change_role(
        self, principal: Principal, community_id: str, person_id: str, role: Role
    ) -> MemberView:
        """Give a member a new role (RoleChanged)."""
        return await self._staff_op(
            principal,
            community_id,
            person_id,
            lambda v, t: dom.change_role(
                v.community,
                principal,
                actor_membership=v.membership,
                person_id=person_id,
                target_membership=t,
                role=role,
                now=self.now(),
            ),
        )

    async def list_members(
        self,
        principal: Principal,
        community_id: str,
        *,
        role: Role | None,
        size: int,
        token: str,
    ) -> tuple[Community, Page[Membership]]:
        """Active members by join time (READ on the main space)."""
        require_employee(principal)
        position = paging.decode("members", token, 2)
        view = await self._with_member(community_id, principal.subject)
        facts = facts_for(principal, view.community, view.membership, now=self.now())
        dom.access_community(principal, view.community, facts, Action.READ)
        after = None
        if position is not None:
            after = (_from_ms(position[0]), str(position[1]))
        want = paging.page_size(size)
        rows = await self.repo.members_page(community_id, role=role, after=after, limit=want + 1)
        next_token = ""
        if len(rows) > want:
            rows = rows[:want]
            last = rows[-1]
            next_token = paging.encode("members", _ms(last.joined_at), last.person_id)
        return view.community, Page(rows, next_token)

    async def list_join_requests(
        self,
        principal: Principal,
        community_id: str,
        *,
        state: JoinRequestState | None,
        size: int,
        token: str,
    ) -> Page[Membership]:
        """Join requests, oldest first (MODERATE on the main space)."""
        require_employee(principal)
        position = paging.decode("join_requests", token, 2)
        view = await self._with_member(community_id, principal.subject)
        facts = facts_for(principal, view.community, view.membership, now=self.now())
        dom.access_community(principal, view.community, facts, Action.MODERATE)
        after = None if position is None else (_from_ms(position[0]), str(position[1]))
        want = paging.page_size(size)
        rows = await self.repo.join_requests_page(
            community_id,
            state=None if state is None else state.value,
            after=after,
            limit=want + 1,
        )
        next_token = ""
        if len(rows) > want:
            rows = rows[:want]
            last = rows[-1]
            assert last.request is not None  # the query selects memberships with a request
            next_token = paging.encode(
                "join_requests", _ms(last.request.requested_at), last.person_id
            )
        return Page(rows, next_token)

    async def _my_communities(self, person_id: str) -> list[MemberView]:
        """The communities ``person_id`` belongs to now (index candidates, each verified).

        Three reads whatever the number: the person's index entry, then their
        candidate communities and memberships, each by ``_id`` in one query.
        """
        candidates = await self.repo.candidate_communities(person_id)
        records, memberships = await asyncio.gather(
            self.repo.communities_by_id(candidates),
            self.repo.memberships_of(person_id, candidates),
        )
        views = [MemberView(r, memberships.get(r.community.id)) for r in records]
        return [v for v in views if v.community.role_of(person_id, v.membership) is not None]

    async def my_communities(
        self, principal: Principal, *, size: int, token: str
    ) -> Page[MemberView]:
        """The communities the principal belongs to, by name."""
        require_employee(principal)
        position = paging.decode("my_communities", token, 2)
        views = sorted(
            await self._my_communities(principal.subject),
            key=lambda v: (name_key(v.community.name), v.community.id),
        )
        if position is not None:
            after = (str(position[0]), str(position[1]))
            views = [v for v in views if (name_key(v.community.name), v.community.id) > after]
        want = paging.page_size(size)
        if len(views) <= want:
            return Page(views, "")
        page = views[:want]
        last = page[-1].community
        return Page(page, paging.encode("my_communities", name_key(last.name), last.id))

    # ----------------------------------------------------------------- pinholes

    async def propose_pinhole(
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
            view = await self._with_member(community_id, principal.subject)
            change = dom.propose_pinhole(
                view.community,
                principal,
                actor_membership=view.membership,
                pinhole_id=pinhole_id,
                title=title,
                purpose=purpose,
                expires_at=expires_at,
                now=self.now(),
            )
            await self._commit(change)
            assert change.pinhole is not None
            return change.pinhole

        return await self._retrying(attempt)

    async def _pinhole_op(
        self,
        principal: Principal,
        pinhole_id: str,
        decide: Callable[[Pinhole, Community, Membership | None], Change],
    ) -> tuple[Pinhole, Community]:
        require_employee(principal)

        async def attempt() -> tuple[Pinhole, Community]:
            pinhole, record = await self._pinhole(pinhole_id)
            membership = await self.repo.membership(record.community.id, principal.subject)
            change = decide(pinhole, record.community, membership)
            await self._commit(change)
            return change.pinhole or pinhole, record.community

        return await self._retrying(attempt)

    async def open_pinhole(
        self, principal: Principal, pinhole_id: str
    ) -> tuple[Pinhole, Community]:
        """Open a proposed pinhole (PinholeOpened), as the open policy allows."""
        return await self._pinhole_op(
            principal,
            pinhole_id,
            lambda p, c, m: dom.open_pinhole(
                p, c, principal, actor_membership=m, policy=self.policy, now=self.now()
            ),
        )

    async def grant(
        self, principal: Principal, pinhole_id: str, org_id: str, level: GrantLevel
    ) -> tuple[Pinhole, Community]:
        """Grant a partner org (PinholeGranted). An org the profile facts do not know is
        NOT_FOUND — decided after the principal's own rights."""
        require_employee(principal)
        facts = await self.repo.org(org_id)
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
                policy=self.policy,
                now=self.now(),
            )
            if facts is None:
                raise NotFound("org", org_id)
            return change

        return await self._pinhole_op(principal, pinhole_id, decide)

    async def revoke(
        self, principal: Principal, pinhole_id: str, org_id: str
    ) -> tuple[Pinhole, Community]:
        """Take an org's grant away (PinholeRevoked). Exact once this returns."""
        return await self._pinhole_op(
            principal,
            pinhole_id,
            lambda p, c, m: dom.revoke(
                p, c, principal, actor_membership=m, org_id=org_id, now=self.now()
            ),
        )

    async def close_pinhole(
        self, principal: Principal, pinhole_id: str
    ) -> tuple[Pinhole, Community]:
        """Close the pinhole for good (PinholeClosed). Exact once this returns."""
        return await self._pinhole_op(
            principal,
            pinhole_id,
            lambda p, c, m: dom.close_pinhole(p, c, principal, actor_membership=m, now=self.now()),
        )

    async def get_pinhole(self, principal: Principal, pinhole_id: str) -> tuple[Pinhole, Community]:
        """The pinhole, if the principal may see it (partners: their own grant only).

        Raises:
            NotFound: missing or hidden.
        """
        pinhole, record = await self._pinhole(pinhole_id)
        facts = await self._facts(principal, record.community)
        dom.access_pinhole(principal, pinhole, record.community, facts, None)
        return pinhole, record.community

    async def list_pinholes(
        self,
        principal: Principal,
        community_id: str,
        *,
        state: PinholeState | None,
        size: int,
        token: str,
    ) -> tuple[Community, Page[Pinhole]]:
        """The community's pinholes the principal may see, newest first (effective ``state``)."""
        require_employee(principal)
        position = paging.decode("pinholes", token, 2)
        view = await self._with_member(community_id, principal.subject)
        now = self.now()
        facts = facts_for(principal, view.community, view.membership, now=now)
        dom.access_community(principal, view.community, facts, None)
        pinholes = [
            p
            for p in await self.repo.pinholes_of([community_id])
            if dom.can_see(principal, PinholeSpace(p, view.community), facts)
            and (state is None or effective_state(p, view.community, now) is state)
        ]
        pinholes.sort(key=lambda p: (_ms(p.proposed_at), p.id), reverse=True)
        if position is not None:
            after = (int(position[0]), str(position[1]))
            pinholes = [p for p in pinholes if (_ms(p.proposed_at), p.id) < after]
        want = paging.page_size(size)
        if len(pinholes) <= want:
            return view.community, Page(pinholes, "")
        page = pinholes[:want]
        token_out = paging.encode("pinholes", _ms(page[-1].proposed_at), page[-1].id)
        return view.community, Page(page, token_out)

    # ------------------------------------------------------------ the decision

    async def get_space(self, principal: Principal, space_id: str) -> Space:
        """The space, if the principal may see it.

        Raises:
            NotFound: ("space") missing or hidden, alike.
        """
        found = await self.repo.space(space_id)
        if found is None:
            raise NotFound("space", space_id)
        record, pinhole = found
        space: Space = (
            CommunitySpace(record.community)
            if pinhole is None
            else PinholeSpace(pinhole, record.community)
        )
        facts = await self._facts(principal, record.community)
        if not dom.can_see(principal, space, facts):
            raise NotFound("space", space_id)
        return space

    async def check_access(self, subject: Principal, space_id: str, action: Action) -> bool:
        """May ``subject`` do ``action`` in ``space_id`` now? False for a missing space.

        Three point reads by ``_id`` in two round trips, from current state,
        whatever the size of the enterprise: the pinhole of that id (and, for
        a partner, their org's status); then the community — the pinhole's,
        or the one of that id — with, for an employee, their membership in it.
        The pinhole is read first because pinholes are few, so a miss costs
        little on any server; a partner never reaches a main space, so a
        partner's miss ends there.
        """
        now = self.now()
        if subject.is_partner:
            pinhole, suspended = await asyncio.gather(
                self.repo.pinhole(space_id), self.repo.org_suspended(subject.org_id)
            )
            if pinhole is None:
                return False
            parent = await self.repo.community(pinhole.community_id)
            if parent is None:
                return False
            space: Space = PinholeSpace(pinhole, parent.community)
            facts = facts_for(subject, space.community, None, now=now, org_suspended=suspended)
            return dom.decide(subject, space, action, facts)
        pinhole = await self.repo.pinhole(space_id)
        community_id = space_id if pinhole is None else pinhole.community_id
        record, membership = await asyncio.gather(
            self.repo.community(community_id),
            self.repo.membership(community_id, subject.subject),
        )
        if record is None:
            return False
        space = (
            CommunitySpace(record.community)
            if pinhole is None
            else PinholeSpace(pinhole, record.community)
        )
        facts = facts_for(subject, space.community, membership, now=now)
        return dom.decide(subject, space, action, facts)

    async def list_spaces(
        self, subject: Principal, action: Action, *, size: int, token: str
    ) -> Page[SpaceAccess]:
        """The spaces ``subject`` takes part in where they may do ``action``, by space id.

        Employees: the main spaces and pinholes of their communities (from the
        member index, each verified against its membership document). Partner
        users: the pinholes granted to their org (nothing while it is
        suspended). Every entry passes the same rule book as CheckAccess.
        """
        position = paging.decode("spaces", token, 1)
        now = self.now()
        candidates: list[tuple[Space, AccessFacts]] = []
        if subject.is_partner:
            if not await self.repo.org_suspended(subject.org_id):
                pinholes = await self.repo.pinholes_granted_to(subject.org_id)
                parents = await self.repo.communities_by_id(
                    sorted({p.community_id for p in pinholes})
                )
                by_id = {r.community.id: r.community for r in parents}
                facts = AccessFacts(now=now)
                candidates = [
                    (PinholeSpace(p, by_id[p.community_id]), facts)
                    for p in pinholes
                    if p.community_id in by_id
                ]
        else:
            views = await self._my_communities(subject.subject)
            by_id = {v.community.id: v.community for v in views}
            member_facts = {
                v.community.id: facts_for(subject, v.community, v.membership, now=now)
                for v in views
            }
            candidates = [
                (CommunitySpace(v.community), member_facts[v.community.id]) for v in views
            ]
            for p in await self.repo.pinholes_of(sorted(by_id)):
                candidates.append(
                    (PinholeSpace(p, by_id[p.community_id]), member_facts[p.community_id])
                )
        allowed = sorted(
            dom.list_spaces(subject, candidates, action), key=lambda a: a.space.space_id
        )
        if position is not None:
            allowed = [a for a in allowed if a.space.space_id > str(position[0])]
        want = paging.page_size(size)
        if len(allowed) <= want:
            return Page(allowed, "")
        page = allowed[:want]
        return Page(page, paging.encode("spaces", page[-1].space.space_id))

    # ---------------------------------------------------------------- sweeping

    async def close_lapsed_in(self, community_id: str) -> int:
        """Record every lapsed pinhole of one community closed; how many were recorded."""
        closed = 0
        for pinhole in await self.repo.pinholes_of([community_id]):
            closed += await self._close_lapsed(pinhole.id)
        return closed

    async def _close_lapsed(self, pinhole_id: str) -> int:
        async def attempt() -> int:
            found = await self.repo.pinhole(pinhole_id)
            if found is None:
                return 0
            record = await self.repo.community(found.community_id)
            if record is None:
                return 0
            change = dom.close_lapsed(found, record.community, now=self.now())
            await self._commit(change)
            return int(change.changed)

        return await self._retrying(attempt)

    async def sweep(self, batch: int = 200) -> int:
        """One pass of the sweeper: record every live pinhole that lapsed; how many.

        Bookkeeping, not security: a lapsed pinhole is closed for every
        decision already. Idempotent; a pinhole that keeps conflicting is left
        for the next pass.
        """
        now = self.now()
        communities: dict[str, Community | None] = {}
        closed = 0
        after = ""
        while True:
            pinholes = await self.repo.live_pinholes(after, batch)
            for pinhole in pinholes:
                cid = pinhole.community_id
                if cid not in communities:
                    record = await self.repo.community(cid)
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


def _ms(value: datetime | None) -> int:
    return 0 if value is None else int(value.timestamp() * 1000)


def _from_ms(value: object) -> datetime:
    if not isinstance(value, int) or isinstance(value, bool):
        raise InvalidArgument("page_token", "not a token returned by this call")
    return datetime.fromtimestamp(value / 1000, UTC)
