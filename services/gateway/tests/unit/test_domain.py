"""Pure rules: the gRPC -> HTTP mapping, partner reach, the audit chain, JSON encoding."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import grpc
import pytest

from guildhall.community.v1 import community_pb2
from guildhall_gateway.adapters.http import protojson
from guildhall_gateway.adapters.http.operations import parse_if_match
from guildhall_gateway.domain.audit import GENESIS, AuditEntry, chain_of, link, verify_chain
from guildhall_gateway.domain.problems import NOT_FOUND_BODY, Problem, ProblemType, from_grpc
from guildhall_gateway.domain.scoping import PartnerReach, single_space, spaces_named


@pytest.mark.parametrize(
    ("code", "status"),
    [
        (grpc.StatusCode.INVALID_ARGUMENT, 400),
        (grpc.StatusCode.UNAUTHENTICATED, 401),
        (grpc.StatusCode.PERMISSION_DENIED, 403),
        (grpc.StatusCode.NOT_FOUND, 404),
        (grpc.StatusCode.ALREADY_EXISTS, 409),
        (grpc.StatusCode.FAILED_PRECONDITION, 409),
        (grpc.StatusCode.ABORTED, 412),
        (grpc.StatusCode.RESOURCE_EXHAUSTED, 429),
        (grpc.StatusCode.UNAVAILABLE, 503),
        (grpc.StatusCode.DEADLINE_EXCEEDED, 504),
        (grpc.StatusCode.INTERNAL, 502),
        (grpc.StatusCode.UNKNOWN, 502),
    ],
)
def test_grpc_status_maps_to_one_http_status(code: grpc.StatusCode, status: int) -> None:
    assert from_grpc(code, "detail").type.status == status


def test_internal_errors_keep_the_service_message_out() -> None:
    problem = from_grpc(grpc.StatusCode.INTERNAL, "Traceback: secret internals")
    assert "secret" not in str(problem.body())


def test_every_not_found_has_the_same_body() -> None:
    a = Problem(ProblemType.NOT_FOUND, "post 123 not found").body()
    b = from_grpc(grpc.StatusCode.NOT_FOUND, "community abc not found").body()
    assert a == b == NOT_FOUND_BODY


def test_reach_finds_spaces_anywhere_in_an_answer() -> None:
    answer = {
        "posts": [{"space_id": "p1", "quoted_post": {"space_id": "", "available": False}}],
        "pinhole": {"pinhole_id": "p2"},
    }
    assert set(spaces_named(answer)) == {"p1", "p2"}
    reach = PartnerReach("acme", frozenset({"p1"}))
    assert reach.outside(answer) == {"p2"}
    assert single_space(["p1", "p1"]) == "p1"
    assert single_space(["p1", "p2"]) is None


def _entry(n: int) -> AuditEntry:
    return AuditEntry(
        audit_id=f"a{n}",
        person_id="vera",
        org_id="acme",
        client_id="",
        method="GET",
        route="/v1/posts/{post_id}",
        object_ids=(f"post{n}",),
        pinhole_id="p1",
        outcome="allowed",
        http_status=200,
        bytes_returned=100 + n,
        request_id=f"r{n}",
        trace_id="",
        client_address="127.0.0.1",
        received_at=datetime(2026, 12, 3, tzinfo=UTC),
        duration_ms=3,
    )


def test_a_chain_verifies_and_tampering_and_deletion_are_found() -> None:
    chain = chain_of("p1", "acme")
    records = []
    previous = None
    for n in range(5):
        previous = link(_entry(n), chain, previous)
        records.append(previous)
    assert records[0].prev_hash == GENESIS
    assert verify_chain(chain, records, expected_last=5) == []
    tampered = [*records]
    tampered[2] = replace(records[2], entry=replace(records[2].entry, http_status=404))
    assert [f.seq for f in verify_chain(chain, tampered, expected_last=5)] == [3]
    gap = records[:2] + records[3:]
    assert any("missing" in f.problem for f in verify_chain(chain, gap, expected_last=5))
    tail = records[:4]
    assert any("end" in f.problem for f in verify_chain(chain, tail, expected_last=5))
    relinked = [*records]
    relinked[3] = replace(records[3], prev_hash=records[1].hash).sealed()
    assert any("prev_hash" in f.problem for f in verify_chain(chain, relinked))


def test_messages_encode_with_short_enum_names_and_every_field() -> None:
    community = community_pb2.Community(
        community_id="c1", visibility=community_pb2.COMMUNITY_VISIBILITY_SECRET, version=3
    )
    encoded = protojson.to_json(community)
    assert encoded["visibility"] == "secret"
    assert encoded["state"] is None
    assert encoded["created_at"] is None
    assert set(encoded) == {f.name for f in community.DESCRIPTOR.fields}
    community.created_at.FromDatetime(datetime(2026, 12, 3, 8, 0, 0, 123000, tzinfo=UTC))
    assert protojson.to_json(community)["created_at"] == "2026-12-03T08:00:00.123Z"


def test_validated_json_fills_a_request() -> None:
    model = protojson.input_model(
        community_pb2.CreateCommunityRequest.DESCRIPTOR, name="TestCreateBody"
    )
    body = model.model_validate({"name": "Ops", "visibility": "private", "tags": ["sap"]})
    request = community_pb2.CreateCommunityRequest()
    protojson.fill(request, {name: getattr(body, name) for name in body.model_fields_set})
    assert request.visibility == community_pb2.COMMUNITY_VISIBILITY_PRIVATE
    assert list(request.tags) == ["sap"]


@pytest.mark.parametrize(
    ("header", "version"), [(None, None), ("*", None), ('"3"', 3), ('W/"7"', 7), ('"v2"', 2)]
)
def test_if_match_names_a_version(header: str | None, version: int | None) -> None:
    assert parse_if_match(header) == version


@pytest.mark.parametrize("header", ['"0"', "3", '"a"', '"1", "2"'])
def test_a_bad_if_match_is_400(header: str) -> None:
    with pytest.raises(Problem) as info:
        parse_if_match(header)
    assert info.value.type is ProblemType.INVALID_REQUEST
