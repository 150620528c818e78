"""Settings of the gateway service (``GUILDHALL_*`` environment variables)."""

from typing import ClassVar

from guildhall_kit.settings import ServiceSettings


class GatewaySettings(ServiceSettings):
    """The kit's shared settings; the gateway service adds none yet."""

    service_name: ClassVar[str] = "gateway"
    grpc_port: int = 50055
