"""Community and membership operations: rules, errors, writes and events.

A tiny in-memory Store plays the adapter: it applies each change's writes in
order with the compare-and-set the real repository does (the new version must
be the stored one plus one, or 1 for a new document) and collects the events.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from guildhall_community.domain import (
    NO_CHANGE,
    Change,
    Community,
    CommunityCreated,
    CommunityState,
    CommunityUpdated,
    Event,
    JoinPath,
    JoinRequested,
    JoinRequestRejected,
    JoinRequestState,
    LeaveReason,
    MemberJoined,
    MemberLeft,
    Membership,
    MembershipStatus,
    Principal,
    PrincipalKind,
    Role,
    RoleChanged,
    Visibility,
    approve_request,
    archive_community,
    change_role,
    create_community,
    invite,
    join,
    leave,
    reconcile_membership,
    reject_request,
    remove_member,
    request_membership,
    update_community,
)
from guildhall_community.domain.model import MAX_STAFF
from guildhall_kit.errors import (
    Aborted,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    PermissionDenied,
)

T0 = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
HOME = "home"


def emp(subject: str, *, admin: bool = False) -> Principal:
    return Principal(subject, PrincipalKind.EMPLOYEE, HOME, is_home_admin=admin)


OLGA = emp("olga")  # owner (creator)
MO = emp("mo")  # moderator
MIA = emp("mia")  # member
OTTO = emp("otto")  # employee, not a member
ADA = emp("ada", admin=True)  # home admin, not a member
PAT = Principal("pat", PrincipalKind.PARTNER, "acme")  # partner user


class Store:
    """The adapter's part, in memory: ordered compare-and-set writes, collected events."""

    def __init__(self) -> None:
        self.community: Community | None = None
        self.memberships: dict[str, Membership] = {}
        self.published: list[Event] = []
        self.clock = T0

    @property
    def c(self) -> Community:
        assert self.community is not None
        return self.community

    def m(self, person: str) -> Membership | None:
        return self.memberships.get(person)

    def now(self) -> datetime:
        self.clock += timedelta(minutes=1)
        return self.clock

    def apply(self, change: Change) -> Change:
        for write in change.writes:
            state = write.state
            if isinstance(state, Community):
                previous = self.community
                expected = 1 if previous is None else previous.version + 1
                assert state.version == expected, "community written without compare-and-set"
                self.community = state
            elif isinstance(state, Membership):
                old = self.memberships.get(state.person_id)
                expected = 1 if old is None else old.version + 1
                assert state.version == expected, "membership written without compare-and-set"
                self.memberships[state.person_id] = state
            else:
                raise AssertionError(f"unexpected write {state!r}")
            self.published.extend(write.events)
        return change

    def role(self, person: str) -> Role | None:
        return self.c.role_of(person, self.m(person))

    # -- the operations, as the principal, with the principal's own membership
    def join(self, who: Principal) -> Change:
        return self.apply(join(self.c, who, membership=self.m(who.subject), now=self.now()))

    def request(self, who: Principal, message: str = "") -> Change:
        return self.apply(
            request_membership(
                self.c, who, membership=self.m(who.subject), message=message, now=self.now()
            )
        )

    def leave(self, who: Principal) -> Change:
        return self.apply(leave(self.c, who, membership=self.m(who.subject), now=self.now()))

    def invite(
        self,
        who: Principal,
        person: str,
        role: Role = Role.MEMBER,
        kind: PrincipalKind = PrincipalKind.EMPLOYEE,
    ) -> Change:
        return self.apply(
            invite(
                self.c,
                who,
                actor_membership=self.m(who.subject),
                person_id=person,
                invitee_kind=kind,
                target_membership=self.m(person),
                role=role,
                now=self.now(),
            )
        )

    def approve(self, who: Principal, person: str) -> Change:
        return self.apply(
            approve_request(
                self.c,
                who,
                actor_membership=self.m(who.subject),
                person_id=person,
                target_membership=self.m(person),
                now=self.now(),
            )
        )

    def reject(self, who: Principal, person: str, reason: str = "") -> Change:
        return self.apply(
            reject_request(
                self.c,
                who,
                actor_membership=self.m(who.subject),
                person_id=person,
                target_membership=self.m(person),
                reason=reason,
                now=self.now(),
            )
        )

    def remove(self, who: Principal, person: str) -> Change:
        return self.apply(
            remove_member(
                self.c,
                who,
                actor_membership=self.m(who.subject),
                person_id=person,
                target_membership=self.m(person),
                now=self.now(),
            )
        )

    def set_role(self, who: Principal, person: str, role: Role) -> Change:
        return self.apply(
            change_role(
                self.c,
                who,
                actor_membership=self.m(who.subject),
                person_id=person,
                target_membership=self.m(person),
                role=role,
                now=self.now(),
            )
        )

    def update(self, who: Principal, **fields: object) -> Change:
        return self.apply(
            update_community(
                self.c,
                who,
                actor_membership=self.m(who.subject),
                now=self.now(),
                **fields,  # type: ignore[arg-type]
            )
        )

    def archive(self, who: Principal) -> Change:
        return self.apply(
            archive_community(self.c, who, actor_membership=self.m(who.subject), now=self.now())
        )


