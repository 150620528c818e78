"""Expert routing of new questions, and its escalation chain.

A question with tags goes first to the best experts for those tags (step 0),
then, each time its space's answer SLA passes without an answer, to the next
experts (step 1), to the community's moderators (step 2) and to its owners
(step 3). Each escalation (steps 1 to 3) publishes QuestionEscalated with the
step as its level. An answer stops the chain at once; so does deleting the
question. Someone already holding ``max_open`` open routed questions is
skipped, and nobody is asked twice about one question.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final


class Audience(enum.StrEnum):
    """Who a step of the chain reaches."""

    EXPERTS = "experts"
    MODERATORS = "moderators"
    OWNERS = "owners"


CHAIN: Final = (Audience.EXPERTS, Audience.EXPERTS, Audience.MODERATORS, Audience.OWNERS)
"""Step -> audience. After the last step's SLA the chain ends (no more escalation)."""


def audience_of(step: int) -> Audience | None:
    """Who step ``step`` reaches; None past the end of the chain."""
    return CHAIN[step] if 0 <= step < len(CHAIN) else None


@dataclass(frozen=True, slots=True)
class Expertise:
    """One person's expertise in one tag."""

    declared: bool = False
    earned: int = 0
    """Accepted answers in questions with the tag."""


def score(tags: Iterable[str], expertise: Mapping[str, Expertise]) -> int:
    """How well a person's expertise meets a question's tags: two points per accepted
    answer in a tag, one for declaring it."""
    total = 0
    for tag in set(tags):
        found = expertise.get(tag)
        if found is not None:
            total += 2 * found.earned + (1 if found.declared else 0)
    return total


def rank(tags: Sequence[str], experts: Mapping[str, Mapping[str, Expertise]]) -> list[str]:
    """Everyone with some expertise in ``tags``, best first (ties by person id)."""
    scored = [(score(tags, by_tag), person) for person, by_tag in experts.items()]
    return [person for points, person in sorted(scored, key=lambda p: (-p[0], p[1])) if points > 0]


def pick(
    ranked: Sequence[str],
    *,
    count: int,
    exclude: Iterable[str],
    load: Mapping[str, int],
    max_open: int,
) -> list[str]:
    """The first ``count`` of ``ranked`` not excluded (the asker, those already asked)
    and holding fewer than ``max_open`` open routed questions."""
    skip = set(exclude)
    chosen: list[str] = []
    for person in ranked:
        if len(chosen) >= count:
            break
        if person in skip or load.get(person, 0) >= max_open:
            continue
        chosen.append(person)
    return chosen


class ChainState(enum.StrEnum):
    OPEN = "open"
    ANSWERED = "answered"
    CLOSED = "closed"
    """Deleted, or every step ran without an answer."""


@dataclass(frozen=True, slots=True)
class Chain:
    """The routing of one question: where it stands and whom it reached."""

    question_id: str
    space_id: str
    community_id: str
    title: str
    tags: tuple[str, ...]
    asker_id: str
    step: int
    due_at: datetime
    state: ChainState = ChainState.OPEN
    asked: tuple[str, ...] = field(default_factory=tuple)


def step_source(question_id: str, step: int) -> str:
    """The source id of the notifications of one step (the step caused them)."""
    return f"routing-{question_id}-{step}"
