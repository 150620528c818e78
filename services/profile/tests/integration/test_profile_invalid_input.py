"""Bad input is INVALID_ARGUMENT naming the field, and a rejected write changes nothing.

Covers both layers: the protovalidate rules the kit's interceptor enforces,
and the checks only the domain can make (languages equal ignoring case, a
person as their own manager, a page token of another query, a manager chain
that would become a cycle). After each rejection the stored person is read
back unchanged and nothing was published.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Awaitable
from dataclasses import dataclass
from typing import Any

import grpc
import pytest
from google.rpc import error_details_pb2, status_pb2

from guildhall.profile.v1 import profile_pb2 as pb
from guildhall.profile.v1 import profile_pb2_grpc
from guildhall_kit.service import RunningService
from guildhall_testsupport.profile import Harness, read_topic, relay_idle

pytestmark = pytest.mark.integration

TOPIC = "guildhall.profile.v1"


@dataclass
class Setup:
    harness: Harness
    service: RunningService[Any]
    api: profile_pb2_grpc.ProfileServiceAsyncStub


@pytest.fixture(scope="module")
async def setup(infra: Any, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Setup]:
    harness = Harness(
        infra.kafka_bootstrap_servers,
        infra.mongo_uri,
        secrets.token_hex(4),
        tmp_path_factory.mktemp("keys"),
    )
    service = await harness.start()
    api = harness.stub(service)
    admin = harness.token("root", admin=True)
    for pid, manager in (("ceo", ""), ("vp", "ceo"), ("dev", "vp")):
        await api.CreatePerson(
            pb.CreatePersonRequest(
                person_id=pid,
                org_id="home",
                display_name=pid.upper(),
                email=f"{pid}@corp.example",
                manager_id=manager,
                department="R&D" if manager else "",
                languages=["en"],
            ),
            metadata=admin,
            timeout=10,
        )
    yield Setup(harness, service, api)
    await harness.close()


async def rejected(call: Awaitable[Any]) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await call
    return info.value


def violated_fields(error: grpc.aio.AioRpcError) -> list[str]:
    """The field paths of the google.rpc.BadRequest the interceptor attaches."""
    raw = dict(error.trailing_metadata() or ()).get("grpc-status-details-bin")
    assert isinstance(raw, bytes)
    detail = error_details_pb2.BadRequest()
    assert status_pb2.Status.FromString(raw).details[0].Unpack(detail)
    return [v.field for v in detail.field_violations]


async def stored(setup: Setup, pid: str) -> pb.Person:
    reply = await setup.api.GetPerson(
        pb.GetPersonRequest(person_id=pid), metadata=setup.harness.token("x"), timeout=10
    )
    return reply.person


async def events_now(setup: Setup) -> int:
    await relay_idle(setup.service)
    return len(await read_topic(setup.harness.kafka, setup.harness.topic_prefix + TOPIC))


async def test_rule_violations_name_the_field_and_change_nothing(setup: Setup) -> None:
    dev = setup.harness.token("dev")
    before = await stored(setup, "dev")
    cases: list[tuple[Awaitable[Any], str]] = [
        (
            setup.api.UpdateMyProfile(
                pb.UpdateMyProfileRequest(display_name="", bio="new"), metadata=dev, timeout=10
            ),
            "display_name",
        ),
        (
            setup.api.UpdateMyProfile(
                pb.UpdateMyProfileRequest(bio="bell \x07 rings"), metadata=dev, timeout=10
            ),
            "bio",
        ),
        (
            setup.api.UpdateMyProfile(
                pb.UpdateMyProfileRequest(
                    location=" padded ", languages=pb.LanguageList(languages=["en", "xx_1"])
                ),
                metadata=dev,
                timeout=10,
            ),
            "location",
        ),
        (
            setup.api.SetDeclaredExpertise(
                pb.SetDeclaredExpertiseRequest(tags=["python", "Not A Tag"]),
                metadata=dev,
                timeout=10,
            ),
            "tags[1]",
        ),
        (
            setup.api.GetPersonCard(
                pb.GetPersonCardRequest(person_id="Bad Id!"), metadata=dev, timeout=10
            ),
            "person_id",
        ),
    ]
    for call, field in cases:
        error = await rejected(call)
        assert error.code() == grpc.StatusCode.INVALID_ARGUMENT, field
        assert field in violated_fields(error), (field, error.details())
    assert await stored(setup, "dev") == before


async def test_domain_checks_name_the_field_and_change_nothing(setup: Setup) -> None:
    dev = setup.harness.token("dev")
    admin = setup.harness.token("root", admin=True)
    before = await stored(setup, "dev")
    published = await events_now(setup)

    error = await rejected(
        setup.api.UpdateMyProfile(
            pb.UpdateMyProfileRequest(
                bio="would change", languages=pb.LanguageList(languages=["de-CH", "DE-ch"])
            ),
            metadata=dev,
            timeout=10,
        )
    )
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert (error.details() or "").startswith("languages.languages[1]:")

    error = await rejected(
        setup.api.CreatePerson(
            pb.CreatePersonRequest(
                person_id="selfie",
                org_id="home",
                display_name="Self",
                email="self@corp.example",
                manager_id="selfie",
            ),
            metadata=admin,
            timeout=10,
        )
    )
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert (error.details() or "").startswith("manager_id:")

    error = await rejected(
        setup.api.CreatePerson(
            pb.CreatePersonRequest(
                person_id="poly",
                org_id="home",
                display_name="Poly",
                email="poly@corp.example",
                languages=["fr", "FR"],
            ),
            metadata=admin,
            timeout=10,
        )
    )
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert (error.details() or "").startswith("languages[1]:")

    page = await setup.api.ListPeopleByDepartment(
        pb.ListPeopleByDepartmentRequest(department="R&D", page_size=1), metadata=dev, timeout=10
    )
    assert page.next_page_token
    for department, token in (("Sales", page.next_page_token), ("R&D", "e30")):
        error = await rejected(
            setup.api.ListPeopleByDepartment(
                pb.ListPeopleByDepartmentRequest(department=department, page_token=token),
                metadata=dev,
                timeout=10,
            )
        )
        assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert (error.details() or "").startswith("page_token:")

    assert await stored(setup, "dev") == before
    for missing in ("selfie", "poly"):
        error = await rejected(
            setup.api.GetPerson(pb.GetPersonRequest(person_id=missing), metadata=dev, timeout=10)
        )
        assert error.code() == grpc.StatusCode.NOT_FOUND
    assert await events_now(setup) == published


async def test_a_manager_cycle_is_refused_and_the_chart_stays(setup: Setup) -> None:
    admin = setup.harness.token("root", admin=True)
    before = await stored(setup, "ceo")
    error = await rejected(
        setup.api.UpdatePerson(
            pb.UpdatePersonRequest(person_id="ceo", manager_id="dev", title="would change"),
            metadata=admin,
            timeout=10,
        )
    )
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "cycle" in (error.details() or "")
    assert await stored(setup, "ceo") == before
    chain = await setup.api.GetManagerChain(
        pb.GetManagerChainRequest(person_id="dev"), metadata=admin, timeout=10
    )
    assert [c.person_id for c in chain.managers] == ["vp", "ceo"]


async def test_a_stale_expected_version_is_aborted_and_changes_nothing(setup: Setup) -> None:
    vp = setup.harness.token("vp")
    before = await stored(setup, "vp")
    error = await rejected(
        setup.api.UpdateMyProfile(
            pb.UpdateMyProfileRequest(bio="late", expected_version=before.version + 5),
            metadata=vp,
            timeout=10,
        )
    )
    assert error.code() == grpc.StatusCode.ABORTED
    assert await stored(setup, "vp") == before
    done = await setup.api.UpdateMyProfile(
        pb.UpdateMyProfileRequest(bio="on time", expected_version=before.version),
        metadata=vp,
        timeout=10,
    )
    assert done.person.version == before.version + 1
