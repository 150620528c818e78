"""Pinholes (propose, open, grant, revoke, close) and spaces."""

from __future__ import annotations

from guildhall_gateway.adapters.http.operations import Operation
from guildhall_gateway.adapters.services import Rpc

PAGE = ("page_size", "page_token")
P = "/v1/pinholes/{pinhole_id}"


def _c(method: str) -> Rpc:
    return Rpc("community", method)


OPERATIONS: tuple[Operation, ...] = (
    Operation(
        "proposePinhole",
        "POST",
        "/v1/communities/{community_id}/pinholes",
        _c("ProposePinhole"),
        "Propose a pinhole of a community",
        "pinholes",
        body=("title", "purpose", "expires_at"),
        status=201,
        etag="pinhole.version",
    ),
    Operation(
        "listPinholes",
        "GET",
        "/v1/communities/{community_id}/pinholes",
        _c("ListPinholes"),
        "A community's pinholes the caller may see, newest first",
        "pinholes",
        query=("state", *PAGE),
    ),
    Operation(
        "getPinhole",
        "GET",
        P,
        _c("GetPinhole"),
        "A pinhole (a partner sees only its own org's grant)",
        "pinholes",
        partner=True,
        space_fields=("pinhole_id",),
        etag="pinhole.version",
    ),
    Operation(
        "openPinhole",
        "POST",
        P + "/open",
        _c("OpenPinhole"),
        "Open a proposed pinhole",
        "pinholes",
        etag="pinhole.version",
    ),
    Operation(
        "grantPinhole",
        "PUT",
        P + "/grants/{org_id}",
        _c("GrantPinhole"),
        "Grant a partner organisation access (viewer or contributor)",
        "pinholes",
        body=("level",),
        etag="pinhole.version",
    ),
    Operation(
        "revokeGrant",
        "DELETE",
        P + "/grants/{org_id}",
        _c("RevokeGrant"),
        "Withdraw a partner organisation's grant (effective at once)",
        "pinholes",
        etag="pinhole.version",
    ),
    Operation(
        "closePinhole",
        "POST",
        P + "/close",
        _c("ClosePinhole"),
        "Close a pinhole for good (partners lose access at once)",
        "pinholes",
        etag="pinhole.version",
    ),
    Operation(
        "getSpace",
        "GET",
        "/v1/spaces/{space_id}",
        _c("GetSpace"),
        "A space's card (a community's main space or a pinhole)",
        "spaces",
        partner=True,
        space_fields=("space_id",),
    ),
)
