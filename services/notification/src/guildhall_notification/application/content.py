"""Facts about content (the post service's events) -> read model, notifications, hooks.

Each method is one post event, already decoded, and is safe to run twice for
the same event (read-model writes are idempotent; notifications are deduplicated
by event and subject when they are written).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any, Protocol

from guildhall_kit.clock import new_id
from guildhall_notification.application.delivery import Fanout, Happening
from guildhall_notification.application.ports import Clock, ReadModelsPort, SubscriptionsPort
from guildhall_notification.domain import texts
from guildhall_notification.domain.audience import Activity, Relation, item_level, participant_level
from guildhall_notification.domain.model import (
    Item,
    ItemType,
    Kind,
    Level,
    Reason,
    Source,
    Template,
)


class ContentStore(Protocol):
    """The writes of the content read model."""

    async def put_item(self, item: Item) -> None: ...

    async def update_item(
        self, post_id: str, *, title: str | None = ..., tags: Sequence[str] | None = ...
    ) -> None: ...

    async def delete_item(self, post_id: str) -> None: ...

    async def put_comment(self, comment_id: str, post_id: str, author_id: str) -> None: ...


class PinholeHook(Protocol):
    """Webhooks: a pinhole event for the orgs granted that pinhole."""

    async def content_event(
        self,
        *,
        event_id: str,
        event_type: str,
        space_id: str,
        data: Mapping[str, Any],
        at: datetime,
    ) -> None: ...


class RoutingHook(Protocol):
    """Expert routing: questions asked, answered, deleted."""

    async def question_asked(self, event_id: str, item: Item, at: datetime) -> None: ...

    async def question_settled(self, question_id: str, *, answered: bool) -> None: ...


class Content:
    def __init__(
        self,
        models: ReadModelsPort,
        store: ContentStore,
        subscriptions: SubscriptionsPort,
        fanout: Fanout,
        *,
        pinholes: PinholeHook | None,
        routing: RoutingHook | None,
        clock: Clock,
    ) -> None:
        self._models = models
        self._store = store
        self._subs = subscriptions
        self._fanout = fanout
        self._pinholes = pinholes
        self._routing = routing
        self._clock = clock

    async def _name(self, person_id: str) -> str:
        person = await self._models.person(person_id)
        return person.display_name if person and person.display_name else ""

    async def _webhook(
        self, event_id: str, event_type: str, space_id: str, data: Mapping[str, Any], at: datetime
    ) -> None:
        if self._pinholes is not None:
            await self._pinholes.content_event(
                event_id=event_id, event_type=event_type, space_id=space_id, data=data, at=at
            )

    def _template(
        self,
        kind: Kind,
        reason: Reason,
        title: str,
        *,
        item: Item | None,
        space_id: str,
        community_id: str,
        actor_id: str,
        actor_name: str,
        excerpt: str = "",
        comment_id: str = "",
        answer_id: str = "",
    ) -> Template:
        return Template(
            kind=kind,
            reason=reason,
            title=texts.title(title),
            space_id=space_id,
            community_id=community_id,
            post_id=item.post_id if item else "",
            comment_id=comment_id,
            answer_id=answer_id,
            actor_id=actor_id,
            actor_display_name=actor_name,
            excerpt=excerpt,
        )

    async def _community_of(self, space_id: str) -> str:
        space = await self._models.space(space_id)
        return space.community_id if space else ""

    async def _space_title(self, space_id: str) -> str:
        space = await self._models.space(space_id)
        return space.title if space else ""

    # ------------------------------------------------------------------ items

    async def item_created(
        self,
        event_id: str,
        item: Item,
        *,
        body: str,
        mentioned: Sequence[str],
        at: datetime,
    ) -> None:
        await self._store.put_item(item)
        await self._models.touch_active(item.author_id, at)
        await self._subs.put(
            item.author_id,
            "item",
            item.post_id,
            space_id=item.space_id,
            level=Level.WATCHING,
            source=Source.AUTHOR,
            at=at,
            set_id=new_id(at),
            only_if_absent=True,
        )
        actor = await self._name(item.author_id)
        community_id = await self._community_of(item.space_id)
        space_title = await self._space_title(item.space_id)
        excerpt = texts.excerpt(body)
        announcement = item.type is ItemType.ANNOUNCEMENT

        def words(kind: Kind, reason: Reason) -> Template:
            if kind is Kind.ANNOUNCEMENT:
                line = (
                    f"Announcement in {space_title or 'your community'}: {texts.quoted(item.title)}"
                )
            else:
                line = f"{texts.who(actor)} posted {texts.quoted(item.title)}" + (
                    f" in {texts.one_line(space_title, 80)}" if space_title else ""
                )
            return self._template(
                kind,
                reason,
                line,
                item=item,
                space_id=item.space_id,
                community_id=community_id,
                actor_id=item.author_id,
                actor_name=actor,
                excerpt=excerpt,
            )

        # Mentioned people hear of the new item through their Mentioned event instead.
        await self._fanout.deliver(
            Happening(
                source_event_id=event_id,
                activity=Activity.ANNOUNCEMENT if announcement else Activity.NEW_ITEM,
                space_id=item.space_id,
                subject=f"post:{item.post_id}",
                texts=words,
                actor_id=item.author_id,
                follow_space=True,
                members_as=Relation.MEMBER if announcement else None,
                excluded=frozenset(mentioned),
            )
        )
        await self._webhook(
            event_id,
            "post_created",
            item.space_id,
            {
                "post_id": item.post_id,
                "space_id": item.space_id,
                "type": item.type.value,
                "title": item.title,
                "body": body,
                "tags": list(item.tags),
                "author_id": item.author_id,
            },
            at,
        )
        if item.type is ItemType.QUESTION and self._routing is not None:
            await self._routing.question_asked(event_id, item, at)

    async def item_changed(
        self,
        event_id: str,
        *,
        post_id: str,
        space_id: str,
        editor_id: str,
        title: str,
        body: str,
        tags: Sequence[str],
        revision: int,
        wiki: bool,
        at: datetime,
    ) -> None:
        await self._store.update_item(post_id, title=title, tags=tags)
        item = await self._models.item(post_id)
        event_type = "wiki_revised" if wiki else "post_edited"
        await self._webhook(
            event_id,
            event_type,
            space_id,
            {
                "post_id": post_id,
                "space_id": space_id,
                "revision": revision,
                "title": title,
                "body": body,
                "tags": list(tags),
                "editor_id": editor_id,
            },
            at,
        )
        if item is None or (wiki and revision <= 1):
            return  # a new wiki page was announced by its PostCreated
        actor = await self._name(editor_id)
        community_id = await self._community_of(space_id)
        verb = "revised the wiki page" if wiki else "edited"

        def words(kind: Kind, reason: Reason) -> Template:
            return self._template(
                kind,
                reason,
                f"{texts.who(actor)} {verb} {texts.quoted(title)}",
                item=item,
                space_id=space_id,
                community_id=community_id,
                actor_id=editor_id,
                actor_name=actor,
            )

        await self._fanout.deliver(
            Happening(
                source_event_id=event_id,
                activity=Activity.ITEM_CHANGED,
                space_id=space_id,
                subject=f"revision:{post_id}:{revision}",
                texts=words,
                actor_id=editor_id,
                item=item,
                direct={item.author_id: frozenset({Relation.OWN_ITEM})},
                follow_item=True,
                follow_space=True,
            )
        )

    async def item_deleted(
        self, event_id: str, *, post_id: str, space_id: str, actor_id: str, at: datetime
    ) -> None:
        await self._store.delete_item(post_id)
        await self._webhook(
            event_id,
            "post_deleted",
            space_id,
            {"post_id": post_id, "space_id": space_id, "actor_id": actor_id},
            at,
        )
        if self._routing is not None:
            await self._routing.question_settled(post_id, answered=False)

    # ---------------------------------------------------------------- replies

    async def _participate(self, person_id: str, item: Item, at: datetime) -> None:
        """Repliers track what they replied to, unless they already hear more or muted it."""
        own = await self._subs.levels([person_id], "item", item.post_id)
        space = await self._subs.levels([person_id], "space", item.space_id)
        community_id = await self._community_of(item.space_id)
        default = await self._subs.default_level(community_id) if community_id else None
        member = bool(await self._models.roles(community_id, [person_id])) if default else False
        current, _ = item_level(
            item=own.get(person_id),
            space=space[person_id][0] if person_id in space else None,
            community_default=default,
            is_member=member,
        )
        level = participant_level(current)
        if level is not None:
            await self._subs.put(
                person_id,
                "item",
                item.post_id,
                space_id=item.space_id,
                level=level,
                source=Source.PARTICIPANT,
                at=at,
                set_id=new_id(at),
                only_if_absent=True,
            )

    async def comment_added(
        self,
        event_id: str,
        *,
        comment_id: str,
        post_id: str,
        space_id: str,
        parent_comment_id: str,
        author_id: str,
        body: str,
        at: datetime,
    ) -> None:
        await self._store.put_comment(comment_id, post_id, author_id)
        await self._models.touch_active(author_id, at)
        await self._webhook(
            event_id,
            "comment_added",
            space_id,
            {
                "comment_id": comment_id,
                "post_id": post_id,
                "space_id": space_id,
                "parent_comment_id": parent_comment_id,
                "author_id": author_id,
                "body": body,
            },
            at,
        )
        item = await self._models.item(post_id)
        if item is None:
            return
        direct: dict[str, frozenset[Relation]] = {item.author_id: frozenset({Relation.OWN_ITEM})}
        if parent_comment_id:
            parent_author = await self._models.comment_author(parent_comment_id)
            if parent_author:
                direct[parent_author] = direct.get(parent_author, frozenset()) | {
                    Relation.OWN_COMMENT
                }
        actor = await self._name(author_id)
        community_id = await self._community_of(space_id)
        excerpt = texts.excerpt(body)

        def words(kind: Kind, reason: Reason) -> Template:
            if reason is Reason.OWN_CONTENT and parent_comment_id and kind is Kind.COMMENT:
                line = f"{texts.who(actor)} replied on {texts.quoted(item.title)}"
            else:
                line = f"{texts.who(actor)} commented on {texts.quoted(item.title)}"
            return self._template(
                kind,
                reason,
                line,
                item=item,
                space_id=space_id,
                community_id=community_id,
                actor_id=author_id,
                actor_name=actor,
                excerpt=excerpt,
                comment_id=comment_id,
            )

        await self._fanout.deliver(
            Happening(
                source_event_id=event_id,
                activity=Activity.COMMENT,
                space_id=space_id,
                subject=f"comment:{comment_id}",
                texts=words,
                actor_id=author_id,
                item=item,
                direct=direct,
                follow_item=True,
                follow_space=True,
            )
        )
        await self._participate(author_id, item, at)

    async def answer_posted(
        self,
        event_id: str,
        *,
        answer_id: str,
        question_id: str,
        space_id: str,
        author_id: str,
        body: str,
        at: datetime,
    ) -> None:
        if self._routing is not None:
            await self._routing.question_settled(question_id, answered=True)
        await self._models.touch_active(author_id, at)
        await self._webhook(
            event_id,
            "answer_posted",
            space_id,
            {
                "answer_id": answer_id,
                "question_id": question_id,
                "space_id": space_id,
                "author_id": author_id,
                "body": body,
            },
            at,
        )
        item = await self._models.item(question_id)
        if item is None:
            return
        actor = await self._name(author_id)
        community_id = await self._community_of(space_id)
        excerpt = texts.excerpt(body)

        def words(kind: Kind, reason: Reason) -> Template:
            own = reason is Reason.OWN_CONTENT
            line = (
                f"{texts.who(actor)} answered your question {texts.quoted(item.title)}"
                if own
                else f"{texts.who(actor)} answered {texts.quoted(item.title)}"
            )
            return self._template(
                kind,
                reason,
                line,
                item=item,
                space_id=space_id,
                community_id=community_id,
                actor_id=author_id,
                actor_name=actor,
                excerpt=excerpt,
                answer_id=answer_id,
            )

        await self._fanout.deliver(
            Happening(
                source_event_id=event_id,
                activity=Activity.ANSWER,
                space_id=space_id,
                subject=f"answer:{answer_id}",
                texts=words,
                actor_id=author_id,
                item=item,
                direct={item.author_id: frozenset({Relation.OWN_ITEM})},
                follow_item=True,
                follow_space=True,
            )
        )
        await self._participate(author_id, item, at)

    async def answer_accepted(
        self,
        event_id: str,
        *,
        answer_id: str,
        question_id: str,
        space_id: str,
        answer_author_id: str,
        accepted_by: str,
        at: datetime,
    ) -> None:
        await self._webhook(
            event_id,
            "answer_accepted",
            space_id,
            {
                "answer_id": answer_id,
                "question_id": question_id,
                "space_id": space_id,
                "answer_author_id": answer_author_id,
                "accepted_by": accepted_by,
            },
            at,
        )
        item = await self._models.item(question_id)
        if item is None:
            return
        community_id = await self._community_of(space_id)
        actor = await self._name(accepted_by)
        direct: dict[str, frozenset[Relation]] = {
            answer_author_id: frozenset({Relation.OWN_ANSWER}),
        }
        direct[item.author_id] = direct.get(item.author_id, frozenset()) | {Relation.OWN_ITEM}

        def words(kind: Kind, reason: Reason) -> Template:
            return self._template(
                kind,
                reason,
                f"An answer to {texts.quoted(item.title)} was accepted",
                item=item,
                space_id=space_id,
                community_id=community_id,
                actor_id=accepted_by,
                actor_name=actor,
                answer_id=answer_id,
            )

        def answer_words(kind: Kind, reason: Reason) -> Template:
            return replace(
                words(kind, reason),
                title=texts.title(f"Your answer to {texts.quoted(item.title)} was accepted"),
            )

        # The answer's author is told in their own words; everyone else in the others.
        await self._fanout.deliver(
            Happening(
                source_event_id=event_id,
                activity=Activity.ACCEPTED,
                space_id=space_id,
                subject=f"accepted:{answer_id}",
                texts=answer_words,
                actor_id=accepted_by,
                item=item,
                direct={answer_author_id: frozenset({Relation.OWN_ANSWER})},
            )
        )
        await self._fanout.deliver(
            Happening(
                source_event_id=event_id,
                activity=Activity.ACCEPTED,
                space_id=space_id,
                subject=f"accepted:{answer_id}",
                texts=words,
                actor_id=accepted_by,
                item=item,
                direct={item.author_id: frozenset({Relation.OWN_ITEM})},
                follow_item=True,
                follow_space=True,
                excluded=frozenset({answer_author_id}),
            )
        )

    async def idea_status_changed(
        self,
        event_id: str,
        *,
        idea_id: str,
        space_id: str,
        status: str,
        actor_id: str,
        note: str,
        at: datetime,
    ) -> None:
        await self._webhook(
            event_id,
            "idea_status_changed",
            space_id,
            {
                "idea_id": idea_id,
                "space_id": space_id,
                "status": status,
                "actor_id": actor_id,
                "note": note,
            },
            at,
        )
        item = await self._models.item(idea_id)
        if item is None:
            return
        actor = await self._name(actor_id)
        community_id = await self._community_of(space_id)
        shown = status.replace("_", " ")

        def words(kind: Kind, reason: Reason) -> Template:
            return self._template(
                kind,
                reason,
                f"{texts.quoted(item.title)} is now {shown}",
                item=item,
                space_id=space_id,
                community_id=community_id,
                actor_id=actor_id,
                actor_name=actor,
                excerpt=texts.excerpt(note),
            )

        await self._fanout.deliver(
            Happening(
                source_event_id=event_id,
                activity=Activity.IDEA_STATUS,
                space_id=space_id,
                subject=f"idea:{idea_id}:{status}",
                texts=words,
                actor_id=actor_id,
                item=item,
                direct={item.author_id: frozenset({Relation.OWN_ITEM})},
                follow_item=True,
                follow_space=True,
            )
        )

    async def mentioned(
        self,
        event_id: str,
        *,
        person_id: str,
        author_id: str,
        post_id: str,
        comment_id: str,
        space_id: str,
        at: datetime,
    ) -> None:
        item = await self._models.item(post_id)
        if item is None:
            return
        actor = await self._name(author_id)
        community_id = await self._community_of(space_id)

        def words(kind: Kind, reason: Reason) -> Template:
            where = "a comment on " if comment_id else ""
            return self._template(
                kind,
                reason,
                f"{texts.who(actor)} mentioned you in {where}{texts.quoted(item.title)}",
                item=item,
                space_id=space_id,
                community_id=community_id,
                actor_id=author_id,
                actor_name=actor,
                comment_id=comment_id,
            )

        # One notification per comment: a reply already told of it wins over the mention.
        subject = f"comment:{comment_id}" if comment_id else f"mention:{post_id}"
        await self._fanout.deliver(
            Happening(
                source_event_id=event_id,
                activity=Activity.MENTION,
                space_id=space_id,
                subject=subject,
                texts=words,
                actor_id=author_id,
                item=item,
                direct={person_id: frozenset({Relation.MENTIONED})},
            )
        )
