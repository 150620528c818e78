"""Health, readiness, who the caller is, and the spaces they take part in."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from guildhall.community.v1 import community_pb2
from guildhall_gateway.adapters.http import protojson
from guildhall_gateway.adapters.http.context import caller_of, state_of
from guildhall_gateway.adapters.http.models import Health, Me
from guildhall_gateway.adapters.http.responses import JsonResponse, problem_response
from guildhall_gateway.adapters.http.runtime import runtime_of
from guildhall_gateway.adapters.services import Rpc
from guildhall_gateway.domain.problems import Problem, ProblemType
from guildhall_kit.clients.community import principal_message

router = APIRouter()
LIST_SPACES = Rpc("community", "ListSpaces")
_SPACES = protojson.output_model(community_pb2.ListSpacesResponse.DESCRIPTOR)
_ACTIONS = "^(" + "|".join(protojson.enum_names(community_pb2.Action.DESCRIPTOR).values()) + ")$"


@router.get("/healthz", operation_id="healthz", tags=["health"], response_model=Health)
async def healthz() -> Response:
    """Liveness: 200 while the process runs (depends on nothing)."""
    return JsonResponse({"status": "alive"})


@router.get(
    "/readyz",
    operation_id="readyz",
    tags=["health"],
    response_model=Health,
    responses={503: {"description": "not ready"}},
)
async def readyz(request: Request) -> Response:
    """Readiness: 200 once the gateway's database and event bus are up, else 503."""
    if runtime_of(request).ready():
        return JsonResponse({"status": "ready"})
    return problem_response(Problem(ProblemType.UNAVAILABLE, "not ready", retry_after=1))


PARTNER = {"x-partner": True}


@router.get("/v1/me", operation_id="getMe", tags=["me"], response_model=Me, openapi_extra=PARTNER)
async def get_me(request: Request) -> Response:
    """The caller, as the access token says (touches no service)."""
    caller = caller_of(request)
    principal = caller.principal
    return JsonResponse(
        {
            "person_id": principal.subject,
            "org_id": principal.org_id,
            "kind": principal.kind.value,
            "home_admin": principal.is_home_admin,
            "client_id": caller.client_id,
            "scopes": sorted(caller.scopes),
        }
    )


@router.get("/v1/me/spaces", operation_id="listMySpaces", tags=["me"], response_model=_SPACES)
async def list_my_spaces(
    request: Request,
    action: Annotated[str | None, Query(pattern=_ACTIONS)] = None,
    page_size: Annotated[int | None, Query(ge=0, le=100)] = None,
    page_token: Annotated[
        str | None, Query(max_length=1024, pattern=protojson.PAGE_TOKEN_PATTERN)
    ] = None,
) -> Response:
    """The spaces the caller takes part in where they may do ``action`` (default read):
    an employee's communities' main spaces and pinholes, a partner's granted pinholes."""
    caller = caller_of(request)
    runtime = runtime_of(request)
    request_message = community_pb2.ListSpacesRequest(
        principal=principal_message(caller.principal),
        action=community_pb2.ACTION_READ,
        page_size=page_size or 0,
        page_token=page_token or "",
    )
    if action is not None:
        protojson.fill(request_message, {"action": action})
    reply = await runtime.services.call(
        LIST_SPACES, request_message, caller.service_authorization()
    )
    document = protojson.to_json(reply)
    state_of(request.scope).spaces.update(s["space"]["space_id"] for s in document["spaces"])
    return JsonResponse(document)