def community(visibility: Visibility = Visibility.PRIVATE) -> Store:
    """Olga owns it, Mo moderates, Mia is a member; Otto and Ada are not members."""
    store = Store()
    store.apply(
        create_community(
            OLGA,
            community_id="c1",
            name="Supply chain",
            description="Suppliers and logistics.",
            visibility=visibility,
            tags=("logistics",),
            now=store.now(),
        )
    )
    store.invite(OLGA, "mo", Role.MODERATOR)
    store.invite(OLGA, "mia")
    store.published.clear()
    return store


def only_event(change: Change) -> Event:
    """The change's single event; each state change publishes exactly one."""
    assert len(change.events) == 1, change.events
    return change.events[0]


# ------------------------------------------------------------------ create


def test_create_makes_the_creator_owner_and_member() -> None:
    store = Store()
    change = store.apply(
        create_community(
            OLGA,
            community_id="c1",
            name="Supply chain",
            description="",
            visibility=Visibility.OPEN,
            now=T0,
        )
    )
    event = only_event(change)
    assert isinstance(event, CommunityCreated)
    assert (event.aggregate_id, event.owner_id, event.version) == ("c1", "olga", 1)
    assert event.event_type == "CommunityCreated"
    assert store.c.owners == {"olga"}
    assert store.role("olga") is Role.OWNER
    olga = store.m("olga")
    assert olga is not None
    assert olga.is_active
    # The membership is written first and carries no event; the community carries the event.
    assert [type(w.state).__name__ for w in change.writes] == ["Membership", "Community"]
    assert change.writes[0].events == ()


def test_partners_cannot_create_communities() -> None:
    with pytest.raises(PermissionDenied):
        create_community(
            PAT, community_id="c1", name="x", description="", visibility=Visibility.OPEN, now=T0
        )


@pytest.mark.parametrize(
    ("field", "kwargs"),
    [
        ("name", {"name": ""}),
        ("name", {"name": " padded "}),
        ("name", {"name": "x" * 101}),
        ("name", {"name": "bad\u202ename"}),
        ("description", {"description": "nul\x00"}),
        ("description", {"description": "é" * 4097}),
        ("community_id", {"community_id": "Not An Id"}),
        ("tags", {"tags": ("a", "a")}),
        ("tags", {"tags": ("UPPER",)}),
        ("tags", {"tags": tuple(f"t{i}" for i in range(11))}),
    ],
)
def test_create_rejects_bad_input_naming_the_field(field: str, kwargs: dict[str, object]) -> None:
    args: dict[str, object] = {
        "community_id": "c1",
        "name": "Supply chain",
        "description": "",
        "visibility": Visibility.OPEN,
        "tags": (),
    }
    args.update(kwargs)
    with pytest.raises(InvalidArgument) as caught:
        create_community(OLGA, now=T0, **args)  # type: ignore[arg-type]
    assert caught.value.field == field


# ---------------------------------------------------------- update, archive


def test_owner_updates_and_one_event_names_the_changed_fields() -> None:
    store = community()
    before = store.c.version
    event = only_event(store.update(OLGA, name="Supply chain EU", visibility=Visibility.OPEN))
    assert isinstance(event, CommunityUpdated)
    assert event.changed_fields == ("name", "visibility")
    assert (event.aggregate_id, event.version) == ("c1", before + 1)
    assert store.c.name == "Supply chain EU"


