"""The FastAPI application: routes, error handlers, the middleware, static files."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute, APIRouter
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from guildhall_gateway.adapters.http import openapi
from guildhall_gateway.adapters.http.context import KEY
from guildhall_gateway.adapters.http.middleware import BodyTooLarge, GatewayMiddleware
from guildhall_gateway.adapters.http.operations import Operation, build_endpoint
from guildhall_gateway.adapters.http.protojson import output_model
from guildhall_gateway.adapters.http.responses import JsonResponse, problem_response
from guildhall_gateway.adapters.http.routes import OPERATIONS, audit, events, me
from guildhall_gateway.adapters.http.runtime import Runtime, runtime_of
from guildhall_gateway.auth import routes as auth_routes
from guildhall_gateway.domain.problems import (
    FieldError,
    Problem,
    ProblemType,
    from_grpc,
    not_found,
)
from guildhall_kit.errors import DomainError, InvalidArgument, NotFound
from guildhall_kit.logging import get_logger

_log = get_logger(__name__)

TITLE = "Guildhall API"
VERSION = "1.0.0"


def _problem_handler(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, Problem)
    return problem_response(exc)


def _field_path(loc: Sequence[Any]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] in ("body", "query", "path", "header"):
        where, parts = parts[0], parts[1:]
        if where == "header" and parts:
            return parts[0]
    return ".".join(parts) or "body"


def _not_for_partner(request: Request) -> bool:
    """Whether a partner called a route that is not theirs (so even a bad request to it
    answers as a missing object, before its body or parameters are judged)."""
    state = request.scope.get("state", {}).get(KEY)
    caller = getattr(state, "caller", None)
    if caller is None or not caller.principal.is_partner:
        return False
    extra = getattr(request.scope.get("route"), "openapi_extra", None) or {}
    if not extra.get("x-partner"):
        return True
    return bool(extra.get("x-partner-admin-only")) and "admin" not in caller.principal.roles


def _validation_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    if _not_for_partner(request):
        return problem_response(Problem(ProblemType.NOT_FOUND))
    errors = exc.errors()
    if any(e.get("type") == "json_invalid" for e in errors):
        return problem_response(Problem(ProblemType.MALFORMED_JSON, "the body is not valid JSON"))
    fields = tuple(
        FieldError(_field_path(e.get("loc", ())), str(e.get("msg", "invalid"))) for e in errors
    )
    detail = "; ".join(f"{f.field}: {f.message}" for f in fields)
    return problem_response(Problem(ProblemType.INVALID_REQUEST, detail, fields))


def _http_handler(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if isinstance(exc.__cause__, BodyTooLarge):
        return problem_response(Problem(ProblemType.CONTENT_TOO_LARGE, "the body is too large"))
    if exc.status_code == 404:
        return problem_response(Problem(ProblemType.NOT_FOUND))
    if exc.status_code == 405:
        return problem_response(
            Problem(
                ProblemType.METHOD_NOT_ALLOWED,
                "this path does not answer that method",
                headers=dict(exc.headers or {}),
            )
        )
    if exc.status_code == 413:
        return problem_response(Problem(ProblemType.CONTENT_TOO_LARGE, "the body is too large"))
    return problem_response(Problem(ProblemType.INVALID_REQUEST, str(exc.detail)))


def _domain_handler(_: Request, exc: Exception) -> Response:
    """The kit's domain errors (raised by the authentication routes) as problems."""
    assert isinstance(exc, DomainError)
    if isinstance(exc, NotFound):
        return problem_response(not_found())
    fields: tuple[FieldError, ...] = ()
    if isinstance(exc, InvalidArgument):
        fields = (FieldError(exc.field, exc.message.removeprefix(f"{exc.field}: ")),)
    return problem_response(from_grpc(exc.code, exc.message, fields))


def _unexpected_handler(_: Request, exc: Exception) -> Response:
    if isinstance(exc, BodyTooLarge):
        return problem_response(Problem(ProblemType.CONTENT_TOO_LARGE, "the body is too large"))
    _log.exception("unhandled error in a route", error=repr(exc))
    return problem_response(Problem(ProblemType.UPSTREAM_ERROR, "unexpected error; see the logs"))


def _operation_router(operations: Sequence[Operation]) -> APIRouter:
    router = APIRouter()

    def deps(request: Request) -> Any:
        return runtime_of(request).deps()

    for op in operations:
        has_reply = bool(op.rpc.descriptor.output_type.fields)
        response_model = output_model(op.rpc.descriptor.output_type) if has_reply else None
        router.add_api_route(
            op.path,
            build_endpoint(op, deps),
            methods=[op.method],
            operation_id=op.operation_id,
            summary=op.summary,
            description=op.description or f"Calls `{op.rpc.full_name}`.",
            tags=[op.tag],
            status_code=op.status if has_reply else 204,
            response_model=response_model,
            response_class=JsonResponse,
            openapi_extra={
                "x-rpc": op.rpc.full_name,
                "x-partner": op.partner,
                **({"x-partner-admin-only": True} if op.partner_admin_only else {}),
                **({"x-etag": op.etag} if op.etag else {}),
            },
        )
    return router


def make_app(
    runtime: Runtime | None,
    *,
    static_dir: Path | None = None,
    extra_routers: Sequence[APIRouter] = (),
) -> FastAPI:
    """The HTTP API. ``runtime`` None builds it for its OpenAPI document only.

    ``extra_routers`` are mounted as they are (the authentication routers:
    the token endpoint and partner client management).
    """
    app = FastAPI(
        title=TITLE,
        version=VERSION,
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
        default_response_class=JsonResponse,
    )
    app.state.runtime = runtime
    app.include_router(me.router)
    app.include_router(_operation_router(OPERATIONS))
    app.include_router(audit.router)
    app.include_router(events.router)
    app.include_router(auth_routes.token_router)
    app.include_router(auth_routes.client_router)
    for router in extra_routers:
        app.include_router(router)
    app.add_exception_handler(Problem, _problem_handler)
    app.add_exception_handler(RequestValidationError, _validation_handler)
    app.add_exception_handler(HTTPException, _http_handler)
    app.add_exception_handler(DomainError, _domain_handler)
    app.add_exception_handler(Exception, _unexpected_handler)

    def middleware_deps() -> Any:
        if runtime is None:
            raise RuntimeError("no runtime")
        return runtime.middleware()

    app.add_middleware(GatewayMiddleware, deps=middleware_deps)
    document: dict[str, Any] = {}

    def schema() -> dict[str, Any]:
        if not document:
            document.update(openapi.document(app))
        return document

    async def openapi_json(_: Request) -> Response:
        return JsonResponse(schema())

    app.add_route("/openapi.json", openapi_json, include_in_schema=False)
    app.openapi = schema  # type: ignore[method-assign]
    if static_dir is not None:
        # Mounted last: every API route above wins over a file of the same name.
        app.mount("/", StaticFiles(directory=static_dir, html=True), name="web")
    return app


def api_routes(app: FastAPI) -> list[APIRoute]:
    """The documented routes (for the route table and tests)."""
    return [r for r in app.routes if isinstance(r, APIRoute) and r.include_in_schema]


Factory = Callable[[], FastAPI]
