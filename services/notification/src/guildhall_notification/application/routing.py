"""Expert routing of new questions, escalation on a timer, and the questions routed to people.

The chain of each question lives in MongoDB (``routings``: its step and the
time the next step is due), so timers survive restarts and any replica may run
the next step: :meth:`Routing.tick` looks for due chains and advances each one
with a compare-and-set on its step, whose write also carries QuestionEscalated
in the transactional outbox. A step's notifications are sent before that
write with the step as their source, so a step run twice (two replicas, a
crash between the two) notifies nobody twice. An answer closes the chain (a
compare-and-set on its state): a due step that loses to it publishes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Protocol

from guildhall_kit.auth import Principal, PrincipalKind, require_principal
from guildhall_kit.clients import Action
from guildhall_kit.clock import new_id
from guildhall_kit.errors import NotFound, PermissionDenied
from guildhall_kit.logging import get_logger
from guildhall_kit.paging import decode_token, encode_token, key_str, page_size
from guildhall_notification.application.access import Funnel
from guildhall_notification.application.delivery import Fanout, Happening
from guildhall_notification.application.ports import Clock, CommunityAccess, ReadModelsPort
from guildhall_notification.domain import texts
from guildhall_notification.domain.audience import Activity, Relation
from guildhall_notification.domain.model import Item, Kind, Reason, Role, Template
from guildhall_notification.domain.routing import (
    Audience,
    Chain,
    ChainState,
    audience_of,
    pick,
    rank,
    step_source,
)

_log = get_logger(__name__)

CANDIDATES_PER_PICK = 10
"""Ranked experts checked for access per expert asked (the rest is not looked at)."""


@dataclass(frozen=True, slots=True)
class RoutedEntry:
    """A question as routed to one person."""

    entry_id: str
    question_id: str
    person_id: str
    space_id: str
    title: str
    tags: tuple[str, ...]
    step: int
    reason: Reason
    state: ChainState
    routed_at: datetime


@dataclass(frozen=True, slots=True)
class Policy:
    space_id: str
    answer_sla: timedelta
    updated_by: str
    updated_at: datetime | None


class RoutingStore(Protocol):
    async def create(self, chain: Chain) -> bool: ...

    async def get(self, question_id: str) -> Chain | None: ...

    async def due(self, now: datetime, limit: int) -> list[Chain]: ...

    async def record_step(self, question_id: str, step: int, asked: Sequence[str]) -> None: ...

    async def advance(
        self, chain: Chain, *, to_step: int, due_at: datetime, asked: Sequence[str], at: datetime
    ) -> bool: ...

    async def finish(self, question_id: str, state: ChainState, *, from_open: bool) -> bool: ...

    async def add_routed(self, entries: Sequence[RoutedEntry]) -> None: ...

    async def close_routed(self, question_id: str, state: ChainState) -> None: ...

    async def open_load(self, person_ids: Sequence[str]) -> dict[str, int]: ...

    async def routed_page(
        self, person_id: str, *, state: ChainState | None, before: str | None, limit: int
    ) -> list[RoutedEntry]: ...

    async def policy(self, space_id: str) -> Policy | None: ...

    async def put_policy(self, policy: Policy) -> None: ...


LISTING = "routed"


class Routing:
    def __init__(
        self,
        store: RoutingStore,
        models: ReadModelsPort,
        fanout: Fanout,
        funnel: Funnel,
        *,
        community: CommunityAccess,
        default_sla: timedelta,
        experts_per_step: int,
        max_open: int,
        clock: Clock,
    ) -> None:
        self._store = store
        self._models = models
        self._fanout = fanout
        self._funnel = funnel
        self._community = community
        self._default_sla = default_sla
        self._per_step = experts_per_step
        self._max_open = max_open
        self._clock = clock

    async def _sla(self, space_id: str) -> timedelta:
        policy = await self._store.policy(space_id)
        return policy.answer_sla if policy is not None else self._default_sla

    # ----------------------------------------------------------------- the chain

    async def question_asked(self, event_id: str, item: Item, at: datetime) -> None:
        """Route a new question with tags to its first experts (idempotent)."""
        if not item.tags:
            return
        space = await self._models.space(item.space_id)
        if space is None:
            return
        chain = Chain(
            question_id=item.post_id,
            space_id=item.space_id,
            community_id=space.community_id,
            title=item.title,
            tags=item.tags,
            asker_id=item.author_id,
            step=0,
            due_at=at + await self._sla(item.space_id),
        )
        if not await self._store.create(chain):
            existing = await self._store.get(item.post_id)
            if existing is None or existing.step > 0 or existing.asked:
                return  # routed before (a redelivered PostCreated)
            chain = existing
        people = await self._run(chain, 0)
        await self._store.record_step(chain.question_id, 0, people)
        await self._remember(chain, 0, people)

    async def _choose(self, chain: Chain, step: int) -> list[str]:
        audience = audience_of(step)
        exclude = {chain.asker_id, *chain.asked}
        if audience is Audience.EXPERTS:
            wanted = self._per_step * CANDIDATES_PER_PICK
            experts = await self._models.top_experts(chain.tags, wanted + len(exclude))
            ranked = [p for p in rank(chain.tags, experts) if p not in exclude]
            head = ranked[:wanted]
            readers = await self._funnel.readers(chain.space_id, head)
            load = await self._store.open_load([p for p in head if p in readers])
            return pick(
                [p for p in head if p in readers],
                count=self._per_step,
                exclude=exclude,
                load=load,
                max_open=self._max_open,
            )
        role = Role.MODERATOR if audience is Audience.MODERATORS else Role.OWNER
        staff: list[str] = []
        async for batch in self._models.members(chain.community_id, (role,)):
            staff.extend(p for p in batch if p not in exclude)
        return staff

    async def _run(self, chain: Chain, step: int) -> list[str]:
        """Notify the audience of ``step``; returns who was notified."""
        people = await self._choose(chain, step)
        if not people:
            return []
        expert = audience_of(step) is Audience.EXPERTS
        relation = Relation.EXPERT if expert else Relation.STAFF
        title = (
            f"A question for your expertise: {texts.quoted(chain.title)}"
            if expert
            else f"Still unanswered: {texts.quoted(chain.title)}"
        )

        def words(kind: Kind, reason: Reason) -> Template:
            return Template(
                kind=kind,
                reason=reason,
                title=texts.title(title),
                space_id=chain.space_id,
                community_id=chain.community_id,
                post_id=chain.question_id,
            )

        outcome = await self._fanout.deliver(
            Happening(
                source_event_id=step_source(chain.question_id, step),
                activity=Activity.QUESTION_ROUTED if expert else Activity.QUESTION_ESCALATED,
                space_id=chain.space_id,
                subject=f"routing:{chain.question_id}",
                texts=words,
                item=await self._models.item(chain.question_id),
                direct=dict.fromkeys(people, frozenset({relation})),
            )
        )
        return list(outcome.people)

    async def _remember(self, chain: Chain, step: int, people: Sequence[str]) -> None:
        if not people:
            return
        now = self._clock()
        expert = audience_of(step) is Audience.EXPERTS
        reason = Reason.EXPERTISE if expert else Reason.COMMUNITY_STAFF
        await self._store.add_routed(
            [
                RoutedEntry(
                    entry_id=new_id(now),
                    question_id=chain.question_id,
                    person_id=p,
                    space_id=chain.space_id,
                    title=chain.title,
                    tags=chain.tags,
                    step=step,
                    reason=reason,
                    state=ChainState.OPEN,
                    routed_at=now,
                )
                for p in people
            ]
        )
        # An answer that came meanwhile closed the entries before these existed.
        current = await self._store.get(chain.question_id)
        if current is not None and current.state is not ChainState.OPEN:
            await self._store.close_routed(chain.question_id, current.state)

    async def tick(self, limit: int = 50) -> int:
        """Run every due step; returns how many chains moved."""
        now = self._clock()
        moved = 0
        for chain in await self._store.due(now, limit):
            step = chain.step + 1
            if audience_of(step) is None:
                # The chain ran out: those it reached no longer hold it (expert load).
                if await self._store.finish(chain.question_id, ChainState.CLOSED, from_open=True):
                    await self._store.close_routed(chain.question_id, ChainState.CLOSED)
                continue
            people = await self._run(chain, step)
            advanced = await self._store.advance(
                chain,
                to_step=step,
                due_at=now + await self._sla(chain.space_id),
                asked=people,
                at=now,
            )
            if advanced:
                moved += 1
                await self._remember(replace(chain, step=step), step, people)
                _log.info(
                    "question escalated",
                    question_id=chain.question_id,
                    step=step,
                    notified=len(people),
                )
        return moved

    async def question_settled(self, question_id: str, *, answered: bool) -> None:
        """An answer (or deletion) stops the chain at once; routed entries close."""
        state = ChainState.ANSWERED if answered else ChainState.CLOSED
        if await self._store.finish(question_id, state, from_open=True):
            await self._store.close_routed(question_id, state)

    # -------------------------------------------------------------------- reading

    async def routed(
        self, principal: Principal, *, state: ChainState | None, size: int, token: str
    ) -> tuple[list[RoutedEntry], str]:
        """The questions routed to the caller, newest first, in spaces they still read."""
        scope = [principal.subject, state.value if state else ""]
        key = decode_token(token, LISTING, (str,), scope=scope)
        limit = page_size(size)
        found = await self._store.routed_page(
            principal.subject, state=state, before=key_str(key, 0) if key else None, limit=limit
        )
        readable = await self._funnel.readable_spaces(principal, {e.space_id for e in found})
        shown = [e for e in found if e.space_id in readable]
        next_token = (
            encode_token(LISTING, [found[-1].entry_id], scope=scope) if len(found) == limit else ""
        )
        return shown, next_token

    async def get_policy(self, principal: Principal, space_id: str) -> Policy:
        require_principal(PrincipalKind.EMPLOYEE)
        if not await self._funnel.may_read(principal, space_id):
            raise NotFound("space")
        stored = await self._store.policy(space_id)
        return stored or Policy(space_id, self._default_sla, "", None)

    async def set_policy(self, principal: Principal, space_id: str, sla: timedelta) -> Policy:
        require_principal(PrincipalKind.EMPLOYEE)
        if not await self._community.check(principal, space_id, Action.ADMINISTER):
            if not await self._community.check(principal, space_id, Action.READ):
                raise NotFound("space")
            raise PermissionDenied("only the community's owners set its routing policy")
        policy = Policy(space_id, sla, principal.subject, self._clock())
        await self._store.put_policy(policy)
        return policy
