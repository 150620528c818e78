"""Settings of the post service (``GUILDHALL_*`` environment variables)."""

from typing import ClassVar

from guildhall_kit.settings import ServiceSettings


class PostSettings(ServiceSettings):
    """The kit's shared settings; the post service adds none yet."""

    service_name: ClassVar[str] = "post"
    grpc_port: int = 50053
