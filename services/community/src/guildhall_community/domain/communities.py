"""Operations on communities and memberships.

Each function takes the current state, the acting principal, the acting
principal's own :class:`Membership` in the community (``actor_membership``,
None if they have none), the command's fields and ``now``; it returns a
:class:`.changes.Change` (apply it as that module says). No I/O; arguments
are never mutated.

Order of checks, the same in every operation:

1. partner principals: PERMISSION_DENIED before anything is looked at — the
   methods are employee-only, so the answer reveals nothing about the ids;
2. the funnel (:func:`.access.access_community`): NOT_FOUND when the principal
   may not see the community — adapters raise the same
   :func:`.access.missing_community` for an unknown id;
3. FAILED_PRECONDITION when the community's own state, which the principal can
   already see, forbids the operation (archived);
4. PERMISSION_DENIED when their rights do not cover it;
5. checks about the *target* person (their membership, pending request, the
   last-owner rule) — after authorisation, so only authorised callers learn them.

When the requested end state already holds exactly (joining as a member,
adding someone who is a member, changing a role to the role held, archiving
an archived community), the result is :data:`.changes.NO_CHANGE`, so retries
are safe.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from guildhall_kit.errors import Aborted, FailedPrecondition, InvalidArgument, NotFound

from .access import AccessFacts, Action, access_community, facts_for
from .changes import NO_CHANGE, Change, Write
from .events import (
    CommunityCreated,
    CommunityUpdated,
    JoinPath,
    JoinRequested,
    JoinRequestRejected,
    LeaveReason,
    MemberJoined,
    MemberLeft,
    RoleChanged,
)
from .model import (
    DESCRIPTION_MAX_BYTES,
    MAX_STAFF,
    MESSAGE_MAX_BYTES,
    NAME_MAX_CHARS,
    STAFF_ROLES,
    Community,
    CommunityState,
    JoinRequest,
    JoinRequestState,
    Membership,
    MembershipStatus,
    Role,
    Visibility,
    check_id,
    check_line,
    check_tags,
    check_text,
    require_aware,
)
from .principal import Principal, PrincipalKind, require_employee

# ------------------------------------------------------------------ helpers


def _enter(
    community: Community,
    principal: Principal,
    actor_membership: Membership | None,
    action: Action | None,
    *,
    now: datetime,
    needs_active: bool,
) -> AccessFacts:
    """Checks 1-4 of the module docstring; returns the actor's facts."""
    require_employee(principal)
    require_aware(now)
    _check_belongs(community, principal.subject, actor_membership)
    facts = facts_for(principal, community, actor_membership, now=now)
    access_community(principal, community, facts, None)
    if needs_active and community.is_archived:
        raise FailedPrecondition("the community is archived")
    if action is not None:
        access_community(principal, community, facts, action)
    return facts


def _require_live_right(
    community: Community, principal: Principal, facts: AccessFacts, action: Action
) -> None:
    """Check ``action`` as if the community were active (for no-ops on archived ones)."""
    live = replace(community, state=CommunityState.ACTIVE)
    access_community(principal, live, facts, action)


def _check_belongs(community: Community, person_id: str, membership: Membership | None) -> None:
    if membership is not None and (
        membership.community_id != community.id or membership.person_id != person_id
    ):
        raise ValueError("membership does not belong to this community and person")


def _target(community: Community, person_id: str, membership: Membership | None) -> Role | None:
    check_id(person_id, field="person_id")
    _check_belongs(community, person_id, membership)
    return community.role_of(person_id, membership)


