"""Reading the audit trail of partner access.

- a pinhole's chain: the owners of its community and home admins (the
  community service's ADMINISTER decision on the pinhole); anyone else, and
  every partner, gets the missing-object answer;
- an org's slice (every record of that org's requests, in every chain): home
  admins, and the partner org's own admins.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from starlette.responses import Response

from guildhall_gateway.adapters.http.context import caller_of
from guildhall_gateway.adapters.http.models import AuditPage
from guildhall_gateway.adapters.http.protojson import ID_PATTERN
from guildhall_gateway.adapters.http.responses import JsonResponse
from guildhall_gateway.adapters.http.runtime import runtime_of
from guildhall_gateway.adapters.repository import record_id
from guildhall_gateway.domain.audit import AuditRecord
from guildhall_gateway.domain.problems import Problem, ProblemType, invalid, not_found
from guildhall_kit.clients import Action
from guildhall_kit.errors import Unavailable
from guildhall_kit.paging import decode_token, encode_token, key_int, key_str

router = APIRouter(tags=["audit"])

PageSize = Annotated[int, Query(ge=1, le=100)]
PageToken = Annotated[str, Query(max_length=1024, pattern=r"^[\x21-\x7E]*$")]


def _out(record: AuditRecord) -> dict[str, Any]:
    data = record.fields()
    stamp = record.entry.received_at.isoformat(timespec="milliseconds")
    data["received_at"] = stamp.replace("+00:00", "Z")
    return data


def _decode(token: str, listing: str, shape: Any, scope: str) -> list[Any] | None:
    try:
        return decode_token(token, listing, shape, scope=[scope])
    except Exception:  # noqa: BLE001 - any undecodable token is the caller's mistake
        raise invalid("page_token", "not a page token returned by this call") from None


@router.get(
    "/v1/pinholes/{pinhole_id}/audit",
    operation_id="listPinholeAudit",
    response_model=AuditPage,
)
async def list_pinhole_audit(
    request: Request,
    pinhole_id: Annotated[str, Path(pattern=ID_PATTERN)],
    page_size: PageSize = 50,
    page_token: PageToken = "",
) -> Response:
    """The hash chain of partner requests to one pinhole, oldest first
    (community owners and home admins)."""
    caller = caller_of(request)
    runtime = runtime_of(request)
    if not caller.principal.is_employee or runtime.audit_store is None:
        raise not_found()
    try:
        allowed = await runtime.access.check(
            caller.principal,
            pinhole_id,
            Action.ADMINISTER,
            authorization=caller.service_authorization(),
        )
    except Unavailable as exc:
        raise Problem(ProblemType.UNAVAILABLE, exc.message, retry_after=1) from None
    if not allowed:
        raise not_found()
    chain = f"pinhole:{pinhole_id}"
    key = _decode(page_token, "pinhole-audit", (int,), chain)
    after = key_int(key, 0) if key else 0
    records = await runtime.audit_store.records(chain, after, page_size)
    next_token = ""
    if len(records) == page_size:
        next_token = encode_token("pinhole-audit", [records[-1].seq], scope=[chain])
    return JsonResponse({"records": [_out(r) for r in records], "next_page_token": next_token})


@router.get(
    "/v1/orgs/{org_id}/audit",
    operation_id="listOrgAudit",
    response_model=AuditPage,
    openapi_extra={"x-partner": True, "x-partner-admin-only": True},
)
async def list_org_audit(
    request: Request,
    org_id: Annotated[str, Path(pattern=ID_PATTERN)],
    page_size: PageSize = 50,
    page_token: PageToken = "",
) -> Response:
    """Every recorded request of one partner org, in every chain (home admins, and
    that org's own admins)."""
    caller = caller_of(request)
    runtime = runtime_of(request)
    principal = caller.principal
    own_admin = principal.is_partner and principal.org_id == org_id and "admin" in principal.roles
    if runtime.audit_store is None or not (principal.is_home_admin or own_admin):
        raise not_found()
    key = _decode(page_token, "org-audit", (str,), org_id)
    after = key_str(key, 0) if key else ""
    records = await runtime.audit_store.by_org(org_id, after, page_size)
    next_token = ""
    if len(records) == page_size:
        last = records[-1]
        next_token = encode_token("org-audit", [record_id(last.chain, last.seq)], scope=[org_id])
    return JsonResponse({"records": [_out(r) for r in records], "next_page_token": next_token})
