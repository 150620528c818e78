"""The gateway's HTTP/JSON face (first cut).

Endpoints:

- ``GET /healthz``      liveness: 200 while the process runs (no dependency)
- ``GET /readyz``       readiness: 200 when the gRPC side reports SERVING, else 503
- ``GET /v1/me``        who the bearer token says the caller is; 401 without a valid token
- ``GET /openapi.json`` the OpenAPI 3.1 description of the above

Errors are JSON: ``{"error": {"code": "UNAUTHENTICATED", "message": "..."}}``.
Partner scoping, rate limits and the audit trail are added with the gateway
capability; every new route goes through :func:`authenticate` first.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from guildhall_kit.auth import Principal, TokenVerifier
from guildhall_kit.errors import Unauthenticated


def _json_body(schema: str) -> dict[str, Any]:
    return {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}}


OPENAPI: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {"title": "Guildhall gateway", "version": "v1"},
    "components": {
        "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
        "schemas": {
            "Error": {
                "type": "object",
                "required": ["error"],
                "properties": {
                    "error": {
                        "type": "object",
                        "required": ["code", "message"],
                        "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
                    }
                },
            },
            "Me": {
                "type": "object",
                "required": ["person_id", "org_id", "kind", "home_admin"],
                "properties": {
                    "person_id": {"type": "string"},
                    "org_id": {"type": "string"},
                    "kind": {"type": "string", "enum": ["employee", "partner"]},
                    "home_admin": {"type": "boolean"},
                },
            },
        },
    },
    "paths": {
        "/healthz": {
            "get": {"summary": "Liveness", "responses": {"200": {"description": "alive"}}}
        },
        "/readyz": {
            "get": {
                "summary": "Readiness",
                "responses": {"200": {"description": "ready"}, "503": {"description": "not ready"}},
            }
        },
        "/v1/me": {
            "get": {
                "summary": "The caller, as the access token says",
                "security": [{"bearer": []}],
                "responses": {
                    "200": {
                        "description": "the caller",
                        "content": {
                            "application/json": {"schema": {"$ref": "#/components/schemas/Me"}}
                        },
                    },
                    "401": {
                        "description": "missing or invalid token",
                        "content": _json_body("Error"),
                    },
                },
            }
        },
    },
}


def error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


def authenticate(request: Request, verifier: TokenVerifier) -> Principal:
    """The principal of a request's ``Authorization: Bearer`` token.

    Raises:
        Unauthenticated: no header, wrong scheme, or a token that does not verify.
    """
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise Unauthenticated("authorization must be 'Bearer <token>'")
    return verifier.verify(token)


def make_app(verifier: TokenVerifier, ready: Callable[[], bool]) -> Starlette:
    """The Starlette application; ``ready`` reports the process's readiness."""

    async def healthz(_: Request) -> JSONResponse:
        return JSONResponse({"status": "alive"})

    async def readyz(_: Request) -> JSONResponse:
        if ready():
            return JSONResponse({"status": "ready"})
        return error(503, "UNAVAILABLE", "not ready")

    async def me(request: Request) -> JSONResponse:
        try:
            principal = authenticate(request, verifier)
        except Unauthenticated as exc:
            return error(401, "UNAUTHENTICATED", exc.message)
        if principal.is_service:
            return error(403, "PERMISSION_DENIED", "service principals have no profile")
        return JSONResponse(
            {
                "person_id": principal.subject,
                "org_id": principal.org_id,
                "kind": principal.kind.value,
                "home_admin": principal.is_home_admin,
            }
        )

    async def openapi(_: Request) -> JSONResponse:
        return JSONResponse(OPENAPI)

    return Starlette(
        routes=[
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Route("/v1/me", me),
            Route("/openapi.json", openapi),
        ]
    )


class HttpServer:
    """Uvicorn serving the app inside the service's event loop.

    Signals stay with the service (the kit drains gRPC and HTTP together), so
    uvicorn's own signal capture is not used.
    """

    def __init__(self, app: Starlette, host: str, port: int) -> None:
        config = uvicorn.Config(
            app, host=host, port=port, log_config=None, access_log=False, lifespan="off"
        )
        self._server = uvicorn.Server(config)
        self.port = port

    async def serve(self) -> None:
        """Start listening, serve until :meth:`stop`, then close connections."""
        config = self._server.config
        if not config.loaded:
            config.load()
        self._server.lifespan = config.lifespan_class(config)
        await self._server.startup()
        if self._server.servers:
            sockets = self._server.servers[0].sockets
            if sockets:
                self.port = int(sockets[0].getsockname()[1])
        try:
            await self._server.main_loop()
        finally:
            await self._server.shutdown()

    async def stop(self) -> None:
        """Ask the server to finish in-flight requests and stop."""
        self._server.should_exit = True