def _next(
    community: Community,
    person_id: str,
    previous: Membership | None,
    status: MembershipStatus,
    *,
    by: str,
    now: datetime,
    request: JoinRequest | None = None,
    joined_at: datetime | None = None,
    role: Role | None = None,
) -> Membership:
    """The membership document after a status change (the first, or the next version).

    An active membership starts at ``joined_at`` (default ``now``); other
    statuses keep the last start. The listed role is ``role`` when given;
    a membership that becomes active is a MEMBER unless told otherwise; any
    other change keeps the previous one. ``role_changed_at`` moves whenever
    the listed role or the membership's start does.
    """
    was_active = previous is not None and previous.is_active
    if status is MembershipStatus.ACTIVE:
        if joined_at is None and previous is not None and was_active:
            joined_at = previous.joined_at
        joined_at = joined_at or now
    else:
        joined_at = None if previous is None else previous.joined_at
    if request is None and previous is not None:
        request = previous.request
    previous_role = previous.role if previous is not None else Role.MEMBER
    if role is None:
        role = previous_role if was_active or status is not MembershipStatus.ACTIVE else Role.MEMBER
    role_changed_at = None if previous is None else previous.role_changed_at
    if status is MembershipStatus.ACTIVE and (not was_active or role is not previous_role):
        role_changed_at = now
    return Membership(
        community_id=community.id,
        person_id=person_id,
        status=status,
        changed_at=now,
        changed_by=by,
        joined_at=joined_at,
        request=request,
        version=1 if previous is None else previous.version + 1,
        role=role,
        role_changed_at=role_changed_at,
    )


def _decided(
    membership: Membership, state: JoinRequestState, *, by: str, now: datetime, reason: str = ""
) -> JoinRequest | None:
    """The membership's pending request, decided; None if nothing was pending."""
    pending = membership.pending_request
    if pending is None:
        return None
    return replace(pending, state=state, decided_by=by, decided_at=now, reason=reason)


def _bump(community: Community, now: datetime, **changes: Any) -> Community:
    return replace(community, **changes, updated_at=now, version=community.version + 1)


def _staff_without(community: Community, person_id: str) -> dict[str, Role]:
    return {p: r for p, r in community.staff.items() if p != person_id}


def _guard_last_owner(community: Community, person_id: str) -> None:
    if community.owners == {person_id}:
        raise FailedPrecondition("a community needs an owner: make someone else owner first")


def _guard_staff_room(community: Community) -> None:
    if len(community.staff) >= MAX_STAFF:
        raise FailedPrecondition(f"a community has at most {MAX_STAFF} owners and moderators")


def _no_membership(person_id: str) -> NotFound:
    return NotFound("membership", person_id)


# --------------------------------------------------------------- lifecycle


def create_community(
    principal: Principal,
    *,
    community_id: str,
    name: str,
    description: str,
    visibility: Visibility,
    tags: Sequence[str] = (),
    now: datetime,
) -> Change:
    """Create a community; the creator is its first owner (CommunityCreated).

    Any employee may create one. Whether ``community_id`` (chosen by the
    adapter) or the name is taken is the adapter's to check (AlreadyExists).

    Writes: the creator's membership (no event), then the community
    (CommunityCreated). A crash in between leaves a membership of a community
    that does not exist, which nothing can see.

    Raises:
        PermissionDenied: a partner principal.
        InvalidArgument: a malformed field.
    """
    require_employee(principal)
    require_aware(now)
    check_id(community_id, field="community_id")
    check_line(name, field="name", max_chars=NAME_MAX_CHARS)
    check_text(description, field="description", max_bytes=DESCRIPTION_MAX_BYTES, required=False)
    tag_tuple = check_tags(tuple(tags))
    me = principal.subject
    community = Community(
        id=community_id,
        name=name,
        description=description,
        visibility=visibility,
        state=CommunityState.ACTIVE,
        tags=tag_tuple,
        staff={me: Role.OWNER},
        created_by=me,
        created_at=now,
        updated_at=now,
    )
    membership = _next(
        community, me, None, MembershipStatus.ACTIVE, by=me, now=now, role=Role.OWNER
    )
    event = CommunityCreated(
        community_id=community_id,
        occurred_at=now,
        actor_id=me,
        name=name,
        description=description,
        visibility=visibility,
        state=community.state,
        tags=tag_tuple,
        version=community.version,
        owner_id=me,
    )
    return Change(writes=(Write(membership), Write(community, (event,))))


def _updated(community: Community, actor: str, changed: tuple[str, ...]) -> Change:
    event = CommunityUpdated(
        community_id=community.id,
        occurred_at=community.updated_at,
        actor_id=actor,
        name=community.name,
        description=community.description,
        visibility=community.visibility,
        state=community.state,
        tags=community.tags,
        version=community.version,
        changed_fields=changed,
    )
    return Change(writes=(Write(community, (event,)),))