def test_update_to_the_same_values_is_no_change() -> None:
    store = community()
    assert store.update(OLGA, name="Supply chain", description="Suppliers and logistics.") == (
        NO_CHANGE
    )


def test_update_checks_the_expected_version() -> None:
    store = community()
    with pytest.raises(Aborted):
        store.update(OLGA, name="New", expected_version=store.c.version - 1)
    store.update(OLGA, name="New", expected_version=store.c.version)


@pytest.mark.parametrize(
    ("who", "error"),
    [
        (MO, PermissionDenied),  # moderators do not administer
        (MIA, PermissionDenied),
        (OTTO, PermissionDenied),  # sees a private community, may not change it
        (PAT, PermissionDenied),  # employee-only method
    ],
)
def test_update_needs_administer(who: Principal, error: type[Exception]) -> None:
    with pytest.raises(error):
        community().update(who, name="Hijacked")


def test_a_secret_community_is_not_found_for_outsiders_whatever_they_try() -> None:
    store = community(Visibility.SECRET)
    attempts: list[Callable[[], Change]] = [
        lambda: store.update(OTTO, name="x"),
        lambda: store.archive(OTTO),
        lambda: store.join(OTTO),
        lambda: store.request(OTTO),
        lambda: store.leave(OTTO),
        lambda: store.approve(OTTO, "mia"),
        lambda: store.invite(OTTO, "otto"),
        lambda: store.remove(OTTO, "mia"),
        lambda: store.set_role(OTTO, "mia", Role.OWNER),
    ]
    for attempt in attempts:
        with pytest.raises(NotFound) as caught:
            attempt()
        assert str(caught.value) == "community not found: c1"


def test_home_admin_administers_any_community_without_being_a_member() -> None:
    store = community(Visibility.SECRET)
    store.update(ADA, description="Reviewed by the admins.")
    assert store.role("ada") is None


def test_archive_is_final_and_makes_the_community_read_only() -> None:
    store = community()
    event = only_event(store.archive(OLGA))
    assert isinstance(event, CommunityUpdated)
    assert event.changed_fields == ("state",)
    assert event.state is CommunityState.ARCHIVED
    assert store.archive(OLGA) == NO_CHANGE  # archiving again changes nothing
    with pytest.raises(FailedPrecondition):
        store.update(OLGA, name="Back again")
    with pytest.raises(FailedPrecondition):
        store.invite(OLGA, "otto")


def test_archiving_needs_administer_even_when_already_archived() -> None:
    store = community()
    store.archive(OLGA)
    with pytest.raises(PermissionDenied):
        store.archive(MO)


# ------------------------------------------------------------ join, request


def test_join_an_open_community() -> None:
    store = community(Visibility.OPEN)
    event = only_event(store.join(OTTO))
    assert isinstance(event, MemberJoined)
    assert (event.aggregate_id, event.person_id, event.role, event.path) == (
        "c1",
        "otto",
        Role.MEMBER,
        JoinPath.JOINED,
    )
    assert store.role("otto") is Role.MEMBER
    assert store.join(OTTO) == NO_CHANGE  # joining again changes nothing


def test_join_private_is_a_request_instead() -> None:
    with pytest.raises(FailedPrecondition):
        community(Visibility.PRIVATE).join(OTTO)


def test_join_secret_is_not_found_for_non_members() -> None:
    with pytest.raises(NotFound):
        community(Visibility.SECRET).join(OTTO)


def test_a_home_admin_sees_a_secret_community_but_cannot_just_join_it() -> None:
    with pytest.raises(FailedPrecondition):
        community(Visibility.SECRET).join(ADA)


def test_partners_never_join_anything() -> None:
    for visibility in Visibility:
        store = community(visibility)
        with pytest.raises(PermissionDenied):
            store.join(PAT)
        with pytest.raises(PermissionDenied):
            store.request(PAT)


def test_nobody_joins_an_archived_community() -> None:
    store = community(Visibility.OPEN)
    store.archive(OLGA)
    with pytest.raises(FailedPrecondition):
        store.join(OTTO)


