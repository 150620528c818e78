"""Response models of the routes that are not one RPC (the rest come from the contracts)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class FieldProblem(BaseModel):
    """One wrong field of a request."""

    field: str = Field(description="Dotted path: a body field, a parameter or a header.")
    message: str


class Problem(BaseModel):
    """An error (RFC 9457). Switch on ``type``; it never changes for an error."""

    model_config = ConfigDict(title="Problem")

    type: str = Field(description="Stable URI of the kind of error, urn:guildhall:problem:<slug>.")
    title: str
    status: int
    detail: str
    errors: list[FieldProblem] | None = Field(
        None, description="The fields that were wrong (400 only)."
    )


class Me(BaseModel):
    """The caller, as the access token says."""

    person_id: str
    org_id: str
    kind: Literal["employee", "partner"]
    home_admin: bool
    client_id: str | None = Field(description="The OAuth client of a partner system; else null.")
    scopes: list[str] = Field(description="A partner system's scopes; empty for a person.")


class Health(BaseModel):
    status: str


class AuditRecordOut(BaseModel):
    """One partner request, as recorded in its hash chain."""

    chain: str
    seq: int
    prev_hash: str
    hash: str
    audit_id: str
    person_id: str
    org_id: str
    client_id: str
    method: str
    route: str
    object_ids: list[str]
    pinhole_id: str
    outcome: Literal["allowed", "denied", "rate_limited", "unauthenticated", "failed"]
    http_status: int
    bytes_returned: int
    request_id: str
    trace_id: str
    client_address: str
    received_at: datetime
    duration_ms: int


class AuditPage(BaseModel):
    """A page of audit records, oldest first."""

    records: list[AuditRecordOut]
    next_page_token: str