def update_community(
    community: Community,
    principal: Principal,
    *,
    actor_membership: Membership | None,
    name: str | None = None,
    description: str | None = None,
    visibility: Visibility | None = None,
    expected_version: int | None = None,
    now: datetime,
) -> Change:
    """Change name, description and/or visibility; None keeps a field (CommunityUpdated).

    Needs ADMINISTER (an owner or a home admin). No change when nothing differs.

    Raises:
        PermissionDenied: a partner, or a principal without ADMINISTER.
        NotFound: the principal may not see the community.
        FailedPrecondition: the community is archived.
        InvalidArgument: a malformed field.
        Aborted: ``expected_version`` is not the community's version.
    """
    _enter(community, principal, actor_membership, Action.ADMINISTER, now=now, needs_active=True)
    if expected_version is not None and expected_version != community.version:
        raise Aborted(f"the community is at version {community.version}; re-read and retry")
    changes: dict[str, Any] = {}
    if name is not None:
        check_line(name, field="name", max_chars=NAME_MAX_CHARS)
        if name != community.name:
            changes["name"] = name
    if description is not None:
        check_text(
            description, field="description", max_bytes=DESCRIPTION_MAX_BYTES, required=False
        )
        if description != community.description:
            changes["description"] = description
    if visibility is not None and visibility is not community.visibility:
        changes["visibility"] = visibility
    if not changes:
        return NO_CHANGE
    return _updated(_bump(community, now, **changes), principal.subject, tuple(changes))


def archive_community(
    community: Community,
    principal: Principal,
    *,
    actor_membership: Membership | None,
    now: datetime,
) -> Change:
    """Archive the community (CommunityUpdated, ``state`` changed). Final.

    Its spaces become read-only and its pinholes close at once for every
    decision (:func:`.access.effective_state`); a sweeper records each with
    :func:`.pinholes.close_lapsed`. Archiving an archived community is no change.

    Raises:
        PermissionDenied: a partner, or a principal without ADMINISTER (as if active).
        NotFound: the principal may not see the community.
    """
    facts = _enter(community, principal, actor_membership, None, now=now, needs_active=False)
    _require_live_right(community, principal, facts, Action.ADMINISTER)
    if community.is_archived:
        return NO_CHANGE
    return _updated(
        _bump(community, now, state=CommunityState.ARCHIVED), principal.subject, ("state",)
    )


# ------------------------------------------------------- joining and leaving


def join(
    community: Community,
    principal: Principal,
    *,
    membership: Membership | None,
    now: datetime,
) -> Change:
    """The principal joins an open community (MemberJoined, path joined).

    ``membership`` is the principal's own membership (None if none). No change
    if already a member.

    Raises:
        PermissionDenied: a partner.
        NotFound: a secret community the principal is not a member of.
        FailedPrecondition: archived; a private community (use
            :func:`request_membership`); a secret one (members are added by its
            staff — only a home admin can see it without being a member).
    """
    facts = _enter(community, principal, membership, None, now=now, needs_active=True)
    if facts.role is not None:
        return NO_CHANGE
    if community.visibility is Visibility.PRIVATE:
        raise FailedPrecondition("a private community is joined by request")
    if community.visibility is Visibility.SECRET:
        raise FailedPrecondition("members of a secret community are added by its staff")
    me = principal.subject
    return _joined(community, me, membership, Role.MEMBER, JoinPath.JOINED, by=me, now=now)


def _joined(
    community: Community,
    person_id: str,
    previous: Membership | None,
    role: Role,
    path: JoinPath,
    *,
    by: str,
    now: datetime,
    request: JoinRequest | None = None,
) -> Change:
    """The person becomes a member with ``role``.

    A plain member is one write (membership + MemberJoined). A moderator added
    directly is two: the staff entry first, with the event — from then on they
    are a moderator and a member (the staff entry implies membership) — and then
    their membership document, which member lists page through.
    """
    active = _next(
        community,
        person_id,
        previous,
        MembershipStatus.ACTIVE,
        by=by,
        now=now,
        request=request,
        role=role,
    )
    event = MemberJoined(
        community_id=community.id,
        occurred_at=now,
        actor_id=by,
        person_id=person_id,
        membership_version=active.version,
        role=role,
        path=path,
    )
    if role is Role.MEMBER:
        return Change(writes=(Write(active, (event,)),))
    staff = dict(community.staff)
    staff[person_id] = role
    return Change(writes=(Write(_bump(community, now, staff=staff), (event,)), Write(active)))


