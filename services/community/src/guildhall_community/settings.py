"""Settings of the community service (``GUILDHALL_*`` environment variables)."""

from typing import ClassVar

from guildhall_kit.settings import ServiceSettings


class CommunitySettings(ServiceSettings):
    """The kit's shared settings; the community service adds none yet."""

    service_name: ClassVar[str] = "community"
    grpc_port: int = 50052
