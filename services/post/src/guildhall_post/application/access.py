"""The access funnel: every read and write of the post service asks here first.

:class:`AccessFunnel` answers "what may this caller do in this space" for every
use case:

- **employees** from the read model, with the rules of
  :func:`guildhall_post.domain.access.employee_view` -- no synchronous call on the
  hot path;
- **partner users** by asking the community service (CheckAccess / ListSpaces)
  within a deadline, on every request, so a revoked grant or a closed pinhole is
  refused from the first request that starts after the revoking call returned.
  The read model is never consulted for them; a failed call refuses
  (UNAVAILABLE).

On top of that, the ``access_*`` functions load one item and check the caller's
view of its space: a missing item and one the caller may not see raise the same
:func:`~guildhall_post.domain.content.item_not_found`, whatever its kind.

Answers are remembered for the duration of one RPC only (on the :class:`Caller`),
so one request asks about one space and action at most once, and the next request
asks again. See docs/adr/0007-post-access-read-model.md.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from guildhall_kit.auth import Principal, PrincipalKind, require_principal
from guildhall_kit.clock import Clock, now_ms
from guildhall_kit.errors import NotFound, PermissionDenied
from guildhall_post.application.ports import (
    CommunityAccess,
    ContentRepository,
    Item,
    ReadModel,
    SpaceSets,
)
from guildhall_post.domain.access import (
    HIDDEN,
    Action,
    PinholeState,
    View,
    check_item,
    check_space,
    employee_view,
)
from guildhall_post.domain.answers import Answer
from guildhall_post.domain.comments import Comment
from guildhall_post.domain.content import item_not_found, may_see_deleted, may_see_history
from guildhall_post.domain.links import MAX_LINKS, NOTHING, LinkTarget, Shaping, linked_ids
from guildhall_post.domain.posts import Post


def space_not_found() -> NotFound:
    """The error for a space that does not exist *or* that the caller may not see."""
    return NotFound("space")


@dataclass
class Caller:
    """Who is calling, with what they sent to authenticate (forwarded to the community
    service for partner decisions) and the time their call has left."""

    principal: Principal
    authorization: str | None = None
    time_left: float | None = None
    _partner_answers: dict[tuple[str, Action], bool] = field(default_factory=dict)
    _employee_views: dict[str, View] = field(default_factory=dict)

    @property
    def person_id(self) -> str:
        return self.principal.subject

    @property
    def is_partner(self) -> bool:
        return self.principal.is_partner

    @staticmethod
    def current(authorization: str | None = None, time_left: float | None = None) -> Caller:
        """The authenticated caller of this RPC (employees and partner users only).

        Raises:
            Unauthenticated: no principal.
            PermissionDenied: a service identity (the post API is for people).
        """
        principal = require_principal(PrincipalKind.EMPLOYEE, PrincipalKind.PARTNER)
        return Caller(principal, authorization, time_left)


class AccessFunnel:
    """The one place access is decided (see the module docstring)."""

    def __init__(
        self,
        read_model: ReadModel,
        community: CommunityAccess,
        content: ContentRepository,
        *,
        clock: Clock = now_ms,
        space_sets: SpaceSets | None = None,
    ) -> None:
        self._rm = read_model
        self._community = community
        self._content = content
        self._now = clock
        self._space_sets = space_sets

    # ------------------------------------------------------------------ spaces

    async def view(self, caller: Caller, space_id: str, *actions: Action) -> View:
        """What the caller may do in ``space_id``.

        For an employee: everything (from the read model). For a partner user: READ
        and each of ``actions`` the community service confirms now.

        Raises:
            Unavailable: the community service did not answer for a partner user.
        """
        if caller.is_partner:
            return await self._partner_view(caller, space_id, actions)
        views = await self._employee_views(caller, [space_id])
        return views.get(space_id, HIDDEN)

    async def access_space(self, caller: Caller, space_id: str, action: Action) -> View:
        """The caller's view of a space they may do ``action`` in.

        Raises:
            NotFound: the space is missing or hidden (the same error).
            FailedPrecondition: a write into a read-only space.
            PermissionDenied: visible but not allowed.
            Unavailable: the community service did not answer for a partner user.
        """
        view = await self.view(caller, space_id, action)
        check_space(view, action, space_not_found())
        return view

    async def readable(self, caller: Caller, space_ids: Iterable[str]) -> set[str]:
        """The spaces among ``space_ids`` whose content the caller may read now."""
        ids = sorted(set(space_ids))
        if not ids:
            return set()
        if caller.is_partner:
            out = set()
            for space_id in ids:
                if (await self._partner_view(caller, space_id, ())).allows(Action.READ):
                    out.add(space_id)
            return out
        views = await self._employee_views(caller, ids)
        return {sid for sid, v in views.items() if v.allows(Action.READ)}

    async def home_spaces(self, caller: Caller, limit: int) -> list[str]:
        """The spaces of the caller's home feed: for an employee the readable spaces of their
        communities, for a partner user the pinholes granted to their org (asked now)."""
        if caller.is_partner:
            listed = await self._listed(caller)
            return sorted(listed)[:limit]
        now = self._now()
        now_ms = int(now.timestamp() * 1000)
        admin = caller.principal.is_home_admin
        variant = f"{'admin' if admin else 'employee'}-{limit}"
        counters = None
        if self._space_sets is not None:
            cached, counters = await self._space_sets.lookup(caller.person_id, variant, now_ms)
            if cached is not None:
                return cached
        roles = await self._rm.roles(caller.person_id)
        spaces = await self._rm.member_spaces(roles, limit)
        out = []
        for space in spaces:
            role = roles.get(space.community.community_id)
            view = employee_view(is_admin=admin, role=role, space=space, now=now)
            if view.allows(Action.READ):
                out.append(space.space_id)
        if self._space_sets is not None and counters is not None:
            # The answer holds until a pinhole among these spaces expires (or the read
            # model changes, which the counters catch).
            expiries = [
                s.pinhole.expires_at
                for s in spaces
                if s.pinhole is not None and s.pinhole.expires_at and s.pinhole.expires_at > now
            ]
            until = int(min(expiries).timestamp() * 1000) if expiries else 0
            await self._space_sets.keep(caller.person_id, variant, counters, out, until)
        return out

    async def searchable_spaces(self, caller: Caller) -> set[str]:
        """Every space whose content the caller may read now (the search access filter).

        Employees: every open community, their own communities, and those
        communities' readable pinholes, from the read model (a home admin's
        governance reach beyond their memberships is not searched: search is for
        reading, not moderation). Partner users: what ListSpaces answers now.
        """
        if caller.is_partner:
            return await self._listed(caller)
        roles = await self._rm.roles(caller.person_id)
        open_ids = set(await self._rm.open_community_ids())
        # Every employee reads every open community's main space (active or archived).
        out = set(open_ids)
        spaces = list((await self._rm.spaces(set(roles) - open_ids)).values())
        spaces.extend(await self._rm.pinholes_of(open_ids | set(roles)))
        now = self._now()
        for space in spaces:
            view = employee_view(
                is_admin=caller.principal.is_home_admin,
                role=roles.get(space.community.community_id),
                space=space,
                now=now,
            )
            if view.allows(Action.READ):
                out.add(space.space_id)
        return out

    # ------------------------------------------------------------------ items

    async def access_post(
        self, caller: Caller, post_id: str, action: Action = Action.READ, *more: Action
    ) -> tuple[Post, View]:
        """The post and the caller's view of its space, checked for ``action``.

        READ is checked first and a deleted post is hidden unless the caller is its
        author or a moderator, so nothing about an item leaks to whoever may not see it.

        Raises:
            NotFound: :func:`item_not_found` -- missing, or not for this caller.
            FailedPrecondition / PermissionDenied / Unavailable: as :meth:`access_space`.
        """
        post = await self._content.post(post_id)
        if post is None:
            raise await self._missing(caller)
        return post, await self._visible(caller, post.space_id, [post], action, *more)

    async def access_answer(
        self, caller: Caller, answer_id: str, action: Action = Action.READ
    ) -> tuple[Answer, Post, View]:
        """The answer, its question and the caller's view, checked like :meth:`access_post`."""
        answer = await self._content.answer(answer_id)
        if answer is None:
            raise await self._missing(caller)
        return await self._answer_visible(caller, answer, action)

    async def _answer_visible(
        self, caller: Caller, answer: Answer, action: Action
    ) -> tuple[Answer, Post, View]:
        question = await self._content.post(answer.question_id)
        if question is None:
            raise await self._missing(caller)
        view = await self._visible(caller, answer.space_id, [question, answer], action)
        return answer, question, view

    async def access_comment(
        self, caller: Caller, comment_id: str, action: Action = Action.READ
    ) -> tuple[Comment, View]:
        """The comment and the caller's view, checked like :meth:`access_post`."""
        comment = await self._content.comment(comment_id)
        if comment is None:
            raise await self._missing(caller)
        return await self._comment_visible(caller, comment, action)

    async def _comment_visible(
        self, caller: Caller, comment: Comment, action: Action
    ) -> tuple[Comment, View]:
        post = await self._content.post(comment.post_id)
        if post is None:
            raise await self._missing(caller)
        return comment, await self._visible(caller, comment.space_id, [post, comment], action)

    async def access_history(self, caller: Caller, item_id: str) -> Item:
        """The item (post, answer or comment) whose history the caller may see.

        Raises:
            NotFound: :func:`item_not_found` -- missing or not readable, whatever it is.
            PermissionDenied: readable, but its history is the author's and moderators'.
        """
        item: Item
        if (post := await self._content.post(item_id)) is not None:
            item, view = post, await self._visible(caller, post.space_id, [post], Action.READ)
        elif (answer := await self._content.answer(item_id)) is not None:
            item, _, view = await self._answer_visible(caller, answer, Action.READ)
        elif (comment := await self._content.comment(item_id)) is not None:
            item, view = await self._comment_visible(caller, comment, Action.READ)
        else:
            raise await self._missing(caller)
        wiki = isinstance(item, Post) and item.is_wiki
        if not may_see_history(caller.person_id, item.author_id, view, wiki=wiki):
            raise PermissionDenied("the history is visible to the author and moderators")
        return item

    async def _missing(self, caller: Caller) -> NotFound:
        """The error for a missing item. A partner's request first reaches the community
        service as a hidden item's would, so that while it is down a missing id answers
        UNAVAILABLE like an existing one: an outage tells nothing about existence."""
        if caller.is_partner:
            await self._listed(caller)
        return item_not_found()

    async def _visible(
        self, caller: Caller, space_id: str, chain: Sequence[Item], action: Action, *more: Action
    ) -> View:
        """The caller's view of ``space_id`` once READ and every item in ``chain`` (an item
        and its parents) are visible to them, checked for ``action``."""
        hidden = item_not_found()
        view = await self.view(caller, space_id, Action.READ, action, *more)
        check_item(view, Action.READ, hidden)
        for item in chain:
            if not item.published and not may_see_deleted(caller.person_id, item.author_id, view):
                raise hidden
        check_item(view, action, hidden)
        return view

    # ------------------------------------------------------------------ people, links

    async def mentionable(self, space_id: str, author_id: str, people: Sequence[str]) -> list[str]:
        """The mentioned people who may read the space, in order (never the author).

        Decided from the read models: a person the profile events have not told us
        about, or a partner whose org has no open grant on the space, is not notified.
        """
        wanted = [p for p in people if p != author_id]
        if not wanted:
            return []
        space = await self._rm.space(space_id)
        if space is None:
            return []
        known = await self._rm.people(wanted)
        roles = await self._rm.roles_in(space.community.community_id, wanted)
        now = self._now()
        out = []
        for person_id in wanted:
            person = known.get(person_id)
            if person is None:
                continue
            if person.partner:
                pinhole = space.pinhole
                if (
                    pinhole is not None
                    and pinhole.effective_state(space.community, now) is PinholeState.OPEN
                    and person.org_id in pinhole.grants
                ):
                    out.append(person_id)
                continue
            view = employee_view(is_admin=False, role=roles.get(person_id), space=space, now=now)
            if view.allows(Action.READ):
                out.append(person_id)
        return out

    async def shaping(
        self, caller: Caller, texts: Iterable[str], extra: Iterable[str] = ()
    ) -> Shaping:
        """Which of the items linked from ``texts`` (and ``extra`` ids) the caller may read."""
        ids = list(dict.fromkeys([*linked_ids(*texts), *extra]))[: MAX_LINKS * 4]
        if not ids:
            return NOTHING
        targets = await self._content.posts(ids)
        live = {i: p for i, p in targets.items() if p.published}
        readable = await self.readable(caller, {p.space_id for p in live.values()})
        return Shaping(
            available={
                i: LinkTarget(i, p.title, p.type, p.space_id)
                for i, p in live.items()
                if p.space_id in readable
            }
        )

    async def shaping_posts(self, caller: Caller, posts: Sequence[Post]) -> Shaping:
        """:meth:`shaping` for the bodies and quoted items of ``posts``."""
        return await self.shaping(
            caller, [p.body for p in posts], [p.quoted_post_id for p in posts if p.quoted_post_id]
        )

    # ------------------------------------------------------------------ internals

    async def _listed(self, caller: Caller) -> set[str]:
        listed = await self._community.list_spaces(
            caller.principal,
            Action.READ,
            authorization=caller.authorization,
            time_left=caller.time_left,
        )
        return {s.space_id for s in listed if Action.READ in s.actions}

    async def _employee_views(self, caller: Caller, space_ids: list[str]) -> dict[str, View]:
        missing = [s for s in space_ids if s not in caller._employee_views]
        if missing:
            now = self._now()
            now_ms = int(now.timestamp() * 1000)
            admin = caller.principal.is_home_admin
            variant = "admin" if admin else "employee"
            counters = None
            if self._space_sets is not None:
                cached, counters = await self._space_sets.views(
                    caller.person_id, variant, missing, now_ms
                )
                for space_id, doc in cached.items():
                    caller._employee_views[space_id] = View(
                        visible=bool(doc["visible"]),
                        actions=frozenset(Action(a) for a in doc["actions"]),
                        read_only=bool(doc["read_only"]),
                    )
                missing = [s for s in missing if s not in cached]
        if missing:
            spaces = await self._rm.spaces(missing)
            community_ids = {s.community.community_id for s in spaces.values()}
            roles = await self._rm.roles(caller.person_id, community_ids) if community_ids else {}
            fresh: dict[str, tuple[dict[str, Any], int]] = {}
            for space_id in missing:
                space = spaces.get(space_id)
                if space is None:
                    caller._employee_views[space_id] = HIDDEN
                    continue
                view = employee_view(
                    is_admin=admin,
                    role=roles.get(space.community.community_id),
                    space=space,
                    now=now,
                )
                caller._employee_views[space_id] = view
                expires = space.pinhole.expires_at if space.pinhole else None
                until = int(expires.timestamp() * 1000) if expires and expires > now else 0
                fresh[space_id] = (
                    {
                        "visible": view.visible,
                        "actions": sorted(a.value for a in view.actions),
                        "read_only": view.read_only,
                    },
                    until,
                )
            if self._space_sets is not None and counters is not None:
                # Missing spaces are not stored: one created later must not stay hidden.
                await self._space_sets.keep_views(caller.person_id, variant, counters, fresh)
        return {s: caller._employee_views[s] for s in space_ids}

    async def _partner_view(self, caller: Caller, space_id: str, actions: Iterable[Action]) -> View:
        # READ first: a partner who may not read the space sees nothing of it.
        if not await self._partner_allows(caller, space_id, Action.READ):
            return HIDDEN
        allowed = {Action.READ}
        for action in actions:
            if action is not Action.READ and await self._partner_allows(caller, space_id, action):
                allowed.add(action)
        return View(visible=True, actions=frozenset(allowed))

    async def _partner_allows(self, caller: Caller, space_id: str, action: Action) -> bool:
        key = (space_id, action)
        if key not in caller._partner_answers:
            caller._partner_answers[key] = await self._community.check(
                caller.principal,
                space_id,
                action,
                authorization=caller.authorization,
                time_left=caller.time_left,
            )
        return caller._partner_answers[key]