def request_membership(
    community: Community,
    principal: Principal,
    *,
    membership: Membership | None,
    message: str = "",
    now: datetime,
) -> Change:
    """The principal asks to join a private community (JoinRequested).

    No change if a request is already pending.

    Raises:
        PermissionDenied: a partner.
        NotFound: a secret community the principal is not a member of.
        FailedPrecondition: archived; not a private community; already a member.
        InvalidArgument: ``message`` is malformed.
    """
    facts = _enter(community, principal, membership, None, now=now, needs_active=True)
    if community.visibility is not Visibility.PRIVATE:
        raise FailedPrecondition(f"a {community.visibility.value} community takes no join requests")
    if facts.role is not None:
        raise FailedPrecondition("already a member")
    if membership is not None and membership.pending_request is not None:
        return NO_CHANGE
    check_text(message, field="message", max_bytes=MESSAGE_MAX_BYTES, required=False)
    me = principal.subject
    requested = _next(
        community,
        me,
        membership,
        MembershipStatus.REQUESTED,
        by=me,
        now=now,
        request=JoinRequest(message=message, requested_at=now),
    )
    event = JoinRequested(
        community_id=community.id,
        occurred_at=now,
        actor_id=me,
        person_id=me,
        membership_version=requested.version,
        message=message,
    )
    return Change(writes=(Write(requested, (event,)),))


def leave(
    community: Community,
    principal: Principal,
    *,
    membership: Membership | None,
    now: datetime,
) -> Change:
    """The principal leaves the community (MemberLeft, reason left). Allowed when archived.

    Raises:
        PermissionDenied: a partner.
        NotFound: the principal may not see the community, or is not a member.
        FailedPrecondition: the principal is its last owner.
    """
    facts = _enter(community, principal, membership, None, now=now, needs_active=False)
    me = principal.subject
    if facts.role is None:
        raise _no_membership(me)
    return _ended(community, me, membership, facts.role, by=me, now=now)


def _ended(
    community: Community,
    person_id: str,
    membership: Membership | None,
    role: Role,
    *,
    by: str,
    now: datetime,
) -> Change:
    """End a membership. Staff: the membership document first (no event; still staff, so
    still a member), then the staff entry with MemberLeft."""
    ended = None
    if membership is not None and membership.status is not MembershipStatus.ENDED:
        ended = _next(community, person_id, membership, MembershipStatus.ENDED, by=by, now=now)
    last = ended or membership
    event = MemberLeft(
        community_id=community.id,
        occurred_at=now,
        actor_id=by,
        person_id=person_id,
        membership_version=0 if last is None else last.version,
        reason=LeaveReason.LEFT if by == person_id else LeaveReason.REMOVED,
        role=role,
    )
    if role is Role.MEMBER:
        assert ended is not None  # a plain member's role comes from an active membership
        return Change(writes=(Write(ended, (event,)),))
    _guard_last_owner(community, person_id)
    without = Write(_bump(community, now, staff=_staff_without(community, person_id)), (event,))
    return Change(writes=(Write(ended), without) if ended is not None else (without,))


# ---------------------------------------------------------- staff decisions


def approve_request(
    community: Community,
    principal: Principal,
    *,
    actor_membership: Membership | None,
    person_id: str,
    target_membership: Membership | None,
    now: datetime,
) -> Change:
    """Approve ``person_id``'s pending join request: they become a member (MemberJoined).

    Needs MODERATE (owner, moderator, home admin).

    Raises:
        PermissionDenied: a partner, or a principal without MODERATE.
        NotFound: the principal may not see the community; or no pending
            request from that person.
        FailedPrecondition: archived.
    """
    _enter(community, principal, actor_membership, Action.MODERATE, now=now, needs_active=True)
    _target(community, person_id, target_membership)
    if target_membership is None or target_membership.pending_request is None:
        raise NotFound("join request", person_id)
    me = principal.subject
    decided = _decided(target_membership, JoinRequestState.APPROVED, by=me, now=now)
    return _joined(
        community,
        person_id,
        target_membership,
        Role.MEMBER,
        JoinPath.REQUEST_APPROVED,
        by=me,
        now=now,
        request=decided,
    )


