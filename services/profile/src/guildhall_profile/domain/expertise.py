"""Expertise: declared tags, tags earned from accepted answers, and the expert directory.

Two kinds of signal, per person and tag:

- **declared**: the person says they know the tag (SetDeclaredExpertise);
- **earned**: the number of their answers accepted on questions carrying the
  tag (from the post service's AnswerAccepted events).

The directory answers "experts for tags X, Y": employees with any signal on
any of the tags, ranked by earned score (accepted answers summed over the
matched tags), then by how many of the tags they declared, then by person id.

How it scales (400,000 people, 100,000 experts): each (tag, person) signal is
a directory row (:class:`ExpertRow`) whose :attr:`~ExpertRow.key` orders a
tag's rows best-first, so an index on (tag, key) reads any tag's rows in rank
order from any position. With one tag, a page is one range of that index.
With several, :class:`DirectorySearch` merges the tags' ranges with the
threshold algorithm: it reads a batch from every tag, resolves each person it
meets on every tag asked for, and stops as soon as nobody it has not met
could still make the page, so a query touches a few batches of rows, not
every expert of the tags (docs/adr/0011).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Final

from guildhall_kit.errors import FailedPrecondition

from .events import ExpertiseDeclared, ExpertiseEarned, ProfileUpdated
from .model import MAX_TAGS_PER_ANSWER, EarnedTag, Person

_TAG: Final = re.compile(r"^[a-z0-9+#._-]{1,40}$")
_TAG_HAS_ALNUM: Final = re.compile(r"[a-z0-9]")

RANK_CEILING: Final = 10**12 - 1
"""Accepted answers per tag above this are not representable in a row key (never reached)."""


def is_tag(text: str) -> bool:
    """Whether ``text`` is a tag as the contracts define it (ADR 0003)."""
    return bool(_TAG.match(text) and _TAG_HAS_ALNUM.search(text))


def credited_tags(question_tags: Iterable[str]) -> tuple[str, ...]:
    """The tags an accepted answer credits: valid tags, lower-cased, deduplicated, sorted.

    Events come from another service; a tag that is not a tag is skipped
    rather than failing the whole event, and at most
    :data:`~.model.MAX_TAGS_PER_ANSWER` tags count.
    """
    tags = sorted({t.strip().lower() for t in question_tags if is_tag(t.strip().lower())})
    return tuple(tags[:MAX_TAGS_PER_ANSWER])


@dataclass(frozen=True, slots=True)
class AcceptedAnswer:
    """An answer accepted on a question (the post service's AnswerAccepted, as used here)."""

    answer_id: str
    question_id: str
    space_id: str
    author_id: str
    accepted_by: str
    question_tags: tuple[str, ...]
    previous_answer_id: str
    """The answer this one replaced as the accepted one; empty if none."""
    accepted_at: datetime | None
    """None when the event carries no time (the consumer's clock is used then)."""


@dataclass(frozen=True, slots=True)
class AnswerCredit:
    """One accepted answer's credit: to whom, on which tags, and whether it still stands."""

    answer_id: str
    person_id: str
    tags: tuple[str, ...]
    credited: bool
    """False once the question accepted another answer."""
    event_id: str
    """The AnswerAccepted event that last changed this credit."""


@dataclass(frozen=True, slots=True)
class ExpertiseChange:
    """A person's state after an expertise operation, with its event (None: no change)."""

    person: Person
    event: ExpertiseDeclared | ExpertiseEarned | ProfileUpdated | None

    @property
    def changed(self) -> bool:
        return self.event is not None


def declare_expertise(person: Person, tags: Sequence[str], *, now: datetime) -> ExpertiseChange:
    """Replace the person's declared tags with ``tags``.

    Raises:
        FailedPrecondition: the person is not an employee.
    """
    if not person.is_employee:
        raise FailedPrecondition("only employees declare expertise")
    new = tuple(sorted(set(tags)))
    old = set(person.declared)
    if new == person.declared:
        return ExpertiseChange(person, None)
    after = replace(person, declared=new, updated_at=now, version=person.version + 1)
    event = ExpertiseDeclared(
        person_id=person.person_id,
        tags=new,
        added=tuple(sorted(set(new) - old)),
        removed=tuple(sorted(old - set(new))),
        declared_at=now,
    )
    return ExpertiseChange(after, event)


def earn_expertise(
    person: Person,
    *,
    tags: Sequence[str],
    answer_id: str,
    question_id: str,
    space_id: str,
    source_event_id: str,
    earned_at: datetime,
    now: datetime,
) -> ExpertiseChange:
    """Credit one accepted answer to ``person`` on each of ``tags`` (already :func:`credited_tags`).

    No tags, no change: an answer on an untagged question shows no expertise.
    """
    if not tags:
        return ExpertiseChange(person, None)
    earned = {entry.tag: entry for entry in person.earned}
    for tag in tags:
        entry = earned.get(tag)
        if entry is None:
            earned[tag] = EarnedTag(tag, 1, earned_at)
        else:
            earned[tag] = EarnedTag(
                tag, entry.accepted_answers + 1, max(entry.last_earned_at, earned_at)
            )
    after = replace(
        person,
        earned=tuple(earned[t] for t in sorted(earned)),
        updated_at=now,
        version=person.version + 1,
    )
    event = ExpertiseEarned(
        person_id=person.person_id,
        tags=tuple(tags),
        answer_id=answer_id,
        question_id=question_id,
        space_id=space_id,
        source_event_id=source_event_id,
        earned_at=earned_at,
    )
    return ExpertiseChange(after, event)


def withdraw_expertise(
    person: Person, *, tags: Sequence[str], actor_id: str, now: datetime
) -> ExpertiseChange:
    """Take back one accepted answer on each of ``tags`` (the question accepted another answer).

    Counts never go below zero; a tag left with none is dropped. Published as
    ProfileUpdated naming ``earned_expertise`` (the contract has no event of
    its own for this), or nothing when there was nothing to take back.
    """
    earned = {entry.tag: entry for entry in person.earned}
    touched = False
    for tag in set(tags):
        entry = earned.get(tag)
        if entry is None:
            continue
        touched = True
        if entry.accepted_answers <= 1:
            del earned[tag]
        else:
            earned[tag] = replace(entry, accepted_answers=entry.accepted_answers - 1)
    if not touched:
        return ExpertiseChange(person, None)
    after = replace(
        person,
        earned=tuple(earned[t] for t in sorted(earned)),
        updated_at=now,
        version=person.version + 1,
    )
    event = ProfileUpdated(person=after, changed_fields=("earned_expertise",), actor_id=actor_id)
    return ExpertiseChange(after, event)


# --- the expert directory -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ExpertRow:
    """One person's signal on one tag: a row of the expert directory."""

    tag: str
    person_id: str
    earned: int
    declared: bool

    @property
    def key(self) -> str:
        """The row's rank within its tag: most earned first, then declared, then id.

        A string, so that one ascending index on (tag, key) orders a tag's
        rows and one string range (``> last key``) continues a page: twelve
        digits of ``RANK_CEILING - earned``, ``0`` if declared else ``1``,
        then the person id.
        """
        return f"{key_prefix(self.earned)}{'0' if self.declared else '1'}{self.person_id}"


def key_prefix(earned: int) -> str:
    """The row-key prefix of rows with ``earned`` accepted answers.

    Rows with at most ``earned`` accepted answers have keys ``>=`` this.
    """
    return f"{RANK_CEILING - min(max(earned, 0), RANK_CEILING):012d}"


def directory_rows(person: Person) -> tuple[ExpertRow, ...]:
    """The directory rows of ``person``: one per tag with a signal; none for partner users."""
    if not person.is_employee:
        return ()
    tags = set(person.declared) | {e.tag for e in person.earned}
    declared = set(person.declared)
    return tuple(
        ExpertRow(tag, person.person_id, person.earned_on(tag), tag in declared)
        for tag in sorted(tags)
    )


@dataclass(frozen=True, slots=True)
class TagSignal:
    """How an expert matched one of the tags asked for."""

    tag: str
    accepted_answers: int
    declared: bool


@dataclass(frozen=True, slots=True)
class DirectoryCursor:
    """The last expert of a page: the next page starts after it."""

    earned_score: int
    declared_matches: int
    person_id: str

    @property
    def sort_key(self) -> tuple[int, int, str]:
        return (-self.earned_score, -self.declared_matches, self.person_id)


@dataclass(frozen=True, slots=True)
class ExpertMatch:
    """One entry of the directory: a person and their signals on the tags asked for."""

    person_id: str
    signals: tuple[TagSignal, ...]
    """Strongest first: most accepted answers, then declared, then tag."""
    earned_score: int
    declared_matches: int

    @property
    def sort_key(self) -> tuple[int, int, str]:
        """Ascending order of this key is the directory's ranking."""
        return (-self.earned_score, -self.declared_matches, self.person_id)

    @property
    def cursor(self) -> DirectoryCursor:
        return DirectoryCursor(self.earned_score, self.declared_matches, self.person_id)


def match_of(person_id: str, rows: Iterable[ExpertRow], tags: Iterable[str]) -> ExpertMatch | None:
    """The directory entry of ``person_id`` from their rows, counting only ``tags``."""
    wanted = set(tags)
    signals = [
        TagSignal(r.tag, r.earned, r.declared)
        for r in rows
        if r.tag in wanted and r.person_id == person_id and (r.earned > 0 or r.declared)
    ]
    if not signals:
        return None
    signals.sort(key=lambda s: (-s.accepted_answers, not s.declared, s.tag))
    return ExpertMatch(
        person_id=person_id,
        signals=tuple(signals),
        earned_score=sum(s.accepted_answers for s in signals),
        declared_matches=sum(1 for s in signals if s.declared),
    )


@dataclass(frozen=True, slots=True)
class TagRead:
    """Read the next rows of one tag, in key order.

    ``after_key`` set: rows whose key is greater. Otherwise ``from_key`` set:
    rows whose key is at least it. Neither: from the best row of the tag.
    """

    tag: str
    after_key: str | None
    from_key: str | None
    limit: int


@dataclass(frozen=True, slots=True)
class DirectoryPage:
    """One page of experts, and where the next page starts (None: this is the last)."""

    experts: tuple[ExpertMatch, ...]
    next_cursor: DirectoryCursor | None


@dataclass
class _Range:
    tag: str
    start_key: str | None
    start_after: bool = False
    """Whether the range starts after ``start_key`` (else at it)."""
    last: ExpertRow | None = None
    exhausted: bool = False


class DirectorySearch:
    """One page of "experts for these tags", merged from per-tag row ranges (threshold algorithm).

    No I/O: the application drives it::

        search = DirectorySearch(tags, page_size=20, after=cursor)
        while not search.done:
            for read in search.reads():
                search.feed(read, rows of read)           # a tag's rows, in key order
            search.resolve(rows of search.unresolved())   # every row of those people for tags
        page = search.page()

    Correctness: every person met in any tag is resolved exactly (all their
    rows for the tags). A person not met yet has, in each tag still being
    read, a row after the last one read (so at most that row's accepted
    answers) and no row in a finished tag. Their score is therefore at most
    the sum of the last-read accepted answers of the unfinished tags, and
    they declared at most as many tags as there are unfinished ones. Once
    the page's last entry (plus one, to know whether more follow) ranks
    strictly above that bound, nobody unmet can enter the page. A row read
    in a range may have changed by the time its person is resolved (a write
    in between); the resolved rows decide, so such a row only makes the
    search meet someone early.

    Paging after a cursor: a row with more accepted answers than the cursor's
    score belongs to someone ranked above the cursor (their score is at least
    that row's), so every tag starts at rows with at most that many. With one
    tag a person's rank *is* their row's position, so the range starts right
    after the cursor's own row: a deep page costs what the first one does.
    """

    def __init__(
        self,
        tags: Sequence[str],
        *,
        page_size: int,
        after: DirectoryCursor | None = None,
        batch_size: int | None = None,
    ) -> None:
        if not tags:
            raise ValueError("at least one tag")
        if page_size < 1:
            raise ValueError("page_size must be positive")
        self._tags = tuple(dict.fromkeys(tags))
        self._page_size = page_size
        self._after = after
        self._batch = batch_size or min(max(2 * (page_size + 1), 50), 500)
        if after is None:
            self._ranges = {tag: _Range(tag, None) for tag in self._tags}
        elif len(self._tags) == 1:
            (tag,) = self._tags
            at = ExpertRow(tag, after.person_id, after.earned_score, after.declared_matches > 0)
            self._ranges = {tag: _Range(tag, at.key, start_after=True)}
        else:
            start = key_prefix(after.earned_score)
            self._ranges = {tag: _Range(tag, start) for tag in self._tags}
        self._matches: dict[str, ExpertMatch] = {}
        self._met: set[str] = set()
        self._unresolved: set[str] = set()
        self._rounds = 0

    @property
    def tags(self) -> tuple[str, ...]:
        return self._tags

    @property
    def rounds(self) -> int:
        """How many tag reads were fed (for metrics and tests)."""
        return self._rounds

    def reads(self) -> list[TagRead]:
        """The reads of the next round: one per tag not yet finished."""
        reads = []
        for lst in self._ranges.values():
            if lst.exhausted:
                continue
            if lst.last is not None:
                reads.append(TagRead(lst.tag, lst.last.key, None, self._batch))
            elif lst.start_after:
                reads.append(TagRead(lst.tag, lst.start_key, None, self._batch))
            else:
                reads.append(TagRead(lst.tag, None, lst.start_key, self._batch))
        return reads

    def feed(self, read: TagRead, rows: Sequence[ExpertRow]) -> None:
        """The rows ``read`` returned, in key order (at most ``read.limit``).

        Raises:
            ValueError: rows of another tag, or more than asked for.
        """
        lst = self._ranges[read.tag]
        if len(rows) > read.limit or any(r.tag != read.tag for r in rows):
            raise ValueError("rows do not answer the read")
        if rows:
            lst.last = rows[-1]
        if len(rows) < read.limit:
            lst.exhausted = True
        for row in rows:
            if row.person_id not in self._met:
                self._met.add(row.person_id)
                self._unresolved.add(row.person_id)
        self._rounds += 1

    def unresolved(self) -> list[str]:
        """People met in a tag whose rows on every tag asked for are still needed, sorted."""
        return sorted(self._unresolved)

    def resolve(self, rows: Iterable[ExpertRow]) -> None:
        """Every row, for the search's tags, of the people :meth:`unresolved` named.

        A person with no rows any more (their signals were removed meanwhile)
        simply drops out.
        """
        by_person: dict[str, list[ExpertRow]] = {pid: [] for pid in self._unresolved}
        for row in rows:
            if row.person_id in by_person:
                by_person[row.person_id].append(row)
        for person_id, person_rows in by_person.items():
            match = match_of(person_id, person_rows, self._tags)
            if match is not None and (self._after is None or match.sort_key > self._after.sort_key):
                self._matches[person_id] = match
        self._unresolved.clear()

    def _ranked(self) -> list[ExpertMatch]:
        return sorted(self._matches.values(), key=lambda m: m.sort_key)

    @property
    def done(self) -> bool:
        """Whether :meth:`page` is final: nobody unmet can still enter it."""
        if self._unresolved:
            return False
        live = [lst for lst in self._ranges.values() if not lst.exhausted]
        if not live:
            return True
        if any(lst.last is None for lst in live):
            return False
        needed = self._page_size + 1
        ranked = self._ranked()
        if len(ranked) < needed:
            return False
        edge = ranked[needed - 1].sort_key
        if len(live) == 1:
            # Unmet people then have one row, in this tag, after the last one read;
            # their rank is that row's position, so it is strictly below the last row's.
            last = live[0].last
            assert last is not None
            return edge <= (-last.earned, -int(last.declared), last.person_id)
        bound_score = sum(lst.last.earned for lst in live if lst.last is not None)
        return (edge[0], edge[1]) < (-bound_score, -len(live))

    def page(self) -> DirectoryPage:
        """The page: the best ``page_size`` after the cursor, and the next cursor.

        Raises:
            RuntimeError: called before :attr:`done`.
        """
        if not self.done:
            raise RuntimeError("the search is not finished")
        ranked = self._ranked()
        experts = tuple(ranked[: self._page_size])
        more = len(ranked) > self._page_size
        return DirectoryPage(experts, experts[-1].cursor if more and experts else None)