def test_join_request_flow_approved() -> None:
    store = community(Visibility.PRIVATE)
    requested = only_event(store.request(OTTO, "I run the Lyon warehouse."))
    assert isinstance(requested, JoinRequested)
    assert (requested.aggregate_id, requested.person_id, requested.message) == (
        "c1",
        "otto",
        "I run the Lyon warehouse.",
    )
    assert store.role("otto") is None
    assert store.request(OTTO, "again") == NO_CHANGE  # one pending request per person

    joined = only_event(store.approve(MO, "otto"))
    assert isinstance(joined, MemberJoined)
    assert (joined.path, joined.actor_id) == (JoinPath.REQUEST_APPROVED, "mo")
    assert store.role("otto") is Role.MEMBER
    otto = store.m("otto")
    assert otto is not None
    assert otto.request is not None
    assert (otto.request.state, otto.request.decided_by) == (JoinRequestState.APPROVED, "mo")


def test_join_request_flow_rejected() -> None:
    store = community(Visibility.PRIVATE)
    store.request(OTTO)
    event = only_event(store.reject(OLGA, "otto", "Only the logistics team."))
    assert isinstance(event, JoinRequestRejected)
    assert (event.person_id, event.reason) == ("otto", "Only the logistics team.")
    otto = store.m("otto")
    assert otto is not None
    assert otto.status is MembershipStatus.ENDED
    assert otto.request is not None
    assert otto.request.state is JoinRequestState.REJECTED
    with pytest.raises(NotFound):  # nothing pending any more
        store.approve(OLGA, "otto")
    store.request(OTTO, "Second try")  # may ask again
    assert store.m("otto") is not None


def test_only_staff_decide_join_requests() -> None:
    store = community(Visibility.PRIVATE)
    store.request(OTTO)
    with pytest.raises(PermissionDenied):
        store.approve(MIA, "otto")
    with pytest.raises(PermissionDenied):
        store.reject(MIA, "otto")
    store.approve(ADA, "otto")  # home admins moderate everywhere


def test_approving_or_rejecting_without_a_pending_request_is_not_found() -> None:
    store = community(Visibility.PRIVATE)
    with pytest.raises(NotFound):
        store.approve(OLGA, "otto")
    with pytest.raises(NotFound):
        store.reject(OLGA, "mia")


@pytest.mark.parametrize("visibility", [Visibility.OPEN, Visibility.SECRET])
def test_requests_are_for_private_communities(visibility: Visibility) -> None:
    store = community(visibility)
    with pytest.raises(FailedPrecondition):
        store.request(MIA)  # a member of either
    with pytest.raises(FailedPrecondition if visibility is Visibility.OPEN else NotFound):
        store.request(OTTO)


def test_a_member_cannot_request_again() -> None:
    with pytest.raises(FailedPrecondition):
        community(Visibility.PRIVATE).request(MIA)


# ------------------------------------------------------------------ invite


def test_invite_adds_the_person_at_once() -> None:
    store = community(Visibility.SECRET)
    event = only_event(store.invite(MO, "otto"))
    assert isinstance(event, MemberJoined)
    assert (event.path, event.role, event.actor_id) == (JoinPath.INVITED, Role.MEMBER, "mo")
    assert store.role("otto") is Role.MEMBER
    assert store.invite(MO, "otto") == NO_CHANGE


def test_inviting_someone_who_asked_approves_their_request() -> None:
    store = community(Visibility.PRIVATE)
    store.request(OTTO)
    only_event(store.invite(MO, "otto"))
    otto = store.m("otto")
    assert otto is not None
    assert otto.is_active
    assert otto.request is not None
    assert otto.request.state is JoinRequestState.APPROVED


def test_partner_users_can_never_be_members() -> None:
    with pytest.raises(FailedPrecondition):
        community().invite(OLGA, "pat", kind=PrincipalKind.PARTNER)


def test_adding_a_moderator_needs_administer() -> None:
    store = community()
    with pytest.raises(PermissionDenied):
        store.invite(MO, "otto", Role.MODERATOR)
    change = store.invite(OLGA, "otto", Role.MODERATOR)
    # The staff entry (with the event) first, then the membership document.
    assert [type(w.state).__name__ for w in change.writes] == ["Community", "Membership"]
    assert isinstance(only_event(change), MemberJoined)
    assert store.role("otto") is Role.MODERATOR