def reject_request(
    community: Community,
    principal: Principal,
    *,
    actor_membership: Membership | None,
    person_id: str,
    target_membership: Membership | None,
    reason: str = "",
    now: datetime,
) -> Change:
    """Reject ``person_id``'s pending join request (JoinRequestRejected).

    Raises:
        PermissionDenied: a partner, or a principal without MODERATE.
        NotFound: the principal may not see the community; or no pending
            request from that person.
        FailedPrecondition: archived.
        InvalidArgument: ``reason`` is malformed.
    """
    _enter(community, principal, actor_membership, Action.MODERATE, now=now, needs_active=True)
    _target(community, person_id, target_membership)
    if target_membership is None or target_membership.pending_request is None:
        raise NotFound("join request", person_id)
    check_text(reason, field="reason", max_bytes=MESSAGE_MAX_BYTES, required=False)
    me = principal.subject
    rejected = _next(
        community,
        person_id,
        target_membership,
        MembershipStatus.ENDED,
        by=me,
        now=now,
        request=_decided(
            target_membership, JoinRequestState.REJECTED, by=me, now=now, reason=reason
        ),
    )
    event = JoinRequestRejected(
        community_id=community.id,
        occurred_at=now,
        actor_id=me,
        person_id=person_id,
        membership_version=rejected.version,
        reason=reason,
    )
    return Change(writes=(Write(rejected, (event,)),))


def invite(
    community: Community,
    principal: Principal,
    *,
    actor_membership: Membership | None,
    person_id: str,
    invitee_kind: PrincipalKind,
    target_membership: Membership | None,
    role: Role = Role.MEMBER,
    now: datetime,
) -> Change:
    """Add an employee to the community at once, as member or moderator (MemberJoined, invited).

    An enterprise invitation has no acceptance step (the person can leave).
    This is also how people get into a secret community. Adding someone with a
    pending join request approves it. No change if they are already a member
    (a staff member whose membership document a crash left missing gets it
    written, without an event).
    ``invitee_kind`` comes from the profile read model (the adapter answers an
    unknown person with NotFound).

    Raises:
        PermissionDenied: a partner; a principal without MODERATE; or without
            ADMINISTER (owner, home admin) to add a moderator.
        NotFound: the principal may not see the community.
        FailedPrecondition: archived; the invitee is a partner user (partners
            take part through pinholes only); no room for another moderator.
        InvalidArgument: ``role`` is OWNER (make a member owner with :func:`change_role`).
    """
    facts = _enter(
        community, principal, actor_membership, Action.MODERATE, now=now, needs_active=True
    )
    if role is Role.OWNER:
        raise InvalidArgument("role", "add as member or moderator, then change the role")
    if role is Role.MODERATOR:
        access_community(principal, community, facts, Action.ADMINISTER)
    if invitee_kind is not PrincipalKind.EMPLOYEE:
        raise FailedPrecondition("partner users cannot be community members")
    if _target(community, person_id, target_membership) is not None:
        # Staff whose membership document a crash left missing or ended get it written
        # (without an event: nobody's rights change); anyone else is already a member.
        return reconcile_membership(
            community, person_id, target_membership, by=principal.subject, now=now
        )
    if role is Role.MODERATOR:
        _guard_staff_room(community)
    me = principal.subject
    decided = None
    if target_membership is not None:
        decided = _decided(target_membership, JoinRequestState.APPROVED, by=me, now=now)
    return _joined(
        community,
        person_id,
        target_membership,
        role,
        JoinPath.INVITED,
        by=me,
        now=now,
        request=decided,
    )


