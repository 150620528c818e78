"""Organisations and people: rules, errors, and one event per state change."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from guildhall_kit.errors import (
    Aborted,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
)
from guildhall_profile.domain.events import (
    OrgRegistered,
    OrgReinstated,
    OrgSuspended,
    PersonJoined,
    ProfileUpdated,
)
from guildhall_profile.domain.model import (
    MAX_MANAGER_CHAIN,
    Org,
    OrgKind,
    OrgState,
    Person,
    PersonKind,
    fold,
)
from guildhall_profile.domain.orgs import home_org, register_org, reinstate_org, suspend_org
from guildhall_profile.domain.people import (
    ChainWalk,
    check_new_person,
    create_person,
    manager_chain_walk,
    new_manager_walk,
    update_my_profile,
    update_person,
)

T0 = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
T1 = T0 + timedelta(minutes=1)


def home() -> Org:
    return home_org("home", "Guildhall Corp", T0).org


def acme(state: OrgState = OrgState.ACTIVE) -> Org:
    org = register_org(
        org_id="acme", kind=OrgKind.VENDOR, display_name="ACME", actor_id="root", now=T0
    ).org
    return replace(org, state=state)


def employee(pid: str, manager_id: str = "", **fields: object) -> Person:
    person = Person(
        person_id=pid,
        kind=PersonKind.EMPLOYEE,
        org_id="home",
        display_name=pid.title(),
        email=f"{pid}@corp.example",
        created_at=T0,
        updated_at=T0,
        manager_id=manager_id,
    )
    return replace(person, **fields)  # type: ignore[arg-type]


# --- organisations ---------------------------------------------------------------------------


def test_home_org_is_registered_once_from_configuration() -> None:
    change = home_org("home", "  Guildhall Corp ", T0)
    assert change.org.kind is OrgKind.HOME
    assert change.org.display_name == "Guildhall Corp"
    assert isinstance(change.event, OrgRegistered)
    assert change.event.actor_id == ""
    with pytest.raises(ValueError, match="home org"):
        home_org("home", "  ", T0)


def test_register_partner_org() -> None:
    change = register_org(
        org_id="acme", kind=OrgKind.SUPPLIER, display_name="Acme", actor_id="root", now=T0
    )
    assert change.org.state is OrgState.ACTIVE
    assert change.org.version == 1
    assert change.event == OrgRegistered(org=change.org, actor_id="root")
    assert change.org.name_key == fold("ACME")


def test_home_kind_cannot_be_registered() -> None:
    with pytest.raises(InvalidArgument) as info:
        register_org(org_id="x", kind=OrgKind.HOME, display_name="X", actor_id="root", now=T0)
    assert info.value.field == "kind"


def test_suspend_and_reinstate_publish_once_and_are_idempotent() -> None:
    org = acme()
    suspended = suspend_org(org, reason="contract ended", actor_id="root", now=T1)
    assert isinstance(suspended.event, OrgSuspended)
    assert suspended.org.state is OrgState.SUSPENDED
    assert suspended.org.version == 2
    assert suspended.org.suspension_reason == "contract ended"
    again = suspend_org(suspended.org, reason="again", actor_id="root", now=T1)
    assert not again.changed
    assert again.org == suspended.org
    back = reinstate_org(suspended.org, actor_id="root", now=T1)
    assert isinstance(back.event, OrgReinstated)
    assert back.org.state is OrgState.ACTIVE
    assert back.org.suspension_reason == ""
    assert back.org.version == 3
    assert not reinstate_org(back.org, actor_id="root", now=T1).changed


def test_home_org_cannot_be_suspended() -> None:
    with pytest.raises(FailedPrecondition):
        suspend_org(home(), reason="no", actor_id="root", now=T1)
    with pytest.raises(FailedPrecondition):
        reinstate_org(home(), actor_id="root", now=T1)


# --- people ----------------------------------------------------------------------------------


def new_person(org: Org, manager: Person | None = None, **kw: object) -> Person:
    args: dict[str, object] = {
        "person_id": "p1",
        "org": org,
        "display_name": "Pat",
        "email": "pat@example.com",
        "title": "Engineer",
        "department": "",
        "location": "",
        "languages": (),
        "manager": manager,
        "actor_id": "root",
        "now": T0,
    }
    args.update(kw)
    return create_person(**args).person  # type: ignore[arg-type]


def test_create_employee_and_partner_user() -> None:
    boss = employee("boss")
    change = create_person(
        person_id="ann",
        org=home(),
        display_name="Ann",
        email="Ann@Corp.example",
        title="Engineer",
        department="R&D",
        location="Zurich",
        languages=["en", "de-CH"],
        manager=boss,
        actor_id="root",
        now=T0,
    )
    assert change.person.kind is PersonKind.EMPLOYEE
    assert change.person.manager_id == "boss"
    assert change.person.email_key == "ann@corp.example"
    assert change.event == PersonJoined(person=change.person, actor_id="root")
    partner = new_person(acme())
    assert partner.kind is PersonKind.PARTNER_USER
    assert partner.org_id == "acme"


def test_partner_users_have_no_manager_or_department() -> None:
    with pytest.raises(FailedPrecondition):
        new_person(acme(), manager=employee("boss"))
    with pytest.raises(FailedPrecondition):
        new_person(acme(), department="Sales")


def test_no_people_in_a_suspended_org() -> None:
    with pytest.raises(FailedPrecondition, match="suspended"):
        new_person(acme(OrgState.SUSPENDED))


def test_manager_must_be_an_employee_and_not_oneself() -> None:
    partner = replace(employee("pu"), kind=PersonKind.PARTNER_USER, org_id="acme")
    with pytest.raises(FailedPrecondition, match="employee"):
        new_person(home(), manager=partner)
    with pytest.raises(InvalidArgument) as info:
        check_new_person(person_id="p1", manager_id="p1")
    assert info.value.field == "manager_id"


def test_languages_that_differ_only_in_case_are_refused_naming_the_index() -> None:
    with pytest.raises(InvalidArgument) as info:
        new_person(home(), languages=["en", "de-CH", "DE-ch"])
    assert info.value.field == "languages[2]"
    with pytest.raises(InvalidArgument) as info:
        update_my_profile(employee("a"), languages=["fr", "FR"], now=T1)
    assert info.value.field == "languages.languages[1]"


def test_update_my_profile_names_what_changed_and_skips_no_ops() -> None:
    person = employee("ann", bio="old", location="Basel")
    change = update_my_profile(person, bio="new", location="Basel", now=T1)
    assert isinstance(change.event, ProfileUpdated)
    assert change.event.changed_fields == ("bio",)
    assert change.event.actor_id == "ann"
    assert change.person.version == person.version + 1
    assert change.person.updated_at == T1
    same = update_my_profile(change.person, bio="new", now=T1)
    assert not same.changed
    cleared = update_my_profile(change.person, bio="", languages=[], now=T1)
    assert cleared.person.bio == ""
    assert isinstance(cleared.event, ProfileUpdated)
    assert cleared.event.changed_fields == ("bio",)


def test_expected_version_guards_updates() -> None:
    person = employee("ann")
    with pytest.raises(Aborted):
        update_my_profile(person, bio="x", expected_version=7, now=T1)
    assert update_my_profile(person, bio="x", expected_version=1, now=T1).changed
    with pytest.raises(Aborted):
        update_person(person, title="x", expected_version=2, actor_id="root", now=T1)


def test_admin_update_of_a_partner_user_is_limited_to_title_and_location() -> None:
    partner = replace(employee("pu"), kind=PersonKind.PARTNER_USER, org_id="acme")
    change = update_person(partner, title="Lead", location="Oslo", actor_id="root", now=T1)
    assert isinstance(change.event, ProfileUpdated)
    assert change.event.changed_fields == ("location", "title")
    with pytest.raises(FailedPrecondition):
        update_person(partner, department="Sales", actor_id="root", now=T1)
    with pytest.raises(FailedPrecondition):
        update_person(partner, manager_id="", actor_id="root", now=T1)


def walk_over(walk: ChainWalk, people: dict[str, Person]) -> ChainWalk:
    while walk.wanted is not None:
        walk.feed(people.get(walk.wanted))
    return walk


def chart(*edges: tuple[str, str]) -> dict[str, Person]:
    """People from (person, manager) pairs."""
    people = {}
    for pid, manager in edges:
        people[pid] = employee(pid, manager)
    return people


def test_manager_chain_nearest_first_and_bounded() -> None:
    people = chart(("a", "b"), ("b", "c"), ("c", ""))
    walk = walk_over(manager_chain_walk(people["a"]), people)
    assert [m.person_id for m in walk.managers] == ["b", "c"]
    assert not walk.cycle
    assert not walk.truncated
    assert not walk.broken
    long = chart(*[(f"m{i}", f"m{i + 1}") for i in range(80)], ("m80", ""))
    walk = walk_over(manager_chain_walk(long["m0"]), long)
    assert len(walk.managers) == MAX_MANAGER_CHAIN
    assert walk.truncated


def test_manager_chain_survives_a_cycle_and_a_missing_manager() -> None:
    people = chart(("a", "b"), ("b", "c"), ("c", "a"))
    walk = walk_over(manager_chain_walk(people["a"]), people)
    assert [m.person_id for m in walk.managers] == ["b", "c"]
    assert walk.cycle
    assert walk.reached_origin
    people = chart(("a", "b"), ("b", "ghost"))
    walk = walk_over(manager_chain_walk(people["a"]), people)
    assert [m.person_id for m in walk.managers] == ["b"]
    assert walk.broken


def test_a_new_manager_that_closes_a_cycle_is_refused() -> None:
    people = chart(("ceo", ""), ("vp", "ceo"), ("dev", "vp"))
    walk = walk_over(new_manager_walk(people["ceo"], "dev"), people)
    with pytest.raises(FailedPrecondition, match="cycle"):
        update_person(people["ceo"], manager_id="dev", manager_walk=walk, actor_id="r", now=T1)
    with pytest.raises(FailedPrecondition, match="own manager"):
        update_person(people["dev"], manager_id="dev", actor_id="r", now=T1)


def test_a_valid_new_manager_is_set_and_an_unknown_one_is_not_found() -> None:
    people = chart(("ceo", ""), ("vp", "ceo"), ("dev", "vp"), ("cto", "ceo"))
    walk = walk_over(new_manager_walk(people["dev"], "cto"), people)
    change = update_person(people["dev"], manager_id="cto", manager_walk=walk, actor_id="r", now=T1)
    assert change.person.manager_id == "cto"
    assert isinstance(change.event, ProfileUpdated)
    assert change.event.changed_fields == ("manager_id",)
    walk = walk_over(new_manager_walk(people["dev"], "ghost"), people)
    with pytest.raises(NotFound):
        update_person(people["dev"], manager_id="ghost", manager_walk=walk, actor_id="r", now=T1)
    cleared = update_person(people["dev"], manager_id="", actor_id="r", now=T1)
    assert cleared.person.manager_id == ""


def test_a_partner_user_cannot_become_a_manager() -> None:
    people = chart(("dev", ""))
    people["pu"] = replace(employee("pu"), kind=PersonKind.PARTNER_USER, org_id="acme")
    walk = walk_over(new_manager_walk(people["dev"], "pu"), people)
    with pytest.raises(FailedPrecondition, match="employee"):
        update_person(people["dev"], manager_id="pu", manager_walk=walk, actor_id="r", now=T1)


def test_a_walk_must_be_finished_before_it_is_used() -> None:
    people = chart(("dev", ""), ("cto", ""))
    walk = new_manager_walk(people["dev"], "cto")
    with pytest.raises(ValueError, match="walk"):
        update_person(people["dev"], manager_id="cto", manager_walk=walk, actor_id="r", now=T1)
    with pytest.raises(RuntimeError):
        walk.feed(people["dev"])
