"""Expertise and the expert directory: declared tags, credits for accepted answers, search.

Declared tags are the person's own edit. Earned expertise comes from the post
service's AnswerAccepted events: each answer is credited once while it is the
accepted one (``answer_credits``), and the person update carries the event
id as its ``apply_once`` mark, so a redelivered event changes nothing.

The directory reads the ``experts`` rows (see
:mod:`guildhall_profile.adapters.repository`): a page of one tag is one index
range; several tags are merged by :class:`~guildhall_profile.domain.expertise.DirectorySearch`.

What a page token promises: pages are keyset pages on the ranking (earned
score, declared matches, person id). Each page starts right after the last
expert of the previous one, in the ranking as it is when the page is read.
An expert whose signals do not change while the caller pages is listed
exactly once, in order; one whose rank changes in between may be listed
again at the new rank (if it fell behind the cursor) or not at all (if it
rose ahead of it), as in any keyset listing of live data.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from guildhall_kit.errors import Aborted
from guildhall_kit.logging import get_logger
from guildhall_kit.paging import decode_token, encode_token, key_int, key_str, page_size
from guildhall_profile.domain.expertise import (
    AcceptedAnswer,
    AnswerCredit,
    DirectoryCursor,
    DirectoryPage,
    DirectorySearch,
    ExpertiseChange,
    ExpertRow,
    credited_tags,
    declare_expertise,
    earn_expertise,
    withdraw_expertise,
)
from guildhall_profile.domain.model import Person

from .common import WRITE_ATTEMPTS, Writes

if TYPE_CHECKING:
    from guildhall_profile.adapters.repository import ProfileRepository

_log = get_logger(__name__)


class Directory:
    """Use cases of expertise and the expert directory."""

    def __init__(self, writes: Writes) -> None:
        self._w = writes
        self._repo: ProfileRepository = writes.repo

    async def set_declared(self, person_id: str, tags: Sequence[str]) -> Person:
        """Replace the person's declared tags. Raises NotFound, FailedPrecondition, Aborted."""

        async def op(person: Person) -> ExpertiseChange:
            return declare_expertise(person, tags, now=self._w.now())

        return await self._w.change_person(person_id, op)

    async def find_experts(
        self, tags: Sequence[str], size: int, token: str
    ) -> tuple[DirectoryPage, str, dict[str, Person]]:
        """A page of the directory, the next page's token ("" on the last), and the people
        on the page (by id; someone who vanished meanwhile is missing).

        Each round reads the next rows of every tag still open (one index range
        each, in parallel) and, with several tags, every row of the people met
        on the tags asked for (one read by ``_id``).

        Raises:
            InvalidArgument: ``page_token`` is not one of this query.
        """
        query = sorted(set(tags))
        key = decode_token(token, "experts", (int, int, str), scope=query)
        after = DirectoryCursor(key_int(key, 0), key_int(key, 1), key_str(key, 2)) if key else None
        search = DirectorySearch(query, page_size=page_size(size), after=after)
        while not search.done:
            reads = search.reads()
            results = await asyncio.gather(*(self._repo.tag_rows(r) for r in reads))
            fed: list[ExpertRow] = []
            for read, rows in zip(reads, results, strict=True):
                search.feed(read, rows)
                fed += rows
            unresolved = search.unresolved()
            if len(query) == 1:
                search.resolve(fed)  # one tag: the row read is all a person has on it
            else:
                search.resolve(await self._repo.rows_of(unresolved, query) if unresolved else [])
        page = search.page()
        next_token = ""
        if page.next_cursor is not None:
            c = page.next_cursor
            next_token = encode_token(
                "experts", [c.earned_score, c.declared_matches, c.person_id], scope=query
            )
        people = await self._repo.get_people(m.person_id for m in page.experts)
        return page, next_token, people

    async def converge(self, person_id: str) -> int:
        """Bring the person's directory rows to their stored state (the consumer of the
        service's own expertise events calls this); how many rows it wrote."""
        return await self._repo.converge_rows(person_id)

    # --- accepted answers (from the post service) ----------------------------------------------

    async def answer_accepted(self, event_id: str, answer: AcceptedAnswer) -> None:
        """Credit the accepted answer's author; take the credit back from the answer it replaced.

        Idempotent under redelivery: each answer is credited once while it is
        the accepted one, and each person update carries the event id as its
        ``apply_once`` mark, so a redelivered event finds every step done.

        Raises:
            Aborted: a credit or person kept changing (the consumer retries).
        """
        if answer.previous_answer_id and answer.previous_answer_id != answer.answer_id:
            await self._withdraw_credit(answer.previous_answer_id, event_id, answer.accepted_by)
        await self._credit(event_id, answer)

    async def _credit(self, event_id: str, answer: AcceptedAnswer) -> None:
        tags = credited_tags(answer.question_tags)
        wanted = AnswerCredit(
            answer_id=answer.answer_id,
            person_id=answer.author_id,
            tags=tags,
            credited=True,
            event_id=event_id,
        )
        for _ in range(WRITE_ATTEMPTS):
            current = await self._repo.get_credit(answer.answer_id)
            if current is None:
                if not await self._repo.insert_credit(wanted, self._w.now()):
                    continue
            elif current.credited and current.event_id != event_id:
                return  # credited by an earlier acceptance; once per answer
            elif not current.credited and not await self._repo.move_credit(
                current, wanted, self._w.now()
            ):
                continue
            break
        else:
            raise Aborted(f"credit of answer {answer.answer_id} kept changing")
        accepted_at = answer.accepted_at or self._w.now()

        def op(person: Person) -> ExpertiseChange:
            return earn_expertise(
                person,
                tags=tags,
                answer_id=answer.answer_id,
                question_id=answer.question_id,
                space_id=answer.space_id,
                source_event_id=event_id,
                earned_at=accepted_at,
                now=self._w.now(),
            )

        await self._apply_once(answer.author_id, f"earn:{event_id}", op)

    async def _withdraw_credit(self, answer_id: str, event_id: str, actor_id: str) -> None:
        for _ in range(WRITE_ATTEMPTS):
            current = await self._repo.get_credit(answer_id)
            if current is None:
                return  # never credited (e.g. accepted before this service listened)
            if not current.credited:
                if current.event_id != event_id:
                    return  # withdrawn by an earlier event
                break
            withdrawn = replace(current, credited=False, event_id=event_id)
            if await self._repo.move_credit(current, withdrawn, self._w.now()):
                current = withdrawn
                break
        else:
            raise Aborted(f"credit of answer {answer_id} kept changing")
        tags = current.tags

        def op(person: Person) -> ExpertiseChange:
            return withdraw_expertise(person, tags=tags, actor_id=actor_id, now=self._w.now())

        await self._apply_once(current.person_id, f"withdraw:{event_id}", op)

    async def _apply_once(
        self, person_id: str, mark: str, op: Callable[[Person], ExpertiseChange]
    ) -> None:
        """Apply ``op`` to the person once per ``mark`` (compare-and-set, retried on races)."""
        for _ in range(WRITE_ATTEMPTS):
            person = await self._repo.get_person(person_id)
            if person is None:
                _log.warning("expertise for an unknown person dropped", person=person_id, mark=mark)
                return
            change = op(person)
            if change.event is None:
                return
            if await self._w.update_person(person, change.person, change.event, applied=mark):
                return
            if await self._repo.has_applied(person_id, mark):
                return
        raise Aborted(f"person {person_id} kept changing")