def remove_member(
    community: Community,
    principal: Principal,
    *,
    actor_membership: Membership | None,
    person_id: str,
    target_membership: Membership | None,
    now: datetime,
) -> Change:
    """Remove a member (MemberLeft, reason removed).

    Owners and home admins remove anyone; moderators remove plain members.
    Allowed in an archived community for those who keep MODERATE there (home
    admins).

    Raises:
        PermissionDenied: a partner; a principal without MODERATE; or without
            ADMINISTER when the person is an owner or moderator.
        NotFound: the principal may not see the community; or the person is
            not a member.
        InvalidArgument: ``person_id`` is the principal (use :func:`leave`).
        FailedPrecondition: the person is the last owner.
    """
    facts = _enter(
        community, principal, actor_membership, Action.MODERATE, now=now, needs_active=False
    )
    if person_id == principal.subject:
        raise InvalidArgument("person_id", "cannot remove yourself; leave instead")
    role = _target(community, person_id, target_membership)
    if role is None:
        raise _no_membership(person_id)
    if role in STAFF_ROLES:
        access_community(principal, community, facts, Action.ADMINISTER)
    return _ended(community, person_id, target_membership, role, by=principal.subject, now=now)


def change_role(
    community: Community,
    principal: Principal,
    *,
    actor_membership: Membership | None,
    person_id: str,
    target_membership: Membership | None,
    role: Role,
    now: datetime,
) -> Change:
    """Give a member a new role (RoleChanged). Needs ADMINISTER (an owner or a home admin).

    Owners may step down while another owner remains. Two writes: the
    person's membership document first, with the listed role and
    ``role_changed_at`` (restored to active if a crash left it ended; no
    event), then the community's staff with RoleChanged. Decisions follow
    the staff entry, so a crash in between changes nothing anyone can do, and
    re-running the operation completes it.

    Raises:
        PermissionDenied: a partner, or a principal without ADMINISTER.
        NotFound: the principal may not see the community; or the person is
            not a member.
        FailedPrecondition: the change would leave the community without an
            owner; or no room for another owner or moderator.
    """
    _enter(community, principal, actor_membership, Action.ADMINISTER, now=now, needs_active=False)
    previous = _target(community, person_id, target_membership)
    if previous is None:
        raise _no_membership(person_id)
    if previous is role:
        return NO_CHANGE
    if previous is Role.OWNER:
        _guard_last_owner(community, person_id)
    staff = _staff_without(community, person_id)
    if role in STAFF_ROLES:
        if previous not in STAFF_ROLES:
            _guard_staff_room(community)
        staff[person_id] = role
    me = principal.subject
    listed = _next(
        community,
        person_id,
        target_membership,
        MembershipStatus.ACTIVE,
        by=me,
        now=now,
        joined_at=None if target_membership is None else target_membership.joined_at,
        role=role,
    )
    event = RoleChanged(
        community_id=community.id,
        occurred_at=now,
        actor_id=me,
        person_id=person_id,
        membership_version=listed.version,
        previous_role=previous,
        role=role,
    )
    return Change(writes=(Write(listed), Write(_bump(community, now, staff=staff), (event,))))


def reconcile_membership(
    community: Community,
    person_id: str,
    membership: Membership | None,
    *,
    by: str,
    now: datetime,
) -> Change:
    """Make a person's membership document agree with the community's staff entry.

    Decisions follow the staff entry; member lists and the listed role follow
    the membership document. Two-document operations write the membership
    document first, so when their second write loses a compare-and-set and
    the re-run is refused (two owners leaving at once: one of them is now the
    last owner), or a process dies in between, the document can disagree:
    ended for someone still staff, or listing a role the staff entry does not
    give. This writes it back (no event: nobody's rights change) — restored to
    active with the staff role, or with the role corrected. No change when
    they agree, and for people who are not members.
    """
    require_aware(now)
    _check_belongs(community, person_id, membership)
    staff_role = community.staff.get(person_id)
    active = membership is not None and membership.is_active
    if staff_role is not None and not active:
        restored = _next(
            community,
            person_id,
            membership,
            MembershipStatus.ACTIVE,
            by=by,
            now=now,
            role=staff_role,
        )
        return Change(writes=(Write(restored),))
    if membership is None or not active:
        return NO_CHANGE
    listed = staff_role or Role.MEMBER
    if membership.role is listed:
        return NO_CHANGE
    return Change(
        writes=(
            Write(
                _next(
                    community,
                    person_id,
                    membership,
                    MembershipStatus.ACTIVE,
                    by=by,
                    now=now,
                    role=listed,
                )
            ),
        )
    )
