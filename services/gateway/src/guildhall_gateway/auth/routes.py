"""HTTP routes of authentication: the OAuth token endpoint and partner client management.

:data:`token_router` serves ``POST /oauth/token`` (RFC 6749 §4.4, client
credentials; client authentication by ``client_secret_basic`` or
``client_secret_post``, never both). Its errors are the RFC's own JSON bodies
(``{"error": "invalid_client", ...}``), as every OAuth client library expects.

:data:`client_router` serves ``/v1/orgs/{org_id}/clients`` for partner org
admins (and home admins: list, read, revoke). The API's middleware has
authenticated the caller (every ``/v1`` request); the routes raise the kit's
domain errors (NotFound, InvalidArgument, FailedPrecondition,
ResourceExhausted), which the API application maps to problem+json.

Both find the :class:`ClientService` in the application's runtime.
"""

# No ``from __future__ import annotations``: FastAPI reads these annotations at runtime,
# including the dependency alias local to client_router.

import base64
import binascii
from datetime import datetime
from typing import Annotated, Literal, Self
from urllib.parse import unquote_plus

from fastapi import APIRouter, Depends, Form, Path, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from guildhall_gateway.adapters.http.context import caller_of
from guildhall_gateway.adapters.http.responses import problem_response
from guildhall_gateway.adapters.http.runtime import runtime_of
from guildhall_gateway.auth import Caller
from guildhall_gateway.auth.client_service import ClientService, GrantError
from guildhall_gateway.auth.clients import SCOPE_READ, SCOPE_WRITE, OAuthClient
from guildhall_gateway.domain.problems import Problem, ProblemType
from guildhall_kit.errors import Unavailable

OrgId = Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$", description="A partner org")]
ClientId = Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$", description="A client")]
Scope = Literal["pinholes:read", "pinholes:write"]


def client_service(request: Request) -> ClientService:
    """The application's client service.

    Raises:
        Unavailable: the application was built without one (OpenAPI generation).
    """
    found = runtime_of(request).clients
    if found is None:
        raise Unavailable("partner clients are not configured")
    return found


Service = Annotated[ClientService, Depends(client_service)]
CallerDep = Annotated[Caller, Depends(caller_of)]


# --- models --------------------------------------------------------------------------


class ClientCreate(BaseModel):
    """A client to register for the org."""

    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, Field(min_length=1, max_length=100, description="What the system is")]
    scopes: Annotated[
        list[Scope],
        Field(
            min_length=1,
            max_length=2,
            description=f"'{SCOPE_READ}', or '{SCOPE_READ}' and '{SCOPE_WRITE}'",
        ),
    ]


class ClientView(BaseModel):
    """A registered client (never its secret)."""

    client_id: str
    org_id: str
    name: str
    scopes: list[Scope]
    status: Literal["active", "revoked"]
    created_by: str
    created_at: datetime
    rotated_at: datetime | None
    revoked_at: datetime | None

    @classmethod
    def of(cls, client: OAuthClient) -> Self:
        return cls(
            client_id=client.client_id,
            org_id=client.org_id,
            name=client.name,
            scopes=list(client.scopes),  # type: ignore[arg-type]  # canonical_scopes checked them
            status="active" if client.active else "revoked",
            created_by=client.created_by,
            created_at=client.created_at,
            rotated_at=client.rotated_at,
            revoked_at=client.revoked_at,
        )


class ClientWithSecret(BaseModel):
    """A client and its secret: the only time the secret is ever shown."""

    client: ClientView
    client_secret: Annotated[str, Field(description="Store it now; it cannot be shown again")]


class ClientList(BaseModel):
    """The org's clients, newest first."""

    clients: list[ClientView]


class TokenResponse(BaseModel):
    """RFC 6749 §5.1."""

    access_token: str
    token_type: Literal["Bearer"]
    expires_in: int
    scope: str


