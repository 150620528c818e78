"""Wiring of the gateway service.

First cut: the gRPC face answers ``GetMe`` from the verified access token, and
the HTTP/JSON face (:mod:`guildhall_gateway.http`) serves health, readiness,
``/v1/me`` and its OpenAPI document. Partner scoping, rate limits and the audit
trail land with the gateway capability.
"""

from __future__ import annotations

from collections.abc import Sequence

import grpc

from guildhall.gateway.v1 import gateway_pb2, gateway_pb2_grpc
from guildhall_gateway.http import HttpServer, make_app
from guildhall_gateway.settings import GatewaySettings
from guildhall_kit.auth import PrincipalKind, require_principal
from guildhall_kit.grpc.server import load_verifier
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


async def build(ctx: ServiceContext[GatewaySettings]) -> ServiceParts:
    settings = ctx.settings
    http = HttpServer(
        make_app(load_verifier(settings), ctx.is_ready), settings.http_host, settings.http_port
    )

    def register(server: grpc.aio.Server) -> Sequence[str]:
        gateway_pb2_grpc.add_GatewayServiceServicer_to_server(GatewayServicer(), server)
        return [SERVICE_NAME]

    return ServiceParts(register=register, background=[http.serve], on_stop=[http.stop])
