"""Use cases of questions and answers: answering, listing, editing, votes, accepting, and
the open questions that meet a person's expertise."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Final

from guildhall_kit import paging
from guildhall_kit.errors import Aborted, FailedPrecondition
from guildhall_post.application.access import Caller
from guildhall_post.application.common import (
    OPTIMISTIC_ATTEMPTS,
    AnswerView,
    Deps,
    Page,
    Shaped,
    keyset,
    mention_events,
)
from guildhall_post.domain.access import Action
from guildhall_post.domain.answers import Answer, Vote, decide_accept, new_answer, vote_change
from guildhall_post.domain.content import (
    added_mentions,
    is_moderator,
    item_not_found,
    require_edit,
    require_published,
)
from guildhall_post.domain.posts import Post, PostType
from guildhall_post.domain.revisions import require_base

ANSWERS: Final = "answers"
QUESTIONS_FOR_ME: Final = "questions_for_me"
QUESTIONS_SCAN_BATCHES: Final = 5
"""Batches read per "questions for me" page before a short page is returned."""


class QuestionUseCases:
    """PostAnswer, ListAnswers, EditAnswer, DeleteAnswer, VoteAnswer, AcceptAnswer,
    ListQuestionsForMe."""

    def __init__(self, deps: Deps) -> None:
        self._d = deps

    async def views(
        self, caller: Caller, question: Post, answers: Sequence[Answer]
    ) -> Page[AnswerView]:
        """The answers as the caller sees them: accepted flag, own vote (one read for the
        page), links shaped."""
        votes = await self._d.content.answer_votes([a.answer_id for a in answers], caller.person_id)
        shaping = await self._d.access.shaping(caller, [a.body for a in answers])
        return Page(
            [
                AnswerView(a, a.answer_id == question.accepted_answer_id, votes.get(a.answer_id))
                for a in answers
            ],
            shaping=shaping,
        )

    async def _one(self, caller: Caller, question: Post, answer: Answer) -> Shaped[AnswerView]:
        page = await self.views(caller, question, [answer])
        return Shaped(page.items[0], page.shaping)

    async def post(
        self, caller: Caller, question_id: str, *, body: str, mentions: Sequence[str]
    ) -> Shaped[AnswerView]:
        d = self._d
        question, _ = await d.access.access_post(caller, question_id, Action.COMMENT)
        if question.type is not PostType.QUESTION:
            raise FailedPrecondition("only questions take answers")
        require_published(question.state, "question")
        at = d.clock()
        answer = new_answer(
            answer_id=d.ids(at),
            question_id=question_id,
            space_id=question.space_id,
            author_id=caller.person_id,
            body=body,
            mentions=tuple(mentions),
            at=at,
        )
        events = [d.events.answer_posted(answer)]
        events += await mention_events(
            d,
            answer.mentions,
            author_id=caller.person_id,
            post_id=question_id,
            space_id=question.space_id,
            at=at,
        )
        await d.content.insert_answer(answer, events)
        await d.content.count_children(question_id, answers=1, comments=1)
        return await self._one(caller, question, answer)

    async def list_answers(
        self, caller: Caller, question_id: str, *, page_size: int, page_token: str
    ) -> Page[AnswerView]:
        d = self._d
        question, view = await d.access.access_post(caller, question_id)
        scope = [question_id]
        key = paging.decode_token(page_token, ANSWERS, [str], scope=scope)
        size = paging.page_size(page_size)
        answers = await d.content.answers(
            question_id,
            after=paging.key_str(key, 0) if key else None,
            limit=size + 1,
            # Deleted answers stay visible to their author and the space's moderators.
            visible_to=None if is_moderator(view) else caller.person_id,
        )
        answers, token = keyset(answers, size, ANSWERS, lambda a: [a.answer_id], scope)
        page = await self.views(caller, question, answers)
        return replace(page, next_page_token=token)

    async def edit(
        self,
        caller: Caller,
        answer_id: str,
        *,
        body: str,
        mentions: Sequence[str],
        expected_revision: int | None,
    ) -> Shaped[AnswerView]:
        d = self._d
        answer, question, view = await d.access.access_answer(caller, answer_id, Action.COMMENT)
        require_edit(caller.person_id, answer.author_id, view, own_action=Action.COMMENT)
        require_published(answer.state, "answer")
        if expected_revision is not None:
            require_base(answer.revision, expected_revision)
        if (answer.body, answer.mentions) == (body, tuple(mentions)):
            return await self._one(caller, question, answer)
        at = d.clock()
        after = answer.revised(
            body=body, mentions=tuple(mentions), editor_id=caller.person_id, at=at
        )
        events = [d.events.answer_edited(after)]
        events += await mention_events(
            d,
            added_mentions(answer.mentions, after.mentions),
            author_id=caller.person_id,
            post_id=answer.question_id,
            space_id=answer.space_id,
            at=at,
        )
        await d.content.revise(answer, after, events)
        return await self._one(caller, question, after)

    async def delete(self, caller: Caller, answer_id: str) -> Shaped[AnswerView]:
        d = self._d
        answer, question, view = await d.access.access_answer(caller, answer_id, Action.COMMENT)
        require_edit(caller.person_id, answer.author_id, view, own_action=Action.COMMENT)
        if not answer.published:
            return await self._one(caller, question, answer)
        at = d.clock()
        was_accepted = question.accepted_answer_id == answer_id
        event = d.events.answer_deleted(answer, caller.person_id, was_accepted, at)
        after = await d.content.delete(answer, actor_id=caller.person_id, at=at, events=[event])
        if not isinstance(after, Answer):  # deleted meanwhile by someone else: same outcome
            again = await d.content.answer(answer_id)
            if again is None:
                raise item_not_found()
            return await self._one(caller, question, again)
        if was_accepted:
            await d.content.clear_accepted(question.post_id, answer_id)
            question = replace(question, accepted_answer_id="")
        await d.content.count_children(question.post_id, answers=-1, comments=-1)
        return await self._one(caller, question, after)

    async def vote(self, caller: Caller, answer_id: str, wanted: Vote | None) -> Shaped[AnswerView]:
        """The answer after the caller's vote (``None`` withdraws it).

        Raises:
            FailedPrecondition: the caller wrote the answer.
            Aborted: the votes kept changing concurrently.
        """
        d = self._d
        answer, question, _ = await d.access.access_answer(caller, answer_id, Action.COMMENT)
        require_published(answer.state, "answer")
        if answer.author_id == caller.person_id:
            raise FailedPrecondition("you cannot vote on your own answer")
        me = caller.person_id
        for _ in range(OPTIMISTIC_ATTEMPTS):
            current = (await d.content.answer_votes([answer_id], me)).get(answer_id)
            if not vote_change(current, wanted).changed:
                break
            if await d.content.vote_answer(answer_id, me, current=current, wanted=wanted):
                break
        else:
            raise Aborted("the vote changed concurrently; retry")
        fresh = await d.content.answer(answer_id)
        if fresh is None:
            raise item_not_found()
        return await self._one(caller, question, fresh)

    async def accept(
        self, caller: Caller, question_id: str, answer_id: str
    ) -> tuple[Shaped[Post], Shaped[AnswerView]]:
        """Accept the answer: the question and the answer afterwards. Publishes
        AnswerAccepted once, whatever the retries (a conditional write on the question).

        Raises:
            Aborted: the accepted answer kept changing concurrently.
        """
        d = self._d
        question, view = await d.access.access_post(
            caller, question_id, Action.READ, Action.COMMENT
        )
        answer = await d.content.answer(answer_id)
        if answer is None:
            raise item_not_found()
        require_published(question.state, "question")
        for _ in range(2):
            decision = decide_accept(
                caller_id=caller.person_id,
                asker_id=question.author_id,
                view=view,
                question_type=question.type,
                current_accepted_id=question.accepted_answer_id,
                answer_id=answer_id,
                answer_question_id=answer.question_id,
                answer_state=answer.state,
                question_id=question_id,
            )
            if not decision.changed:
                break
            at = d.clock()
            previous = decision.previous_answer_id
            event = d.events.answer_accepted(question, answer, caller.person_id, previous, at)
            after = await d.content.accept_answer(
                question_id, previous=previous, answer=answer, at=at, event=event
            )
            if after is not None:
                question = after
                break
            # Someone accepted meanwhile: decide again against what is stored now.
            reread = await d.content.post(question_id)
            if reread is None:
                raise item_not_found()
            question = reread
        else:
            raise Aborted("the accepted answer changed concurrently; retry")
        shaped = Shaped(question, await d.access.shaping_posts(caller, [question]))
        return shaped, await self._one(caller, question, answer)

    async def for_me(
        self, caller: Caller, *, tag: str, page_size: int, page_token: str
    ) -> tuple[Page[Post], list[str]]:
        """Open questions (no accepted answer) carrying one of the caller's expertise tags
        (or only ``tag``), newest first, not their own, in spaces they may read; and the
        caller's expertise tags.

        Readability is checked per batch (employees: the read model; partners: their
        ListSpaces in the query), at most :data:`QUESTIONS_SCAN_BATCHES` batches a page,
        after which a shorter page with a token is returned.
        """
        d = self._d
        tags = await d.read_model.expertise(caller.person_id)
        wanted = [t for t in tags if t == tag] if tag else tags
        scope = [caller.person_id, tag]
        key = paging.decode_token(page_token, QUESTIONS_FOR_ME, [str], scope=scope)
        if not wanted:
            return Page([]), tags
        size = paging.page_size(page_size)
        spaces = sorted(await d.access.searchable_spaces(caller)) if caller.is_partner else None
        found: list[Post] = []
        position = paging.key_str(key, 0) if key else None
        for _ in range(QUESTIONS_SCAN_BATCHES):
            batch = await d.content.open_questions(
                wanted, not_by=caller.person_id, spaces=spaces, before=position, limit=size * 2
            )
            readable = await d.access.readable(caller, {q.space_id for q in batch})
            for question in batch:
                position = question.post_id
                if question.space_id in readable:
                    found.append(question)
                    if len(found) == size:
                        break
            if len(found) == size or len(batch) < size * 2:
                break
        token = ""
        if position is not None:
            # More may follow unless nothing is left below the last question looked at.
            more = await d.content.open_questions(
                wanted, not_by=caller.person_id, spaces=spaces, before=position, limit=1
            )
            if more:
                token = paging.encode_token(QUESTIONS_FOR_ME, [position], scope=scope)
        shaping = await d.access.shaping_posts(caller, found)
        return Page(found, token, shaping), tags