class OAuthError(BaseModel):
    """RFC 6749 §5.2."""

    error: Literal["invalid_request", "invalid_client", "unsupported_grant_type", "invalid_scope"]
    error_description: str


# --- /oauth/token ------------------------------------------------------------------------

_NO_STORE = {"cache-control": "no-store", "pragma": "no-cache"}


def _oauth_error(status: int, error: str, description: str, *, basic: bool = False) -> JSONResponse:
    headers = dict(_NO_STORE)
    if basic:
        # RFC 6749 §5.2: a client that tried the Authorization header gets the scheme back.
        headers["www-authenticate"] = 'Basic realm="guildhall", charset="UTF-8"'
    return JSONResponse(
        {"error": error, "error_description": description}, status_code=status, headers=headers
    )


def basic_credentials(header: str) -> tuple[str, str] | None:
    """``(client_id, secret)`` of an ``Authorization: Basic`` value (RFC 6749 §2.3.1:
    both form-urlencoded before base64); None when it is malformed."""
    try:
        decoded = base64.b64decode(header.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    raw_id, sep, raw_secret = decoded.partition(":")
    if not sep:
        return None
    return unquote_plus(raw_id), unquote_plus(raw_secret)


def client_authentication(
    authorization: str, client_id: str | None, client_secret: str | None
) -> tuple[tuple[str, str], bool] | JSONResponse:
    """``((client_id, secret), used_basic)`` of a token request, or the error to answer.

    RFC 6749 §2.3: ``client_secret_basic`` or ``client_secret_post``, never both.
    """
    scheme, _, value = authorization.partition(" ")
    basic = scheme.lower() == "basic"
    if authorization and not basic:
        return _oauth_error(401, "invalid_client", "use HTTP Basic or the body", basic=True)
    if basic and (client_id is not None or client_secret is not None):
        return _oauth_error(400, "invalid_request", "use one client authentication method")
    if basic:
        credentials = basic_credentials(value)
        if credentials is None:
            return _oauth_error(401, "invalid_client", "malformed Basic credentials", basic=True)
        return credentials, True
    if client_id and client_secret:
        return (client_id, client_secret), False
    return _oauth_error(401, "invalid_client", "client authentication is required", basic=True)


token_router = APIRouter(tags=["auth"])


@token_router.post(
    "/oauth/token",
    operation_id="issueToken",
    summary="Client credentials grant for partner systems (RFC 6749 §4.4)",
    description="The client authenticates with HTTP Basic (client_secret_basic: its "
    "client id and secret, each form-urlencoded) or with client_id and client_secret "
    "in the form (client_secret_post), never both. Answers are never cached.",
    response_model=TokenResponse,
    responses={
        400: {"model": OAuthError, "description": "invalid request, grant type or scope"},
        401: {"model": OAuthError, "description": "client authentication failed"},
        429: {
            "content": {"application/problem+json": {}},
            "description": "too many token requests for this client id or from this "
            "address; retry after the seconds in Retry-After",
        },
    },
)
async def token(
    request: Request,
    service: Service,
    *,
    grant_type: Annotated[str | None, Form()] = None,
    scope: Annotated[str | None, Form(description="space-separated; default: all")] = None,
    client_id: Annotated[str | None, Form(description="client_secret_post only")] = None,
    client_secret: Annotated[str | None, Form(description="client_secret_post only")] = None,
) -> Response:
    """An access token for an authenticated client (errors: RFC 6749 §5.2 bodies)."""
    authenticated = client_authentication(
        request.headers.get("authorization", ""), client_id, client_secret
    )
    if isinstance(authenticated, JSONResponse):
        return authenticated
    credentials, basic = authenticated
    address = request.client.host if request.client else ""
    wait = await runtime_of(request).limits.token_request_retry_after(credentials[0], address)
    if wait is not None:
        return problem_response(
            Problem(
                ProblemType.RATE_LIMITED, "too many token requests; retry later", retry_after=wait
            )
        )
    if grant_type is None:
        return _oauth_error(400, "invalid_request", "grant_type is required")
    if grant_type != "client_credentials":
        return _oauth_error(400, "unsupported_grant_type", "only client_credentials is served")
    try:
        issued = await service.grant(credentials[0], credentials[1], scope)
    except GrantError as exc:
        status = 401 if exc.error == "invalid_client" else 400
        return _oauth_error(status, exc.error, exc.description, basic=basic)
    body = TokenResponse(
        access_token=issued.access_token,
        token_type="Bearer",  # noqa: S106 - the RFC 6749 token type, not a secret
        expires_in=issued.expires_in,
        scope=issued.scope,
    )
    return JSONResponse(body.model_dump(), headers=_NO_STORE)


# --- /v1/orgs/{org_id}/clients -------------------------------------------------------------


client_router = APIRouter(prefix="/v1/orgs/{org_id}/clients", tags=["partner clients"])

# A partner person reaches these routes only as the admin of the org in the path
# (anyone else gets the missing-object 404); they touch no pinhole.
_PARTNER_ADMIN = {"x-partner": True, "x-partner-admin-only": True}


@client_router.post(
    "",
    operation_id="createOrgClient",
    openapi_extra=_PARTNER_ADMIN,
    status_code=201,
    summary="Register an OAuth client for the org (partner org admins)",
    response_model=ClientWithSecret,
)
async def create_client(
    org_id: OrgId, body: ClientCreate, caller: CallerDep, service: Service, response: Response
) -> ClientWithSecret:
    """A new client and its secret, shown this once."""
    client, secret = await service.create(
        caller, org_id, name=body.name, scopes=frozenset(body.scopes)
    )
    response.headers.update(_NO_STORE)
    return ClientWithSecret(client=ClientView.of(client), client_secret=secret)


@client_router.get(
    "",
    operation_id="listOrgClients",
    openapi_extra=_PARTNER_ADMIN,
    summary="The org's OAuth clients",
    response_model=ClientList,
)
async def list_clients(org_id: OrgId, caller: CallerDep, service: Service) -> ClientList:
    """The org's clients, newest first, revoked ones included (never a secret)."""
    clients = await service.list_clients(caller, org_id)
    return ClientList(clients=[ClientView.of(c) for c in clients])


@client_router.get(
    "/{client_id}",
    operation_id="getOrgClient",
    openapi_extra=_PARTNER_ADMIN,
    summary="One OAuth client",
    response_model=ClientView,
)
async def get_client(
    org_id: OrgId, client_id: ClientId, caller: CallerDep, service: Service
) -> ClientView:
    """One client of the org."""
    return ClientView.of(await service.get(caller, org_id, client_id))


@client_router.post(
    "/{client_id}/secret",
    operation_id="rotateOrgClientSecret",
    openapi_extra=_PARTNER_ADMIN,
    summary="Rotate the client's secret (the old one and its tokens stop at once)",
    response_model=ClientWithSecret,
)
async def rotate_secret(
    org_id: OrgId, client_id: ClientId, caller: CallerDep, service: Service, response: Response
) -> ClientWithSecret:
    """A new secret, shown this once; the old secret and its tokens stop working."""
    client, secret = await service.rotate(caller, org_id, client_id)
    response.headers.update(_NO_STORE)
    return ClientWithSecret(client=ClientView.of(client), client_secret=secret)


@client_router.delete(
    "/{client_id}",
    operation_id="revokeOrgClient",
    openapi_extra=_PARTNER_ADMIN,
    status_code=204,
    summary="Revoke the client (its secret and tokens stop at once)",
    response_class=Response,
)
async def revoke_client(
    org_id: OrgId, client_id: ClientId, caller: CallerDep, service: Service
) -> Response:
    """Revoke; revoking a revoked client changes nothing."""
    await service.revoke(caller, org_id, client_id)
    return Response(status_code=204)