def test_owners_are_made_with_change_role_not_invite() -> None:
    with pytest.raises(InvalidArgument):
        community().invite(OLGA, "otto", Role.OWNER)


def test_members_cannot_invite() -> None:
    with pytest.raises(PermissionDenied):
        community().invite(MIA, "otto")


# ----------------------------------------------------------- leave, remove


def test_a_member_leaves() -> None:
    store = community()
    event = only_event(store.leave(MIA))
    assert isinstance(event, MemberLeft)
    assert (event.person_id, event.reason, event.role) == ("mia", LeaveReason.LEFT, Role.MEMBER)
    assert store.role("mia") is None


def test_leaving_without_being_a_member_is_not_found() -> None:
    with pytest.raises(NotFound):
        community(Visibility.OPEN).leave(OTTO)


def test_the_last_owner_cannot_leave_demote_or_be_removed() -> None:
    store = community()
    with pytest.raises(FailedPrecondition):
        store.leave(OLGA)
    with pytest.raises(FailedPrecondition):
        store.set_role(OLGA, "olga", Role.MODERATOR)
    with pytest.raises(FailedPrecondition):
        store.remove(ADA, "olga")
    assert store.c.owners == {"olga"}


def test_an_owner_leaves_once_there_is_another_owner() -> None:
    store = community()
    store.set_role(OLGA, "mo", Role.OWNER)
    change = store.leave(OLGA)
    # The membership document ends first (no event, still staff), then the staff entry goes.
    assert [type(w.state).__name__ for w in change.writes] == ["Membership", "Community"]
    assert change.writes[0].events == ()
    event = only_event(change)
    assert isinstance(event, MemberLeft)
    assert event.role is Role.OWNER
    assert store.c.owners == {"mo"}
    assert store.role("olga") is None


def test_leaving_an_archived_community_is_allowed() -> None:
    store = community()
    store.archive(OLGA)
    only_event(store.leave(MIA))


def test_moderators_remove_members_but_not_staff() -> None:
    store = community()
    event = only_event(store.remove(MO, "mia"))
    assert isinstance(event, MemberLeft)
    assert (event.reason, event.actor_id) == (LeaveReason.REMOVED, "mo")
    assert store.role("mia") is None
    store.invite(OLGA, "otto", Role.MODERATOR)
    with pytest.raises(PermissionDenied):
        store.remove(MO, "otto")
    only_event(store.remove(OLGA, "otto"))
    assert store.role("otto") is None


def test_remove_errors() -> None:
    store = community()
    with pytest.raises(NotFound):
        store.remove(OLGA, "otto")  # not a member
    with pytest.raises(InvalidArgument):
        store.remove(OLGA, "olga")  # leave instead
    with pytest.raises(PermissionDenied):
        store.remove(MIA, "mo")


def test_removed_member_loses_access_to_a_secret_community_at_once() -> None:
    store = community(Visibility.SECRET)
    store.remove(OLGA, "mia")
    with pytest.raises(NotFound):
        store.join(MIA)


# ------------------------------------------------------------- change role


def test_promote_and_demote() -> None:
    store = community()
    promoted = only_event(store.set_role(OLGA, "mia", Role.MODERATOR))
    assert isinstance(promoted, RoleChanged)
    assert (promoted.person_id, promoted.previous_role, promoted.role) == (
        "mia",
        Role.MEMBER,
        Role.MODERATOR,
    )
    assert store.role("mia") is Role.MODERATOR
    demoted = only_event(store.set_role(OLGA, "mia", Role.MEMBER))
    assert isinstance(demoted, RoleChanged)
    assert store.role("mia") is Role.MEMBER
    assert store.set_role(OLGA, "mia", Role.MEMBER) == NO_CHANGE


def test_an_owner_steps_down_once_there_is_another_owner() -> None:
    store = community()
    store.set_role(OLGA, "mo", Role.OWNER)
    only_event(store.set_role(OLGA, "olga", Role.MEMBER))
    assert store.c.owners == {"mo"}
    assert store.role("olga") is Role.MEMBER


def test_change_role_needs_administer_and_a_member() -> None:
    store = community()
    with pytest.raises(PermissionDenied):
        store.set_role(MO, "mia", Role.MODERATOR)
    with pytest.raises(NotFound):
        store.set_role(OLGA, "otto", Role.MODERATOR)


