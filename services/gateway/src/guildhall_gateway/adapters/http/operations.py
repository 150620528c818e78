"""Routes as data: one :class:`Operation` per route, turned into a FastAPI endpoint.

Every route of the API translates one HTTP request into one RPC of a
service. The translation is the same everywhere, so it is written once here
(STYLE habit 5) and each route module only declares its table:

1. path, query and body parameters are validated against schemas built from
   the request message (strict types, unknown body fields refused);
2. a partner caller is held to its reach (domain/scoping.py): an
   employee-only route, or a space outside its open granted pinholes, answers
   exactly like a missing object; a read-only partner client may not write;
3. the request message is built and checked against the contract's
   protovalidate rules (400 naming the field; nothing is sent);
4. the RPC is called with the caller's service authorization and a deadline;
5. the reply is encoded, checked against the partner's reach once more, and
   sent with an ETag where the object has a version.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any, Final

from fastapi import Body, Header, Path, Query
from google.protobuf.message import Message
from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import Response

from guildhall_gateway.adapters.http import protojson
from guildhall_gateway.adapters.http.context import caller_of, state_of
from guildhall_gateway.adapters.http.responses import JsonResponse
from guildhall_gateway.adapters.services import Rpc, Services
from guildhall_gateway.application.scoping import PartnerScope
from guildhall_gateway.domain.problems import FieldError, Problem, ProblemType, invalid, not_found
from guildhall_gateway.domain.scoping import spaces_named
from guildhall_kit.grpc.interceptor import violations_of
from guildhall_kit.logging import get_logger

_log = get_logger(__name__)

WRITE_SCOPE: Final = "pinholes:write"
_PARAM = re.compile(r"{([a-z_]+)}")
_ETAG = re.compile(r'^\s*(?:W/)?"v?(\d{1,18})"\s*$')


@dataclass(frozen=True)
class Operation:
    """One route: an HTTP method and path that call one RPC."""

    operation_id: str
    """Stable camelCase id (the generated client's method name); never renamed."""
    method: str
    path: str
    rpc: Rpc
    summary: str
    tag: str
    body: tuple[str, ...] = ()
    """Request fields read from the JSON body."""
    query: tuple[str, ...] = ()
    """Request fields read from the query string."""
    fixed: Mapping[str, Any] = field(default_factory=dict)
    """Request fields the route itself sets (``withdraw=True`` for DELETE .../vote)."""
    status: int = 200
    partner: bool = False
    """Whether partner principals may use the route (within their reach); False: a
    partner gets the missing-object answer."""
    partner_admin_only: bool = False
    """Among partners, only the org's admins (``admin`` role) may use it; other
    partners get the missing-object answer (the route is not theirs at all)."""
    space_fields: tuple[str, ...] = ()
    """Request fields that name a space (scoped for partners before the call)."""
    etag: str | None = None
    """Dotted path of the answer's version, sent as ``ETag: "<n>"``."""
    if_match: str | None = None
    """Request field that ``If-Match: "<n>"`` fills (compare-and-set; stale -> 412)."""
    description: str = ""

    @property
    def path_params(self) -> tuple[str, ...]:
        return tuple(_PARAM.findall(self.path))

    @property
    def is_write(self) -> bool:
        return self.method != "GET"

    @property
    def body_model_name(self) -> str:
        return self.operation_id[0].upper() + self.operation_id[1:] + "Body"


@dataclass
class Deps:
    """What the routes need, built once at start-up."""

    services: Services
    scope: PartnerScope


def _path_param(fd_spec: tuple[Any, Any]) -> Any:
    annotation, info = fd_spec
    kwargs = _constraints(info)
    base = _strip_none(annotation)
    return Annotated[base, Path(**kwargs)]


def _query_param(fd_spec: tuple[Any, Any], *, required: bool) -> Any:
    annotation, info = fd_spec
    kwargs = _constraints(info)
    base = _strip_none(annotation)
    return Annotated[base if required else base | None, Query(**kwargs)]


def _constraints(info: Any) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for item in info.metadata:
        for name in ("pattern", "max_length", "min_length", "ge", "le"):
            value = getattr(item, name, None)
            if value is not None:
                found[name] = value
    return found


def _strip_none(annotation: Any) -> Any:
    args = getattr(annotation, "__args__", None)
    if args and type(None) in args and len(args) == 2:
        return next(a for a in args if a is not type(None))
    return annotation


def body_model(op: Operation) -> type[BaseModel] | None:
    if not op.body:
        return None
    return protojson.input_model(
        op.rpc.descriptor.input_type, name=op.body_model_name, only=op.body
    )


def parse_if_match(value: str | None) -> int | None:
    """The version an ``If-Match`` header names; None for absent or ``*``.

    Raises:
        Problem: 400 naming ``If-Match`` for anything but one ``"<n>"`` tag.
    """
    if value is None or value.strip() == "*":
        return None
    found = _ETAG.match(value)
    if found is None or int(found.group(1)) < 1:
        raise invalid("If-Match", 'must be one entity tag as sent in ETag, e.g. "3"')
    return int(found.group(1))


def _dig(document: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        if not isinstance(document, dict):
            return None
        document = document.get(part)
    return document


Endpoint = Callable[..., Awaitable[Response]]


def build_endpoint(op: Operation, deps: Callable[[Request], Deps]) -> Endpoint:
    """The FastAPI endpoint of ``op`` (its signature declares the parameters)."""
    descriptor = op.rpc.descriptor.input_type
    request_class = op.rpc.request_class()
    has_reply = bool(op.rpc.descriptor.output_type.fields)
    model = body_model(op)
    declared = set(op.query)
    params = [inspect.Parameter("request", inspect.Parameter.KEYWORD_ONLY, annotation=Request)]
    for name in op.path_params:
        spec = protojson.input_field(descriptor.fields_by_name[name])
        params.append(
            inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, annotation=_path_param(spec))
        )
    for name in op.query:
        spec = protojson.input_field(descriptor.fields_by_name[name])
        required = spec[1].is_required()
        params.append(
            inspect.Parameter(
                name,
                inspect.Parameter.KEYWORD_ONLY,
                annotation=_query_param(spec, required=required),
                default=inspect.Parameter.empty if required else None,
            )
        )
    if model is not None:
        params.append(
            inspect.Parameter(
                "body", inspect.Parameter.KEYWORD_ONLY, annotation=Annotated[model, Body()]
            )
        )
    if op.if_match is not None:
        params.append(
            inspect.Parameter(
                "if_match",
                inspect.Parameter.KEYWORD_ONLY,
                annotation=Annotated[str | None, Header(alias="If-Match")],
                default=None,
            )
        )

    async def endpoint(**kwargs: Any) -> Response:
        request: Request = kwargs.pop("request")
        unknown = sorted(set(request.query_params) - declared)
        if unknown:
            raise invalid(unknown[0], "unknown query parameter")
        values: dict[str, Any] = {}
        for name in (*op.path_params, *op.query):
            values[name] = kwargs.get(name)
        body: BaseModel | None = kwargs.get("body")
        if body is not None:
            for name in body.model_fields_set:
                values[name] = getattr(body, name)
        values.update(op.fixed)
        if op.if_match is not None:
            version = parse_if_match(kwargs.get("if_match"))
            if version is not None:
                values[op.if_match] = version
        return await invoke(
            op,
            deps=deps(request),
            request=request,
            values=values,
            request_class=request_class,
            has_reply=has_reply,
        )

    endpoint.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    endpoint.__name__ = op.operation_id
    return endpoint


async def invoke(
    op: Operation,
    *,
    deps: Deps,
    request: Request,
    values: dict[str, Any],
    request_class: type[Message],
    has_reply: bool,
) -> Response:
    """Steps 2-5 of the module docstring."""
    caller = caller_of(request)
    state = state_of(request.scope)
    reach = None
    named = {str(values[f]) for f in op.space_fields if values.get(f)}
    state.spaces.update(named)
    if caller.principal.is_partner:
        if not op.partner:
            raise not_found()
        if op.partner_admin_only and "admin" not in caller.principal.roles:
            raise not_found()
        if op.is_write and caller.scopes and WRITE_SCOPE not in caller.scopes:
            raise Problem(ProblemType.FORBIDDEN, "this client's token may only read")
        reach = state.reach or await deps.scope.reach(caller)
        state.reach = reach
        if any(not reach.allows(space) for space in named):
            raise not_found()
    message = protojson.fill(request_class(), values)
    violations = violations_of(message)
    if violations:
        errors = tuple(FieldError(f, m) for f, m in violations)
        raise Problem(
            ProblemType.INVALID_REQUEST, "; ".join(f"{f}: {m}" for f, m in violations), errors
        )
    reply = await deps.services.call(op.rpc, message, caller.service_authorization())
    if not has_reply:
        return Response(status_code=204)
    document = protojson.to_json(reply)
    if reach is not None:
        outside = reach.outside(document)
        if outside:
            _log.error(
                "answer named spaces outside the partner's reach; refused",
                operation=op.operation_id,
                org_id=caller.principal.org_id,
            )
            raise not_found()
    state.spaces.update(spaces_named(document))
    headers = {}
    if op.etag is not None:
        version = _dig(document, op.etag)
        if isinstance(version, int) and version > 0:
            headers["ETag"] = f'"{version}"'
    return JsonResponse(document, status_code=op.status, headers=headers)
