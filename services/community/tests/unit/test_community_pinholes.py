"""Pinhole life cycle, grants, revocation and expiry: rules, errors and events."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from guildhall_community.domain import (
    NO_CHANGE,
    Action,
    Change,
    CloseReason,
    Community,
    CommunityState,
    Event,
    GrantLevel,
    Membership,
    MembershipStatus,
    PartnerOrg,
    Pinhole,
    PinholeClosed,
    PinholeGranted,
    PinholeOpened,
    PinholeOpenPolicy,
    PinholeProposed,
    PinholeRevoked,
    PinholeSpace,
    PinholeState,
    Principal,
    PrincipalKind,
    Role,
    Visibility,
    close_lapsed,
    close_pinhole,
    decide,
    effective_state,
    facts_for,
    grant,
    open_pinhole,
    propose_pinhole,
    revoke,
)
from guildhall_kit.errors import FailedPrecondition, InvalidArgument, NotFound, PermissionDenied

T0 = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
HOME = "home"


def emp(subject: str, *, admin: bool = False) -> Principal:
    return Principal(subject, PrincipalKind.EMPLOYEE, HOME, is_home_admin=admin)


OLGA = emp("olga")  # community owner
MO = emp("mo")  # moderator
MIA = emp("mia")  # member
OTTO = emp("otto")  # employee, not a member
ADA = emp("ada", admin=True)  # home admin
ACME = PartnerOrg("acme")
GLOBEX = PartnerOrg("globex")
PAT = Principal("pat", PrincipalKind.PARTNER, "acme")  # partner user of Acme
GIL = Principal("gil", PrincipalKind.PARTNER, "globex")  # partner user of Globex


def _active(person: str) -> Membership:
    return Membership(
        community_id="c1",
        person_id=person,
        status=MembershipStatus.ACTIVE,
        changed_at=T0,
        changed_by=person,
        joined_at=T0,
    )


MEMBERSHIPS = {p: _active(p) for p in ("olga", "mo", "mia")}


class Space:
    """One community and one pinhole, kept as the adapter would keep them."""

    def __init__(self, visibility: Visibility = Visibility.PRIVATE) -> None:
        self.community = Community(
            id="c1",
            name="Supply chain",
            description="",
            visibility=visibility,
            state=CommunityState.ACTIVE,
            tags=(),
            staff={"olga": Role.OWNER, "mo": Role.MODERATOR},
            created_by="olga",
            created_at=T0,
            updated_at=T0,
        )
        self.pinhole: Pinhole | None = None
        self.published: list[Event] = []
        self.clock = T0
        self.policy = PinholeOpenPolicy.OWNER_OR_ADMIN

    @property
    def p(self) -> Pinhole:
        assert self.pinhole is not None
        return self.pinhole

    def now(self) -> datetime:
        self.clock += timedelta(minutes=1)
        return self.clock

    def apply(self, change: Change) -> Change:
        for write in change.writes:
            assert isinstance(write.state, Pinhole)
            expected = 1 if self.pinhole is None else self.pinhole.version + 1
            assert write.state.version == expected, "pinhole written without compare-and-set"
            self.pinhole = write.state
            self.published.extend(write.events)
        return change

    def propose(
        self, who: Principal, *, expires_at: datetime | None = None, title: str = "Pallets"
    ) -> Change:
        return self.apply(
            propose_pinhole(
                self.community,
                who,
                actor_membership=MEMBERSHIPS.get(who.subject),
                pinhole_id="p1",
                title=title,
                purpose="Agree the new pallet format with Acme.",
                expires_at=expires_at,
                now=self.now(),
            )
        )

    def open(self, who: Principal) -> Change:
        return self.apply(
            open_pinhole(
                self.p,
                self.community,
                who,
                actor_membership=MEMBERSHIPS.get(who.subject),
                policy=self.policy,
                now=self.now(),
            )
        )

    def grant(self, who: Principal, org: PartnerOrg, level: GrantLevel) -> Change:
        return self.apply(
            grant(
                self.p,
                self.community,
                who,
                actor_membership=MEMBERSHIPS.get(who.subject),
                org=org,
                level=level,
                policy=self.policy,
                now=self.now(),
            )
        )

    def revoke(self, who: Principal, org_id: str) -> Change:
        return self.apply(
            revoke(
                self.p,
                self.community,
                who,
                actor_membership=MEMBERSHIPS.get(who.subject),
                org_id=org_id,
                now=self.now(),
            )
        )

    def close(self, who: Principal) -> Change:
        return self.apply(
            close_pinhole(
                self.p,
                self.community,
                who,
                actor_membership=MEMBERSHIPS.get(who.subject),
                now=self.now(),
            )
        )

    def may(self, who: Principal, action: Action, *, at: datetime | None = None) -> bool:
        """CheckAccess, computed from the current state."""
        when = at or self.clock
        facts = facts_for(who, self.community, MEMBERSHIPS.get(who.subject), now=when)
        return decide(who, PinholeSpace(self.p, self.community), action, facts)


def opened(
    visibility: Visibility = Visibility.PRIVATE, *, expires_at: datetime | None = None
) -> Space:
    space = Space(visibility)
    space.propose(MO, expires_at=expires_at)
    space.grant(OLGA, ACME, GrantLevel.CONTRIBUTOR)
    space.open(OLGA)
    space.published.clear()
    return space


def only_event(change: Change) -> Event:
    assert len(change.events) == 1, change.events
    return change.events[0]


# ----------------------------------------------------------------- propose


def test_a_moderator_proposes() -> None:
    space = Space()
    event = only_event(space.propose(MO, expires_at=T0 + timedelta(days=90)))
    assert isinstance(event, PinholeProposed)
    assert (event.aggregate_id, event.community_id, event.version, event.actor_id) == (
        "p1",
        "c1",
        1,
        "mo",
    )
    assert event.event_type == "PinholeProposed"
    assert space.p.state is PinholeState.PROPOSED
    assert space.p.grants == {}


@pytest.mark.parametrize(
    ("who", "error"),
    [(MIA, PermissionDenied), (OTTO, PermissionDenied), (PAT, PermissionDenied)],
)
def test_only_staff_propose(who: Principal, error: type[Exception]) -> None:
    with pytest.raises(error):
        Space().propose(who)


def test_proposing_in_a_secret_community_is_not_found_for_outsiders() -> None:
    with pytest.raises(NotFound):
        Space(Visibility.SECRET).propose(OTTO)


def test_no_proposals_in_an_archived_community() -> None:
    space = Space()
    space.community = replace(space.community, state=CommunityState.ARCHIVED)
    with pytest.raises(FailedPrecondition):
        space.propose(OLGA)


@pytest.mark.parametrize(
    ("expires_at", "title"),
    [
        (T0, "Pallets"),  # not in the future
        (datetime(2030, 1, 1), "Pallets"),  # naive on purpose
        (None, " padded"),
        (None, ""),
    ],
)
def test_propose_rejects_bad_input(expires_at: datetime | None, title: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        Space().propose(MO, expires_at=expires_at, title=title)
    assert caught.value.field == ("title" if expires_at is None else "expires_at")


# -------------------------------------------------------------------- open


def test_the_owner_opens_and_grants_staged_while_proposed_apply_from_then() -> None:
    space = Space()
    space.propose(MO)
    space.grant(OLGA, ACME, GrantLevel.VIEWER)
    assert not space.may(PAT, Action.READ)  # proposed: partners see nothing yet
    event = only_event(space.open(OLGA))
    assert isinstance(event, PinholeOpened)
    assert (event.aggregate_id, event.version) == ("p1", space.p.version)
    assert [g.org_id for g in event.grants] == ["acme"]
    assert space.p.state is PinholeState.OPEN
    assert space.may(PAT, Action.READ)
    assert not space.may(PAT, Action.POST)


def test_a_moderator_cannot_open() -> None:
    space = Space()
    space.propose(MO)
    with pytest.raises(PermissionDenied):
        space.open(MO)


def test_a_member_does_not_even_see_a_proposal() -> None:
    space = Space()
    space.propose(MO)
    with pytest.raises(NotFound):
        space.open(MIA)


def test_admin_only_policy() -> None:
    space = Space()
    space.policy = PinholeOpenPolicy.ADMIN_ONLY
    space.propose(MO)
    with pytest.raises(PermissionDenied):
        space.grant(OLGA, ACME, GrantLevel.VIEWER)
    with pytest.raises(PermissionDenied):
        space.open(OLGA)
    space.grant(ADA, ACME, GrantLevel.VIEWER)
    only_event(space.open(ADA))
    # Reducing exposure never waits for an admin.
    only_event(space.revoke(OLGA, "acme"))
    only_event(space.close(OLGA))


def test_illegal_transitions_are_failed_precondition() -> None:
    space = opened()
    with pytest.raises(FailedPrecondition):
        space.open(OLGA)  # already open
    space.close(OLGA)
    with pytest.raises(FailedPrecondition):
        space.open(OLGA)  # closed is final
    with pytest.raises(FailedPrecondition):
        space.grant(OLGA, GLOBEX, GrantLevel.VIEWER)
    with pytest.raises(FailedPrecondition):
        space.revoke(OLGA, "acme")


def test_an_expired_proposal_cannot_be_opened() -> None:
    space = Space()
    space.propose(MO, expires_at=T0 + timedelta(hours=1))
    space.clock = T0 + timedelta(hours=2)
    with pytest.raises(FailedPrecondition):
        space.open(OLGA)


# ------------------------------------------------------------------- grant


def test_one_grant_per_org_and_regrant_changes_the_level() -> None:
    space = opened()
    assert space.may(PAT, Action.POST)
    event = only_event(space.grant(OLGA, ACME, GrantLevel.VIEWER))
    assert isinstance(event, PinholeGranted)
    assert (event.org_id, event.level, event.previous_level) == (
        "acme",
        GrantLevel.VIEWER,
        GrantLevel.CONTRIBUTOR,
    )
    assert list(space.p.grants) == ["acme"]
    assert space.may(PAT, Action.READ)
    assert not space.may(PAT, Action.POST)
    assert space.grant(OLGA, ACME, GrantLevel.VIEWER) == NO_CHANGE


def test_a_first_grant_has_no_previous_level() -> None:
    space = opened()
    event = only_event(space.grant(ADA, GLOBEX, GrantLevel.CONTRIBUTOR))
    assert isinstance(event, PinholeGranted)
    assert event.previous_level is None
    assert space.may(GIL, Action.COMMENT)


@pytest.mark.parametrize(
    "org",
    [PartnerOrg(HOME), PartnerOrg("home-2", is_home=True), PartnerOrg("shady", suspended=True)],
)
def test_home_and_suspended_orgs_are_not_granted(org: PartnerOrg) -> None:
    with pytest.raises(FailedPrecondition):
        opened().grant(OLGA, org, GrantLevel.VIEWER)


def test_moderators_do_not_grant() -> None:
    with pytest.raises(PermissionDenied):
        opened().grant(MO, GLOBEX, GrantLevel.VIEWER)


def test_partners_change_nothing_and_learn_nothing() -> None:
    space = opened()
    attempts: list[Callable[[], Change]] = [
        lambda: space.grant(PAT, GLOBEX, GrantLevel.VIEWER),
        lambda: space.revoke(PAT, "acme"),
        lambda: space.close(PAT),
        lambda: space.open(PAT),
        lambda: space.propose(PAT),
    ]
    for attempt in attempts:
        with pytest.raises(PermissionDenied) as caught:
            attempt()
        assert "p1" not in str(caught.value)
        assert "c1" not in str(caught.value)


# ------------------------------------------------------------------ revoke


def test_revocation_is_exact() -> None:
    space = opened()
    assert space.may(PAT, Action.READ)
    event = only_event(space.revoke(OLGA, "acme"))
    assert isinstance(event, PinholeRevoked)
    assert (event.aggregate_id, event.org_id, event.version) == ("p1", "acme", space.p.version)
    # The very next decision, computed from the state the revoke wrote, says no.
    for action in Action:
        assert not space.may(PAT, action)
    assert space.may(MIA, Action.POST)  # the enterprise keeps using it


def test_revoking_an_org_without_a_grant_is_not_found() -> None:
    with pytest.raises(NotFound):
        opened().revoke(OLGA, "globex")


def test_moderators_do_not_revoke() -> None:
    with pytest.raises(PermissionDenied):
        opened().revoke(MO, "acme")


def test_every_grant_change_raises_the_grant_version() -> None:
    space = opened()
    versions = [space.p.version]
    steps: list[Callable[[], Change]] = [
        lambda: space.grant(OLGA, GLOBEX, GrantLevel.VIEWER),
        lambda: space.grant(OLGA, GLOBEX, GrantLevel.CONTRIBUTOR),
        lambda: space.revoke(OLGA, "globex"),
        lambda: space.close(OLGA),
    ]
    for step in steps:
        step()
        versions.append(space.p.version)
    assert versions == sorted(set(versions))
    events = space.published
    assert all(e.aggregate_id == "p1" for e in events)
    assert [getattr(e, "version", None) for e in events] == versions[1:]


# ------------------------------------------------------------------- close


def test_close_keeps_the_content_for_the_enterprise_and_shuts_partners_out() -> None:
    space = opened()
    event = only_event(space.close(OLGA))
    assert isinstance(event, PinholeClosed)
    assert (event.reason, event.actor_id) == (CloseReason.MANUAL, "olga")
    assert not space.may(PAT, Action.READ)
    assert space.may(MIA, Action.READ)
    assert not space.may(MIA, Action.POST)
    assert not space.may(OLGA, Action.POST)
    assert space.close(OLGA) == NO_CHANGE  # closing again changes nothing


def test_reclosing_still_needs_the_right_to_close() -> None:
    space = opened()
    space.close(OLGA)
    with pytest.raises(PermissionDenied):
        space.close(MIA)


def test_closing_a_proposal_withdraws_it() -> None:
    space = Space()
    space.propose(MO)
    only_event(space.close(OLGA))
    assert effective_state(space.p, space.community, space.clock) is PinholeState.CLOSED
    with pytest.raises(NotFound):
        space.close(MIA)  # members never saw it


def test_moderators_do_not_close() -> None:
    with pytest.raises(PermissionDenied):
        opened().close(MO)


# ------------------------------------------------------------------ expiry


def test_expiry_closes_at_the_exact_instant() -> None:
    expiry = T0 + timedelta(days=7)
    space = opened(expires_at=expiry)
    assert space.may(PAT, Action.POST, at=expiry - timedelta(microseconds=1))
    assert not space.may(PAT, Action.READ, at=expiry)
    assert space.may(MIA, Action.READ, at=expiry)
    assert not space.may(MIA, Action.POST, at=expiry)
    # Nothing was written: the decision alone knows the pinhole is closed.
    assert space.p.state is PinholeState.OPEN


def test_the_sweeper_records_expiry_once() -> None:
    expiry = T0 + timedelta(days=7)
    space = opened(expires_at=expiry)
    assert close_lapsed(space.p, space.community, now=expiry - timedelta(seconds=1)) == NO_CHANGE
    change = space.apply(close_lapsed(space.p, space.community, now=expiry + timedelta(hours=3)))
    event = only_event(change)
    assert isinstance(event, PinholeClosed)
    assert (event.reason, event.actor_id, event.occurred_at) == (
        CloseReason.EXPIRED,
        None,
        expiry,
    )
    assert space.p.state is PinholeState.CLOSED
    assert space.p.closed_at == expiry
    assert close_lapsed(space.p, space.community, now=expiry + timedelta(days=1)) == NO_CHANGE


def test_closing_an_expired_pinhole_by_hand_records_the_expiry() -> None:
    expiry = T0 + timedelta(days=7)
    space = opened(expires_at=expiry)
    space.clock = expiry + timedelta(days=1)
    event = only_event(space.close(OLGA))
    assert isinstance(event, PinholeClosed)
    assert event.reason is CloseReason.EXPIRED


def test_archiving_the_community_closes_its_pinholes() -> None:
    space = opened()
    space.community = replace(space.community, state=CommunityState.ARCHIVED)
    assert not space.may(PAT, Action.READ)
    assert space.may(MIA, Action.READ)
    event = only_event(space.apply(close_lapsed(space.p, space.community, now=space.now())))
    assert isinstance(event, PinholeClosed)
    assert event.reason is CloseReason.COMMUNITY_ARCHIVED


def test_a_suspended_org_loses_access_without_any_pinhole_change() -> None:
    space = opened()
    facts = facts_for(PAT, space.community, None, now=space.clock, org_suspended=True)
    assert not decide(PAT, PinholeSpace(space.p, space.community), Action.READ, facts)


def test_sweeping_a_live_pinhole_changes_nothing() -> None:
    space = opened()
    assert close_lapsed(space.p, space.community, now=space.clock + timedelta(days=3650)) == (
        NO_CHANGE
    )
