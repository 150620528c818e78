"""Operations on pinholes: propose, open, grant, revoke, close, and the expiry sweep.

Life cycle: PROPOSED → OPEN → CLOSED, or PROPOSED → CLOSED (a withdrawn
proposal). CLOSED is final. A pinhole past its expiry, or whose community is
archived, is CLOSED for every decision from that instant
(:func:`.access.effective_state`); :func:`close_lapsed` is what a sweeper
calls to record it and publish PinholeClosed.

Every operation but the sweep is employee-only and checks in the order the
community operations do: PERMISSION_DENIED for partners before anything is
looked at; NOT_FOUND when the principal may not see the pinhole (adapters
raise the same :func:`.access.missing_pinhole` for an unknown id);
FAILED_PRECONDITION for a transition the pinhole's effective state does not
allow; PERMISSION_DENIED when the principal's rights do not cover it; then
checks about the target org.

Who may do what:

- propose: MODERATE on the community's main space (owner, moderator, home admin);
- open and grant: ADMINISTER on the pinhole (community owner, home admin) and,
  under the ``admin_only`` policy, a home admin — opening and choosing who
  gets in are the decisions that expose content outside the enterprise;
- revoke and close: ADMINISTER on the pinhole (community owner, home admin),
  whatever the policy — reducing exposure never waits for an admin.

Grants may be set while the pinhole is proposed (they apply once it opens) or
open. One grant per org; granting again changes the level; granting the level
an org already has is no change.

Applying a change: one write of the pinhole (compare-and-set on ``version``)
with its events in the pinhole's outbox (:mod:`.changes`).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from guildhall_kit.errors import FailedPrecondition, InvalidArgument, NotFound, PermissionDenied

from .access import (
    AccessFacts,
    Action,
    access_community,
    access_pinhole,
    effective_state,
    facts_for,
)
from .changes import NO_CHANGE, Change, Write
from .events import PinholeClosed, PinholeGranted, PinholeOpened, PinholeProposed, PinholeRevoked
from .model import (
    PURPOSE_MAX_BYTES,
    TITLE_MAX_CHARS,
    CloseReason,
    Community,
    CommunityState,
    Grant,
    GrantLevel,
    Membership,
    PartnerOrg,
    Pinhole,
    PinholeOpenPolicy,
    PinholeState,
    check_id,
    check_line,
    check_text,
    require_aware,
)
from .principal import Principal, require_employee

_LIVE = frozenset({PinholeState.PROPOSED, PinholeState.OPEN})


def _enter(
    pinhole: Pinhole,
    community: Community,
    principal: Principal,
    actor_membership: Membership | None,
    *,
    now: datetime,
    allowed: frozenset[PinholeState],
    action: Action,
) -> AccessFacts:
    require_employee(principal)
    require_aware(now)
    if pinhole.community_id != community.id:
        raise ValueError("pinhole and community do not belong together")
    facts = _actor_facts(community, principal, actor_membership, now)
    access_pinhole(principal, pinhole, community, facts, None)
    if effective_state(pinhole, community, now) not in allowed:
        raise FailedPrecondition(f"the pinhole is {_describe(pinhole, community, now)}")
    access_pinhole(principal, pinhole, community, facts, action)
    return facts


def _actor_facts(
    community: Community,
    principal: Principal,
    actor_membership: Membership | None,
    now: datetime,
) -> AccessFacts:
    if actor_membership is not None and (
        actor_membership.community_id != community.id
        or actor_membership.person_id != principal.subject
    ):
        raise ValueError("membership does not belong to this community and principal")
    return facts_for(principal, community, actor_membership, now=now)


def _describe(pinhole: Pinhole, community: Community, now: datetime) -> str:
    if pinhole.state is not PinholeState.CLOSED:
        if pinhole.is_expired(now):
            return "closed (expired)"
        if community.is_archived:
            return "closed (its community is archived)"
    return str(pinhole.state.value)


def _bump(pinhole: Pinhole, **changes: Any) -> Pinhole:
    return replace(pinhole, **changes, version=pinhole.version + 1)


def _check_policy(principal: Principal, policy: PinholeOpenPolicy, what: str) -> None:
    if policy is PinholeOpenPolicy.ADMIN_ONLY and not principal.is_home_admin:
        raise PermissionDenied(f"only a home admin may {what}")


def propose_pinhole(
    community: Community,
    principal: Principal,
    *,
    actor_membership: Membership | None,
    pinhole_id: str,
    title: str,
    purpose: str,
    expires_at: datetime | None = None,
    now: datetime,
) -> Change:
    """Propose a pinhole in ``community`` (PinholeProposed). ``pinhole_id`` is the adapter's.

    Raises:
        PermissionDenied: a partner, or a principal without MODERATE on the community.
        NotFound: the principal may not see the community.
        FailedPrecondition: the community is archived.
        InvalidArgument: a malformed field; ``expires_at`` not in the future or
            without a timezone.
    """
    require_employee(principal)
    require_aware(now)
    facts = _actor_facts(community, principal, actor_membership, now)
    access_community(principal, community, facts, None)
    if community.is_archived:
        raise FailedPrecondition("the community is archived")
    access_community(principal, community, facts, Action.MODERATE)
    check_id(pinhole_id, field="pinhole_id")
    check_line(title, field="title", max_chars=TITLE_MAX_CHARS)
    check_text(purpose, field="purpose", max_bytes=PURPOSE_MAX_BYTES, required=True)
    if expires_at is not None:
        if expires_at.tzinfo is None or expires_at.utcoffset() is None:
            raise InvalidArgument("expires_at", "must carry a timezone")
        if expires_at <= now:
            raise InvalidArgument("expires_at", "must be in the future")
    pinhole = Pinhole(
        id=pinhole_id,
        community_id=community.id,
        title=title,
        purpose=purpose,
        expires_at=expires_at,
        state=PinholeState.PROPOSED,
        grants={},
        proposed_by=principal.subject,
        proposed_at=now,
    )
    event = PinholeProposed(
        pinhole_id=pinhole_id,
        community_id=community.id,
        version=pinhole.version,
        occurred_at=now,
        actor_id=principal.subject,
        title=title,
        purpose=purpose,
        expires_at=expires_at,
    )
    return Change(writes=(Write(pinhole, (event,)),))


def open_pinhole(
    pinhole: Pinhole,
    community: Community,
    principal: Principal,
    *,
    actor_membership: Membership | None,
    policy: PinholeOpenPolicy,
    now: datetime,
) -> Change:
    """Open a proposed pinhole (PinholeOpened): its grants apply from now.

    Raises:
        PermissionDenied: a partner; a principal without ADMINISTER on the
            pinhole; not a home admin under the ``admin_only`` policy.
        NotFound: the principal may not see the pinhole.
        FailedPrecondition: not PROPOSED (already open, closed, expired, or its
            community archived).
    """
    _enter(
        pinhole,
        community,
        principal,
        actor_membership,
        now=now,
        allowed=frozenset({PinholeState.PROPOSED}),
        action=Action.ADMINISTER,
    )
    _check_policy(principal, policy, "open a pinhole")
    opened = _bump(pinhole, state=PinholeState.OPEN, opened_by=principal.subject, opened_at=now)
    event = PinholeOpened(
        pinhole_id=pinhole.id,
        community_id=community.id,
        version=opened.version,
        occurred_at=now,
        actor_id=principal.subject,
        expires_at=opened.expires_at,
        grants=tuple(sorted(opened.grants.values(), key=lambda g: g.org_id)),
    )
    return Change(writes=(Write(opened, (event,)),))


def grant(
    pinhole: Pinhole,
    community: Community,
    principal: Principal,
    *,
    actor_membership: Membership | None,
    org: PartnerOrg,
    level: GrantLevel,
    policy: PinholeOpenPolicy,
    now: datetime,
) -> Change:
    """Grant partner org ``org`` ``level``, or change its level (PinholeGranted).

    ``org`` is what the profile read model knows of the org; the adapter
    answers an unknown org id with NotFound before calling this. No change if
    the org already has ``level``.

    Raises:
        PermissionDenied: a partner; a principal without ADMINISTER on the
            pinhole; not a home admin under the ``admin_only`` policy.
        NotFound: the principal may not see the pinhole.
        FailedPrecondition: the pinhole is closed; the org is the home
            enterprise or is suspended.
    """
    _enter(
        pinhole,
        community,
        principal,
        actor_membership,
        now=now,
        allowed=_LIVE,
        action=Action.ADMINISTER,
    )
    _check_policy(principal, policy, "grant a pinhole")
    check_id(org.org_id, field="org_id")
    if org.is_home or org.org_id == principal.org_id:
        raise FailedPrecondition("the home enterprise is not granted pinholes")
    if org.suspended:
        raise FailedPrecondition("the organisation is suspended")
    previous = pinhole.grants.get(org.org_id)
    if previous is not None and previous.level is level:
        return NO_CHANGE
    grants = dict(pinhole.grants)
    grants[org.org_id] = Grant(
        org_id=org.org_id, level=level, granted_by=principal.subject, granted_at=now
    )
    granted = _bump(pinhole, grants=grants)
    event = PinholeGranted(
        pinhole_id=pinhole.id,
        community_id=community.id,
        version=granted.version,
        occurred_at=now,
        actor_id=principal.subject,
        org_id=org.org_id,
        level=level,
        previous_level=None if previous is None else previous.level,
    )
    return Change(writes=(Write(granted, (event,)),))


def revoke(
    pinhole: Pinhole,
    community: Community,
    principal: Principal,
    *,
    actor_membership: Membership | None,
    org_id: str,
    now: datetime,
) -> Change:
    """Take ``org_id``'s grant away (PinholeRevoked).

    Once the adapter's write is acknowledged, every decision for that org's
    users answers no (docs/access-model.md, "Revocation").

    Raises:
        PermissionDenied: a partner, or a principal without ADMINISTER on the pinhole.
        NotFound: the principal may not see the pinhole; or the org has no grant.
        FailedPrecondition: the pinhole is closed (no partner reaches it anyway).
    """
    _enter(
        pinhole,
        community,
        principal,
        actor_membership,
        now=now,
        allowed=_LIVE,
        action=Action.ADMINISTER,
    )
    check_id(org_id, field="org_id")
    if org_id not in pinhole.grants:
        raise NotFound("grant", org_id)
    revoked = _bump(pinhole, grants={o: g for o, g in pinhole.grants.items() if o != org_id})
    event = PinholeRevoked(
        pinhole_id=pinhole.id,
        community_id=community.id,
        version=revoked.version,
        occurred_at=now,
        actor_id=principal.subject,
        org_id=org_id,
    )
    return Change(writes=(Write(revoked, (event,)),))


def close_pinhole(
    pinhole: Pinhole,
    community: Community,
    principal: Principal,
    *,
    actor_membership: Membership | None,
    now: datetime,
) -> Change:
    """Close the pinhole for good (PinholeClosed, reason manual).

    Partners lose access at once; the content stays readable for the
    enterprise; nobody posts. Closing a closed pinhole is no change; closing
    one that lapsed (expired, or its community archived) but is not yet
    recorded records it as :func:`close_lapsed` does.

    Raises:
        PermissionDenied: a partner, or a principal without ADMINISTER on the
            pinhole (judged as if it were still live, so re-closing needs the
            same right as closing).
        NotFound: the principal may not see the pinhole.
    """
    require_employee(principal)
    require_aware(now)
    if pinhole.community_id != community.id:
        raise ValueError("pinhole and community do not belong together")
    facts = _actor_facts(community, principal, actor_membership, now)
    access_pinhole(principal, pinhole, community, facts, None)
    live_community = replace(community, state=CommunityState.ACTIVE)
    live_pinhole = replace(pinhole, state=PinholeState.OPEN, expires_at=None)
    access_pinhole(principal, live_pinhole, live_community, facts, Action.ADMINISTER)
    if effective_state(pinhole, community, now) is PinholeState.CLOSED:
        return close_lapsed(pinhole, community, now=now)
    return _close(pinhole, community, CloseReason.MANUAL, principal.subject, now)


def _close(
    pinhole: Pinhole,
    community: Community,
    reason: CloseReason,
    actor_id: str | None,
    at: datetime,
) -> Change:
    closed = _bump(
        pinhole, state=PinholeState.CLOSED, closed_by=actor_id, closed_at=at, close_reason=reason
    )
    event = PinholeClosed(
        pinhole_id=pinhole.id,
        community_id=community.id,
        version=closed.version,
        occurred_at=at,
        actor_id=actor_id,
        reason=reason,
    )
    return Change(writes=(Write(closed, (event,)),))


def close_lapsed(pinhole: Pinhole, community: Community, *, now: datetime) -> Change:
    """What a sweeper calls: record that a pinhole closed by itself (PinholeClosed).

    A pinhole past its expiry (reason expired, closed at its expiry) or whose
    community is archived (reason community_archived, closed at ``now``) is
    already closed for every decision; this writes that state. Anything else —
    still live, or already recorded — is no change, so a sweeper may call it as
    often as it likes. No principal: the service acts (``actor_id`` None).
    """
    require_aware(now)
    if pinhole.community_id != community.id:
        raise ValueError("pinhole and community do not belong together")
    if pinhole.state is PinholeState.CLOSED:
        return NO_CHANGE
    if pinhole.expires_at is not None and pinhole.is_expired(now):
        return _close(pinhole, community, CloseReason.EXPIRED, None, pinhole.expires_at)
    if community.is_archived:
        return _close(pinhole, community, CloseReason.COMMUNITY_ARCHIVED, None, now)
    return NO_CHANGE
