"""What the HTTP app needs at run time (built in app.py, absent when only the
OpenAPI document is generated)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from starlette.requests import Request

from guildhall_gateway.adapters.http.middleware import MiddlewareDeps
from guildhall_gateway.adapters.http.operations import Deps
from guildhall_gateway.adapters.repository import MongoAuditStore
from guildhall_gateway.adapters.services import Services
from guildhall_gateway.application.audit import AuditTrail
from guildhall_gateway.application.ratelimit import RateLimits
from guildhall_gateway.application.scoping import PartnerScope
from guildhall_gateway.auth import Authenticator
from guildhall_gateway.auth.client_service import ClientService
from guildhall_kit.clients import CommunityAccessClient


@dataclass
class Runtime:
    services: Services
    access: CommunityAccessClient
    authenticator: Authenticator
    limits: RateLimits
    trail: AuditTrail | None
    audit_store: MongoAuditStore | None
    max_body_bytes: int
    ready: Callable[[], bool]
    heartbeat_seconds: float = 15.0
    clients: ClientService | None = None
    """Partner OAuth clients (``/oauth/token``, ``/v1/orgs/{org_id}/clients``)."""

    def deps(self) -> Deps:
        return Deps(services=self.services, scope=PartnerScope(self.access))

    def middleware(self) -> MiddlewareDeps:
        return MiddlewareDeps(
            authenticator=self.authenticator,
            limits=self.limits,
            trail=self.trail,
            max_body_bytes=self.max_body_bytes,
        )


def runtime_of(request: Request) -> Runtime:
    found = getattr(request.app.state, "runtime", None)
    if not isinstance(found, Runtime):
        raise RuntimeError("the gateway app was built without a runtime")
    return found