def test_in_an_archived_community_only_home_admins_change_roles() -> None:
    store = community()
    store.archive(OLGA)
    with pytest.raises(PermissionDenied):
        store.set_role(OLGA, "mia", Role.OWNER)
    only_event(store.set_role(ADA, "mia", Role.OWNER))


def test_staff_is_capped() -> None:
    store = community()
    staff = {f"s{i}": Role.MODERATOR for i in range(MAX_STAFF - 1)} | {"olga": Role.OWNER}
    store.community = replace(store.c, staff=staff)
    with pytest.raises(FailedPrecondition):
        store.set_role(OLGA, "mia", Role.MODERATOR)
    with pytest.raises(FailedPrecondition):
        store.invite(OLGA, "otto", Role.MODERATOR)


def test_the_membership_document_lists_the_role_and_when_it_changed() -> None:
    store = community()
    olga, mo, mia = store.m("olga"), store.m("mo"), store.m("mia")
    assert olga is not None
    assert mo is not None
    assert mia is not None
    assert (olga.role, mo.role, mia.role) == (Role.OWNER, Role.MODERATOR, Role.MEMBER)
    assert mia.role_changed_at == mia.joined_at
    change = store.set_role(OLGA, "mia", Role.MODERATOR)
    # The listed role first (no event), then the staff entry that decisions follow.
    assert [type(w.state).__name__ for w in change.writes] == ["Membership", "Community"]
    assert change.writes[0].events == ()
    promoted = store.m("mia")
    assert promoted is not None
    assert promoted.role is Role.MODERATOR
    assert promoted.joined_at == mia.joined_at
    assert promoted.role_changed_at is not None
    assert mia.role_changed_at is not None
    assert promoted.role_changed_at > mia.role_changed_at
    store.leave(MIA)
    left = store.m("mia")
    assert left is not None
    assert (left.status, left.role) == (MembershipStatus.ENDED, Role.MODERATOR)
    store.invite(OLGA, "mia")
    back = store.m("mia")
    assert back is not None
    assert (back.status, back.role) == (MembershipStatus.ACTIVE, Role.MEMBER)


def test_inviting_staff_without_a_membership_document_writes_it_without_an_event() -> None:
    # A crash between the two writes of adding a moderator leaves the staff entry alone;
    # inviting them again writes the membership document member lists page through.
    store = community()
    store.community = replace(store.c, staff={**store.c.staff, "otto": Role.MODERATOR})
    assert store.role("otto") is Role.MODERATOR
    change = store.invite(OLGA, "otto", Role.MODERATOR)
    assert [type(w.state).__name__ for w in change.writes] == ["Membership"]
    assert change.events == ()
    otto = store.m("otto")
    assert otto is not None
    assert (otto.status, otto.role) == (MembershipStatus.ACTIVE, Role.MODERATOR)
    assert store.invite(OLGA, "otto", Role.MODERATOR) == NO_CHANGE


def test_reconcile_puts_the_membership_document_in_line_with_the_staff_entry() -> None:
    store = community()
    # A refused re-run left an owner's document ended (the staff entry still makes them owner).
    olga = store.m("olga")
    assert olga is not None
    store.memberships["olga"] = replace(
        olga, status=MembershipStatus.ENDED, version=olga.version + 1
    )
    change = store.apply(
        reconcile_membership(store.c, "olga", store.m("olga"), by="olga", now=store.now())
    )
    assert change.events == ()
    restored = store.m("olga")
    assert restored is not None
    assert (restored.status, restored.role) == (MembershipStatus.ACTIVE, Role.OWNER)
    # A promotion whose staff write never happened lists a role nobody gave.
    mia = store.m("mia")
    assert mia is not None
    store.memberships["mia"] = replace(mia, role=Role.MODERATOR, version=mia.version + 1)
    store.apply(reconcile_membership(store.c, "mia", store.m("mia"), by="olga", now=store.now()))
    fixed = store.m("mia")
    assert fixed is not None
    assert fixed.role is Role.MEMBER
    # In agreement, or not a member: nothing to do.
    assert reconcile_membership(store.c, "mia", fixed, by="olga", now=store.now()) == NO_CHANGE
    assert reconcile_membership(store.c, "otto", None, by="olga", now=store.now()) == NO_CHANGE


