"""Settings of the gateway service (``GUILDHALL_*`` environment variables)."""

from typing import Annotated, ClassVar

from pydantic import Field, ValidationInfo, field_validator

from guildhall_kit.settings import ServiceSettings

# Asymmetric JWS algorithms only: ``none`` and the HMAC family can never be configured.
_ALGORITHMS = r"^(RS|PS|ES)(256|384|512)(,(RS|PS|ES)(256|384|512))*$"


class GatewaySettings(ServiceSettings):
    """The kit's shared settings plus the HTTP face and authentication."""

    service_name: ClassVar[str] = "gateway"
    grpc_port: Annotated[int, Field(ge=0, le=65535)] = 50055

    http_host: str = "127.0.0.1"
    """Address the HTTP/JSON face binds; ``0.0.0.0`` in containers."""

    http_port: Annotated[int, Field(ge=0, le=65535)] = 8080
    """Port of the HTTP/JSON face; 0 picks a free port (tests)."""

    # --- the HTTP API (guildhall_gateway.adapters.http; docs/adr/0015) -------------

    profile_addr: Annotated[str, Field(min_length=1)]
    """``host:port`` of the profile service (``GUILDHALL_PROFILE_ADDR``). Required."""

    community_addr: Annotated[str, Field(min_length=1)]
    """``host:port`` of the community service (``GUILDHALL_COMMUNITY_ADDR``). Required."""

    post_addr: Annotated[str, Field(min_length=1)]
    """``host:port`` of the post service (``GUILDHALL_POST_ADDR``). Required."""

    notification_addr: Annotated[str, Field(min_length=1)]
    """``host:port`` of the notification service (``GUILDHALL_NOTIFICATION_ADDR``). Required."""

    call_deadline_seconds: Annotated[float, Field(gt=0, le=60)] = 5.0
    """Deadline of every unary call the gateway makes to a service for a request; on
    expiry the request answers 504 and nothing is retried (writes are not idempotent)."""

    access_deadline_seconds: Annotated[float, Field(gt=0, le=10)] = 1.0
    """Deadline of the community service's access decision asked for a partner request
    (pinhole scoping); on expiry the request is refused (503), never let through."""

    max_body_bytes: Annotated[int, Field(ge=1024, le=16 * 1024 * 1024)] = 256 * 1024
    """Largest request body accepted; a larger one is 413 before it is read whole."""

    static_dir: str = ""
    """A directory of static web assets served at ``/`` (the web client's build);
    empty serves nothing there. ``/v1``, ``/oauth``, ``/openapi.json``, ``/healthz`` and
    ``/readyz`` always win over a file of the same name."""

    rate_partner_org_per_second: Annotated[float, Field(gt=0, le=100_000)] = 20.0
    """Sustained requests per second of all the people and systems of one partner org
    (token bucket refill rate)."""

    rate_partner_org_burst: Annotated[int, Field(ge=1, le=1_000_000)] = 100
    """Bucket size of a partner org: requests it may make at once after a quiet spell."""

    rate_client_per_second: Annotated[float, Field(gt=0, le=100_000)] = 10.0
    """Sustained requests per second of one partner OAuth client (on top of its org's)."""

    rate_client_burst: Annotated[int, Field(ge=1, le=1_000_000)] = 50
    """Bucket size of one partner OAuth client."""

    rate_employee_per_second: Annotated[float, Field(gt=0, le=100_000)] = 50.0
    """Sustained requests per second of one employee (their own bucket; higher than a
    partner's because they are the enterprise's own people)."""

    rate_employee_burst: Annotated[int, Field(ge=1, le=1_000_000)] = 200
    """Bucket size of one employee."""

    rate_token_client_per_second: Annotated[float, Field(gt=0, le=100_000)] = 1.0
    """Sustained ``POST /oauth/token`` requests per second for one client id, checked
    before its secret is (a partner system needs a token every few minutes)."""

    rate_token_client_burst: Annotated[int, Field(ge=1, le=1_000_000)] = 10
    """Bucket size of one client id at the token endpoint."""

    rate_token_address_per_second: Annotated[float, Field(gt=0, le=100_000)] = 5.0
    """Sustained ``POST /oauth/token`` requests per second from one source address
    (the TCP peer, or the forwarded address when the server trusts the proxy)."""

    rate_token_address_burst: Annotated[int, Field(ge=1, le=1_000_000)] = 30
    """Bucket size of one source address at the token endpoint."""

    sse_heartbeat_seconds: Annotated[float, Field(gt=0, le=300)] = 15.0
    """Seconds between heartbeat comments on an idle live event stream, so proxies keep
    it open and a dead client is noticed."""

    # --- authentication (guildhall_gateway.auth; docs/adr/0014) --------------------

    oidc_issuer: str = ""
    """Issuer URL of the enterprise's OpenID Connect provider, exactly as its tokens'
    ``iss`` claim and its discovery document say. Empty turns OIDC sign-in off."""

    oidc_discovery_url: str = ""
    """Where the discovery document is; empty means
    ``<oidc_issuer>/.well-known/openid-configuration``."""

    oidc_audience: Annotated[str, Field(min_length=1)] = "guildhall-gateway"
    """The ``aud`` an OIDC access token must carry: the gateway's client id at the provider."""

    oidc_algorithms: Annotated[str, Field(pattern=_ALGORITHMS)] = "RS256"
    """Comma-separated JWS algorithms accepted from the provider (pinned; never ``none`` or HS*)."""

    oidc_leeway_seconds: Annotated[int, Field(ge=0, le=300)] = 30
    """Clock skew allowed on ``exp``, ``nbf`` and ``iat``."""

    oidc_jwks_refresh_seconds: Annotated[int, Field(ge=60, le=86_400)] = 3600
    """A fetched key set is refetched when it is older than this (rotation without restart)."""

    oidc_jwks_min_refetch_seconds: Annotated[int, Field(ge=1, le=3600)] = 30
    """A token naming an unknown ``kid`` refetches the key set at most once per this period."""

    oidc_http_timeout_seconds: Annotated[float, Field(gt=0, le=60)] = 5.0
    """Deadline of each request to the provider (discovery, key set)."""

    oidc_claim_person: Annotated[str, Field(min_length=1)] = "sub"
    """Claim (dotted path for nested claims) holding the Guildhall person id."""

    oidc_claim_org: Annotated[str, Field(min_length=1)] = "org"
    """Claim holding the person's organisation id (the home org for employees)."""

    oidc_claim_kind: str = ""
    """Claim holding ``employee`` or ``partner``; empty derives the kind from the org
    (the home org means employee, any other org partner)."""

    oidc_claim_roles: str = "roles"
    """Claim holding the person's roles at the provider (a list or a space-separated
    string), e.g. ``realm_access.roles`` for Keycloak realm roles; empty: no roles."""

    oidc_admin_roles: str = "admin"
    """Comma-separated provider roles that make the person an admin of their own org
    (an employee: a home admin; a partner person: their org's admin)."""

    oauth_issuer: Annotated[str, Field(min_length=1)] = "guildhall-gateway"
    """``iss`` of the access tokens the gateway issues to partner systems
    (client credentials); its public URL in production."""

    oauth_audience: Annotated[str, Field(min_length=1)] = "guildhall-api"
    """``aud`` of the access tokens the gateway issues to partner systems."""

    oauth_token_ttl_seconds: Annotated[int, Field(ge=60, le=3600)] = 600
    """Lifetime of a client-credentials access token."""

    oauth_max_clients_per_org: Annotated[int, Field(ge=1, le=1000)] = 25
    """Active OAuth clients one partner org may have."""

    internal_token_ttl_seconds: Annotated[int, Field(ge=30, le=3600)] = 300
    """Lifetime of the token the gateway signs for a caller to call the services with."""

    dev_issuer_enabled: bool = False
    """Accept tokens of the local development issuer (``make token``, bench/demo.py),
    signed by the dev key under .local/dev-keys. Refused in a production deployment."""

    @field_validator("dev_issuer_enabled")
    @classmethod
    def _no_dev_issuer_in_production(cls, value: bool, info: ValidationInfo) -> bool:
        # ``deployment`` is a field of the kit's base class, so it is validated first.
        if value and info.data.get("deployment") == "production":
            raise ValueError("the development issuer must stay off in a production deployment")
        return value

    @property
    def oidc_enabled(self) -> bool:
        """Whether OIDC sign-in is configured."""
        return bool(self.oidc_issuer)

    @property
    def oidc_discovery(self) -> str:
        """The discovery document's URL."""
        return self.oidc_discovery_url or (
            self.oidc_issuer.rstrip("/") + "/.well-known/openid-configuration"
        )
