"""Settings of the gateway service (``GUILDHALL_*`` environment variables)."""

from typing import Annotated, ClassVar

from pydantic import Field

from guildhall_kit.settings import ServiceSettings


class GatewaySettings(ServiceSettings):
    """The kit's shared settings plus the HTTP face."""

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

    sse_heartbeat_seconds: Annotated[float, Field(gt=0, le=300)] = 15.0
    """Seconds between heartbeat comments on an idle live event stream, so proxies keep
    it open and a dead client is noticed."""
