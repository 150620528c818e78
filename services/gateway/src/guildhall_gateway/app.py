"""Wiring of the gateway service.

The gRPC face answers ``GetMe``; the HTTP/JSON face (adapters/http) serves the
API under ``/v1``, its OpenAPI document, health and readiness, and (when
``GUILDHALL_STATIC_DIR`` is set) the web client's files at ``/``. The audit
trail lives in the gateway's own database and is published through the
outbox.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import grpc

from guildhall.gateway.v1 import gateway_pb2, gateway_pb2_grpc
from guildhall_gateway.adapters import repository
from guildhall_gateway.adapters.http.app import make_app
from guildhall_gateway.adapters.http.runtime import Runtime
from guildhall_gateway.adapters.http.server import HttpServer
from guildhall_gateway.adapters.repository import MongoAuditStore
from guildhall_gateway.adapters.services import Services
from guildhall_gateway.application.audit import AuditTrail
from guildhall_gateway.application.ratelimit import Bucket, Limits, RateLimits
from guildhall_gateway.auth.wiring import build_auth
from guildhall_gateway.settings import GatewaySettings
from guildhall_kit.auth import PrincipalKind, require_principal
from guildhall_kit.clients import CommunityAccessClient
from guildhall_kit.service import ServiceContext, ServiceParts

SERVICE_NAME = gateway_pb2.DESCRIPTOR.services_by_name["GatewayService"].full_name

_KINDS = {
    PrincipalKind.EMPLOYEE: gateway_pb2.PRINCIPAL_KIND_EMPLOYEE,
    PrincipalKind.PARTNER: gateway_pb2.PRINCIPAL_KIND_PARTNER_USER,
}


class GatewayServicer(gateway_pb2_grpc.GatewayServiceServicer):
    """Answers who the caller is, as the token says."""

    async def GetMe(
        self,
        request: gateway_pb2.GetMeRequest,
        context: grpc.aio.ServicerContext[gateway_pb2.GetMeRequest, gateway_pb2.GetMeResponse],
    ) -> gateway_pb2.GetMeResponse:
        principal = require_principal(PrincipalKind.EMPLOYEE, PrincipalKind.PARTNER)
        return gateway_pb2.GetMeResponse(
            person_id=principal.subject,
            org_id=principal.org_id,
            kind=_KINDS[principal.kind],
            home_admin=principal.is_home_admin,
        )


def rate_limits(settings: GatewaySettings) -> RateLimits:
    return RateLimits(
        Limits(
            partner_org=Bucket(
                settings.rate_partner_org_per_second, settings.rate_partner_org_burst
            ),
            client=Bucket(settings.rate_client_per_second, settings.rate_client_burst),
            employee=Bucket(settings.rate_employee_per_second, settings.rate_employee_burst),
            token_client=Bucket(
                settings.rate_token_client_per_second, settings.rate_token_client_burst
            ),
            token_address=Bucket(
                settings.rate_token_address_per_second, settings.rate_token_address_burst
            ),
        )
    )


async def build(ctx: ServiceContext[GatewaySettings]) -> ServiceParts:
    settings = ctx.settings
    services = Services(
        {
            "profile": settings.profile_addr,
            "community": settings.community_addr,
            "post": settings.post_addr,
            "notification": settings.notification_addr,
        },
        deadline_s=settings.call_deadline_seconds,
    )
    access = CommunityAccessClient(
        settings.community_addr, deadline_s=settings.access_deadline_seconds
    )
    store = MongoAuditStore(
        ctx.db, writer=ctx.writer_db, outbox=ctx.outbox(), on_written=ctx.hint_relay
    )
    auth = build_auth(settings, ctx.db, ctx.writer_db)
    runtime = Runtime(
        services=services,
        access=access,
        authenticator=auth.authenticator,
        limits=rate_limits(settings),
        trail=AuditTrail(store),
        audit_store=store,
        max_body_bytes=settings.max_body_bytes,
        ready=ctx.is_ready,
        heartbeat_seconds=settings.sse_heartbeat_seconds,
        clients=auth.clients,
    )
    static_dir = Path(settings.static_dir) if settings.static_dir else None
    http = HttpServer(
        make_app(runtime, static_dir=static_dir), settings.http_host, settings.http_port
    )

    def register(server: grpc.aio.Server) -> Sequence[str]:
        gateway_pb2_grpc.add_GatewayServiceServicer_to_server(GatewayServicer(), server)
        return [SERVICE_NAME]

    return ServiceParts(
        register=register,
        indexes=[*repository.indexes(), *auth.indexes],
        outbox_collections=[repository.RECORDS],
        background=[http.serve, *auth.background],
        on_stop=[http.stop, services.close, access.close, *auth.on_stop],
    )
