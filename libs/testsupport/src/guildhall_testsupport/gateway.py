"""The gateway's HTTP application in process, for tests of its authentication.

:func:`auth_app` builds the real application (middleware, error handlers,
authentication routes) around a gateway's :class:`AuthParts`, with no
service behind it: requests that would call a service are not what these
tests send, so no channel is ever opened.
"""

from __future__ import annotations

from typing import cast

from fastapi import FastAPI

from guildhall_gateway.adapters.http.app import make_app
from guildhall_gateway.adapters.http.runtime import Runtime
from guildhall_gateway.adapters.services import Services
from guildhall_gateway.application.ratelimit import Bucket, Limits, RateLimits
from guildhall_gateway.auth.wiring import AuthParts
from guildhall_kit.clients import CommunityAccessClient


def auth_app(
    auth: AuthParts, *, max_body_bytes: int = 64 * 1024, limits: Limits | None = None
) -> FastAPI:
    """The HTTP API over ``auth``, with no audit trail and ``limits`` (default: generous
    enough never to limit a test)."""
    generous = Bucket(1000.0, 10_000)
    limits = limits or Limits(
        partner_org=generous,
        client=generous,
        employee=generous,
        token_client=generous,
        token_address=generous,
    )
    runtime = Runtime(
        services=Services({}, deadline_s=1.0),
        access=cast(CommunityAccessClient, None),
        authenticator=auth.authenticator,
        limits=RateLimits(limits),
        trail=None,
        audit_store=None,
        max_body_bytes=max_body_bytes,
        ready=lambda: True,
        clients=auth.clients,
    )
    return make_app(runtime)