def test_demoting_staff_restores_a_missing_membership_document_first() -> None:
    # A crash between the two writes of a staff member's leave can leave the staff entry
    # with an ended membership document; the staff entry still makes them a member.
    store = community()
    mo = store.m("mo")
    assert mo is not None
    store.memberships["mo"] = replace(mo, status=MembershipStatus.ENDED, version=mo.version + 1)
    assert store.role("mo") is Role.MODERATOR
    change = store.set_role(OLGA, "mo", Role.MEMBER)
    assert [type(w.state).__name__ for w in change.writes] == ["Membership", "Community"]
    assert change.writes[0].events == ()
    assert store.role("mo") is Role.MEMBER


# ---------------------------------------------------------------- events


def test_every_state_change_publishes_exactly_one_event_keyed_by_the_community() -> None:
    store = community(Visibility.PRIVATE)
    steps: list[Callable[[], Change]] = [
        lambda: store.request(OTTO),
        lambda: store.approve(MO, "otto"),
        lambda: store.set_role(OLGA, "otto", Role.MODERATOR),
        lambda: store.set_role(OLGA, "otto", Role.MEMBER),
        lambda: store.remove(MO, "otto"),
        lambda: store.invite(OLGA, "otto"),
        lambda: store.leave(OTTO),
        lambda: store.update(OLGA, description="Updated"),
        lambda: store.archive(OLGA),
    ]
    for step in steps:
        before = len(store.published)
        change = step()
        assert change.changed
        assert len(store.published) == before + 1
        assert store.published[-1].aggregate_id == "c1"
    assert [e.event_type for e in store.published] == [
        "JoinRequested",
        "MemberJoined",
        "RoleChanged",
        "RoleChanged",
        "MemberLeft",
        "MemberJoined",
        "MemberLeft",
        "CommunityUpdated",
        "CommunityUpdated",
    ]


def test_membership_events_carry_the_version_of_the_persons_membership_document() -> None:
    # Staff events ride on the community document, member events on the membership
    # document; the outbox orders each document's events only, so the version orders
    # one person's events for consumers.
    store = community(Visibility.PRIVATE)
    store.request(OTTO)
    store.approve(MO, "otto")
    store.set_role(OLGA, "otto", Role.MODERATOR)
    store.leave(OTTO)
    store.invite(OLGA, "otto", Role.MODERATOR)
    otto = [e for e in store.published if getattr(e, "person_id", None) == "otto"]
    assert [e.event_type for e in otto] == [
        "JoinRequested",
        "MemberJoined",
        "RoleChanged",
        "MemberLeft",
        "MemberJoined",
    ]
    versions = [getattr(e, "membership_version", None) for e in otto]
    assert versions == [1, 2, 3, 4, 5]
    final = store.m("otto")
    assert final is not None
    assert final.version == versions[-1]


def test_no_change_publishes_nothing() -> None:
    store = community(Visibility.OPEN)
    store.join(OTTO)
    before = len(store.published)
    no_ops: list[Callable[[], Change]] = [
        lambda: store.join(OTTO),
        lambda: store.invite(OLGA, "otto"),
        lambda: store.set_role(OLGA, "otto", Role.MEMBER),
        lambda: store.update(OLGA, name="Supply chain"),
    ]
    for step in no_ops:
        assert step() == NO_CHANGE
    assert len(store.published) == before


def test_operations_never_mutate_their_inputs() -> None:
    store = community()
    snapshot = store.c
    staff_before = dict(snapshot.staff)
    change_role(
        snapshot,
        OLGA,
        actor_membership=store.m("olga"),
        person_id="mia",
        target_membership=store.m("mia"),
        role=Role.OWNER,
        now=T0 + timedelta(days=1),
    )
    assert dict(snapshot.staff) == staff_before
    with pytest.raises(TypeError):
        snapshot.staff["x"] = Role.OWNER  # type: ignore[index]


def test_times_must_be_timezone_aware() -> None:
    with pytest.raises(ValueError, match="timezone"):
        create_community(
            OLGA,
            community_id="c1",
            name="x",
            description="",
            visibility=Visibility.OPEN,
            now=datetime(2026, 1, 1),  # naive on purpose
        )
