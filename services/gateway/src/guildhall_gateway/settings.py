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
