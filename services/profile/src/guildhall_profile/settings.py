"""Settings of the profile service (``GUILDHALL_*`` environment variables)."""

from typing import ClassVar

from guildhall_kit.settings import ServiceSettings


class ProfileSettings(ServiceSettings):
    """The kit's shared settings; the profile service adds none yet."""

    service_name: ClassVar[str] = "profile"
    grpc_port: int = 50051
