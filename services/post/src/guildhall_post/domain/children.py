"""Child lists: a question's answers and an item's comments, listed by ``_id``. Pure.

Each parent keeps one list document per kind of child (docs/adr/0012-post-child-lists.md),
``{_id: "<question id>:answers"}`` or ``{_id: "<post or answer id>:comments"}``, whose
``entries`` are strings that sort, as plain strings, in the listing's order:

- an answer's entry is its id (answers are listed by id);
- a comment's entry is ``"<thread id> <comment id>"`` (comments are listed by thread,
  then id). Ids use the contracts' alphabet (``[a-z0-9_-]``), all above the space, so
  string order of the joined entry is exactly the order of the pair.

Entries are a superset of the children: one is added before its child is stored and
never removed (a deleted child stays listed for those who may see it, and the listing's
filters are applied to the child itself). A page keys off the cursor the listings
already use, and every entry is verified against its child before it is returned
(:class:`ChildWalk`): the child exists, belongs to that parent, sits where its entry
says, and passes the caller's filter. An entry whose child is missing (a crash between
the two writes) is never listed.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final

SEP: Final = " "
"""Between a comment's thread id and its id: below every character an id may hold."""
MAX_BATCH: Final = 500
"""Most children read in one batch (one ``_id $in`` read)."""


class ChildKind(StrEnum):
    ANSWERS = "answers"
    COMMENTS = "comments"


def answers_list_id(question_id: str) -> str:
    return f"{question_id}:{ChildKind.ANSWERS}"


def comments_list_id(post_id: str, answer_id: str) -> str:
    """The list of the comments on an answer (``answer_id``) or on the post itself ("")."""
    return f"{answer_id or post_id}:{ChildKind.COMMENTS}"


def comment_key(thread_id: str, comment_id: str) -> str:
    return f"{thread_id}{SEP}{comment_id}"


def child_id(key: str) -> str:
    """The child's id in an entry."""
    return key.rpartition(SEP)[2]


@dataclass(frozen=True, slots=True)
class ChildEntry:
    """One child's entry: the list it belongs to and its key there."""

    list_id: str
    parent_id: str
    kind: ChildKind
    key: str


def answer_entry(doc: Mapping[str, Any]) -> ChildEntry:
    """The entry of an answer document."""
    question = str(doc["question_id"])
    return ChildEntry(answers_list_id(question), question, ChildKind.ANSWERS, str(doc["_id"]))


def comment_entry(doc: Mapping[str, Any]) -> ChildEntry:
    """The entry of a comment document (whose ``thread_id`` never changes)."""
    post, answer = str(doc["post_id"]), str(doc.get("answer_id") or "")
    return ChildEntry(
        comments_list_id(post, answer),
        answer or post,
        ChildKind.COMMENTS,
        comment_key(str(doc["thread_id"]), str(doc["_id"])),
    )


def answer_fits(key: str, doc: Mapping[str, Any], question_id: str) -> bool:
    """Whether ``doc`` is the answer ``key`` names, on ``question_id``."""
    return str(doc.get("_id")) == key and str(doc.get("question_id")) == question_id


def comment_fits(key: str, doc: Mapping[str, Any], post_id: str, answer_id: str) -> bool:
    """Whether ``doc`` is the comment ``key`` names, on that post (and answer), in that
    thread."""
    return (
        str(doc.get("post_id")) == post_id
        and str(doc.get("answer_id") or "") == answer_id
        and comment_key(str(doc.get("thread_id")), str(doc.get("_id"))) == key
    )


def keys_after(entries: Iterable[str], position: str | None) -> list[str]:
    """The distinct entries strictly after ``position`` (all without one), in order."""
    ordered = sorted(set(entries))
    if position is None:
        return ordered
    return ordered[bisect.bisect_right(ordered, position) :]


class ChildWalk:
    """One page of a child list: which children to read next, and what they make.

    Reads its candidates in order, in batches (the page's size plus one first, then
    doubling, at most :data:`MAX_BATCH`), keeping each child that ``fits(key, doc)``, until
    it holds ``want`` children or the list is exhausted. The caller reads
    :meth:`next_ids` by ``_id`` and hands the documents found to :meth:`take`.
    """

    def __init__(
        self,
        entries: Iterable[str],
        position: str | None,
        want: int,
        fits: Callable[[str, Mapping[str, Any]], bool],
    ) -> None:
        self._keys = keys_after(entries, position)
        self._want = want
        self._fits = fits
        self._next = 0
        self._batch = max(1, min(want, MAX_BATCH))
        self._pending: list[str] = []
        self.found: list[Mapping[str, Any]] = []
        self.looked_at = 0

    @property
    def done(self) -> bool:
        return len(self.found) >= self._want or self._next >= len(self._keys)

    def next_ids(self) -> list[str]:
        """The ids of the next batch of candidates ([] when the walk is done)."""
        if self.done:
            return []
        self._pending = self._keys[self._next : self._next + self._batch]
        self._next += len(self._pending)
        self._batch = min(self._batch * 2, MAX_BATCH)
        return [child_id(k) for k in self._pending]

    def take(self, docs: Mapping[str, Mapping[str, Any]]) -> None:
        """The documents of the last batch, by id (missing ones left out)."""
        for key in self._pending:
            self.looked_at += 1
            doc = docs.get(child_id(key))
            if doc is not None and self._fits(key, doc):
                self.found.append(doc)
                if len(self.found) >= self._want:
                    break
        self._pending = []


def revision_numbers(top: int, count: int) -> list[int]:
    """The ``count`` revision numbers from ``top`` down (none below 1)."""
    return list(range(top, max(0, top - count), -1))
