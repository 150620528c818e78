"""Organisations, people and the org chart through the gRPC API, on real FerretDB and Kafka."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Awaitable
from dataclasses import dataclass
from typing import Any

import grpc
import pytest

from guildhall.profile.v1 import profile_pb2 as pb
from guildhall.profile.v1 import profile_pb2_grpc
from guildhall_testsupport.profile import Harness

pytestmark = pytest.mark.integration


@dataclass
class Api:
    harness: Harness
    stub: profile_pb2_grpc.ProfileServiceAsyncStub

    @property
    def admin(self) -> tuple[tuple[str, str]]:
        return self.harness.token("root", admin=True)

    @property
    def employee(self) -> tuple[tuple[str, str]]:
        return self.harness.token("someone")


@pytest.fixture(scope="module")
async def api(infra: Any, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Api]:
    harness = Harness(
        infra.kafka_bootstrap_servers,
        infra.mongo_uri,
        secrets.token_hex(4),
        tmp_path_factory.mktemp("keys"),
    )
    service = await harness.start(home_org_name="Guildhall Corp")
    yield Api(harness, harness.stub(service))
    await harness.close()


async def code_of(call: Awaitable[Any]) -> grpc.StatusCode:
    try:
        await call
    except grpc.aio.AioRpcError as exc:
        return exc.code()
    return grpc.StatusCode.OK


async def create(api: Api, pid: str, **fields: Any) -> pb.Person:
    request = pb.CreatePersonRequest(
        person_id=pid,
        org_id=fields.pop("org_id", "home"),
        display_name=fields.pop("display_name", pid.title()),
        email=fields.pop("email", f"{pid}@corp.example"),
        **fields,
    )
    reply = await api.stub.CreatePerson(request, metadata=api.admin, timeout=10)
    return reply.person


async def test_orgs_register_unique_ignoring_case_and_list_by_name(api: Api) -> None:
    home = await api.stub.GetOrg(pb.GetOrgRequest(org_id="home"), metadata=api.employee, timeout=10)
    assert home.org.kind == pb.ORG_KIND_HOME
    assert home.org.display_name == "Guildhall Corp"
    minted = await api.stub.RegisterOrg(
        pb.RegisterOrgRequest(kind=pb.ORG_KIND_CUSTOMER, display_name="Zeta Retail"),
        metadata=api.admin,
        timeout=10,
    )
    assert len(minted.org.org_id) == 26
    assert minted.org.org_id == minted.org.org_id.lower()
    for org_id, name in (("beta", "Beta Co"), ("alpha", "alpha supplies")):
        await api.stub.RegisterOrg(
            pb.RegisterOrgRequest(org_id=org_id, kind=pb.ORG_KIND_SUPPLIER, display_name=name),
            metadata=api.admin,
            timeout=10,
        )
    for org_id, name in (("beta", "Another"), ("other", "BETA CO")):
        code = await code_of(
            api.stub.RegisterOrg(
                pb.RegisterOrgRequest(org_id=org_id, kind=pb.ORG_KIND_VENDOR, display_name=name),
                metadata=api.admin,
                timeout=10,
            )
        )
        assert code == grpc.StatusCode.ALREADY_EXISTS, (org_id, name)
    not_admin = await code_of(
        api.stub.RegisterOrg(
            pb.RegisterOrgRequest(kind=pb.ORG_KIND_VENDOR, display_name="Sneaky"),
            metadata=api.employee,
            timeout=10,
        )
    )
    assert not_admin == grpc.StatusCode.PERMISSION_DENIED

    names: list[str] = []
    token = ""
    while True:
        page = await api.stub.ListOrgs(
            pb.ListOrgsRequest(page_size=2, page_token=token), metadata=api.employee, timeout=10
        )
        names += [o.display_name for o in page.orgs]
        token = page.next_page_token
        if not token:
            break
    assert names == ["alpha supplies", "Beta Co", "Guildhall Corp", "Zeta Retail"]
    suppliers = await api.stub.ListOrgs(
        pb.ListOrgsRequest(kind=pb.ORG_KIND_SUPPLIER), metadata=api.employee, timeout=10
    )
    assert [o.org_id for o in suppliers.orgs] == ["alpha", "beta"]


async def test_people_rules_on_creation(api: Api) -> None:
    await create(api, "kim", department="Ops", title="Lead")
    assert (
        await code_of(create(api, "kim2", email="KIM@corp.example"))
        == grpc.StatusCode.ALREADY_EXISTS
    )
    assert await code_of(create(api, "kim", email="k@x.example")) == grpc.StatusCode.ALREADY_EXISTS
    assert await code_of(create(api, "lee", org_id="nowhere")) == grpc.StatusCode.NOT_FOUND
    assert await code_of(create(api, "lee", manager_id="ghost")) == grpc.StatusCode.NOT_FOUND
    await api.stub.RegisterOrg(
        pb.RegisterOrgRequest(org_id="initech", kind=pb.ORG_KIND_VENDOR, display_name="Initech"),
        metadata=api.admin,
        timeout=10,
    )
    assert (
        await code_of(create(api, "pete", org_id="initech", department="Ops"))
        == grpc.StatusCode.FAILED_PRECONDITION
    )
    partner = await create(api, "pete", org_id="initech", title="Consultant")
    assert partner.kind == pb.PERSON_KIND_PARTNER_USER
    assert partner.card.org_display_name == "Initech"
    await api.stub.SuspendOrg(
        pb.SuspendOrgRequest(org_id="initech", reason="x"), metadata=api.admin, timeout=10
    )
    assert (
        await code_of(create(api, "paul", org_id="initech")) == grpc.StatusCode.FAILED_PRECONDITION
    )


async def test_departments_reports_and_the_manager_chain(api: Api) -> None:
    await create(api, "top", display_name="Top Boss")
    await create(api, "mid", display_name="Mid Manager", manager_id="top", department="Sales")
    for pid, name in (("s1", "zoe"), ("s2", "Adam"), ("s3", "bea"), ("s4", "Bea")):
        await create(api, pid, display_name=name, manager_id="mid", department="Sales")

    names: list[str] = []
    token = ""
    for _ in range(10):
        page = await api.stub.ListPeopleByDepartment(
            pb.ListPeopleByDepartmentRequest(department="Sales", page_size=2, page_token=token),
            metadata=api.employee,
            timeout=10,
        )
        names += [p.display_name for p in page.people]
        token = page.next_page_token
        if not token:
            break
    assert names == ["Adam", "bea", "Bea", "Mid Manager", "zoe"]

    reports = await api.stub.ListDirectReports(
        pb.ListDirectReportsRequest(person_id="mid"), metadata=api.employee, timeout=10
    )
    assert [c.person_id for c in reports.reports] == ["s2", "s3", "s4", "s1"]
    chain = await api.stub.GetManagerChain(
        pb.GetManagerChainRequest(person_id="s1"), metadata=api.employee, timeout=10
    )
    assert [c.person_id for c in chain.managers] == ["mid", "top"]
    assert (
        await code_of(
            api.stub.GetManagerChain(
                pb.GetManagerChainRequest(person_id="ghost"), metadata=api.employee, timeout=10
            )
        )
        == grpc.StatusCode.NOT_FOUND
    )

    moved = await api.stub.UpdatePerson(
        pb.UpdatePersonRequest(person_id="s1", manager_id="top", department="Board"),
        metadata=api.admin,
        timeout=10,
    )
    assert moved.person.manager_id == "top"
    chain = await api.stub.GetManagerChain(
        pb.GetManagerChainRequest(person_id="s1"), metadata=api.employee, timeout=10
    )
    assert [c.person_id for c in chain.managers] == ["top"]

    batch = await api.stub.BatchGetPeople(
        pb.BatchGetPeopleRequest(person_ids=["s3", "ghost", "top"]),
        metadata=api.employee,
        timeout=10,
    )
    assert [p.person_id for p in batch.people] == ["s3", "top"]


async def test_my_profile_and_self_service_edits(api: Api) -> None:
    await create(api, "uma", languages=["en"])
    uma = api.harness.token("uma")
    me = await api.stub.GetMyProfile(pb.GetMyProfileRequest(), metadata=uma, timeout=10)
    assert me.person.email == "uma@corp.example"
    updated = await api.stub.UpdateMyProfile(
        pb.UpdateMyProfileRequest(
            display_name="Uma U.",
            location="Basel",
            languages=pb.LanguageList(languages=["de-CH", "en"]),
        ),
        metadata=uma,
        timeout=10,
    )
    assert updated.person.display_name == "Uma U."
    assert list(updated.person.languages) == ["de-CH", "en"]
    assert updated.person.version == me.person.version + 1
    cleared = await api.stub.UpdateMyProfile(
        pb.UpdateMyProfileRequest(languages=pb.LanguageList()), metadata=uma, timeout=10
    )
    assert list(cleared.person.languages) == []
    assert cleared.person.location == "Basel"
    nobody = await code_of(
        api.stub.GetMyProfile(
            pb.GetMyProfileRequest(), metadata=api.harness.token("unknown"), timeout=10
        )
    )
    assert nobody == grpc.StatusCode.NOT_FOUND
    unauthenticated = await code_of(api.stub.GetMyProfile(pb.GetMyProfileRequest(), timeout=10))
    assert unauthenticated == grpc.StatusCode.UNAUTHENTICATED


async def test_an_employee_token_of_another_org_is_refused_before_any_handler(api: Api) -> None:
    # The kit's token check: "employee" is only ever the home org's kind, in every service.
    await api.stub.RegisterOrg(
        pb.RegisterOrgRequest(org_id="hooli", kind=pb.ORG_KIND_VENDOR, display_name="Hooli"),
        metadata=api.admin,
        timeout=10,
    )
    await create(api, "gavin", org_id="hooli")
    for org in ("hooli", "nowhere"):
        forged = api.harness.token("gavin", org_id=org, admin=True)
        calls: list[Awaitable[Any]] = [
            api.stub.GetMyProfile(pb.GetMyProfileRequest(), metadata=forged, timeout=10),
            api.stub.GetPerson(pb.GetPersonRequest(person_id="gavin"), metadata=forged, timeout=10),
            api.stub.FindExperts(pb.FindExpertsRequest(tags=["go"]), metadata=forged, timeout=10),
            api.stub.RegisterOrg(
                pb.RegisterOrgRequest(kind=pb.ORG_KIND_VENDOR, display_name="Forged"),
                metadata=forged,
                timeout=10,
            ),
        ]
        assert [await code_of(c) for c in calls] == [grpc.StatusCode.UNAUTHENTICATED] * 4, org
    orgs = await api.stub.ListOrgs(pb.ListOrgsRequest(), metadata=api.employee, timeout=10)
    assert "Forged" not in [o.display_name for o in orgs.orgs]
